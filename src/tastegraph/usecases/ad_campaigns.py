"""What an advertiser manages for Promoted Pins: its Pins (uploaded images), campaigns, ad groups and
ads. Every call acts for one ad account (AdCaller) and sees only that account's objects: another
account's ids are NotFound, as if they did not exist."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Generic, Literal, TypedDict, TypeVar
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from tastegraph.ads import (
    Ad,
    AdAccount,
    AdGroup,
    AdGroupJson,
    AdPin,
    Audience,
    Campaign,
    Ceilings,
    accounts,
    ad_groups,
    ad_log,
    ad_pins,
    ads,
    audiences,
    campaigns,
    delivery_stats,
    pacing,
    paging,
    tracking_urls,
)
from tastegraph.bootstrap import System
from tastegraph.catalog import content, media
from tastegraph.kernel import InvalidInput
from tastegraph.usecases.callers import AdCaller

MAX_IMAGE_BYTES = 10 * 1024 * 1024
IMAGE_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP"}


T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    bookmark: str | None  # pass it back for the next page; None on the last


def url_rules(system: System) -> tracking_urls.Rules:
    """What an ad's tracking URLs may be here: never on the platform's own host; plain http only on the
    host:port pairs TASTEGRAPH_MEASUREMENT_INSECURE_HOSTS names (refused in production by config)."""
    settings = system.settings
    origin = urlsplit(settings.public_origin)
    return tracking_urls.Rules(
        platform_host=(origin.hostname or "").lower(),
        insecure_hosts=settings.measurement_insecure_host_set,
        platform_port=origin.port or (443 if origin.scheme == "https" else 80),
    )


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
        return ads.create(conn, account, fields, system.clock.now(), url_rules(system))


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
        return ads.change(conn, account, ad_id, changes, system.clock.now(), url_rules(system))


# --- delivery insights ----------------------------------------------------------------------------------

_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2999, 12, 31)


class DeliveredJson(TypedDict):
    impressions: int
    clicks: int
    spend_in_micro: int


class NotServedJson(TypedDict):
    """Of the day's requests of the ad group's placement (counts of requests, never of people)."""

    eligible: int  # its targeting matched and it had an ad to show: it entered the day's selection
    lost_to_pacing: int  # held back by pacing, or its budget (or its campaign's) had no room left
    lost_to_frequency_cap: int  # the person or browser had seen it as often as its cap allows
    lost_in_auction: int  # eligible, let in, and outbid
    not_matched: int  # requests its targeting did not match
    unusable_audience: int  # requests it sat out: an included audience was under 100 people


class DeliveryJson(TypedDict):
    ad_group_id: int
    date: str
    timezone: str
    currency: str
    impressions: int
    clicks: int
    spend_in_micro: int
    total: DeliveredJson
    not_served: NotServedJson


def parse_day(text: str | None, timezone: str, now: datetime) -> date:
    """A YYYY-MM-DD date (None: today in `timezone`); anything else is InvalidInput on `date`."""
    if text is None:
        return pacing.budget_day(now, timezone)
    try:
        if not _DAY.fullmatch(text):
            raise ValueError
        day = date.fromisoformat(text)
    except ValueError:
        raise InvalidInput("date is a day as YYYY-MM-DD, e.g. 2026-06-01", field="date") from None
    if not FIRST_DAY <= day <= LAST_DAY:
        raise InvalidInput(f"date is between {FIRST_DAY} and {LAST_DAY}", field="date")
    return day


def _delivery(conn: Any, account: AdAccount, group: AdGroup, on: date) -> DeliveryJson:
    zone = ZoneInfo(account.timezone)
    start = datetime.combine(on, time(0), tzinfo=zone).astimezone(UTC)
    end = datetime.combine(on + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC)
    that_day = ad_log.delivered(conn, group.id, start, end)
    lifetime = ad_log.delivered(conn, group.id)
    why = delivery_stats.counts(conn, group.id, on, account.timezone, group.placement)
    return {
        "ad_group_id": group.id,
        "date": on.isoformat(),
        "timezone": account.timezone,
        "currency": account.currency,
        "impressions": that_day["impressions"],
        "clicks": that_day["clicks"],
        "spend_in_micro": that_day["spend_in_micro"],
        "total": {
            "impressions": lifetime["impressions"],
            "clicks": lifetime["clicks"],
            "spend_in_micro": lifetime["spend_in_micro"],
        },
        "not_served": {
            "eligible": why["eligible"],
            "lost_to_pacing": why["lost_pacing"] + why["lost_budget"],
            "lost_to_frequency_cap": why["lost_frequency"],
            "lost_in_auction": why["lost_auction"],
            "not_matched": why["not_matched"],
            "unusable_audience": why["unusable"],
        },
    }


def delivery(system: System, caller: AdCaller, ad_group_id: int, day: str | None = None) -> DeliveryJson:
    """What one of the account's ad groups delivered on `day` (YYYY-MM-DD, in the account's time zone;
    by default today there) and over its lifetime, and why it did not serve when it could have. Counts
    only. Another account's ad group is NotFound. The counters of why it did (not) serve are written
    every few seconds by each serving process, so the last seconds may be missing."""
    with system.read() as conn:
        account = accounts.get_account(conn, caller.ad_account_id)
        group = ad_groups.get(conn, caller.ad_account_id, ad_group_id)
        return _delivery(conn, account, group, parse_day(day, account.timezone, system.clock.now()))


# --- everything for the advertiser's page ----------------------------------------------------------------

OVERVIEW_LIMIT = 250  # of each kind, newest first; the API pages through more


@dataclass(frozen=True)
class GroupOverview:
    group: AdGroupView
    delivery: DeliveryJson  # today's, in the account's time zone
    ads: list[Ad]


@dataclass(frozen=True)
class CampaignOverview:
    campaign: Campaign
    groups: list[GroupOverview]
    spend_today_micro: int


@dataclass(frozen=True)
class PromotedOverview:
    account: AdAccount
    today: str
    campaigns: list[CampaignOverview]
    pins: list[AdPin]
    audiences: list[Audience]
    topics: list[str]  # the slugs targeting may name


def overview(system: System, caller: AdCaller) -> PromotedOverview:
    """The account's campaigns, each with its ad groups (today's delivery, their ads), its Pins and
    audiences, in one read transaction."""
    now = system.clock.now()
    page = paging.page_request(OVERVIEW_LIMIT, None)
    with system.read() as conn:
        account = accounts.get_account(conn, caller.ad_account_id)
        today = pacing.budget_day(now, account.timezone)
        all_ads, _ = ads.list_page(conn, account.id, page, None, None)
        ads_of: dict[int, list[Ad]] = {}
        for ad in all_ads:
            ads_of.setdefault(ad.ad_group_id, []).append(ad)
        groups, _ = ad_groups.list_page(conn, account.id, page, None, None)
        by_campaign: dict[int, list[GroupOverview]] = {}
        for g in groups:
            by_campaign.setdefault(g.campaign_id, []).append(
                GroupOverview(
                    _view(system, conn, g), _delivery(conn, account, g, today), ads_of.get(g.id, [])
                )
            )
        found, _ = campaigns.list_page(conn, account.id, page, None)
        out = [
            CampaignOverview(
                c,
                by_campaign.get(c.id, []),
                sum(g.delivery["spend_in_micro"] for g in by_campaign.get(c.id, [])),
            )
            for c in found
        ]
        pins, _ = ad_pins.list_page(conn, account.id, page)
        return PromotedOverview(
            account,
            today.isoformat(),
            out,
            pins,
            audiences.list_for(conn, account.id),
            sorted(content.topics_by_slug(conn)),
        )
