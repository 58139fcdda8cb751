"""Storing prepared events: duplicates dropped (same event_name and event_id from the ad account in the
last 48 hours, by tag or by API), each event matched to a person (our browser cookie, then enhanced match
on hashed email or phone), and a Global Privacy Control signal honoured only for the browser's own person.

Whether a stored event may ever be attributed to an ad (`attributable`) is decided here, as it arrives:
consent's decision for ADS_WITH_ADVERTISER_DATA over the event's person (their settings now, the request's
signals, the event's flags). An event that carries a click id of one of the same ad account's clicks is
also decided for the click's person (every person involved must allow it); a click made signed out is
decided from the request's signals and the event's flags alone. Attribution never revisits the decision.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Literal, NotRequired, TypedDict

from sqlalchemy import Connection, insert, select

from tastegraph.collect.advertiser_events._ingest_lock import serialize_ingest
from tastegraph.collect.advertiser_events._prepare import MATCHED_IDENTIFIERS, EventError, PreparedEvent
from tastegraph.collect.advertiser_events._schema import CustomData
from tastegraph.collect.tables import advertiser_events
from tastegraph.consent import AdvertiserDatum, ConsentService, Purpose, RequestSignals, Subject, decide
from tastegraph.identity import IdentifierKind, IdentityService

DEDUPE_WINDOW = timedelta(hours=48)


class Status(StrEnum):
    PROCESSED = "processed"
    DUPLICATE = "duplicate"
    FAILED = "failed"


class OutcomeJson(TypedDict):
    status: str  # a Status
    error: NotRequired[dict[str, str]]  # EventError.as_dict: field, message


@dataclass(frozen=True)
class EventOutcome:
    status: Status
    error: EventError | None = None

    def as_dict(self) -> OutcomeJson:
        out: OutcomeJson = {"status": self.status.value}
        if self.error is not None:
            out["error"] = self.error.as_dict()
        return out


@dataclass(frozen=True)
class ClickOwner:
    """Who made a click an event's click id names: a person, or a signed-out browser (its ad-log key)."""

    user_id: int | None
    browser_key: str | None


# (conn, ad account id, click ids) -> the clicks among them that are the ad account's own, by click id
# (ads.ad_log.click_owners; the use case passes it, collect does not read the ad logs itself).
ClickOwners = Callable[[Connection, int, Collection[str]], Mapping[str, ClickOwner]]


@dataclass(frozen=True)
class Ingest:
    """Who is sending: the ad account, the channel, and for the tag the browser and its signals."""

    ad_account_id: int
    source: Literal["tag", "api"]
    signals: RequestSignals = field(default_factory=RequestSignals)
    test_only: bool = False  # validate and answer, store nothing
    # Resolves click ids to the account's clicks' people, for the attribution decision (None: click ids
    # are not looked up, and an event with no person matched is never attributable).
    click_owners: ClickOwners | None = None


def record_events(
    conn: Connection,
    identity: IdentityService,
    consent: ConsentService,
    ingest: Ingest,
    items: Sequence[PreparedEvent | EventError],
    now: datetime,
) -> list[EventOutcome]:
    """Store the valid events (not already stored), matched to people; statuses in request order."""
    if not ingest.test_only:
        # Two concurrent batches of one ad account must not both store one event.
        serialize_ingest(conn, ingest.ad_account_id)
    valid = [p for p in items if isinstance(p, PreparedEvent)]
    seen = _recent_keys(
        conn, ingest.ad_account_id, {(p.event.event_name.value, p.event.event_id) for p in valid}, now
    )
    matches = {
        kind: identity.match_hashes(conn, kind, {h for p in valid for h in p.hashes.get(kind, ())})
        for kind in MATCHED_IDENTIFIERS.values()
    }
    outcomes: list[EventOutcome] = []
    rows: list[dict[str, object]] = []  # advertiser_events rows
    gpc_users: set[int] = set()
    owners: Mapping[str, ClickOwner] = {}
    if ingest.click_owners is not None and not ingest.test_only:
        click_ids = {p.event.user_data.click_id for p in valid if p.event.user_data.click_id}
        owners = ingest.click_owners(conn, ingest.ad_account_id, click_ids) if click_ids else {}
    for item in items:
        if isinstance(item, EventError):
            outcomes.append(EventOutcome(Status.FAILED, item))
            continue
        key = (item.event.event_name.value, item.event.event_id)
        if key in seen:
            outcomes.append(EventOutcome(Status.DUPLICATE))
            continue
        seen.add(key)
        user_id, matched_by = _match(conn, identity, item, matches)
        if ingest.signals.global_privacy_control and user_id is not None:
            if matched_by is not None and matched_by.startswith("cookie"):
                # The browser that sent GPC is tied to this person: it speaks for them.
                gpc_users.add(user_id)
            else:
                # A hashed email or phone authenticates nobody: under GPC the event is counted for the
                # advertiser, tied to no one, and changes nobody's settings.
                user_id, matched_by = None, None
        rows.append(_row(ingest, item, user_id, matched_by, now))
        outcomes.append(EventOutcome(Status.PROCESSED))
    if ingest.test_only:
        return outcomes
    _decide_attribution(conn, consent, ingest, rows, owners, now)
    if rows:
        conn.execute(insert(advertiser_events), rows)
    for user_id in sorted(gpc_users):
        # The person's own browser carried GPC: an opt-out of sharing for their account, logged.
        consent.honor_gpc(conn, user_id, now)
    return outcomes


