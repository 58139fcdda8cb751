"""Pins, topics, boards, saves, follows and hides."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, TypedDict

from sqlalchemy import Connection, Engine, bindparam, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

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
from tastegraph.kernel import Forbidden, InvalidInput, NotFound
from tastegraph.kernel.cache import PerDatabase, TimedCache
from tastegraph.kernel.fastsql import Query
from tastegraph.kernel.urls import domain_of

# Built once, so each request reuses their cache keys (the feed and related Pins read them every time).
_PINS = select(pins).where(pins.c.id.in_(bindparam("ids", expanding=True)))
_TOPICS_OF = (
    select(pin_topics.c.pin_id, topics.c.slug)
    .join(topics, topics.c.id == pin_topics.c.topic_id)
    .where(pin_topics.c.pin_id.in_(bindparam("ids", expanding=True)))
    .order_by(topics.c.slug)
)


class PinFacts(TypedDict):
    """What never changes about a Pin (kept in memory by `pin_facts`): all of a `Pin` but its save count,
    with the topics as a tuple."""

    id: int
    title: str
    description: str
    image_url: str
    link: str
    domain: str
    topics: tuple[str, ...]
    creator_id: int | None
    created_at: str  # ISO 8601


class Pin(TypedDict):
    """A Pin as the feed, the API and the pages get it (`get_pins`)."""

    id: int
    title: str
    description: str
    image_url: str
    link: str
    domain: str
    topics: list[str]  # slugs
    creator_id: int | None
    created_at: str  # ISO 8601
    save_count: int


class Board(TypedDict):
    """One of a person's own boards (`boards_of`)."""

    id: int
    name: str
    description: str
    secret: bool  # visible to its owner only
    pin_count: int
    created_at: str  # ISO 8601


class BoardCard(TypedDict):
    """A board as suggested to follow (`get_boards`): with its owner's name."""

    id: int
    name: str
    description: str
    owner_id: int
    owner_name: str
    pin_count: int


class PersonCard(TypedDict):
    """What anyone may see of a person (`get_people`)."""

    id: int
    display_name: str


def get_pin(conn: Connection, pin_id: int) -> Pin:
    found = get_pins(conn, [pin_id])
    if pin_id not in found:
        raise NotFound(f"no Pin with id {pin_id}", field="pin_id")
    return found[pin_id]


def get_pins(conn: Connection, pin_ids: Iterable[int]) -> dict[int, Pin]:
    """Pins by id (missing ids are left out), with their topics.

    Everything about a Pin but its save count is fixed when it is created (there is no edit; a Pin is
    only ever deleted as a whole), so those parts are kept in memory (`pin_facts`); each call still
    reads which of the Pins exist, and their save counts, from the table."""
    ids = list(dict.fromkeys(pin_ids))
    if not ids:
        return {}
    counts = {int(p): int(n) for p, n in _SAVE_COUNTS.rows(conn, {"ids": ids})}
    _forget_facts(conn, [p for p in ids if p not in counts])
    facts = pin_facts(conn, [p for p in ids if p in counts])
    # Pins once the loop below has made their topics (the cached tuples) lists, in place.
    out: dict[int, Pin] = {
        p: {**facts[p], "save_count": counts[p]}  # type: ignore[typeddict-item]
        for p in ids
        if p in facts
    }
    for pin in out.values():
        pin["topics"] = list(pin["topics"])  # a tuple in the cache
    return out


_SAVE_COUNTS = Query(
    select(pins.c.id, pins.c.save_count).where(pins.c.id.in_(bindparam("ids", expanding=True)))
)
# Pins kept in memory per database. A deleted Pin (never served: see get_pins) leaves the cache when
# get_pins finds it gone; one never asked for again is dropped once its entry expires, after
# PIN_FACTS_SECONDS less up to a quarter at random (so entries read together are not all read again in
# one request). Expired entries are purged once per PIN_FACTS_SECONDS; the cache starts over when full.
# (kernel.cache.TimedCache keeps expiry times and facts in two dicts, not (expiry, facts) pairs: the
# collector never stops tracking a tuple that holds a dict, so 40,000 pairs would lengthen every full
# pass, 7-14 ms under load; see api.app.freeze_startup_heap.)
PIN_FACTS_MAX = 200_000
PIN_FACTS_SECONDS = 3600.0

