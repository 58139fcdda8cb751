"""Related Pins, boards and people to follow, and (with TASTEGRAPH_ADMIN_TOKEN) reloading the model."""

from __future__ import annotations

from fastapi import APIRouter, Query, Response

from tastegraph.api.context import AdminOnly, SystemDep, UserDep, VisitorDep, run_hot_read
from tastegraph.api.routes.feed import entries, json_response
from tastegraph.api.schemas import (
    BoardCard,
    BoardsOut,
    BoardSuggestion,
    IdPath,
    ModelStatus,
    PeopleOut,
    PersonCard,
    PersonSuggestion,
    PinsOut,
)
from tastegraph.usecases import follow_suggestions, models, related_pins
from tastegraph.usecases.home_feed import MAX_LIMIT
from tastegraph.usecases.models import ModelInfo

router = APIRouter(prefix="/v1", tags=["recommendations"])
admin_router = APIRouter(prefix="/v1/admin", tags=["admin"])

Limit = Query(default=25, ge=1, le=MAX_LIMIT)


@router.get(
    "/pins/{pin_id}/related",
    response_model=PinsOut,
    summary="Pins related to this one (saved to the same boards), each with its reasons",
)
async def get_related(pin_id: IdPath, system: SystemDep, visitor: VisitorDep, limit: int = Limit) -> Response:
    def work() -> Response:
        return json_response(PinsOut(items=entries(related_pins.related(system, visitor, pin_id, limit))))

    return await run_hot_read(system, work)


@router.get("/recommendations/boards", response_model=BoardsOut, summary="Boards to follow, with reasons")
def get_board_suggestions(system: SystemDep, user_id: UserDep, limit: int = Limit) -> BoardsOut:
    return BoardsOut(
        items=[
            BoardSuggestion(board_id=s.id, reasons=s.reasons, board=BoardCard(**s.card))
            for s in follow_suggestions.boards(system, user_id, limit)
        ]
    )


@router.get("/recommendations/people", response_model=PeopleOut, summary="People to follow, with reasons")
def get_people_suggestions(system: SystemDep, user_id: UserDep, limit: int = Limit) -> PeopleOut:
    return PeopleOut(
        items=[
            PersonSuggestion(user_id=s.id, reasons=s.reasons, user=PersonCard(**s.card))
            for s in follow_suggestions.people(system, user_id, limit)
        ]
    )


def model_status(info: ModelInfo | None) -> ModelStatus:
    return ModelStatus(loaded=False) if info is None else ModelStatus(loaded=True, **info)


@admin_router.post(
    "/reload-model",
    response_model=ModelStatus,
    summary="Load the newest trained model now (needs the admin token; absent without one)",
    dependencies=[AdminOnly],
)
def reload_model(system: SystemDep) -> ModelStatus:
    return model_status(models.reload(system))
