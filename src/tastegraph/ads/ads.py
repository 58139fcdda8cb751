"""Ads: one of the account's Pins promoted in one ad group, with where a click leads."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypedDict

from sqlalchemy import Connection, insert, select, update

from tastegraph.ads import ad_groups as group_rows
from tastegraph.ads import ad_pins
from tastegraph.ads import object_rules as rules
from tastegraph.ads import tracking_urls as tracking
from tastegraph.ads.accounts import AdAccount
from tastegraph.ads.object_rules import Status
from tastegraph.ads.paging import PageRequest, paged, split_page
from tastegraph.ads.tables import ad_groups, ads
from tastegraph.kernel import InvalidInput, NotFound
from tastegraph.kernel.tables import inserted_id

EDITABLE = frozenset({"name", "status", "destination_url", "tracking_urls"})


class AdJson(TypedDict):
    id: int
    ad_account_id: int
    ad_group_id: int
    pin_id: int
    name: str
    status: str
    destination_url: str
    tracking_urls: tracking.TrackingUrlsJson
    created_at: str
    updated_at: str


@dataclass(frozen=True)
class Ad:
    id: int
    ad_account_id: int
    ad_group_id: int
    pin_id: int
    name: str
    status: Status
    destination_url: str
    created_at: datetime
    updated_at: datetime
    tracking_urls: tracking.TrackingUrlsJson

    def as_dict(self) -> AdJson:
        return {
            "id": self.id,
            "ad_account_id": self.ad_account_id,
            "ad_group_id": self.ad_group_id,
            "pin_id": self.pin_id,
            "name": self.name,
            "status": self.status.value,
            "destination_url": self.destination_url,
            "tracking_urls": self.tracking_urls,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
        }


def _id(value: Any, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidInput("give an id (a positive integer)", field=field)
    return value


def create(
    conn: Connection,
    account: AdAccount,
    fields: Mapping[str, Any],
    now: datetime,
    url_rules: tracking.Rules,
) -> Ad:
    """A new ad; `url_rules`: what its tracking URLs may be (ads.tracking_urls)."""
    group = group_rows.get(conn, account.id, _id(fields.get("ad_group_id"), "ad_group_id"))
    if group.status is Status.ARCHIVED:
        raise InvalidInput("that ad group is archived", field="ad_group_id")
    pin = ad_pins.get(conn, account.id, _id(fields.get("pin_id"), "pin_id"))
    name = fields.get("name") or pin.title[:120]
    destination = fields.get("destination_url")
    values = {
        "name": rules.name(name),
        "status": rules.status(fields.get("status") or Status.ACTIVE.value).value,
        "destination_url": pin.link
        if destination is None
        else ad_pins.on_website(account, destination, "destination_url"),
        "tracking_urls": tracking.check(fields.get("tracking_urls"), url_rules),
    }
    ad_id = inserted_id(
        conn.execute(
            insert(ads).values(
                ad_account_id=account.id,
                ad_group_id=group.id,
                pin_id=pin.id,
                created_at=now,
                updated_at=now,
                **values,
            )
        )
    )
    return get(conn, account.id, ad_id)


def _ad(row: Any) -> Ad:
    return Ad(
        int(row.id),
        int(row.ad_account_id),
        int(row.ad_group_id),
        int(row.pin_id),
        row.name,
        Status(row.status),
        row.destination_url,
        row.created_at,
        row.updated_at,
        tracking.stored(row.tracking_urls),
    )


def get(conn: Connection, ad_account_id: int, ad_id: int, field: str = "ad_id") -> Ad:
    row = conn.execute(select(ads).where(ads.c.id == ad_id, ads.c.ad_account_id == ad_account_id)).first()
    if row is None:
        raise NotFound("no such ad in this ad account", field=field)
    return _ad(row)


def list_page(
    conn: Connection,
    ad_account_id: int,
    page: PageRequest,
    ad_group_id: int | None = None,
    status: str | None = None,
) -> tuple[list[Ad], str | None]:
    query = select(ads).where(ads.c.ad_account_id == ad_account_id)
    if ad_group_id is not None:
        query = query.where(ads.c.ad_group_id == ad_group_id)
    if status is not None:
        query = query.where(ads.c.status == rules.status(status).value)
    rows = [_ad(r) for r in conn.execute(paged(query, ads.c.id, page))]
    return split_page(rows, page, lambda a: a.id)


def change(
    conn: Connection,
    account: AdAccount,
    ad_id: int,
    changes: Mapping[str, Any],
    now: datetime,
    url_rules: tracking.Rules,
) -> Ad:
    """Change the fields given (all checked before anything is written); `tracking_urls` replaces the
    ad's URLs (null or {} removes them)."""
    unknown = set(changes) - EDITABLE
    if unknown:
        raise InvalidInput("this field cannot be changed", field=sorted(unknown)[0])
    current = get(conn, account.id, ad_id)
    written: dict[str, Any] = {}
    if "name" in changes:
        written["name"] = rules.name(changes["name"] or "")
    if "status" in changes:
        written["status"] = rules.next_status(current.status, changes["status"]).value
    if "destination_url" in changes:
        if changes["destination_url"] is None:
            written["destination_url"] = ad_pins.get(conn, account.id, current.pin_id).link
        else:
            written["destination_url"] = ad_pins.on_website(
                account, changes["destination_url"], "destination_url"
            )
    if "tracking_urls" in changes:
        written["tracking_urls"] = tracking.check(changes["tracking_urls"], url_rules)
    conn.execute(
        update(ads)
        .where(ads.c.id == ad_id, ads.c.ad_account_id == account.id)
        .values(updated_at=now, **written)
    )
    return get(conn, account.id, ad_id)


def destination(conn: Connection, ad_id: int) -> str | None:
    """Where a click on the ad leads (None: no such ad). Archived ads still lead there: a person who
    clicked a card shown before it was archived should arrive."""
    found = conn.execute(select(ads.c.destination_url).where(ads.c.id == ad_id)).scalar_one_or_none()
    return None if found is None else str(found)


@dataclass(frozen=True)
class Tracking:
    """An ad's measurement URLs and the ids its macros expand to."""

    urls: tracking.TrackingUrlsJson
    ids: tracking.MacroValues


def tracking_of(conn: Connection, ad_id: int) -> Tracking | None:
    """The ad's tracking URLs (None when it has none, or there is no such ad): one primary-key read."""
    row = conn.execute(
        select(ads.c.tracking_urls, ads.c.ad_group_id, ad_groups.c.campaign_id)
        .join(ad_groups, ad_groups.c.id == ads.c.ad_group_id)
        .where(ads.c.id == ad_id)
    ).first()
    if row is None or not row.tracking_urls:
        return None
    urls = tracking.stored(row.tracking_urls)
    if not any(urls.values()):
        return None
    return Tracking(urls, tracking.MacroValues(ad_id, int(row.ad_group_id), int(row.campaign_id)))
