"""Reads of the save graph for the recommenders: who saved, hid and follows what, what is on which board,
the most saved Pins of a topic, a site or of all, new Pins of a topic, and the whole graph for training.

The per-request ones (home feed, related Pins) are built once and run through the driver
(kernel.fastsql: no statement building, cache-key hashing or per-row processing per request). Rows that
a caller turns into its own objects one by one come back as the driver gives them, so no row is looped
over twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, bindparam, desc, func, select

from tastegraph.catalog.tables import (
    board_follows,
    board_pins,
    boards,
    hides,
    pin_topics,
    pins,
    topics,
    user_follows,
    users,
)
from tastegraph.kernel.fastsql import Query, utc_time

# Secret boards are their owner's alone (catalog.boards): every read below that looks at other people's
# boards or saves (what a feed, a related Pin, a suggestion or a reason is made of) keeps to public boards.
# Only reads of the viewer's own saves (saved_newest_first, recent_saves, saved_pins) see their secret
# boards too: the owner's own feed may use their own secret saves.
_PUBLIC = boards.c.secret.is_(False)

# --- one person's saves, hides and follows (every home feed and related Pins request) ----------------

# Every save, newest first, without the times (reading a time costs more than the rest of the row), and
# the newest few with them.
_SAVED_ORDER = Query(
    select(board_pins.c.pin_id)
    .where(board_pins.c.saved_by == bindparam("user_id"))
    .group_by(board_pins.c.pin_id)
    .order_by(func.max(board_pins.c.saved_at).desc(), board_pins.c.pin_id)
)
_RECENT_SAVES = Query(
    select(board_pins.c.pin_id, func.max(board_pins.c.saved_at).label("at"))
    .where(board_pins.c.saved_by == bindparam("user_id"))
    .group_by(board_pins.c.pin_id)
    .order_by(desc("at"), board_pins.c.pin_id)
    .limit(bindparam("limit"))
)
_HIDDEN = Query(select(hides.c.pin_id).where(hides.c.user_id == bindparam("user_id")))
_SAVED_PINS = Query(select(board_pins.c.pin_id).where(board_pins.c.saved_by == bindparam("user_id")))
_FOLLOWED_BOARDS = Query(
    select(board_pins.c.pin_id, boards.c.id, boards.c.name, board_pins.c.saved_at)
    .join(board_follows, board_follows.c.board_id == board_pins.c.board_id)
    .join(boards, boards.c.id == board_pins.c.board_id)
    .where(board_follows.c.user_id == bindparam("user_id"), _PUBLIC)
    .order_by(board_pins.c.saved_at.desc())
    .limit(bindparam("limit"))
)
_FOLLOWED_PEOPLE = Query(
    select(board_pins.c.pin_id, users.c.id, users.c.display_name, board_pins.c.saved_at)
    .join(user_follows, user_follows.c.followee_id == board_pins.c.saved_by)
    .join(users, users.c.id == board_pins.c.saved_by)
    .join(boards, boards.c.id == board_pins.c.board_id)
    .where(user_follows.c.follower_id == bindparam("user_id"), _PUBLIC)
    .order_by(board_pins.c.saved_at.desc())
    .limit(bindparam("limit"))
)
_BOARD_NAMES = Query(
    select(boards.c.id, boards.c.name).where(boards.c.id.in_(bindparam("ids", expanding=True)), _PUBLIC)
)


def saved_newest_first(conn: Connection, user_id: int) -> list[int]:
    """Every Pin the person saved, each once, the most recently saved first."""
    return [int(p) for p in _SAVED_ORDER.column(conn, {"user_id": user_id})]


def recent_saves(conn: Connection, user_id: int, limit: int) -> list[tuple[int, datetime]]:
    """(Pin, when last saved) of the person's `limit` most recent saves, newest first."""
    rows = _RECENT_SAVES.rows(conn, {"user_id": user_id, "limit": limit})
    return [(int(p), utc_time(at)) for p, at in rows]


def hidden_pins(conn: Connection, user_id: int) -> set[int]:
    return {int(h) for h in _HIDDEN.column(conn, {"user_id": user_id})}


