"""Feed controls in the catalogue: hides with their reason and their undo, topics a person removed from
their feed, and what "Tune your home feed" lists of the person's follows (with unfollowing).

A hide's reason says how strongly it should shape the feed (recommend.sources' profile reads it here);
a removed topic stops counting as an interest. Both are the person's own data: `export` and `erase`
are registered with privacy (bootstrap)."""

from __future__ import annotations

from datetime import datetime
from typing import TypedDict

from sqlalchemy import Connection, bindparam, delete, insert, select, update

from tastegraph.catalog.tables import (
    board_follows,
    boards,
    hides,
    pins,
    topics,
    user_follows,
    users,
)
from tastegraph.catalog.tables import (
    topic_exclusions as exclusions,
)
from tastegraph.kernel import InvalidInput, NotFound
from tastegraph.kernel.fastsql import Query, utc_time

# Why a person hid a Pin ("See fewer like this"); None when they gave no reason.
HIDE_REASONS = ("not_interested", "seen_it", "offensive")


def check_reason(reason: str | None, field: str = "reason") -> str | None:
    if reason is not None and reason not in HIDE_REASONS:
        raise InvalidInput(f"reason must be one of {', '.join(HIDE_REASONS)}", field=field)
    return reason


# --- hides ------------------------------------------------------------------------------------------


def hide(conn: Connection, user_id: int, pin_id: int, reason: str | None, now: datetime) -> None:
    """Hide a Pin for the person; hiding it again keeps the first time and takes the newest reason."""
    check_reason(reason)
    if conn.execute(select(pins.c.id).where(pins.c.id == pin_id)).first() is None:
        raise NotFound(f"no Pin with id {pin_id}", field="pin_id")
    done = conn.execute(
        update(hides).where(hides.c.user_id == user_id, hides.c.pin_id == pin_id).values(reason=reason)
    ).rowcount
    if not done:
        conn.execute(insert(hides).values(user_id=user_id, pin_id=pin_id, reason=reason, created_at=now))


def unhide(conn: Connection, user_id: int, pin_id: int) -> bool:
    """Undo a hide (True if there was one): the Pin may come back and stops shaping the feed."""
    return bool(
        conn.execute(delete(hides).where(hides.c.user_id == user_id, hides.c.pin_id == pin_id)).rowcount
    )


# Read on every signed-in feed request (the profile): built once, run through the driver.
_HIDES = Query(select(hides.c.pin_id, hides.c.reason).where(hides.c.user_id == bindparam("user_id")))


def hides_with_reasons(conn: Connection, user_id: int) -> dict[int, str | None]:
    """Every Pin the person hid, with the reason they gave (None for none)."""
    return {int(p): r for p, r in _HIDES.rows(conn, {"user_id": user_id})}


class HideRecord(TypedDict):
    pin_id: int
    reason: str | None
    hidden_at: str  # ISO 8601


def recent_hides(conn: Connection, user_id: int, limit: int = 50) -> list[HideRecord]:
    rows = conn.execute(
        select(hides.c.pin_id, hides.c.reason, hides.c.created_at)
        .where(hides.c.user_id == user_id)
        .order_by(hides.c.created_at.desc(), hides.c.pin_id)
        .limit(limit)
    )
    return [{"pin_id": int(p), "reason": r, "hidden_at": at.isoformat()} for p, r, at in rows]


# --- topics removed from the feed --------------------------------------------------------------------


def topic_id(conn: Connection, slug: str) -> int:
    """The id of a topic by its slug (NotFound for an unknown one)."""
    found = conn.execute(select(topics.c.id).where(topics.c.slug == slug)).scalar_one_or_none()
    if found is None:
        raise NotFound(f"no topic {slug!r}", field="topic")
    return int(found)


def exclude_topic(conn: Connection, user_id: int, slug: str, now: datetime) -> bool:
    """Remove a topic from the person's feed (True if it was not removed already)."""
    tid = topic_id(conn, slug)
    present = conn.execute(
        select(exclusions.c.topic_id).where(exclusions.c.user_id == user_id, exclusions.c.topic_id == tid)
    ).first()
    if present is not None:
        return False
    conn.execute(insert(exclusions).values(user_id=user_id, topic_id=tid, created_at=now))
    return True


