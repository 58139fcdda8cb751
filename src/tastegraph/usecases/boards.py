"""Saving and boards: create, see, rename, describe, make secret and delete boards; save a Pin to a
board and take it off; profiles; following people and boards; what the Save buttons show.

Every change is recorded as engagement (`collect.engagement`: save, unsave, follow_board,
unfollow_board, follow_user, unfollow_user, delete_board), which also applies it to the catalogue,
so the recommenders see it at once and the person's export lists it. A request that changes nothing
(saving a Pin already on the board, unfollowing what one does not follow) records nothing.

Who may see what: a secret board is its owner's alone (`catalog.boards`); anyone else gets NotFound for
it, exactly as for a board that never existed. Someone else's public board can be seen but not changed
or saved to: Forbidden.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection

from tastegraph.bootstrap import System
from tastegraph.catalog import boards as board_store
from tastegraph.catalog import content
from tastegraph.catalog.boards import MAX_PAGE, BoardSummary, BoardView, Cursor, ProfileView
from tastegraph.catalog.content import MAX_BOARD_DESCRIPTION, MAX_BOARD_NAME, Board, Pin
from tastegraph.collect import EngagementIn, Kind, engagement
from tastegraph.kernel import InvalidInput
from tastegraph.usecases.callers import Caller, Visitor
from tastegraph.usecases.home_feed import FeedPage, PinPage, PinWithReasons, feed, pin_with_reasons
from tastegraph.usecases.related_pins import related

__all__ = [
    "CURSOR_PATTERN",
    "MAX_BOARD_DESCRIPTION",
    "MAX_BOARD_NAME",
    "MAX_PAGE",
    "Board",
    "BoardPage",
    "BoardPins",
    "BoardSummary",
    "BoardView",
    "FeedWithSave",
    "Pin",
    "PinPageWithSave",
    "PinWithReasons",
    "ProfilePage",
    "ProfileView",
    "SaveState",
    "Saved",
    "board",
    "board_page",
    "board_pins",
    "create",
    "decode_cursor",
    "delete",
    "encode_cursor",
    "feed_page",
    "follow_board",
    "follow_user",
    "my_boards",
    "pin_page",
    "profile",
    "profile_page",
    "save",
    "save_from_button",
    "save_state",
    "save_to_new_board",
    "unfollow_board",
    "unfollow_user",
    "unsave",
    "unsave_from_button",
    "update",
    "user_boards",
]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def encode_cursor(cursor: Cursor | None) -> str | None:
    """An opaque page cursor: the last save's time in microseconds and its Pin id."""
    if cursor is None:
        return None
    micros = (cursor.saved_at - _EPOCH) // timedelta(microseconds=1)
    return f"{micros}.{cursor.pin_id}"


# Every cursor of this form names a point in time and a 64-bit id (17 digits of microseconds reach
# past the year 5000; 18 digits of id stay below 2**63), so any the schema admits is accepted.
CURSOR_PATTERN = r"^[0-9]{1,17}\.[0-9]{1,18}$"
_CURSOR = re.compile(CURSOR_PATTERN)


def decode_cursor(value: str | None) -> Cursor | None:
    if value is None or value == "":
        return None
    if not _CURSOR.match(value):
        raise InvalidInput("cursor is not one this API gave", field="cursor")
    micros, _, pin_id = value.partition(".")
    return Cursor(_EPOCH + timedelta(microseconds=int(micros)), int(pin_id))


def _record(conn: Connection, system: System, user_id: int, event: EngagementIn) -> None:
    engagement.record_engagement(conn, user_id, [event], system.clock.now())


# --- boards ---------------------------------------------------------------------------------------------


def create(system: System, user_id: int, name: str, description: str = "", secret: bool = False) -> BoardView:
    """A new board of the person's (InvalidInput for a name of 0 or more than 120 characters)."""
    with system.write() as conn:
        board_id = content.create_board(conn, user_id, name, system.clock.now(), description, secret)
        return board_store.view_board(conn, board_id, user_id)


def board(system: System, viewer_id: int | None, board_id: int) -> BoardView:
    with system.read() as conn:
        return board_store.view_board(conn, board_id, viewer_id)


def update(
    system: System,
    user_id: int,
    board_id: int,
    *,
    name: str | None = None,
    description: str | None = None,
    secret: bool | None = None,
) -> BoardView:
    with system.write() as conn:
        board_store.update_board(conn, board_id, user_id, name=name, description=description, secret=secret)
        return board_store.view_board(conn, board_id, user_id)


def delete(system: System, user_id: int, board_id: int) -> None:
    """Delete the person's board, its saves and its follows (the Pins stay)."""
    with system.write() as conn:
        board_store.owned_board(conn, board_id, user_id)
        _record(conn, system, user_id, EngagementIn(Kind.DELETE_BOARD, board_id=board_id))


