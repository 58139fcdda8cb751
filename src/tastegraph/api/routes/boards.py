"""Boards, saving to them, profiles and following (issue 14).

Someone else's secret board is 404 exactly like a board that does not exist; someone else's public
board can be read but not changed or saved to (403)."""

from __future__ import annotations

from fastapi import APIRouter, Query, Response

from tastegraph.api.context import CallerDep, SameOriginJson, SystemDep, UserDep
from tastegraph.api.openapi_errors import fails_with
from tastegraph.api.routes.feed import pin_out
from tastegraph.api.schemas import (
    BoardIn,
    BoardOut,
    BoardPatch,
    BoardPinOut,
    BoardPinsOut,
    FollowOut,
    IdPath,
    MyBoardOut,
    MyBoardsOut,
    PersonCard,
    ProfileOut,
    SaveOut,
    UserBoardOut,
    UserBoardsOut,
)
from tastegraph.usecases import boards
from tastegraph.usecases.boards import CURSOR_PATTERN, MAX_PAGE, BoardView

router = APIRouter(prefix="/v1", tags=["boards"])


def board_out(view: BoardView) -> BoardOut:
    return BoardOut(
        id=view["id"],
        name=view["name"],
        description=view["description"],
        secret=view["secret"],
        owner=PersonCard(id=view["owner_id"], display_name=view["owner_name"]),
        pin_count=view["pin_count"],
        follower_count=view["follower_count"],
        created_at=view["created_at"],
        is_owner=view["is_owner"],
        following=view["following"],
    )


@router.post(
    "/boards",
    status_code=201,
    response_model=BoardOut,
    summary="Create a board",
    dependencies=[SameOriginJson],
)
def create_board(body: BoardIn, system: SystemDep, user_id: UserDep) -> BoardOut:
    return board_out(boards.create(system, user_id, body.name, body.description, body.secret))


@router.get("/me/boards", response_model=MyBoardsOut, summary="My boards, secret ones included")
def my_boards(system: SystemDep, user_id: UserDep) -> MyBoardsOut:
    return MyBoardsOut(items=[MyBoardOut(**b) for b in boards.my_boards(system, user_id)])


@router.get("/boards/{board_id}", response_model=BoardOut, summary="One board")
def get_board(board_id: IdPath, system: SystemDep, caller: CallerDep) -> BoardOut:
    return board_out(boards.board(system, caller.user_id, board_id))


@router.patch(
    "/boards/{board_id}",
    response_model=BoardOut,
    summary="Rename, describe, or make secret or public one of my boards",
    dependencies=[SameOriginJson],
)
@fails_with(403)  # another person's public board
def patch_board(board_id: IdPath, body: BoardPatch, system: SystemDep, user_id: UserDep) -> BoardOut:
    return board_out(
        boards.update(
            system, user_id, board_id, name=body.name, description=body.description, secret=body.secret
        )
    )


@router.delete(
    "/boards/{board_id}",
    status_code=204,
    summary="Delete one of my boards (its Pins stay; its saves and follows go)",
    dependencies=[SameOriginJson],
)
@fails_with(403)
def delete_board(board_id: IdPath, system: SystemDep, user_id: UserDep) -> None:
    boards.delete(system, user_id, board_id)


@router.get(
    "/boards/{board_id}/pins", response_model=BoardPinsOut, summary="A board's Pins, newest saves first"
)
def get_board_pins(
    board_id: IdPath,
    system: SystemDep,
    caller: CallerDep,
    limit: int = Query(default=25, ge=1, le=MAX_PAGE),
    cursor: str | None = Query(default=None, pattern=CURSOR_PATTERN),
) -> BoardPinsOut:
    page = boards.board_pins(system, caller.user_id, board_id, limit, cursor)
    return BoardPinsOut(
        items=[
            BoardPinOut(pin_id=pin["id"], saved_at=at.isoformat(), pin=pin_out(pin)) for pin, at in page.items
        ],
        next_cursor=page.next_cursor,
    )


@router.put(
    "/boards/{board_id}/pins/{pin_id}",
    response_model=SaveOut,
    summary="Save a Pin to one of my boards (201; 200 when it was there already)",
    responses={201: {"model": SaveOut}},
    dependencies=[SameOriginJson],
)
@fails_with(403)
def save_pin(
    board_id: IdPath, pin_id: IdPath, response: Response, system: SystemDep, user_id: UserDep
) -> SaveOut:
    saved = boards.save(system, user_id, board_id, pin_id)
    response.status_code = 201 if saved.created else 200
    return SaveOut(board_id=board_id, pin_id=pin_id, saved=True)


@router.delete(
    "/boards/{board_id}/pins/{pin_id}",
    status_code=204,
    summary="Take a Pin off one of my boards (204 also when it was not there)",
    dependencies=[SameOriginJson],
)
@fails_with(403)
def unsave_pin(board_id: IdPath, pin_id: IdPath, system: SystemDep, user_id: UserDep) -> None:
    boards.unsave(system, user_id, board_id, pin_id)


@router.get("/users/{user_id}", response_model=ProfileOut, summary="A person's profile")
def get_user(user_id: IdPath, system: SystemDep, caller: CallerDep) -> ProfileOut:
    return ProfileOut(**boards.profile(system, caller.user_id, user_id))


@router.get(
    "/users/{user_id}/boards",
    response_model=UserBoardsOut,
    summary="A person's boards (secret ones only for them)",
)
def get_user_boards(user_id: IdPath, system: SystemDep, caller: CallerDep) -> UserBoardsOut:
    return UserBoardsOut(
        items=[UserBoardOut(**b) for b in boards.user_boards(system, caller.user_id, user_id)]
    )


def _followed(response: Response, created: bool) -> FollowOut:
    response.status_code = 201 if created else 200
    return FollowOut(following=True)


@router.put(
    "/me/following/users/{user_id}",
    response_model=FollowOut,
    summary="Follow a person (201; 200 when already following)",
    responses={201: {"model": FollowOut}},
    dependencies=[SameOriginJson],
)
def follow_user(user_id: IdPath, response: Response, system: SystemDep, me: UserDep) -> FollowOut:
    return _followed(response, boards.follow_user(system, me, user_id))


@router.delete(
    "/me/following/users/{user_id}",
    status_code=204,
    summary="Stop following a person",
    dependencies=[SameOriginJson],
)
def unfollow_user(user_id: IdPath, system: SystemDep, me: UserDep) -> None:
    boards.unfollow_user(system, me, user_id)


@router.put(
    "/me/following/boards/{board_id}",
    response_model=FollowOut,
    summary="Follow another person's board (201; 200 when already following)",
    responses={201: {"model": FollowOut}},
    dependencies=[SameOriginJson],
)
def follow_board(board_id: IdPath, response: Response, system: SystemDep, me: UserDep) -> FollowOut:
    return _followed(response, boards.follow_board(system, me, board_id))


@router.delete(
    "/me/following/boards/{board_id}",
    status_code=204,
    summary="Stop following a board",
    dependencies=[SameOriginJson],
)
def unfollow_board(board_id: IdPath, system: SystemDep, me: UserDep) -> None:
    boards.unfollow_board(system, me, board_id)
