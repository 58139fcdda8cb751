"""Bulk loading of the catalogue (people, Pins, topics, boards, saves, follows), and the reads loaders need.

For the demo world, the IKEA catalogue and benchmark catalogues: rows are built in memory and go in with
`kernel.bulk.insert_rows` (big executemany batches; COPY on PostgreSQL when asked), so loaders never
touch the catalogue's tables themselves. Every function takes the caller's transaction. Each `add_*`
stores every row it is given or raises (see `insert_rows`); rows with explicit ids move PostgreSQL's id
sequence past them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Unpack

from sqlalchemy import Connection, Table, func, or_, select

from tastegraph.catalog.content import ensure_topic
from tastegraph.catalog.tables import (
    board_follows,
    board_pins,
    boards,
    pin_topics,
    pins,
    topics,
    user_follows,
    users,
)
from tastegraph.kernel.bulk import Options, Row, insert_rows


def add_users(conn: Connection, rows: Sequence[Row], **options: Unpack[Options]) -> int:
    """People: `email`, `password_hash` (already hashed), `display_name`, `is_demo`, `created_at`, and
    usually `id`."""
    return insert_rows(conn, users, rows, **options)


def add_pins(conn: Connection, rows: Sequence[Row], **options: Unpack[Options]) -> int:
    """Pins: `title`, `description`, `image_url`, `link_url`, `domain`, `creator_id`, `save_count`
    (which must match the saves loaded), `created_at`, and `id` when the caller numbers them."""
    return insert_rows(conn, pins, rows, **options)


def tag_pins(conn: Connection, rows: Sequence[Row], **options: Unpack[Options]) -> int:
    """A Pin's topics: `pin_id`, `topic_id` (from `ensure_topics`)."""
    return insert_rows(conn, pin_topics, rows, **options)


def add_boards(conn: Connection, rows: Sequence[Row], **options: Unpack[Options]) -> int:
    """Boards: `owner_id`, `name`, `description`, `created_at`, and usually `id`."""
    return insert_rows(conn, boards, rows, **options)


def add_saves(conn: Connection, rows: Sequence[Row], **options: Unpack[Options]) -> int:
    """Saves, a Pin on a board: `board_id`, `pin_id`, `saved_by` (the board's owner), `saved_at`."""
    return insert_rows(conn, board_pins, rows, **options)


def add_board_follows(conn: Connection, rows: Sequence[Row], **options: Unpack[Options]) -> int:
    """People following boards: `user_id`, `board_id`, `created_at`."""
    return insert_rows(conn, board_follows, rows, **options)


def add_user_follows(conn: Connection, rows: Sequence[Row], **options: Unpack[Options]) -> int:
    """People following people: `follower_id`, `followee_id`, `created_at`."""
    return insert_rows(conn, user_follows, rows, **options)


def ensure_topics(conn: Connection, wanted: Sequence[tuple[str, str]]) -> tuple[dict[str, int], int]:
    """Topic ids by slug for (slug, name) pairs, creating missing topics; also returns how many were
    created."""
    before = _count(conn, topics)
    ids = {slug: ensure_topic(conn, slug, name) for slug, name in wanted}
    return ids, _count(conn, topics) - before


def max_ids(conn: Connection) -> dict[str, int]:
    """The largest id of `users`, `pins` and `boards` (0 when empty): explicit ids start after these."""
    return {
        t.name: int(conn.execute(select(func.coalesce(func.max(t.c.id), 0))).scalar_one())
        for t in (users, pins, boards)
    }


def pin_count(conn: Connection) -> int:
    return _count(conn, pins)


def has_pins(conn: Connection) -> bool:
    return conn.execute(select(pins.c.id).limit(1)).first() is not None


def demo_users_exist(conn: Connection, email_domain: str) -> bool:
    """Whether any person is marked as a demo person or has an address at `email_domain`."""
    demo_user = select(users.c.id).where(
        or_(users.c.is_demo.is_(True), users.c.email.like(f"%@{email_domain}"))
    )
    return conn.execute(demo_user.limit(1)).first() is not None


def pins_of_domain(conn: Connection, domain: str) -> list[tuple[int, str]]:
    """(id, link_url) of every Pin linking to `domain`."""
    rows = conn.execute(select(pins.c.id, pins.c.link_url).where(pins.c.domain == domain))
    return [(int(pid), str(url)) for pid, url in rows]


def _count(conn: Connection, table: Table) -> int:
    return int(conn.execute(select(func.count()).select_from(table)).scalar_one())