_pin_facts: PerDatabase[TimedCache[int, PinFacts]] = PerDatabase(
    lambda: TimedCache("pin facts", PIN_FACTS_SECONDS, spread=0.25, max_entries=PIN_FACTS_MAX)
)


def pin_facts_cache(engine: Engine) -> TimedCache[int, PinFacts]:
    """The Pin facts kept in memory for this database (for inspection and metrics)."""
    return _pin_facts.of(engine)


def _forget_facts(conn: Connection, gone: list[int]) -> None:
    cache = _pin_facts.existing(conn.engine)
    if cache is not None:
        for p in gone:
            cache.pop(p)


def pin_facts(conn: Connection, pin_ids: Iterable[int]) -> dict[int, PinFacts]:
    """The fixed parts of Pins (title, links, topics, creator, creation time; not the save count),
    from memory, reading the ones not seen yet. Callers decide which Pins exist: a deleted Pin's facts
    may still be here. Pins that do not exist are left out."""
    cache = _pin_facts.of(conn.engine)
    ids = list(dict.fromkeys(pin_ids))
    found, missing = cache.get_many(ids)
    if not missing:
        return found
    rows = conn.execute(_PINS, {"ids": missing}).mappings().all()
    tops = topics_of(conn, missing)
    read: dict[int, PinFacts] = {}
    for r in rows:
        # Only plain values (topics as a tuple): the garbage collector stops tracking the entry, so
        # a full cache does not lengthen its full passes (see api.app.freeze_startup_heap).
        fixed = _facts(r, tuple(tops.get(int(r["id"]), [])))
        read[fixed["id"]] = fixed
    cache.put_many(read)
    found.update(read)
    return {p: found[p] for p in ids if p in found}


def _facts(row: Any, topic_slugs: tuple[str, ...]) -> PinFacts:
    return {
        "id": int(row["id"]),
        "title": row["title"],
        "description": row["description"],
        "image_url": row["image_url"],
        "link": row["link_url"],
        "domain": row["domain"],
        "topics": topic_slugs,
        "creator_id": None if row["creator_id"] is None else int(row["creator_id"]),
        "created_at": row["created_at"].isoformat(),
    }