def saved_pins(conn: Connection, user_id: int) -> set[int]:
    return {int(p) for p in _SAVED_PINS.column(conn, {"user_id": user_id})}


def saves_on_followed_boards(conn: Connection, user_id: int, limit: int) -> list[tuple[Any, ...]]:
    """The newest `limit` saves to boards the person follows, newest first, as the driver gives them:
    (Pin id, board id, board name, saved at)."""
    return _FOLLOWED_BOARDS.rows(conn, {"user_id": user_id, "limit": limit})


def saves_by_followed_people(conn: Connection, user_id: int, limit: int) -> list[tuple[Any, ...]]:
    """The newest `limit` saves by people the person follows, newest first, as the driver gives them:
    (Pin id, saver's id, saver's display name, saved at)."""
    return _FOLLOWED_PEOPLE.rows(conn, {"user_id": user_id, "limit": limit})


def board_names(conn: Connection, board_ids: set[int]) -> dict[int, str]:
    """Names of the boards that still exist and are public (a reason never names a secret board)."""
    if not board_ids:
        return {}
    return {int(i): str(n) for i, n in _BOARD_NAMES.rows(conn, {"ids": sorted(board_ids)})}


# --- boards in common ----------------------------------------------------------------------------------


def co_saved_with(
    conn: Connection, seeds: list[int], all_seeds: list[int], want: int
) -> list[tuple[int, int, int]]:
    """The best `want` of (Pin, seed, boards holding both), most boards first, for Pins on boards with
    one of `seeds` and not in `all_seeds`."""
    bp_seed = board_pins.alias("seed")
    bp_other = board_pins.alias("other")
    co = func.count().label("co")
    rows = conn.execute(
        select(bp_other.c.pin_id, bp_seed.c.pin_id, co)
        .join(bp_other, bp_other.c.board_id == bp_seed.c.board_id)
        .join(boards, boards.c.id == bp_seed.c.board_id)
        .where(bp_seed.c.pin_id.in_(seeds), bp_other.c.pin_id.not_in(all_seeds), _PUBLIC)
        .group_by(bp_other.c.pin_id, bp_seed.c.pin_id)
        .order_by(co.desc(), bp_other.c.pin_id)
        .limit(want)
    ).all()
    return [(int(p), int(v), int(n)) for p, v, n in rows]


def co_saved_boards(conn: Connection, pin_id: int, want: int) -> Sequence[Row[Any, Any, Any]]:
    """(Pin, boards holding it and `pin_id`, the lowest such board) for Pins on boards with `pin_id`,
    most shared boards first, as the driver gives them."""
    seed, other = board_pins.alias("seed"), board_pins.alias("other")
    n = func.count().label("n")
    return conn.execute(
        select(other.c.pin_id, n, func.min(other.c.board_id))
        .join(other, other.c.board_id == seed.c.board_id)
        .join(boards, boards.c.id == seed.c.board_id)
        .where(seed.c.pin_id == pin_id, other.c.pin_id != pin_id, _PUBLIC)
        .group_by(other.c.pin_id)
        .order_by(n.desc(), other.c.pin_id)
        .limit(want)
    ).all()


# --- catalogue lists: the same for everyone ----------------------------------------------------------


def most_saved_in_topic(conn: Connection, topic_id: int, limit: int) -> list[int]:
    return [
        int(p)
        for p in conn.execute(
            select(pin_topics.c.pin_id)
            .join(pins, pins.c.id == pin_topics.c.pin_id)
            .where(pin_topics.c.topic_id == topic_id)
            .order_by(pins.c.save_count.desc(), pins.c.id)
            .limit(limit)
        ).scalars()
    ]


def most_saved_from_domain(conn: Connection, domain: str, limit: int) -> list[int]:
    return [
        int(p)
        for p in conn.execute(
            select(pins.c.id)
            .where(pins.c.domain == domain)
            .order_by(pins.c.save_count.desc(), pins.c.id)
            .limit(limit)
        ).scalars()
    ]


def some_pins_from_domain(conn: Connection, domain: str, limit: int) -> list[int]:
    """Up to `limit` of the domain's Pins, in no particular order."""
    ids = conn.execute(select(pins.c.id).where(pins.c.domain == domain).limit(limit)).scalars().all()
    return [int(i) for i in ids]