def include_topic(conn: Connection, user_id: int, slug: str) -> bool:
    """Let a removed topic count again (True if it was removed)."""
    tid = topic_id(conn, slug)
    return bool(
        conn.execute(
            delete(exclusions).where(exclusions.c.user_id == user_id, exclusions.c.topic_id == tid)
        ).rowcount
    )


_EXCLUDED = Query(
    select(topics.c.slug)
    .join(exclusions, exclusions.c.topic_id == topics.c.id)
    .where(exclusions.c.user_id == bindparam("user_id"))
)


def excluded_topics(conn: Connection, user_id: int) -> frozenset[str]:
    """Slugs of the topics the person removed from their feed (read on every signed-in feed request)."""
    return frozenset(str(s) for s in _EXCLUDED.column(conn, {"user_id": user_id}))


class ExcludedTopic(TypedDict):
    topic: str  # slug
    name: str
    removed_at: str  # ISO 8601


def excluded_topic_list(conn: Connection, user_id: int) -> list[ExcludedTopic]:
    rows = conn.execute(
        select(topics.c.slug, topics.c.name, exclusions.c.created_at)
        .join(exclusions, exclusions.c.topic_id == topics.c.id)
        .where(exclusions.c.user_id == user_id)
        .order_by(exclusions.c.created_at.desc(), topics.c.slug)
    )
    return [{"topic": s, "name": n, "removed_at": utc_time(at).isoformat()} for s, n, at in rows]


# --- follows, as the tuner lists and removes them ---------------------------------------------------


class FollowedBoard(TypedDict):
    board_id: int
    name: str
    owner_id: int
    owner_name: str
    followed_at: str  # ISO 8601


class FollowedPerson(TypedDict):
    user_id: int
    display_name: str
    followed_at: str  # ISO 8601


def followed_boards(conn: Connection, user_id: int) -> list[FollowedBoard]:
    """Boards the person follows, newest follow first. A secret board someone follows stays listed to
    that follower only if they own it (a secret board is never shown to anyone else)."""
    rows = conn.execute(
        select(
            boards.c.id, boards.c.name, boards.c.owner_id, users.c.display_name, board_follows.c.created_at
        )
        .join(board_follows, board_follows.c.board_id == boards.c.id)
        .join(users, users.c.id == boards.c.owner_id)
        .where(board_follows.c.user_id == user_id)
        .where((boards.c.secret.is_(False)) | (boards.c.owner_id == user_id))
        .order_by(board_follows.c.created_at.desc(), boards.c.id)
    )
    return [
        {
            "board_id": int(b),
            "name": n,
            "owner_id": int(o),
            "owner_name": on,
            "followed_at": utc_time(at).isoformat(),
        }
        for b, n, o, on, at in rows
    ]


def followed_people(conn: Connection, user_id: int) -> list[FollowedPerson]:
    rows = conn.execute(
        select(users.c.id, users.c.display_name, user_follows.c.created_at)
        .join(user_follows, user_follows.c.followee_id == users.c.id)
        .where(user_follows.c.follower_id == user_id)
        .order_by(user_follows.c.created_at.desc(), users.c.id)
    )
    return [
        {"user_id": int(u), "display_name": n, "followed_at": utc_time(at).isoformat()} for u, n, at in rows
    ]


def unfollow_board(conn: Connection, user_id: int, board_id: int) -> None:
    """Stop following a board (NotFound when the person does not follow it: the tuner lists only what
    they follow, and a board's existence is not revealed this way)."""
    gone = conn.execute(
        delete(board_follows).where(board_follows.c.user_id == user_id, board_follows.c.board_id == board_id)
    ).rowcount
    if not gone:
        raise NotFound(f"you do not follow a board with id {board_id}", field="board_id")


def unfollow_person(conn: Connection, user_id: int, followee_id: int) -> None:
    gone = conn.execute(
        delete(user_follows).where(
            user_follows.c.follower_id == user_id, user_follows.c.followee_id == followee_id
        )
    ).rowcount
    if not gone:
        raise NotFound(f"you do not follow a person with id {followee_id}", field="user_id")


# --- personal data: topic exclusions (hides, with their reasons, are in catalog.content's export) --


def export(conn: Connection, user_id: int) -> list[ExcludedTopic]:
    return excluded_topic_list(conn, user_id)


def erase(conn: Connection, user_id: int) -> int:
    return conn.execute(delete(exclusions).where(exclusions.c.user_id == user_id)).rowcount