def my_boards(system: System, user_id: int) -> list[Board]:
    with system.read() as conn:
        return content.boards_of(conn, user_id)


@dataclass(frozen=True)
class BoardPins:
    items: list[tuple[Pin, datetime]]  # (Pin, saved at), newest saves first
    next_cursor: str | None


def _board_pins(
    conn: Connection, viewer_id: int | None, board_id: int, limit: int, cursor: str | None
) -> BoardPins:
    found, after = board_store.board_pin_page(conn, board_id, viewer_id, limit, decode_cursor(cursor))
    pins = content.get_pins(conn, [p for p, _ in found])
    return BoardPins([(pins[p], at) for p, at in found if p in pins], encode_cursor(after))


def board_pins(
    system: System, viewer_id: int | None, board_id: int, limit: int, cursor: str | None = None
) -> BoardPins:
    with system.read() as conn:
        return _board_pins(conn, viewer_id, board_id, limit, cursor)


# --- saving ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Saved:
    board_id: int
    pin_id: int
    created: bool  # False: it was on the board already (nothing changed)


def save(system: System, user_id: int, board_id: int, pin_id: int) -> Saved:
    """Put the Pin on the person's board; saving it again changes nothing."""
    with system.write() as conn:
        board_store.owned_board(conn, board_id, user_id)
        content.get_pin(conn, pin_id)
        if board_store.is_saved(conn, board_id, pin_id):
            return Saved(board_id, pin_id, created=False)
        _record(conn, system, user_id, EngagementIn(Kind.SAVE, pin_id=pin_id, board_id=board_id))
        return Saved(board_id, pin_id, created=True)


def save_to_new_board(system: System, user_id: int, pin_id: int, name: str, secret: bool = False) -> Saved:
    """Create a board and save the Pin to it, in one transaction (nothing is written if either fails)."""
    with system.write() as conn:
        content.get_pin(conn, pin_id)
        board_id = content.create_board(conn, user_id, name, system.clock.now(), secret=secret)
        _record(conn, system, user_id, EngagementIn(Kind.SAVE, pin_id=pin_id, board_id=board_id))
        return Saved(board_id, pin_id, created=True)


def unsave(system: System, user_id: int, board_id: int, pin_id: int) -> bool:
    """Take the Pin off the person's board; True when it was there."""
    with system.write() as conn:
        board_store.owned_board(conn, board_id, user_id)
        content.get_pin(conn, pin_id)
        if not board_store.is_saved(conn, board_id, pin_id):
            return False
        _record(conn, system, user_id, EngagementIn(Kind.UNSAVE, pin_id=pin_id, board_id=board_id))
        return True


@dataclass(frozen=True)
class SaveState:
    """What a signed-in person's Save buttons show: their boards (to pick from) and, per Pin, the boards
    of theirs that hold it."""

    boards: list[Board]
    saved_to: dict[int, list[tuple[int, str]]]  # Pin -> (board id, name)


def _save_state(conn: Connection, user_id: int | None, pin_ids: list[int]) -> SaveState | None:
    if user_id is None:
        return None
    return SaveState(content.boards_of(conn, user_id), board_store.saved_to(conn, user_id, pin_ids))


def save_state(system: System, user_id: int | None, pin_ids: list[int]) -> SaveState | None:
    """None for a signed-out visitor (their Save buttons lead to sign in)."""
    with system.read() as conn:
        return _save_state(conn, user_id, pin_ids)


# --- following ------------------------------------------------------------------------------------------


def follow_board(system: System, user_id: int, board_id: int) -> bool:
    """Follow another person's public board; True when newly followed. Someone else's secret board, or
    none, is NotFound; one's own board is InvalidInput."""
    with system.write() as conn:
        board_store.view_board(conn, board_id, user_id)  # NotFound before anything else
        if board_store.follows_board(conn, user_id, board_id):
            return False
        _record(conn, system, user_id, EngagementIn(Kind.FOLLOW_BOARD, board_id=board_id))
        return True


def unfollow_board(system: System, user_id: int, board_id: int) -> bool:
    with system.write() as conn:
        board_store.view_board(conn, board_id, user_id)
        if not board_store.follows_board(conn, user_id, board_id):
            return False
        _record(conn, system, user_id, EngagementIn(Kind.UNFOLLOW_BOARD, board_id=board_id))
        return True


def follow_user(system: System, user_id: int, followee_id: int) -> bool:
    """Follow a person; True when newly followed (InvalidInput for oneself, NotFound for nobody)."""
    with system.write() as conn:
        board_store.view_profile(conn, followee_id, user_id)
        if followee_id != user_id and board_store.follows_user(conn, user_id, followee_id):
            return False
        _record(conn, system, user_id, EngagementIn(Kind.FOLLOW_USER, target_user_id=followee_id))
        return True