def most_saved(conn: Connection, limit: int) -> list[tuple[int, int]]:
    """(Pin, saves) of the most saved Pins of all."""
    rows = conn.execute(
        select(pins.c.id, pins.c.save_count).order_by(pins.c.save_count.desc(), pins.c.id).limit(limit)
    )
    return [(int(r[0]), int(r[1])) for r in rows]


def new_pins_in_topic(
    conn: Connection, topic_id: int, since: datetime, max_saves: int, limit: int
) -> list[tuple[int, datetime, int]]:
    """(Pin, created at, saves) of the topic's Pins created since `since` with at most `max_saves`
    saves, newest first."""
    rows = conn.execute(
        select(pins.c.id, pins.c.created_at, pins.c.save_count)
        .join(pin_topics, pin_topics.c.pin_id == pins.c.id)
        .where(
            pin_topics.c.topic_id == topic_id,
            pins.c.created_at >= since,
            pins.c.save_count <= max_saves,
        )
        .order_by(pins.c.created_at.desc(), pins.c.id.desc())
        .limit(limit)
    )
    return [(int(p), at, int(n)) for p, at, n in rows]


def topics_of_pin(conn: Connection, pin_id: int) -> list[tuple[int, str, str]]:
    """(topic id, slug, name) of the Pin's topics, by slug."""
    rows = conn.execute(
        select(topics.c.id, topics.c.slug, topics.c.name)
        .join(pin_topics, pin_topics.c.topic_id == topics.c.id)
        .where(pin_topics.c.pin_id == pin_id)
        .order_by(topics.c.slug)
    ).all()
    return [(int(t), str(slug), str(name)) for t, slug, name in rows]


# --- boards and people to follow ---------------------------------------------------------------------


def own_and_followed_boards(conn: Connection, user_id: int) -> set[int]:
    own = conn.execute(select(boards.c.id).where(boards.c.owner_id == user_id)).scalars()
    followed = conn.execute(
        select(board_follows.c.board_id).where(board_follows.c.user_id == user_id)
    ).scalars()
    return {int(b) for b in own} | {int(b) for b in followed}


def boards_holding_most(conn: Connection, pin_ids: list[int], want: int) -> list[int]:
    """The `want` boards holding the most of `pin_ids`, ties by board id."""
    n = func.count().label("n")
    rows = conn.execute(
        select(board_pins.c.board_id, n)
        .join(boards, boards.c.id == board_pins.c.board_id)
        .where(board_pins.c.pin_id.in_(pin_ids), _PUBLIC)
        .group_by(board_pins.c.board_id)
        .order_by(n.desc(), board_pins.c.board_id)
        .limit(want)
    )
    return [int(r[0]) for r in rows]


def pins_on_boards(conn: Connection, board_ids: list[int]) -> list[tuple[int, int]]:
    """(board, Pin) of everything on the boards now."""
    rows = conn.execute(
        select(board_pins.c.board_id, board_pins.c.pin_id)
        .join(boards, boards.c.id == board_pins.c.board_id)
        .where(board_pins.c.board_id.in_(board_ids), _PUBLIC)
    )
    return [(int(b), int(p)) for b, p in rows]


def followees(conn: Connection, user_id: int) -> set[int]:
    """The people the person follows."""
    followed = conn.execute(
        select(user_follows.c.followee_id).where(user_follows.c.follower_id == user_id)
    ).scalars()
    return {int(u) for u in followed}


def savers_of(conn: Connection, pin_ids: list[int]) -> list[tuple[int, int]]:
    """(saver, the Pin's saves) for every save of the Pins."""
    rows = conn.execute(
        select(board_pins.c.saved_by, pins.c.save_count)
        .join(pins, pins.c.id == board_pins.c.pin_id)
        .join(boards, boards.c.id == board_pins.c.board_id)
        .where(board_pins.c.pin_id.in_(pin_ids), _PUBLIC)
    )
    return [(int(u), int(saves)) for u, saves in rows]


