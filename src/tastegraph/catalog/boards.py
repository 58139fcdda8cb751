"""Boards as their pages and the API see them: one board for a viewer, its Pins a page at a time,
renaming, making secret, deleting; unsaving and unfollowing; a person's public profile and the boards a
viewer may see of them; which of a viewer's boards hold some Pins (the Save buttons' state).

The secret-board rule lives here for every read that shows boards to a person: a secret board is its
owner's alone. Anyone else asking for it gets NotFound, exactly as for a board that never existed, and
it is never counted, listed or named for them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypedDict

from sqlalchemy import Connection, and_, delete, func, or_, select, update

from tastegraph.catalog.content import board_description, board_name
from tastegraph.catalog.tables import board_follows, board_pins, boards, pins, user_follows, users
from tastegraph.kernel import Forbidden, InvalidInput, NotFound

MAX_PAGE = 100


class BoardView(TypedDict):
    """A board as one viewer may see it."""

    id: int
    name: str
    description: str
    secret: bool
    owner_id: int
    owner_name: str
    pin_count: int
    follower_count: int
    created_at: str  # ISO 8601
    is_owner: bool
    following: bool  # the viewer follows it


class ProfileView(TypedDict):
    """A person as others may see them: counts leave out what is secret."""

    id: int
    display_name: str
    board_count: int  # boards the viewer may see
    follower_count: int
    following_count: int  # people they follow
    following_boards_count: int  # public boards they follow
    is_self: bool
    following: bool  # the viewer follows them


def _not_found(board_id: int) -> NotFound:
    return NotFound(f"no board with id {board_id}", field="board_id")


def _visible_to(viewer_id: int | None) -> Any:
    """Boards `viewer_id` may see: public ones and their own."""
    if viewer_id is None:
        return boards.c.secret.is_(False)
    return or_(boards.c.secret.is_(False), boards.c.owner_id == viewer_id)


def _board_row(conn: Connection, board_id: int, viewer_id: int | None) -> Any:
    row = (
        conn.execute(select(boards).where(boards.c.id == board_id, _visible_to(viewer_id))).mappings().first()
    )
    if row is None:
        raise _not_found(board_id)
    return row


def owned_board(conn: Connection, board_id: int, user_id: int) -> Any:
    """The board's row if `user_id` owns it. Someone else's public board is Forbidden (they can see it,
    not change it); a secret one, or none, is NotFound."""
    row = _board_row(conn, board_id, user_id)
    if int(row["owner_id"]) != user_id:
        raise Forbidden("only the board's owner can change it or save to it", field="board_id")
    return row


def view_board(conn: Connection, board_id: int, viewer_id: int | None) -> BoardView:
    """The board for this viewer (NotFound when it does not exist or is someone else's secret board)."""
    row = _board_row(conn, board_id, viewer_id)
    owner = conn.execute(select(users.c.display_name).where(users.c.id == row["owner_id"])).scalar_one()
    pin_count = conn.execute(
        select(func.count()).select_from(board_pins).where(board_pins.c.board_id == board_id)
    ).scalar_one()
    followers = conn.execute(
        select(func.count()).select_from(board_follows).where(board_follows.c.board_id == board_id)
    ).scalar_one()
    following = viewer_id is not None and (
        conn.execute(
            select(board_follows.c.board_id).where(
                board_follows.c.board_id == board_id, board_follows.c.user_id == viewer_id
            )
        ).first()
        is not None
    )
    return {
        "id": int(row["id"]),
        "name": row["name"],
        "description": row["description"],
        "secret": bool(row["secret"]),
        "owner_id": int(row["owner_id"]),
        "owner_name": str(owner),
        "pin_count": int(pin_count),
        "follower_count": int(followers),
        "created_at": row["created_at"].isoformat(),
        "is_owner": viewer_id == int(row["owner_id"]),
        "following": following,
    }


def update_board(
    conn: Connection,
    board_id: int,
    user_id: int,
    *,
    name: str | None = None,
    description: str | None = None,
    secret: bool | None = None,
) -> None:
    """Rename, describe or make secret (or public) the owner's board; every value is checked before
    anything is written."""
    owned_board(conn, board_id, user_id)
    values: dict[str, object] = {}
    if name is not None:
        values["name"] = board_name(name)
    if description is not None:
        values["description"] = board_description(description)
    if secret is not None:
        values["secret"] = secret
    if values:
        conn.execute(update(boards).where(boards.c.id == board_id).values(**values))
    if secret:
        # Its followers can no longer see it: they stop following it (as when it is deleted).
        conn.execute(delete(board_follows).where(board_follows.c.board_id == board_id))


def delete_board(conn: Connection, board_id: int, user_id: int) -> str:
    """Delete the owner's board with its saves and follows; the Pins stay, each saved once less. (The
    engagement events naming the board go with it: their foreign key cascades.) Returns its name."""
    row = owned_board(conn, board_id, user_id)
    on_board = [
        int(p)
        for p in conn.execute(select(board_pins.c.pin_id).where(board_pins.c.board_id == board_id)).scalars()
    ]
    _count_down(conn, on_board)
    conn.execute(delete(board_pins).where(board_pins.c.board_id == board_id))
    conn.execute(delete(board_follows).where(board_follows.c.board_id == board_id))
    conn.execute(delete(boards).where(boards.c.id == board_id))
    return str(row["name"])


def _count_down(conn: Connection, pin_ids: Iterable[int]) -> None:
    for pin_id in pin_ids:
        conn.execute(
            update(pins)
            .where(pins.c.id == pin_id, pins.c.save_count > 0)
            .values(save_count=pins.c.save_count - 1)
        )


def is_saved(conn: Connection, board_id: int, pin_id: int) -> bool:
    return (
        conn.execute(
            select(board_pins.c.pin_id).where(
                board_pins.c.board_id == board_id, board_pins.c.pin_id == pin_id
            )
        ).first()
        is not None
    )


def unsave_pin(conn: Connection, user_id: int, board_id: int, pin_id: int) -> bool:
    """Take the Pin off the owner's board; True when it was there (its save count goes down by one)."""
    owned_board(conn, board_id, user_id)
    gone = conn.execute(
        delete(board_pins).where(board_pins.c.board_id == board_id, board_pins.c.pin_id == pin_id)
    ).rowcount
    if gone:
        _count_down(conn, [pin_id])
    return bool(gone)


def follows_board(conn: Connection, user_id: int, board_id: int) -> bool:
    return (
        conn.execute(
            select(board_follows.c.board_id).where(
                board_follows.c.user_id == user_id, board_follows.c.board_id == board_id
            )
        ).first()
        is not None
    )


def follows_user(conn: Connection, user_id: int, followee_id: int) -> bool:
    return (
        conn.execute(
            select(user_follows.c.followee_id).where(
                user_follows.c.follower_id == user_id, user_follows.c.followee_id == followee_id
            )
        ).first()
        is not None
    )


def unfollow_board(conn: Connection, user_id: int, board_id: int) -> bool:
    """Stop following; True when the person followed it. An unknown board (or a secret one of someone
    else) is NotFound, as for following."""
    _board_row(conn, board_id, user_id)
    return bool(
        conn.execute(
            delete(board_follows).where(
                board_follows.c.user_id == user_id, board_follows.c.board_id == board_id
            )
        ).rowcount
    )


def unfollow_user(conn: Connection, user_id: int, followee_id: int) -> bool:
    if followee_id == user_id:
        raise InvalidInput("you cannot follow yourself", field="target_user_id")
    _require_user(conn, followee_id)
    return bool(
        conn.execute(
            delete(user_follows).where(
                user_follows.c.follower_id == user_id, user_follows.c.followee_id == followee_id
            )
        ).rowcount
    )


def _require_user(conn: Connection, user_id: int) -> str:
    name = conn.execute(select(users.c.display_name).where(users.c.id == user_id)).scalar_one_or_none()
    if name is None:
        raise NotFound(f"no user with id {user_id}", field="user_id")
    return str(name)


# --- a board's Pins, a page at a time -----------------------------------------------------------------


@dataclass(frozen=True)
class Cursor:
    """Where the next page starts: after the save at `saved_at` of `pin_id` (newest saves first)."""

    saved_at: datetime
    pin_id: int


def board_pin_page(
    conn: Connection, board_id: int, viewer_id: int | None, limit: int, after: Cursor | None = None
) -> tuple[list[tuple[int, datetime]], Cursor | None]:
    """(Pin, saved at) of up to `limit` Pins on the board, newest saves first, and the cursor of the next
    page (None at the end). NotFound when the viewer may not see the board."""
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(f"limit is 1 to {MAX_PAGE}", field="limit")
    _board_row(conn, board_id, viewer_id)
    query = select(board_pins.c.pin_id, board_pins.c.saved_at).where(board_pins.c.board_id == board_id)
    if after is not None:
        query = query.where(
            or_(
                board_pins.c.saved_at < after.saved_at,
                and_(board_pins.c.saved_at == after.saved_at, board_pins.c.pin_id < after.pin_id),
            )
        )
    rows = conn.execute(
        query.order_by(board_pins.c.saved_at.desc(), board_pins.c.pin_id.desc()).limit(limit + 1)
    ).all()
    found = [(int(p), at) for p, at in rows[:limit]]
    more = len(rows) > limit
    return found, Cursor(found[-1][1], found[-1][0]) if more and found else None


# --- people ---------------------------------------------------------------------------------------------


def view_profile(conn: Connection, user_id: int, viewer_id: int | None) -> ProfileView:
    name = _require_user(conn, user_id)

    def count(query: Any) -> int:
        return int(conn.execute(query).scalar_one())

    board_count = count(
        select(func.count()).select_from(boards).where(boards.c.owner_id == user_id, _visible_to(viewer_id))
    )
    followers = count(
        select(func.count()).select_from(user_follows).where(user_follows.c.followee_id == user_id)
    )
    following = count(
        select(func.count()).select_from(user_follows).where(user_follows.c.follower_id == user_id)
    )
    following_boards = count(
        select(func.count())
        .select_from(board_follows.join(boards, boards.c.id == board_follows.c.board_id))
        .where(board_follows.c.user_id == user_id, boards.c.secret.is_(False))
    )
    return {
        "id": user_id,
        "display_name": name,
        "board_count": board_count,
        "follower_count": followers,
        "following_count": following,
        "following_boards_count": following_boards,
        "is_self": viewer_id == user_id,
        "following": viewer_id is not None
        and viewer_id != user_id
        and follows_user(conn, viewer_id, user_id),
    }


class BoardSummary(TypedDict):
    """A board in a list of a person's boards, with a few of its newest Pins for a cover."""

    id: int
    name: str
    description: str
    secret: bool
    pin_count: int
    cover_pin_ids: list[int]
    created_at: str  # ISO 8601


def boards_of_user(
    conn: Connection, user_id: int, viewer_id: int | None, covers: int = 3
) -> list[BoardSummary]:
    """The person's boards the viewer may see (their own secret ones only for themselves), oldest first."""
    _require_user(conn, user_id)
    count = func.count(board_pins.c.pin_id).label("pin_count")
    rows = conn.execute(
        select(boards.c.id, boards.c.name, boards.c.description, boards.c.secret, boards.c.created_at, count)
        .outerjoin(board_pins, board_pins.c.board_id == boards.c.id)
        .where(boards.c.owner_id == user_id, _visible_to(viewer_id))
        .group_by(boards.c.id, boards.c.name, boards.c.description, boards.c.secret, boards.c.created_at)
        .order_by(boards.c.id)
    ).all()
    ids = [int(r.id) for r in rows]
    cover: dict[int, list[int]] = {b: [] for b in ids}
    if ids and covers > 0:
        for b, p in conn.execute(
            select(board_pins.c.board_id, board_pins.c.pin_id)
            .where(board_pins.c.board_id.in_(ids))
            .order_by(board_pins.c.board_id, board_pins.c.saved_at.desc(), board_pins.c.pin_id.desc())
        ):
            if len(cover[int(b)]) < covers:
                cover[int(b)].append(int(p))
    return [
        {
            "id": int(r.id),
            "name": r.name,
            "description": r.description,
            "secret": bool(r.secret),
            "pin_count": int(r.pin_count),
            "cover_pin_ids": cover[int(r.id)],
            "created_at": r.created_at.isoformat(),
        }
        for r in rows
    ]


def saved_to(conn: Connection, user_id: int, pin_ids: Iterable[int]) -> dict[int, list[tuple[int, str]]]:
    """Per Pin, the (board id, name) of the person's own boards holding it, oldest board first: what
    their Save buttons show. Pins on none of them are left out."""
    ids = list(dict.fromkeys(pin_ids))
    out: dict[int, list[tuple[int, str]]] = {}
    if not ids:
        return out
    rows = conn.execute(
        select(board_pins.c.pin_id, boards.c.id, boards.c.name)
        .join(boards, boards.c.id == board_pins.c.board_id)
        .where(boards.c.owner_id == user_id, board_pins.c.pin_id.in_(ids))
        .order_by(boards.c.id)
    )
    for p, b, name in rows:
        out.setdefault(int(p), []).append((int(b), str(name)))
    return out
