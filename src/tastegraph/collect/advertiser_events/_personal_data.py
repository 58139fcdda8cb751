"""The events as a person's data (registered with privacy by bootstrap): export, erasure, the tie to
a browser's first sign-in, and the retention sweep."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TypedDict

from sqlalchemy import Connection, select, update

from tastegraph.collect.tables import advertiser_events


class EventRecord(TypedDict):
    """An advertiser's event about the person, as their data export lists it."""

    ad_account_id: int
    source: str  # tag or api
    event_name: str
    event_time: str  # ISO 8601
    received_at: str
    matched_by: str | None
    value: str | None
    currency: str | None
    order_id: str | None
    page_url: str | None
    opt_out: bool
    limited_data_processing: bool


def export(conn: Connection, user_id: int) -> list[EventRecord]:
    """The events tied to the person (matched when they arrived, or tied at sign-in: `attach_browser`)."""
    rows = conn.execute(
        select(advertiser_events)
        .where(advertiser_events.c.user_id == user_id)
        .order_by(advertiser_events.c.event_time)
    ).mappings()
    out: list[EventRecord] = []
    for r in rows:
        out.append(
            {
                "ad_account_id": r["ad_account_id"],
                "source": r["source"],
                "event_name": r["event_name"],
                "event_time": r["event_time"].isoformat(),
                "received_at": r["received_at"].isoformat(),
                "matched_by": r["matched_by"],
                "value": None if r["value"] is None else str(r["value"]),
                "currency": r["currency"],
                "order_id": r["order_id"],
                "page_url": r["page_url"],
                "opt_out": r["opt_out"],
                "limited_data_processing": r["limited_data_processing"],
            }
        )
    return out


def erase(conn: Connection, user_id: int) -> int:
    """Unlink the person from every event about them: the events stay, anonymous, in aggregate counts."""
    return conn.execute(
        update(advertiser_events)
        .where(advertiser_events.c.user_id == user_id)
        .values(user_id=None, browser_id=None, site_visitor_id=None, click_id=None, page_url=None)
    ).rowcount


def attach_browser(conn: Connection, browser_id: str, user_id: int, now: datetime) -> None:
    """A browser signed in for the first time: the tag events it sent while tied to nobody become the
    account's, as its off-site visits do (their stored GPC and opt-out flags still decide their use)."""
    conn.execute(
        update(advertiser_events)
        .where(advertiser_events.c.browser_id == browser_id, advertiser_events.c.user_id.is_(None))
        .values(user_id=user_id, matched_by="cookie")
    )


def sweep(conn: Connection, now: datetime, retention: timedelta) -> int:
    return conn.execute(
        advertiser_events.delete().where(advertiser_events.c.received_at < now - retention)
    ).rowcount