def topics_of(conn: Connection, pin_ids: list[int]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    if not pin_ids:
        return out
    for pid, slug in conn.execute(_TOPICS_OF, {"ids": list(pin_ids)}):
        out.setdefault(int(pid), []).append(slug)
    return out


TOPICS_SECONDS = 30.0
_topics: PerDatabase[TimedCache[str, dict[str, tuple[int, str]]]] = PerDatabase(
    lambda: TimedCache("topics by slug", TOPICS_SECONDS)
)


def topics_by_slug(conn: Connection) -> dict[str, tuple[int, str]]:
    """slug -> (topic id, name), kept for TOPICS_SECONDS (topics are only ever added)."""

    def read() -> dict[str, tuple[int, str]]:
        rows = conn.execute(select(topics.c.slug, topics.c.id, topics.c.name))
        return {str(s): (int(i), str(n)) for s, i, n in rows}

    return _topics.of(conn.engine).get_or_load("all", read)


def topic_ids(conn: Connection, slugs: Iterable[str]) -> dict[str, int]:
    """slug -> topic id for those of `slugs` that exist, read now (not cached: for checking input)."""
    wanted = list(dict.fromkeys(slugs))
    if not wanted:
        return {}
    rows = conn.execute(select(topics.c.slug, topics.c.id).where(topics.c.slug.in_(wanted)))
    return {str(s): int(i) for s, i in rows}


def ensure_topic(conn: Connection, slug: str, name: str) -> int:
    tid = conn.execute(select(topics.c.id).where(topics.c.slug == slug)).scalar_one_or_none()
    if tid is not None:
        return int(tid)
    result = conn.execute(insert(topics).values(slug=slug, name=name))
    assert result.inserted_primary_key is not None
    return int(result.inserted_primary_key[0])


def create_pin(
    conn: Connection,
    *,
    title: str,
    link_url: str,
    image_url: str,
    now: datetime,
    description: str = "",
    topic_ids: Iterable[int] = (),
    creator_id: int | None = None,
) -> int:
    domain = domain_of(link_url, field="link")
    result = conn.execute(
        insert(pins).values(
            title=title,
            description=description,
            link_url=link_url,
            image_url=image_url,
            domain=domain,
            creator_id=creator_id,
            created_at=now,
            save_count=0,
        )
    )
    assert result.inserted_primary_key is not None
    pin_id = int(result.inserted_primary_key[0])
    tids = list(dict.fromkeys(topic_ids))
    if tids:
        conn.execute(insert(pin_topics), [{"pin_id": pin_id, "topic_id": t} for t in tids])
    return pin_id


MAX_BOARD_NAME = 120
MAX_BOARD_DESCRIPTION = 500


def board_name(name: str) -> str:
    """A board name as stored: trimmed, 1 to MAX_BOARD_NAME characters (InvalidInput otherwise)."""
    name = name.strip()
    if not 1 <= len(name) <= MAX_BOARD_NAME:
        raise InvalidInput(f"a board name has 1 to {MAX_BOARD_NAME} characters", field="name")
    return name


def board_description(description: str) -> str:
    description = description.strip()
    if len(description) > MAX_BOARD_DESCRIPTION:
        raise InvalidInput(
            f"a board description has at most {MAX_BOARD_DESCRIPTION} characters", field="description"
        )
    return description


def create_board(
    conn: Connection,
    owner_id: int,
    name: str,
    now: datetime,
    description: str = "",
    secret: bool = False,
) -> int:
    name = board_name(name)
    description = board_description(description)
    result = conn.execute(
        insert(boards).values(
            owner_id=owner_id, name=name, description=description, secret=secret, created_at=now
        )
    )
    assert result.inserted_primary_key is not None
    return int(result.inserted_primary_key[0])


def boards_of(conn: Connection, user_id: int) -> list[Board]:
    count = func.count(board_pins.c.pin_id).label("pin_count")
    rows = conn.execute(
        select(boards.c.id, boards.c.name, boards.c.description, boards.c.secret, boards.c.created_at, count)
        .outerjoin(board_pins, board_pins.c.board_id == boards.c.id)
        .where(boards.c.owner_id == user_id)
        .group_by(boards.c.id, boards.c.name, boards.c.description, boards.c.secret, boards.c.created_at)
        .order_by(boards.c.id)
    ).mappings()
    return [
        {
            "id": int(r["id"]),
            "name": r["name"],
            "description": r["description"],
            "secret": bool(r["secret"]),
            "pin_count": int(r["pin_count"]),
            "created_at": r["created_at"].isoformat(),
        }
        for r in rows
    ]


def get_boards(conn: Connection, board_ids: Iterable[int]) -> dict[int, BoardCard]:
    """Public boards by id (missing and secret ones are left out: these cards are shown to others),
    with their owner's name and Pin count."""
    ids = list(dict.fromkeys(board_ids))
    if not ids:
        return {}
    count = select(func.count()).where(board_pins.c.board_id == boards.c.id).scalar_subquery()
    rows = conn.execute(
        select(
            boards.c.id, boards.c.name, boards.c.description, boards.c.owner_id, users.c.display_name, count
        )
        .join(users, users.c.id == boards.c.owner_id)
        .where(boards.c.id.in_(ids), boards.c.secret.is_(False))
    )
    return {
        int(r[0]): {
            "id": int(r[0]),
            "name": r[1],
            "description": r[2],
            "owner_id": int(r[3]),
            "owner_name": r[4],
            "pin_count": int(r[5]),
        }
        for r in rows
    }


def get_people(conn: Connection, user_ids: Iterable[int]) -> dict[int, PersonCard]:
    """Public profiles by id (missing ids are left out): what anyone may see of a person."""
    ids = list(dict.fromkeys(user_ids))
    if not ids:
        return {}
    rows = conn.execute(select(users.c.id, users.c.display_name).where(users.c.id.in_(ids)))
    return {int(i): {"id": int(i), "display_name": name} for i, name in rows}


def _require(conn: Connection, table: Any, ident: int, what: str, field: str) -> Any:
    row = conn.execute(select(table).where(table.c.id == ident)).mappings().first()
    if row is None:
        raise NotFound(f"no {what} with id {ident}", field=field)
    return row


def save_pin(conn: Connection, user_id: int, pin_id: int, board_id: int | None, now: datetime) -> int:
    """Save a Pin to one of the person's boards (their first board, created if needed, when none is named).

    Returns the board id. Saving a Pin that is already on the board changes nothing.
    """
    _require(conn, pins, pin_id, "Pin", "pin_id")
    if board_id is None:
        first = conn.execute(
            select(boards.c.id).where(boards.c.owner_id == user_id).order_by(boards.c.id).limit(1)
        ).scalar_one_or_none()
        board_id = int(first) if first is not None else create_board(conn, user_id, "Saved", now)
    board = _require(conn, boards, board_id, "board", "board_id")
    if int(board["owner_id"]) != user_id:
        if board["secret"]:  # never reveal that a secret board exists
            raise NotFound(f"no board with id {board_id}", field="board_id")
        raise Forbidden("you can only save to your own boards", field="board_id")
    try:
        with conn.begin_nested():
            conn.execute(
                insert(board_pins).values(board_id=board_id, pin_id=pin_id, saved_by=user_id, saved_at=now)
            )
    except IntegrityError:
        return board_id
    conn.execute(update(pins).where(pins.c.id == pin_id).values(save_count=pins.c.save_count + 1))
    return board_id


def follow_board(conn: Connection, user_id: int, board_id: int, now: datetime) -> None:
    """Follow another person's public board (a secret one is NotFound, one's own is refused)."""
    board = _require(conn, boards, board_id, "board", "board_id")
    if int(board["owner_id"]) == user_id:
        raise InvalidInput("you cannot follow your own board", field="board_id")
    if board["secret"]:
        raise NotFound(f"no board with id {board_id}", field="board_id")
    _insert_ignore(conn, board_follows, {"user_id": user_id, "board_id": board_id, "created_at": now})


def follow_user(conn: Connection, user_id: int, followee_id: int, now: datetime) -> None:
    if followee_id == user_id:
        raise InvalidInput("you cannot follow yourself", field="target_user_id")
    if conn.execute(select(users.c.id).where(users.c.id == followee_id)).first() is None:
        raise NotFound(f"no user with id {followee_id}", field="target_user_id")
    _insert_ignore(
        conn, user_follows, {"follower_id": user_id, "followee_id": followee_id, "created_at": now}
    )


def _insert_ignore(conn: Connection, table: Any, values: dict[str, object]) -> None:
    try:
        with conn.begin_nested():
            conn.execute(insert(table).values(**values))
    except IntegrityError:
        pass


# --- personal data ---------------------------------------------------------------------------------


class CreatedPin(TypedDict):
    id: int
    title: str
    link: str


class CatalogExport(TypedDict):
    """What the catalogue holds about a person. The rows read as they are (times in ISO 8601) are
    mappings of their columns: account (id, email, display_name, created_at), saves (board_id,
    pin_id, saved_at), followed boards (board_id, created_at), followed people (followee_id,
    created_at), hidden Pins (pin_id, created_at, reason)."""

    account: dict[str, object] | None
    boards: list[Board]
    saves: list[dict[str, object]]
    followed_boards: list[dict[str, object]]
    followed_people: list[dict[str, object]]
    hidden_pins: list[dict[str, object]]
    created_pins: list[CreatedPin]


def export(conn: Connection, user_id: int) -> CatalogExport:
    account = (
        conn.execute(
            select(users.c.id, users.c.email, users.c.display_name, users.c.created_at).where(
                users.c.id == user_id
            )
        )
        .mappings()
        .first()
    )
    saves = conn.execute(
        select(board_pins.c.board_id, board_pins.c.pin_id, board_pins.c.saved_at).where(
            board_pins.c.saved_by == user_id
        )
    ).mappings()
    followed_boards = conn.execute(
        select(board_follows.c.board_id, board_follows.c.created_at).where(board_follows.c.user_id == user_id)
    ).mappings()
    followed_people = conn.execute(
        select(user_follows.c.followee_id, user_follows.c.created_at).where(
            user_follows.c.follower_id == user_id
        )
    ).mappings()
    hidden = conn.execute(
        select(hides.c.pin_id, hides.c.created_at, hides.c.reason).where(hides.c.user_id == user_id)
    ).mappings()
    created = conn.execute(
        select(pins.c.id, pins.c.title, pins.c.link_url).where(pins.c.creator_id == user_id)
    )
    return {
        "account": None
        if account is None
        else {**dict(account), "created_at": account["created_at"].isoformat()},
        "boards": boards_of(conn, user_id),
        "saves": [{**dict(r), "saved_at": r["saved_at"].isoformat()} for r in saves],
        "followed_boards": [{**dict(r), "created_at": r["created_at"].isoformat()} for r in followed_boards],
        "followed_people": [{**dict(r), "created_at": r["created_at"].isoformat()} for r in followed_people],
        "hidden_pins": [{**dict(r), "created_at": r["created_at"].isoformat()} for r in hidden],
        "created_pins": [{"id": r.id, "title": r.title, "link": r.link_url} for r in created],
    }


def erase(conn: Connection, user_id: int) -> int:
    """Delete everything the catalogue holds about a person, dependents first. Saves by others of this
    person's Pins, and follows of their boards, go with the Pins and boards."""
    own_pins = select(pins.c.id).where(pins.c.creator_id == user_id).scalar_subquery()
    own_boards = select(boards.c.id).where(boards.c.owner_id == user_id).scalar_subquery()
    n = 0
    # Keep save counts right for Pins that stay: this person's saves stop counting.
    for (pin_id,) in conn.execute(select(board_pins.c.pin_id).where(board_pins.c.saved_by == user_id)).all():
        conn.execute(update(pins).where(pins.c.id == pin_id).values(save_count=pins.c.save_count - 1))
    for stmt in (
        delete(hides).where(hides.c.user_id == user_id),
        delete(hides).where(hides.c.pin_id.in_(own_pins)),
        delete(board_follows).where(board_follows.c.user_id == user_id),
        delete(board_follows).where(board_follows.c.board_id.in_(own_boards)),
        delete(user_follows).where(
            (user_follows.c.follower_id == user_id) | (user_follows.c.followee_id == user_id)
        ),
        delete(board_pins).where(board_pins.c.saved_by == user_id),
        delete(board_pins).where(board_pins.c.board_id.in_(own_boards)),
        delete(board_pins).where(board_pins.c.pin_id.in_(own_pins)),
        delete(pin_topics).where(pin_topics.c.pin_id.in_(own_pins)),
        delete(pins).where(pins.c.creator_id == user_id),
        delete(boards).where(boards.c.owner_id == user_id),
        delete(users).where(users.c.id == user_id),
    ):
        n += conn.execute(stmt).rowcount
    return n
