"""Reads of on-site engagement (clicks and close-ups) for the recommenders: one person's recent ones per
request, and everyone's for training."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Row, bindparam, func, or_, select

from tastegraph.collect.tables import engagement_events
from tastegraph.kernel.fastsql import Query

# Read on every home feed request: built once, run through the driver (kernel.fastsql).
_ENGAGED = Query(
    select(engagement_events.c.pin_id)
    .where(
        engagement_events.c.user_id == bindparam("user_id"),
        or_(engagement_events.c.kind == "click", engagement_events.c.kind == "closeup"),
        engagement_events.c.pin_id.is_not(None),
    )
    .order_by(engagement_events.c.occurred_at.desc())
    .limit(bindparam("limit"))
)


def recent_clicks_and_closeups(conn: Connection, user_id: int, limit: int) -> list[int]:
    """The Pins of the person's newest `limit` clicks and close-ups, newest first (with repeats)."""
    return [int(p) for p in _ENGAGED.column(conn, {"user_id": user_id, "limit": limit})]


def pin_engagement(conn: Connection, kinds: Sequence[str]) -> Sequence[Row[Any, Any]]:
    """(person, Pin) of every stored engagement event of the given kinds that names a Pin."""
    return conn.execute(
        select(engagement_events.c.user_id, engagement_events.c.pin_id).where(
            engagement_events.c.kind.in_(kinds), engagement_events.c.pin_id.is_not(None)
        )
    ).all()


def pin_kind_counts(conn: Connection, kinds: Sequence[str]) -> list[tuple[int, str, int]]:
    """(Pin, kind, events) over every stored engagement event of the given kinds that names a Pin:
    counts only, never who (the organic prior of the pCTR model, ads.ctr_training)."""
    n = func.count()
    rows = conn.execute(
        select(engagement_events.c.pin_id, engagement_events.c.kind, n)
        .where(engagement_events.c.kind.in_(kinds), engagement_events.c.pin_id.is_not(None))
        .group_by(engagement_events.c.pin_id, engagement_events.c.kind)
    )
    return [(int(p), str(k), int(c)) for p, k, c in rows]
