"""Reads of the stored events: who may be reached (consent decides at read time, event by event), the
advertiser's aggregate counts, and which advertisers have data about a person."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import TypedDict

from sqlalchemy import Connection, Table, func, select

from tastegraph.collect.tables import advertiser_events
from tastegraph.consent import AdvertiserDatum, ConsentService, Purpose, RequestSignals, decide


def event_log() -> Table:
    """The stored events as a read-only source for set-based measurement SQL (measure.attribution reads
    conversions inside its statements: person, click id, time, value and `attributable`, the consent
    decision taken when the event arrived); only this package writes it."""
    return advertiser_events


def usable_people(
    conn: Connection,
    consent: ConsentService,
    ad_account_id: int,
    event_names: Sequence[str],
    since: datetime,
    now: datetime,
) -> set[int]:
    """People whose events of these kinds since `since` may shape the ads they see (consent decides,
    event by event, from the person's settings now and the flags stored with the event)."""
    query = select(
        advertiser_events.c.user_id,
        advertiser_events.c.event_time,
        advertiser_events.c.opt_out,
        advertiser_events.c.limited_data_processing,
        advertiser_events.c.global_privacy_control,
    ).where(
        advertiser_events.c.ad_account_id == ad_account_id,
        advertiser_events.c.user_id.is_not(None),
        advertiser_events.c.event_time >= since,
    )
    if event_names:
        query = query.where(advertiser_events.c.event_name.in_(list(event_names)))
    rows = conn.execute(query).all()
    subjects = consent.subjects_for_ads(conn, (int(r.user_id) for r in rows))
    allowed: set[int] = set()
    for r in rows:
        uid = int(r.user_id)
        if uid in allowed:
            continue
        datum = AdvertiserDatum(
            ad_account_id, bool(r.opt_out), bool(r.limited_data_processing), bool(r.global_privacy_control)
        )
        decision = decide(
            Purpose.ADS_WITH_ADVERTISER_DATA,
            subjects[uid],
            RequestSignals(),
            now,
            consent.policy,
            data_time=r.event_time,
            advertiser_datum=datum,
        )
        if decision.allowed:
            allowed.add(uid)
    return allowed


class SummaryRow(TypedDict):
    """Events of one kind and currency: how many, and the sum of their values."""

    event_name: str
    currency: str | None
    events: int
    value: str | None  # two decimals; None when no event carried a value


def summary(conn: Connection, ad_account_id: int, since: datetime) -> list[SummaryRow]:
    """Aggregate counts per event kind, every stored event included whatever consent says about
    personalization (measurement only: nothing here names a person)."""
    rows = conn.execute(
        select(
            advertiser_events.c.event_name,
            advertiser_events.c.currency,
            func.count().label("events"),
            func.sum(advertiser_events.c.value).label("value"),
        )
        .where(advertiser_events.c.ad_account_id == ad_account_id, advertiser_events.c.event_time >= since)
        .group_by(advertiser_events.c.event_name, advertiser_events.c.currency)
        .order_by(advertiser_events.c.event_name, advertiser_events.c.currency)
    )
    return [
        {
            "event_name": r.event_name,
            "currency": r.currency,
            "events": int(r.events),
            "value": None if r.value is None else str(Decimal(r.value).quantize(Decimal("0.01"))),
        }
        for r in rows
    ]


class AccountData(TypedDict):
    """An ad account's events about a person: how many, and when the last one arrived."""

    ad_account_id: int
    events: int
    last_at: datetime


def accounts_with_data_about(conn: Connection, user_id: int) -> list[AccountData]:
    """Which ad accounts shared events that matched this person: for the privacy center."""
    rows = conn.execute(
        select(
            advertiser_events.c.ad_account_id,
            func.count().label("events"),
            func.max(advertiser_events.c.received_at).label("last_at"),
        )
        .where(advertiser_events.c.user_id == user_id)
        .group_by(advertiser_events.c.ad_account_id)
    )
    return [
        {"ad_account_id": int(r.ad_account_id), "events": int(r.events), "last_at": r.last_at} for r in rows
    ]
