"""Boards, profiles and the Save button (issue 14): `/boards/{id}`, `/boards/new`, `/users/{id}`, and the
forms behind them (create, rename/describe/make secret, delete, follow/unfollow, save/unsave).

The Save button's forms work without script (a redirect back); app.js sends them with fetch instead and
swaps in the button's new state, which these routes render from `_save_button.html` when asked so
(`X-Requested-With: fetch`)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import HTMLResponse

from tastegraph.edge.deps import CallerDep, SystemDep
from tastegraph.kernel import InvalidInput, TastegraphError
from tastegraph.usecases import boards
from tastegraph.usecases.boards import Pin, PinWithReasons, SaveState
from tastegraph.web.images import image_size, image_src
from tastegraph.web.rendering import (
    FormStr,
    Pages,
    checked_form,
    redirect,
    safe_next,
    sentence,
    signed_in_form,
)

BOARD_PAGE_SIZE = 50
FETCH_HEADER = "x-requested-with"


def card(pin: Pin, reasons: list[str] | None = None, promoted: object = None) -> dict[str, object]:
    """What `_pin_card.html` shows of a Pin (`promoted`: the ad's {ad_id, advertiser_name, token})."""
    src = image_src(pin)
    return {"pin": pin, "image": src, "size": image_size(src), "reasons": reasons or [], "promoted": promoted}


def reason_texts(item: PinWithReasons) -> list[str]:
    return [str(r["text"]) for r in item.reasons if r.get("text")]


def _board_id(value: str) -> int | None:
    value = value.strip()
    if not value:
        return None
    if not value.isdigit() or len(value) > 19:
        raise InvalidInput("pick one of your boards", field="board_id")
    return int(value)


def _wants_fragment(request: Request) -> bool:
    return request.headers.get(FETCH_HEADER, "").lower() == "fetch"


def routes(pages: Pages) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    def save_button(
        request: Request,
        caller: Any,
        pin_id: int,
        state: SaveState | None,
        back: str,
        error: str | None = None,
    ) -> Response:
        return pages.render(
            request,
            "_save_button.html",
            caller,
            {"pin": {"id": pin_id}, "save": state, "back": back, "save_error": error},
            status=200 if error is None else 422,
        )

    # --- the Save button -------------------------------------------------------------------------------

    @router.post("/pins/{pin_id:int}/save", response_class=HTMLResponse, dependencies=[Depends(checked_form)])
    def save_pin(
        pin_id: int,
        request: Request,
        system: SystemDep,
        caller: CallerDep,
        user_id: int = signed_in_form("/"),
        board_id: FormStr = "",
        new_board: FormStr = "",
        create: FormStr = "",
        next: FormStr = "/",
    ) -> Response:
        back = safe_next(next)
        try:
            name = new_board if create else None
            state = boards.save_from_button(
                system, user_id, pin_id, None if create else _board_id(board_id), name
            )
        except TastegraphError as exc:
            if _wants_fragment(request) and isinstance(exc, InvalidInput):
                unchanged = boards.save_state(system, user_id, [pin_id])
                return save_button(request, caller, pin_id, unchanged, back, sentence(exc.message))
            raise
        if _wants_fragment(request):
            return save_button(request, caller, pin_id, state, back)
        # Without script: the Pin's page says where it is saved (a feed leaves out saved Pins).
        return redirect(f"/pins/{pin_id}")

    @router.post(
        "/pins/{pin_id:int}/unsave", response_class=HTMLResponse, dependencies=[Depends(checked_form)]
    )
    def unsave_pin(
        pin_id: int,
        request: Request,
        system: SystemDep,
        caller: CallerDep,
        user_id: int = signed_in_form("/"),
        board_id: FormStr = "",
        next: FormStr = "/",
    ) -> Response:
        back = safe_next(next)
        chosen = _board_id(board_id)
        if chosen is None:
            raise InvalidInput("which board?", field="board_id")
        state = boards.unsave_from_button(system, user_id, pin_id, chosen)
        if _wants_fragment(request):
            return save_button(request, caller, pin_id, state, back)
        return redirect(back)

    # --- boards ----------------------------------------------------------------------------------------

    @router.get("/boards/new", response_class=HTMLResponse)
    def new_board(request: Request, caller: CallerDep) -> Response:
        if caller.user_id is None:
            return redirect("/signin?next=/boards/new")
        return pages.render(request, "board_new.html", caller, {"error": None, "name": "", "description": ""})

    @router.post("/boards", response_class=HTMLResponse, dependencies=[Depends(checked_form)])
    def create_board(
        request: Request,
        system: SystemDep,
        caller: CallerDep,
        user_id: int = signed_in_form("/boards/new"),
        name: FormStr = "",
        description: FormStr = "",
        secret: FormStr = "",
    ) -> Response:
        try:
            made = boards.create(system, user_id, name, description, secret=bool(secret))
        except InvalidInput as exc:
            return pages.render(
                request,
                "board_new.html",
                caller,
                {"error": sentence(exc.message), "name": name[:200], "description": description[:600]},
                status=422,
            )
        return redirect(f"/boards/{made['id']}")

    @router.get("/boards/{board_id:int}", response_class=HTMLResponse)
    def board_page(
        board_id: int, request: Request, system: SystemDep, caller: CallerDep, cursor: str = ""
    ) -> Response:
        shown = boards.board_page(system, caller.user_id, board_id, BOARD_PAGE_SIZE, cursor or None)
        back = f"/boards/{board_id}"
        return pages.render(
            request,
            "board.html",
            caller,
            {
                "board": shown.board,
                "cards": [card(pin) for pin, _ in shown.pins.items],
                "next_cursor": shown.pins.next_cursor,
                "save": shown.save,
                "back": back,
            },
        )

    @router.post("/boards/{board_id:int}/edit", dependencies=[Depends(checked_form)])
    def edit_board(
        board_id: int,
        system: SystemDep,
        user_id: int = signed_in_form("/"),
        name: FormStr = "",
        description: FormStr = "",
        secret: FormStr = "",
    ) -> Response:
        boards.update(system, user_id, board_id, name=name, description=description, secret=bool(secret))
        return redirect(f"/boards/{board_id}")

    @router.post("/boards/{board_id:int}/delete", dependencies=[Depends(checked_form)])
    def delete_board(board_id: int, system: SystemDep, user_id: int = signed_in_form("/")) -> Response:
        boards.delete(system, user_id, board_id)
        return redirect(f"/users/{user_id}")

    @router.post("/boards/{board_id:int}/follow", dependencies=[Depends(checked_form)])
    def follow_board(board_id: int, system: SystemDep, user_id: int = signed_in_form("/")) -> Response:
        boards.follow_board(system, user_id, board_id)
        return redirect(f"/boards/{board_id}")

    @router.post("/boards/{board_id:int}/unfollow", dependencies=[Depends(checked_form)])
    def unfollow_board(board_id: int, system: SystemDep, user_id: int = signed_in_form("/")) -> Response:
        boards.unfollow_board(system, user_id, board_id)
        return redirect(f"/boards/{board_id}")

    # --- people ----------------------------------------------------------------------------------------

    @router.get("/users/{user_id:int}", response_class=HTMLResponse)
    def profile_page(user_id: int, request: Request, system: SystemDep, caller: CallerDep) -> Response:
        shown = boards.profile_page(system, caller.user_id, user_id)
        covers = {p: card(pin)["image"] for p, pin in shown.covers.items()}
        return pages.render(
            request,
            "profile.html",
            caller,
            {"person": shown.profile, "boards": shown.boards, "covers": covers},
        )

    @router.post("/users/{user_id:int}/follow", dependencies=[Depends(checked_form)])
    def follow_user(user_id: int, system: SystemDep, me: int = signed_in_form("/")) -> Response:
        boards.follow_user(system, me, user_id)
        return redirect(f"/users/{user_id}")

    @router.post("/users/{user_id:int}/unfollow", dependencies=[Depends(checked_form)])
    def unfollow_user(user_id: int, system: SystemDep, me: int = signed_in_form("/")) -> Response:
        boards.unfollow_user(system, me, user_id)
        return redirect(f"/users/{user_id}")

    return router
