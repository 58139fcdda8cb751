"""On-site engagement (saves, clicks, close-ups, hides, follows, searches), ingested in idempotent batches."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Literal, TypedDict

from sqlalchemy import Connection, delete, insert, or_, select

from tastegraph.catalog import boards, content, feed_controls, lookups
from tastegraph.collect.tables import engagement_events
from tastegraph.kernel import InvalidInput, NotFound
from tastegraph.kernel.ids import new_event_id

MAX_BATCH = 500
FUTURE_TOLERANCE = timedelta(minutes=5)


class Kind(StrEnum):
    SAVE = "save"
    CLICK = "click"
    CLOSEUP = "closeup"
    HIDE = "hide"
    FOLLOW_BOARD = "follow_board"
    FOLLOW_USER = "follow_user"
    SEARCH = "search"
    # Boards and following (issue 14): undoing a save or a follow, and deleting a board, are engagement
    # too, so the history a person exports and the recommenders read says what changed.
    UNSAVE = "unsave"
    UNFOLLOW_BOARD = "unfollow_board"
    UNFOLLOW_USER = "unfollow_user"
    DELETE_BOARD = "delete_board"


# Which target each kind needs.
_NEEDS: dict[Kind, str] = {
    Kind.SAVE: "pin_id",
    Kind.CLICK: "pin_id",
    Kind.CLOSEUP: "pin_id",
    Kind.HIDE: "pin_id",
    Kind.FOLLOW_BOARD: "board_id",
    Kind.FOLLOW_USER: "target_user_id",
    Kind.SEARCH: "query",
    Kind.UNSAVE: "pin_id",
    Kind.UNFOLLOW_BOARD: "board_id",
    Kind.UNFOLLOW_USER: "target_user_id",
    Kind.DELETE_BOARD: "board_id",
}
# Kinds that need a second target.
_ALSO_NEEDS: dict[Kind, str] = {Kind.UNSAVE: "board_id"}


@dataclass(frozen=True)
class EngagementIn:
    kind: Kind
    event_id: str | None = None
    pin_id: int | None = None
    board_id: int | None = None
    target_user_id: int | None = None
    query: str | None = None
    occurred_at: datetime | None = None
    # Feed controls: why a Pin is hidden (hide events only; catalog.feed_controls.HIDE_REASONS).
    reason: str | None = None


class EngagementOutcome(TypedDict):
    event_id: str
    status: Literal["stored", "duplicate"]


def record_engagement(
    conn: Connection, user_id: int, events: Sequence[EngagementIn], now: datetime
) -> list[EngagementOutcome]:
    """Validate every event, then store the new ones and apply their effects (a save puts the Pin on a
    board, a follow follows). Events whose id was already stored are reported as duplicates."""
    if not 1 <= len(events) <= MAX_BATCH:
        raise InvalidInput(f"send 1 to {MAX_BATCH} events", field="events")
    ids = [e.event_id or new_event_id() for e in events]
    if len(set(ids)) != len(ids):
        raise InvalidInput("event ids repeat within the batch", field="events")
    for i, e in enumerate(events):
        for need in (_NEEDS[e.kind], _ALSO_NEEDS.get(e.kind)):
            if need is not None and getattr(e, need) in (None, ""):
                raise InvalidInput(f"a {e.kind.value} event needs {need}", field=f"events[{i}].{need}")
        if e.reason is not None:  # feed controls: only a hide has a reason
            if e.kind is not Kind.HIDE:
                raise InvalidInput("only a hide event has a reason", field=f"events[{i}].reason")
            feed_controls.check_reason(e.reason, field=f"events[{i}].reason")
        if e.occurred_at is not None and e.occurred_at > now + FUTURE_TOLERANCE:
            raise InvalidInput("occurred_at is in the future", field=f"events[{i}].occurred_at")
    existing = set(
        conn.execute(
            select(engagement_events.c.event_id).where(engagement_events.c.event_id.in_(ids))
        ).scalars()
    )
    # A stored event retried (a deleted board's delete_board, say) is a duplicate, not a 404.
    _check_targets_exist(conn, events, {i for i, event_id in enumerate(ids) if event_id in existing})
    out: list[EngagementOutcome] = []
    for i, (event_id, e) in enumerate(zip(ids, events, strict=True)):
        if event_id in existing:
            out.append({"event_id": event_id, "status": "duplicate"})
            continue
        when = e.occurred_at or now
        board_id = e.board_id
        query = e.query
        if e.kind is Kind.SAVE:
            assert e.pin_id is not None
            board_id = content.save_pin(conn, user_id, e.pin_id, e.board_id, when)
        elif e.kind is Kind.HIDE:
            assert e.pin_id is not None
            feed_controls.hide(conn, user_id, e.pin_id, e.reason, when)
        elif e.kind is Kind.FOLLOW_BOARD:
            assert e.board_id is not None
            content.follow_board(conn, user_id, e.board_id, when)
        elif e.kind is Kind.FOLLOW_USER:
            assert e.target_user_id is not None
            try:
                content.follow_user(conn, user_id, e.target_user_id, when)
            except InvalidInput as exc:
                raise InvalidInput(exc.message, field=f"events[{i}].target_user_id") from exc
        elif e.kind is Kind.UNSAVE:
            assert e.pin_id is not None and e.board_id is not None
            boards.unsave_pin(conn, user_id, e.board_id, e.pin_id)
        elif e.kind is Kind.UNFOLLOW_BOARD:
            assert e.board_id is not None
            boards.unfollow_board(conn, user_id, e.board_id)
        elif e.kind is Kind.UNFOLLOW_USER:
            assert e.target_user_id is not None
            try:
                boards.unfollow_user(conn, user_id, e.target_user_id)
            except InvalidInput as exc:
                raise InvalidInput(exc.message, field=f"events[{i}].target_user_id") from exc
        elif e.kind is Kind.DELETE_BOARD:
            assert e.board_id is not None
            # The event cannot name the board it deleted (events naming a board go with it): it keeps
            # the board's name instead, for the person's own history and export.
            query = boards.delete_board(conn, user_id, e.board_id)
            board_id = None
        conn.execute(
            insert(engagement_events).values(
                event_id=event_id,
                user_id=user_id,
                kind=e.kind.value,
                pin_id=e.pin_id,
                board_id=board_id,
                target_user_id=e.target_user_id,
                query=(query or None) and query[:200],
                occurred_at=when,
                received_at=now,
            )
        )
        existing.add(event_id)
        out.append({"event_id": event_id, "status": "stored"})
    return out


def _check_targets_exist(conn: Connection, events: Sequence[EngagementIn], stored: set[int]) -> None:
    """Unknown Pin or board ids are a 404 naming the event, before anything is written (events at the
    positions in `stored` are already stored: not checked)."""
    fresh = [(i, e) for i, e in enumerate(events) if i not in stored]
    pin_ids = {e.pin_id for _, e in fresh if e.pin_id is not None}
    board_ids = {e.board_id for _, e in fresh if e.board_id is not None}
    known_pins = lookups.existing_pins(conn, pin_ids)
    known_boards = lookups.existing_boards(conn, board_ids)

    for i, e in fresh:
        if e.pin_id is not None and e.pin_id not in known_pins:
            raise NotFound(f"no Pin with id {e.pin_id}", field=f"events[{i}].pin_id")
        if e.board_id is not None and e.board_id not in known_boards:
            raise NotFound(f"no board with id {e.board_id}", field=f"events[{i}].board_id")


def people_engaged_with_domain(
    conn: Connection, domain: str, kinds: Sequence[Kind], since: datetime
) -> set[int]:
    """People who saved, clicked or closed up Pins linking to `domain` since `since` (engagement
    audiences). Consent for using them is the caller's to decide, person by person."""
    rows = conn.execute(
        select(engagement_events.c.user_id)
        .where(
            engagement_events.c.pin_id.in_(lookups.pins_linking_to(domain)),
            engagement_events.c.kind.in_([k.value for k in kinds]),
            engagement_events.c.occurred_at >= since,
        )
        .distinct()
    )
    return {int(r.user_id) for r in rows}