def unfollow_user(system: System, user_id: int, followee_id: int) -> bool:
    with system.write() as conn:
        board_store.view_profile(conn, followee_id, user_id)
        if followee_id == user_id:
            raise InvalidInput("you cannot follow yourself", field="user_id")
        if not board_store.follows_user(conn, user_id, followee_id):
            return False
        _record(conn, system, user_id, EngagementIn(Kind.UNFOLLOW_USER, target_user_id=followee_id))
        return True


# --- people ---------------------------------------------------------------------------------------------


def profile(system: System, viewer_id: int | None, user_id: int) -> ProfileView:
    with system.read() as conn:
        return board_store.view_profile(conn, user_id, viewer_id)


def user_boards(system: System, viewer_id: int | None, user_id: int) -> list[BoardSummary]:
    """The person's boards the viewer may see: never someone else's secret ones."""
    with system.read() as conn:
        return board_store.boards_of_user(conn, user_id, viewer_id)


# --- what the pages show, each read in one transaction ----------------------------------------------


@dataclass(frozen=True)
class BoardPage:
    board: BoardView
    pins: BoardPins
    save: SaveState | None


def board_page(
    system: System, viewer_id: int | None, board_id: int, limit: int, cursor: str | None = None
) -> BoardPage:
    with system.read() as conn:
        shown = board_store.view_board(conn, board_id, viewer_id)
        pins = _board_pins(conn, viewer_id, board_id, limit, cursor)
        state = _save_state(conn, viewer_id, [p["id"] for p, _ in pins.items])
    return BoardPage(shown, pins, state)


@dataclass(frozen=True)
class ProfilePage:
    profile: ProfileView
    boards: list[BoardSummary]
    covers: dict[int, Pin]  # the boards' cover Pins


def profile_page(system: System, viewer_id: int | None, user_id: int) -> ProfilePage:
    with system.read() as conn:
        person = board_store.view_profile(conn, user_id, viewer_id)
        shown = board_store.boards_of_user(conn, user_id, viewer_id)
        covers = content.get_pins(conn, [p for b in shown for p in b["cover_pin_ids"]])
    return ProfilePage(person, shown, covers)


@dataclass(frozen=True)
class PinPageWithSave:
    page: PinPage
    related: list[PinWithReasons]
    save: SaveState | None


def pin_page(system: System, caller: Caller, pin_id: int, related_limit: int) -> PinPageWithSave:
    """A Pin with why it is shown, its related Pins (with their reasons) and the viewer's Save state."""
    page = pin_with_reasons(system, caller, pin_id)
    more = related(system, caller, pin_id, related_limit)
    state = save_state(system, caller.user_id, [pin_id, *(r.pin_id for r in more)])
    return PinPageWithSave(page, more, state)


# --- the Save button on the pages: change, then read what it shows now, in one transaction ----------


def save_from_button(
    system: System, user_id: int, pin_id: int, board_id: int | None, new_board: str | None
) -> SaveState:
    """Save the Pin to one of the person's boards, or to a new board of that name; the button's state
    after it. Nothing is written when anything is refused."""
    with system.write() as conn:
        content.get_pin(conn, pin_id)
        if new_board is not None:
            board_id = content.create_board(conn, user_id, new_board, system.clock.now())
        elif board_id is None:
            raise InvalidInput("pick a board or name a new one", field="board_id")
        else:
            board_store.owned_board(conn, board_id, user_id)
        if not board_store.is_saved(conn, board_id, pin_id):
            _record(conn, system, user_id, EngagementIn(Kind.SAVE, pin_id=pin_id, board_id=board_id))
        state = _save_state(conn, user_id, [pin_id])
    assert state is not None
    return state


def unsave_from_button(system: System, user_id: int, pin_id: int, board_id: int) -> SaveState:
    with system.write() as conn:
        board_store.owned_board(conn, board_id, user_id)
        content.get_pin(conn, pin_id)
        if board_store.is_saved(conn, board_id, pin_id):
            _record(conn, system, user_id, EngagementIn(Kind.UNSAVE, pin_id=pin_id, board_id=board_id))
        state = _save_state(conn, user_id, [pin_id])
    assert state is not None
    return state


@dataclass(frozen=True)
class FeedWithSave:
    feed: FeedPage
    save: SaveState | None


def feed_page(system: System, who: Caller | Visitor, limit: int) -> FeedWithSave:
    """The home feed and the viewer's Save state for its Pins (the home page's one use case)."""
    page = feed(system, who, limit)
    user_id = who.user_id if isinstance(who, Caller) else None
    return FeedWithSave(page, save_state(system, user_id, [i.pin_id for i in page.items]))
