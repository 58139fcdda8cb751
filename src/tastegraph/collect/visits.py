"""Off-site visits from the save button: consent-checked, idempotent ingest, and consent-gated reads."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NotRequired, TypedDict

from sqlalchemy import ColumnElement, Connection, and_, bindparam, delete, func, insert, or_, select, update

from tastegraph.collect.tables import offsite_visits
from tastegraph.consent import ConsentService, Decision, Purpose, RequestSignals, Subject, decide
from tastegraph.kernel import InvalidInput
from tastegraph.kernel.fastsql import Query, bind_time, utc_time
from tastegraph.kernel.ids import new_event_id
from tastegraph.kernel.urls import domain_of, is_loopback, site_name

FUTURE_TOLERANCE = timedelta(minutes=5)


@dataclass(frozen=True)
class VisitIn:
    url: str
    event_id: str | None = None
    visited_at: datetime | None = None
    # Development only: pages served from a loopback host may say which site they stand for.
    site: str | None = None


class VisitOutcomeJson(TypedDict):
    event_id: str
    stored: bool
    linked: bool  # stored and tied to a person (not only to a browser or a partition)
    duplicate: NotRequired[bool]  # only when true
    reason: NotRequired[str]  # why it was not stored (a consent Reason)
    via: NotRequired[str]  # what it was stored under: account | browser | partition | click


@dataclass(frozen=True)
class VisitOutcome:
    event_id: str
    stored: bool
    duplicate: bool = False
    reason: str | None = None
    linked: bool = False
    via: str | None = None

    def as_dict(self) -> VisitOutcomeJson:
        out: VisitOutcomeJson = {"event_id": self.event_id, "stored": self.stored, "linked": self.linked}
        if self.duplicate:
            out["duplicate"] = True
        if self.reason is not None:
            out["reason"] = self.reason
        if self.via is not None:
            out["via"] = self.via
        return out


@dataclass(frozen=True)
class Visit:
    domain: str
    url: str
    visited_at: datetime


def record_visits(
    conn: Connection,
    consent: ConsentService,
    user_id: int | None,
    browser_id: str | None,
    signals: RequestSignals,
    visits: Sequence[VisitIn],
    now: datetime,
    *,
    partition_id: str | None = None,
    tied_by: str | None = None,
) -> list[VisitOutcome]:
    """Store the visits consent allows; the same event id is stored once however often it is sent.

    Every visit is validated before anything is written, so a bad one rejects the batch unchanged.
    `partition_id` (a partitioned cookie, collect.offsite_ids) is what a visit is kept under when the
    browser sent no browser id; `tied_by` says how `user_id` was found (account, browser, click).
    """
    prepared: list[tuple[str, str, str, datetime]] = []
    for i, v in enumerate(visits):
        field = f"visits[{i}]" if len(visits) > 1 else ""
        domain = domain_of(v.url, field=f"{field}.url".lstrip("."))
        if v.site is not None:
            if not is_loopback(domain):
                raise InvalidInput(
                    "site is accepted only from pages on a loopback host (local development)",
                    field=f"{field}.site".lstrip("."),
                )
            domain = site_name(v.site, field=f"{field}.site".lstrip("."))
        when = v.visited_at or now
        if when > now + FUTURE_TOLERANCE:
            raise InvalidInput("visited_at is in the future", field=f"{field}.visited_at".lstrip("."))
        prepared.append((v.event_id or new_event_id(), v.url.strip(), domain, when))

    if user_id is None and browser_id is None and partition_id is not None:
        # Tied to nobody: the partition stands for "this browser on this site" in the decision only.
        subject = Subject(user_id=None, browser_id=partition_id)
    else:
        subject = consent.subject(conn, user_id, browser_id)
    via = (tied_by or "account") if user_id is not None else "browser" if browser_id else "partition"
    seen = _existing_event_ids(conn, [p[0] for p in prepared])
    outcomes: list[VisitOutcome] = []
    rows: list[dict[str, object]] = []  # offsite_visits rows
    for event_id, url, domain, when in prepared:
        if event_id in seen:
            outcomes.append(VisitOutcome(event_id, stored=True, duplicate=True))
            continue
        decision = _decide(consent, subject, signals, now, when)
        if not decision.allowed:
            assert decision.reason is not None
            outcomes.append(VisitOutcome(event_id, stored=False, reason=decision.reason.value))
            continue
        seen.add(event_id)
        rows.append(
            {
                "event_id": event_id,
                "browser_id": browser_id,
                "user_id": user_id,
                "url": url,
                "domain": domain,
                "visited_at": when,
                "received_at": now,
                "partition_id": partition_id,
                "tied_by": (tied_by or "account") if user_id is not None else None,
            }
        )
        outcomes.append(VisitOutcome(event_id, stored=True, linked=user_id is not None, via=via))
    if rows:
        conn.execute(insert(offsite_visits), rows)
    return outcomes


def _decide(
    consent: ConsentService, subject: Subject, signals: RequestSignals, now: datetime, when: datetime
) -> Decision:
    return decide(Purpose.COLLECT_OFFSITE, subject, signals, now, consent.policy, data_time=when)


def _existing_event_ids(conn: Connection, event_ids: list[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(event_ids), 500):
        chunk = event_ids[start : start + 500]
        found.update(
            conn.execute(
                select(offsite_visits.c.event_id).where(offsite_visits.c.event_id.in_(chunk))
            ).scalars()
        )
    return found


def usable_visits(conn: Connection, permit: Decision, limit: int = 500) -> list[Visit]:
    """The subject's visits that `permit` (a consent decision for personalization) allows, newest first.

    This is the only way to read visits for personalization: without an allowing decision it returns
    nothing, and it never returns a visit older than the decision's `usable_since`.
    """
    if not permit.allowed or permit.purpose is not Purpose.PERSONALIZE_WITH_OFFSITE:
        return []
    user_id, browser_id = permit.subject.user_id, permit.subject.browser_id
    if user_id is None and browser_id is None:
        return []
    query = _USABLE[(user_id is not None, permit.usable_since is not None)]
    params: dict[str, object] = {"who": user_id if user_id is not None else browser_id, "limit": limit}
    if permit.usable_since is not None:
        params["since"] = bind_time(conn, permit.usable_since)
    return [Visit(domain, url, utc_time(at)) for domain, url, at in query.rows(conn, params)]


def _usable_query(by_user: bool, since: bool) -> Query:
    columns = (offsite_visits.c.domain, offsite_visits.c.url, offsite_visits.c.visited_at)
    if by_user:
        query = select(*columns).where(offsite_visits.c.user_id == bindparam("who"))
    else:
        # A signed-out browser sees only what it did while signed out.
        query = select(*columns).where(
            offsite_visits.c.browser_id == bindparam("who"), offsite_visits.c.user_id.is_(None)
        )
    if since:
        query = query.where(offsite_visits.c.visited_at >= bindparam("since"))
    return Query(query.order_by(offsite_visits.c.visited_at.desc()).limit(bindparam("limit")))


# Read on every feed request: built once per shape, run through the driver (kernel.fastsql).
_USABLE = {
    (by_user, since): _usable_query(by_user, since) for by_user in (True, False) for since in (True, False)
}


# --- hooks wired by bootstrap ----------------------------------------------------------------------


def on_withdrawal(conn: Connection, subject: Subject, purpose: Purpose, now: datetime) -> None:
    """Consent to collect off-site data was withdrawn: delete what is stored about the subject: the
    person's visits, and what their browser reported tied to nobody (never another person's)."""
    if purpose is not Purpose.COLLECT_OFFSITE:
        return
    clauses = []
    if subject.user_id is not None:
        clauses.append(offsite_visits.c.user_id == subject.user_id)
    if subject.browser_id is not None:
        mine_or_nobodys: ColumnElement[bool] = offsite_visits.c.user_id.is_(None)
        if subject.user_id is not None:
            mine_or_nobodys = or_(mine_or_nobodys, offsite_visits.c.user_id == subject.user_id)
        clauses.append(and_(offsite_visits.c.browser_id == subject.browser_id, mine_or_nobodys))
    if clauses:
        conn.execute(delete(offsite_visits).where(or_(*clauses)))


def attach_browser(conn: Connection, browser_id: str, user_id: int, now: datetime) -> None:
    """A browser signed in: its signed-out visits become the account's."""
    conn.execute(
        update(offsite_visits)
        .where(offsite_visits.c.browser_id == browser_id, offsite_visits.c.user_id.is_(None))
        .values(user_id=user_id, tied_by="browser")
    )