def _decide_attribution(
    conn: Connection,
    consent: ConsentService,
    ingest: Ingest,
    rows: list[dict[str, object]],
    owners: Mapping[str, ClickOwner],
    now: datetime,
) -> None:
    """Set each row's `attributable`: consent's decision, now, for everyone the event is about (its
    person, and the person or browser that made the click its click id names). No one: not attributable."""
    people: set[int] = set()
    for row in rows:
        if row["user_id"] is not None:
            people.add(int(str(row["user_id"])))
        owner = owners.get(str(row["click_id"])) if row["click_id"] else None
        if owner is not None and owner.user_id is not None:
            people.add(owner.user_id)
    subjects = consent.subjects_for_ads(conn, people) if people else {}
    for row in rows:
        involved: list[Subject] = []
        if row["user_id"] is not None:
            involved.append(subjects[int(str(row["user_id"]))])
        owner = owners.get(str(row["click_id"])) if row["click_id"] else None
        if owner is not None:
            if owner.user_id is not None:
                if owner.user_id != row["user_id"]:
                    involved.append(subjects[owner.user_id])
            elif owner.browser_key is not None:
                # Clicked signed out: no settings to read; the signals and the event's flags decide.
                involved.append(Subject(None, owner.browser_key))
        datum = AdvertiserDatum(
            ingest.ad_account_id,
            bool(row["opt_out"]),
            bool(row["limited_data_processing"]),
            bool(row["global_privacy_control"]),
        )
        row["attributable"] = bool(involved) and all(
            decide(
                Purpose.ADS_WITH_ADVERTISER_DATA,
                subject,
                ingest.signals,
                now,
                consent.policy,
                data_time=row["event_time"],  # type: ignore[arg-type]
                advertiser_datum=datum,
            ).allowed
            for subject in involved
        )


def _recent_keys(
    conn: Connection, ad_account_id: int, keys: set[tuple[str, str]], now: datetime
) -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    ids = sorted({event_id for _, event_id in keys})
    since = now - DEDUPE_WINDOW
    for start in range(0, len(ids), 500):
        # Only the event-id index is usable here (its leading column takes the IN list); the time
        # window is checked on the few rows found, so a planner without statistics on a fresh table
        # cannot pick a scan of every recent event instead (seen on PostgreSQL: seconds per batch).
        rows = conn.execute(
            select(
                advertiser_events.c.event_name, advertiser_events.c.event_id, advertiser_events.c.received_at
            ).where(
                advertiser_events.c.event_id.in_(ids[start : start + 500]),
                advertiser_events.c.ad_account_id == ad_account_id,
            )
        )
        found.update((r.event_name, r.event_id) for r in rows if r.received_at >= since)
    return found & keys


def _match(
    conn: Connection,
    identity: IdentityService,
    item: PreparedEvent,
    matches: dict[IdentifierKind, dict[str, int]],
) -> tuple[int | None, str | None]:
    """The person an event is about: our browser cookie first (linked to an account when known), then
    enhanced match on hashed email or phone. Returns (user id, how it matched)."""
    how: list[str] = []
    user_id = identity.user_for_browser(conn, item.browser_id) if item.browser_id else None
    if user_id is not None:
        how.append("cookie")
    for key, kind in MATCHED_IDENTIFIERS.items():
        for digest in item.hashes.get(kind, ()):
            found = matches[kind].get(digest)
            if found is not None and (user_id is None or found == user_id):
                user_id = found
                if key not in how:
                    how.append(key)
    return user_id, ",".join(how) or None


def _row(
    ingest: Ingest, item: PreparedEvent, user_id: int | None, matched_by: str | None, now: datetime
) -> dict[str, object]:
    e, cd = item.event, item.event.custom_data or CustomData()
    return {
        "ad_account_id": ingest.ad_account_id,
        "source": ingest.source,
        "event_name": e.event_name.value,
        "event_id": e.event_id,
        "action_source": e.action_source,
        "event_time": item.event_time,
        "received_at": now,
        "user_id": user_id,
        "browser_id": item.browser_id,
        "site_visitor_id": item.site_visitor_id,
        "matched_by": matched_by,
        "click_id": e.user_data.click_id,
        "opt_out": e.opt_out,
        "limited_data_processing": e.limited_data_processing,
        "global_privacy_control": ingest.signals.global_privacy_control,
        "value": cd.value,
        "currency": cd.currency,
        "order_id": cd.order_id,
        "order_quantity": cd.order_quantity,
        "search_query": cd.search_query,
        "line_items": None if cd.line_items is None else [li.model_dump(mode="json") for li in cd.line_items],
        "page_url": item.page_url,
    }
