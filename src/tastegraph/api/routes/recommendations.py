"""Related Pins, boards and people to follow, and (with TASTEGRAPH_ADMIN_TOKEN) reloading the model."""

from __future__ import annotations

from fastapi import APIRouter, Query, Response
from sqlalchemy import Connection

from tastegraph.api.context import AdminOnly, SystemDep, UserDep, VisitorDep, read_as_caller, run_hot_read
from tastegraph.api.routes.feed import _pin_out, json_response
from tastegraph.api.schemas import (
    BoardCard,
    BoardsOut,
    BoardSuggestion,
    FeedEntry,
    IdPath,
    ModelStatus,
    PeopleOut,
    PersonCard,
    PersonSuggestion,
    PinsOut,
)
from tastegraph.bootstrap import System
from tastegraph.catalog import content
from tastegraph.recommend import MAX_LIMIT, Model, boards_to_follow, people_to_follow, related_pins
from tastegraph.usecases.callers import Caller

router = APIRouter(prefix="/v1", tags=["recommendations"])
admin_router = APIRouter(prefix="/v1/admin", tags=["admin"])

Limit = Query(default=25, ge=1, le=MAX_LIMIT)


def _model(system: System) -> Model | None:
    return system.models.current(system.clock.now())


@router.get(
    "/pins/{pin_id}/related",
    response_model=PinsOut,
    summary="Pins related to this one (saved to the same boards), each with its reasons",
)
async def get_related(pin_id: IdPath, system: SystemDep, visitor: VisitorDep, limit: int = Limit) -> Response:
    def work() -> Response:
        return read_as_caller(
            system, visitor, lambda conn, caller: _related(system, conn, caller, pin_id, limit)
        )

    return await run_hot_read(system, work)


def _related(system: System, conn: Connection, caller: Caller, pin_id: int, limit: int) -> Response:
    content.get_pin(conn, pin_id)  # 404 for unknown Pins
    items = related_pins(conn, pin_id, caller.user_id, _model(system), limit)
    pins = content.get_pins(conn, [i.pin_id for i in items])
    return json_response(
        PinsOut(
            items=[
                FeedEntry(pin_id=i.pin_id, reasons=i.reasons, pin=_pin_out(pins[i.pin_id]))
                for i in items
                if i.pin_id in pins
            ]
        )
    )


@router.get("/recommendations/boards", response_model=BoardsOut, summary="Boards to follow, with reasons")
def get_board_suggestions(system: SystemDep, user_id: UserDep, limit: int = Limit) -> BoardsOut:
    model = _model(system)
    with system.read() as conn:
        found = boards_to_follow(conn, user_id, model, limit)
        cards = content.get_boards(conn, [s.id for s in found])
    return BoardsOut(
        items=[
            BoardSuggestion(board_id=s.id, reasons=s.reasons, board=BoardCard(**cards[s.id]))
            for s in found
            if s.id in cards
        ]
    )


@router.get("/recommendations/people", response_model=PeopleOut, summary="People to follow, with reasons")
def get_people_suggestions(system: SystemDep, user_id: UserDep, limit: int = Limit) -> PeopleOut:
    model = _model(system)
    with system.read() as conn:
        found = people_to_follow(conn, user_id, model, limit)
        cards = content.get_people(conn, [s.id for s in found])
    return PeopleOut(
        items=[
            PersonSuggestion(user_id=s.id, reasons=s.reasons, user=PersonCard(**cards[s.id]))
            for s in found
            if s.id in cards
        ]
    )


def model_status(model: Model | None) -> ModelStatus:
    return ModelStatus(loaded=False) if model is None else ModelStatus(loaded=True, **model.describe())


@admin_router.post(
    "/reload-model",
    response_model=ModelStatus,
    summary="Load the newest trained model now (needs the admin token; absent without one)",
    dependencies=[AdminOnly],
)
def reload_model(system: SystemDep) -> ModelStatus:
    system.models.reload()
    return model_status(_model(system))