def top_savers_in_topics(conn: Connection, topic_ids: list[int], want: int) -> list[int]:
    """The `want` people with the most saves in the topics, ties by id."""
    n = func.count().label("n")
    rows = conn.execute(
        select(board_pins.c.saved_by, n)
        .join(pin_topics, pin_topics.c.pin_id == board_pins.c.pin_id)
        .join(boards, boards.c.id == board_pins.c.board_id)
        .where(pin_topics.c.topic_id.in_(topic_ids), _PUBLIC)
        .group_by(board_pins.c.saved_by)
        .order_by(n.desc(), board_pins.c.saved_by)
        .limit(want)
    )
    return [int(r[0]) for r in rows]


def existing_people(conn: Connection, user_ids: list[int]) -> set[int]:
    return {int(u) for u in conn.execute(select(users.c.id).where(users.c.id.in_(user_ids))).scalars()}


def saves_among(conn: Connection, people: list[int], pin_ids: list[int]) -> list[tuple[int, int]]:
    """(person, Pin) for each of `pin_ids` the people saved."""
    rows = conn.execute(
        select(board_pins.c.saved_by, board_pins.c.pin_id)
        .join(boards, boards.c.id == board_pins.c.board_id)
        .where(board_pins.c.saved_by.in_(people), board_pins.c.pin_id.in_(pin_ids), _PUBLIC)
    )
    return [(int(u), int(p)) for u, p in rows]


def saves_per_topic(conn: Connection, people: list[int]) -> list[tuple[int, int, int]]:
    """(person, topic, their saves in it) for every topic the people saved in, by person and topic."""
    n = func.count().label("n")
    # No topic filter here: with the topics in the WHERE clause SQLite walks every Pin of those topics
    # instead of these people's saves (tens of ms a request on the demo world).
    rows = conn.execute(
        select(board_pins.c.saved_by, pin_topics.c.topic_id, n)
        .join(pin_topics, pin_topics.c.pin_id == board_pins.c.pin_id)
        .join(boards, boards.c.id == board_pins.c.board_id)
        .where(board_pins.c.saved_by.in_(people), _PUBLIC)
        .group_by(board_pins.c.saved_by, pin_topics.c.topic_id)
        .order_by(board_pins.c.saved_by, pin_topics.c.topic_id)
    )
    return [(int(u), int(t), int(count)) for u, t, count in rows]


def pin_titles(conn: Connection, pin_ids: Iterable[int]) -> dict[int, str]:
    """Titles of the Pins that exist, read now (content.pin_facts keeps them for an hour)."""
    return _pin_values(conn, pins.c.title, set(pin_ids))


def pin_save_counts(conn: Connection, pin_ids: Iterable[int]) -> dict[int, int]:
    return _pin_values(conn, pins.c.save_count, set(pin_ids))


def _pin_values(conn: Connection, column: Any, pin_ids: set[int]) -> dict[int, Any]:
    if not pin_ids:
        return {}
    return {int(i): v for i, v in conn.execute(select(pins.c.id, column).where(pins.c.id.in_(pin_ids)))}


# --- the whole graph, for training -------------------------------------------------------------------


def all_pin_ids(conn: Connection) -> list[int]:
    return [int(i) for i in conn.execute(select(pins.c.id)).scalars()]


def all_user_ids(conn: Connection) -> list[int]:
    return [int(i) for i in conn.execute(select(users.c.id)).scalars()]


def all_board_ids(conn: Connection) -> list[int]:
    """Every public board: a trained model (walks, co-saves, board and people suggestions) never holds a
    secret one."""
    return [int(i) for i in conn.execute(select(boards.c.id).where(_PUBLIC)).scalars()]


def all_saves(conn: Connection) -> Sequence[Row[Any, Any, Any]]:
    """(board, Pin, saver) of every save to a public board (the model is shared by everyone: a secret
    save enters the owner's own feed only at request time, through their live profile)."""
    return conn.execute(
        select(board_pins.c.board_id, board_pins.c.pin_id, board_pins.c.saved_by)
        .join(boards, boards.c.id == board_pins.c.board_id)
        .where(_PUBLIC)
    ).all()


def all_hides(conn: Connection) -> Sequence[Row[Any, Any]]:
    """(person, Pin) of every hide."""
    return conn.execute(select(hides.c.user_id, hides.c.pin_id)).all()