def sweep(conn: Connection, now: datetime, retention: timedelta) -> int:
    """Physically delete visits older than the retention window."""
    return conn.execute(delete(offsite_visits).where(offsite_visits.c.visited_at < now - retention)).rowcount


class VisitRecord(TypedDict):
    """One of a person's off-site visits, as their data export lists it."""

    event_id: str
    url: str
    domain: str
    visited_at: str  # ISO 8601
    received_at: str
    tied_by: str  # how it became the person's: account | browser | partition | click


def export(conn: Connection, user_id: int) -> list[VisitRecord]:
    """The person's visits: those reported while they were signed in, or tied to them when they signed in
    on the browser that reported them (`attach_browser`). Never by "a browser once linked to them"."""
    rows = conn.execute(
        select(offsite_visits)
        .where(offsite_visits.c.user_id == user_id)
        .order_by(offsite_visits.c.visited_at.desc())
    ).mappings()
    return [
        {
            "event_id": r["event_id"],
            "url": r["url"],
            "domain": r["domain"],
            "visited_at": r["visited_at"].isoformat(),
            "received_at": r["received_at"].isoformat(),
            "tied_by": r["tied_by"] or "browser",
        }
        for r in rows
    ]


def erase(conn: Connection, user_id: int) -> int:
    return conn.execute(delete(offsite_visits).where(offsite_visits.c.user_id == user_id)).rowcount


def count(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(offsite_visits)).scalar_one())
