"""Feed controls over collected signals: the sites a person visited as "Tune your home feed" lists them
(only under the consent decision the feed itself reads with), deleting one site's visits, the person's
searches and clearing them, and forgetting an undone hide.

Every function here selects by the signed-in person (`user_id`), never by a browser: a row is theirs
only if it was tied to them (docs/privacy.md), so deleting never touches anyone else's visits."""

from __future__ import annotations

from typing import TypedDict

from sqlalchemy import Connection, delete, func, select

from tastegraph.collect.engagement import Kind
from tastegraph.collect.tables import engagement_events, offsite_visits
from tastegraph.consent import Decision, Purpose
from tastegraph.kernel.fastsql import utc_time


class SiteVisits(TypedDict):
    domain: str
    visits: int
    last_visited_at: str  # ISO 8601
    first_visited_at: str  # ISO 8601


def visited_sites(conn: Connection, permit: Decision, limit: int = 100) -> list[SiteVisits]:
    """The signed-in subject's visits per site that `permit` (a decision for personalizing with
    off-site data) lets the feed use, most recently visited first: none without an allowing decision,
    none older than its `usable_since` (the retention window and the person's settings)."""
    user_id = permit.subject.user_id
    if not permit.allowed or permit.purpose is not Purpose.PERSONALIZE_WITH_OFFSITE or user_id is None:
        return []
    last = func.max(offsite_visits.c.visited_at)
    query = (
        select(offsite_visits.c.domain, func.count(), last, func.min(offsite_visits.c.visited_at))
        .where(offsite_visits.c.user_id == user_id)
        .group_by(offsite_visits.c.domain)
        .order_by(last.desc(), offsite_visits.c.domain)
        .limit(limit)
    )
    if permit.usable_since is not None:
        query = query.where(offsite_visits.c.visited_at >= permit.usable_since)
    return [
        {
            "domain": d,
            "visits": int(n),
            "last_visited_at": utc_time(at).isoformat(),
            "first_visited_at": utc_time(first).isoformat(),
        }
        for d, n, at, first in conn.execute(query)
    ]


def delete_site_visits(conn: Connection, user_id: int, domain: str) -> int:
    """Delete every visit to `domain` tied to this person (whatever its age or the consent state: a
    deletion is always allowed); returns how many. Another person's visits to the site stay."""
    return conn.execute(
        delete(offsite_visits).where(offsite_visits.c.user_id == user_id, offsite_visits.c.domain == domain)
    ).rowcount


class SearchRecord(TypedDict):
    query: str
    searched_at: str  # ISO 8601


def recent_searches(conn: Connection, user_id: int, limit: int = 20) -> list[SearchRecord]:
    """The person's newest searches (engagement events of kind search), newest first."""
    rows = conn.execute(
        select(engagement_events.c.query, engagement_events.c.occurred_at)
        .where(engagement_events.c.user_id == user_id, engagement_events.c.kind == Kind.SEARCH.value)
        .order_by(engagement_events.c.occurred_at.desc(), engagement_events.c.id.desc())
        .limit(limit)
    )
    return [{"query": q or "", "searched_at": utc_time(at).isoformat()} for q, at in rows]


def delete_searches(conn: Connection, user_id: int) -> int:
    """Clear the person's search history; returns how many searches were deleted."""
    return conn.execute(
        delete(engagement_events).where(
            engagement_events.c.user_id == user_id, engagement_events.c.kind == Kind.SEARCH.value
        )
    ).rowcount


def forget_hides(conn: Connection, user_id: int, pin_id: int) -> int:
    """An undone hide: the person's hide events of that Pin go too, so nothing still says they hid it."""
    return conn.execute(
        delete(engagement_events).where(
            engagement_events.c.user_id == user_id,
            engagement_events.c.kind == Kind.HIDE.value,
            engagement_events.c.pin_id == pin_id,
        )
    ).rowcount