class EngagementRecord(TypedDict):
    """One of a person's engagement events, as their data export lists it."""

    event_id: str
    kind: str
    pin_id: int | None
    board_id: int | None
    target_user_id: int | None
    query: str | None
    occurred_at: str  # ISO 8601


def export(conn: Connection, user_id: int) -> list[EngagementRecord]:
    rows = conn.execute(
        select(engagement_events)
        .where(engagement_events.c.user_id == user_id)
        .order_by(engagement_events.c.occurred_at.desc())
    ).mappings()
    return [
        {
            "event_id": r["event_id"],
            "kind": r["kind"],
            "pin_id": r["pin_id"],
            "board_id": r["board_id"],
            "target_user_id": r["target_user_id"],
            "query": r["query"],
            "occurred_at": r["occurred_at"].isoformat(),
        }
        for r in rows
    ]


def erase(conn: Connection, user_id: int) -> int:
    """Delete the person's events, and others' events that name this person or their Pins and boards."""
    own_pins = lookups.pins_created_by(user_id)
    own_boards = lookups.boards_owned_by(user_id)
    return conn.execute(
        delete(engagement_events).where(
            or_(
                engagement_events.c.user_id == user_id,
                engagement_events.c.target_user_id == user_id,
                engagement_events.c.pin_id.in_(own_pins),
                engagement_events.c.board_id.in_(own_boards),
            )
        )
    ).rowcount
