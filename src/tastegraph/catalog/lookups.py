"""Small catalogue lookups other packages build on: which ids exist, and selectables naming a person's
own Pins and boards or a site's Pins, for use inside another package's statement (so no package needs
the catalogue's tables)."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import Connection, ScalarSelect, select

from tastegraph.catalog.tables import boards, pins, users


def existing_pins(conn: Connection, pin_ids: Collection[int]) -> set[int]:
    if not pin_ids:
        return set()
    return set(conn.execute(select(pins.c.id).where(pins.c.id.in_(pin_ids))).scalars())


def existing_boards(conn: Connection, board_ids: Collection[int]) -> set[int]:
    if not board_ids:
        return set()
    return set(conn.execute(select(boards.c.id).where(boards.c.id.in_(board_ids))).scalars())


def existing_users(conn: Connection, user_ids: Collection[int]) -> set[int]:
    if not user_ids:
        return set()
    return set(conn.execute(select(users.c.id).where(users.c.id.in_(user_ids))).scalars())


def pins_created_by(user_id: int) -> ScalarSelect[int]:
    """The ids of the Pins `user_id` created, as a subquery."""
    return select(pins.c.id).where(pins.c.creator_id == user_id).scalar_subquery()


def boards_owned_by(user_id: int) -> ScalarSelect[int]:
    """The ids of the boards `user_id` owns, as a subquery."""
    return select(boards.c.id).where(boards.c.owner_id == user_id).scalar_subquery()


def pins_linking_to(domain: str) -> ScalarSelect[int]:
    """The ids of the Pins whose link is on `domain`, as a subquery."""
    return select(pins.c.id).where(pins.c.domain == domain).scalar_subquery()
