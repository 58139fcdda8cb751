"""What an advertiser manages for Promoted Pins: its Pins (uploaded images), campaigns, ad groups and
ads. Every call acts for one ad account (AdCaller) and sees only that account's objects: another
account's ids are NotFound, as if they did not exist."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar

from tastegraph.ads import (
    Ad,
    AdGroup,
    AdGroupJson,
    AdPin,
    Campaign,
    Ceilings,
    accounts,
    ad_groups,
    ad_pins,
    ads,
    campaigns,
    paging,
)
from tastegraph.bootstrap import System
from tastegraph.catalog import media
from tastegraph.kernel import InvalidInput
from tastegraph.usecases.callers import AdCaller

MAX_IMAGE_BYTES = 10 * 1024 * 1024
IMAGE_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP"}


T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    bookmark: str | None  # pass it back for the next page; None on the last


def _ceilings(system: System) -> Ceilings:
    return Ceilings(system.settings.ad_max_bid_micro, system.settings.ad_max_budget_micro)


# --- the advertiser's Pins --------------------------------------------------------------------------


@dataclass(frozen=True)
class NewAdPin:
    title: str
    link: str
    content_type: Literal["image/jpeg", "image/png", "image/webp"]
    data: str  # base64
    description: str = ""
    topics: Sequence[str] = ()


def _image_bytes(data: str) -> bytes:
    field = "media_source.data"
    # An upper bound before decoding: base64 is 4 characters for 3 bytes.
    if len(data) > (MAX_IMAGE_BYTES + 2) // 3 * 4 + 4:
        raise InvalidInput(f"the image is over {MAX_IMAGE_BYTES // (1024 * 1024)} MB", field=field)
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput("the image data is not valid base64", field=field) from None
    if not raw:
        raise InvalidInput("the image data is empty", field=field)
    if len(raw) > MAX_IMAGE_BYTES:
        raise InvalidInput(f"the image is over {MAX_IMAGE_BYTES // (1024 * 1024)} MB", field=field)
    return raw


def create_pin(system: System, caller: AdCaller, new: NewAdPin) -> AdPin:
    """Check the fields, then decode and re-encode the image (outside any transaction: it can take a
    second), store the platform's copy, then create the Pin. Nothing is written if any part is bad;
    an image stored for a Pin that then fails is swept later as unused."""
    with system.read() as conn:
        account = accounts.get_account(conn, caller.ad_account_id)
        ad_pins.check_fields(conn, account, new.title, new.description, new.link, new.topics)
    if new.content_type not in IMAGE_FORMATS:
        raise InvalidInput(
            "content_type is image/jpeg, image/png or image/webp", field="media_source.content_type"
        )
    image = media.reencode(
        _image_bytes(new.data),
        field="media_source.data",
        formats=frozenset({IMAGE_FORMATS[new.content_type]}),
    )
    key = system.media.put(image)
    with system.write() as conn:
        return ad_pins.create(
            conn,
            account,
            title=new.title,
            description=new.description,
            link=new.link,
            topics=new.topics,
            image_url=media.served_url(key),
            now=system.clock.now(),
        )


def list_pins(system: System, caller: AdCaller, page_size: int | None, bookmark: str | None) -> Page[AdPin]:
    page = paging.page_request(page_size, bookmark)
    with system.read() as conn:
        return Page(*ad_pins.list_page(conn, caller.ad_account_id, page))


# --- campaigns -------------------------------------------------------------------------------------


def create_campaign(system: System, caller: AdCaller, fields: Mapping[str, Any]) -> Campaign:
    with system.write() as conn:
        return campaigns.create(conn, caller.ad_account_id, fields, _ceilings(system), system.clock.now())


def get_campaign(system: System, caller: AdCaller, campaign_id: int) -> Campaign:
    with system.read() as conn:
        return campaigns.get(conn, caller.ad_account_id, campaign_id)


def list_campaigns(
    system: System, caller: AdCaller, page_size: int | None, bookmark: str | None, status: str | None = None
) -> Page[Campaign]:
    page = paging.page_request(page_size, bookmark)
    with system.read() as conn:
        return Page(*campaigns.list_page(conn, caller.ad_account_id, page, status))


def change_campaign(
    system: System, caller: AdCaller, campaign_id: int, changes: Mapping[str, Any]
) -> Campaign:
    with system.write() as conn:
        return campaigns.change(
            conn, caller.ad_account_id, campaign_id, changes, _ceilings(system), system.clock.now()
        )


# --- ad groups ---------------------------------------------------------------------------------------


class AdGroupView(AdGroupJson):
    """An ad group as the API shows it: its fields, and whether it can serve now (and why not)."""

    serving: bool
    not_serving_reasons: list[str]


def _view(system: System, conn: Any, group: AdGroup) -> AdGroupView:
    problems = ad_groups.serving_problems(conn, group, system.clock.now())
    return AdGroupView(**group.as_dict(), serving=not problems, not_serving_reasons=problems)


def create_ad_group(system: System, caller: AdCaller, fields: Mapping[str, Any]) -> AdGroupView:
    with system.write() as conn:
        group = ad_groups.create(conn, caller.ad_account_id, fields, _ceilings(system), system.clock.now())
        return _view(system, conn, group)


def get_ad_group(system: System, caller: AdCaller, ad_group_id: int) -> AdGroupView:
    with system.read() as conn:
        return _view(system, conn, ad_groups.get(conn, caller.ad_account_id, ad_group_id))


def list_ad_groups(
    system: System,
    caller: AdCaller,
    page_size: int | None,
    bookmark: str | None,
    campaign_id: int | None = None,
    status: str | None = None,
) -> Page[AdGroupView]:
    page = paging.page_request(page_size, bookmark)
    with system.read() as conn:
        groups, next_page = ad_groups.list_page(conn, caller.ad_account_id, page, campaign_id, status)
        return Page([_view(system, conn, g) for g in groups], next_page)


def change_ad_group(
    system: System, caller: AdCaller, ad_group_id: int, changes: Mapping[str, Any]
) -> AdGroupView:
    with system.write() as conn:
        group = ad_groups.change(
            conn, caller.ad_account_id, ad_group_id, changes, _ceilings(system), system.clock.now()
        )
        return _view(system, conn, group)


# --- ads ----------------------------------------------------------------------------------------------


def create_ad(system: System, caller: AdCaller, fields: Mapping[str, Any]) -> Ad:
    with system.write() as conn:
        account = accounts.get_account(conn, caller.ad_account_id)
        return ads.create(conn, account, fields, system.clock.now())


def get_ad(system: System, caller: AdCaller, ad_id: int) -> Ad:
    with system.read() as conn:
        return ads.get(conn, caller.ad_account_id, ad_id)


def list_ads(
    system: System,
    caller: AdCaller,
    page_size: int | None,
    bookmark: str | None,
    ad_group_id: int | None = None,
    status: str | None = None,
) -> Page[Ad]:
    page = paging.page_request(page_size, bookmark)
    with system.read() as conn:
        return Page(*ads.list_page(conn, caller.ad_account_id, page, ad_group_id, status))


def change_ad(system: System, caller: AdCaller, ad_id: int, changes: Mapping[str, Any]) -> Ad:
    with system.write() as conn:
        account = accounts.get_account(conn, caller.ad_account_id)
        return ads.change(conn, account, ad_id, changes, system.clock.now())
