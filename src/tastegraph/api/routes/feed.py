"""Pins, the home feed, "why am I seeing this", and engagement events."""

from __future__ import annotations

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel

from tastegraph.api.context import CallerDep, SameOriginJson, SystemDep, UserDep, VisitorDep, run_hot_read
from tastegraph.api.openapi_errors import fails_with
from tastegraph.api.schemas import (
    EngagementBatch,
    EngagementResult,
    EventStatus,
    FeedEntry,
    FeedOut,
    IdPath,
    PinOut,
    PromotedOut,
    ToneDownOut,
    WhyOut,
)
from tastegraph.usecases import home_feed
from tastegraph.usecases.home_feed import MAX_LIMIT, EngagementIn, Pin, PinWithReasons

router = APIRouter(prefix="/v1", tags=["feed"])


_PIN_FIELDS = frozenset(PinOut.model_fields)


def pin_out(pin: Pin) -> PinOut:
    return PinOut.model_validate({k: v for k, v in pin.items() if k in _PIN_FIELDS})


def entries(items: list[PinWithReasons]) -> list[FeedEntry]:
    return [
        FeedEntry(
            pin_id=i.pin_id,
            reasons=i.reasons,
            pin=pin_out(i.pin),
            promoted=None if i.promoted is None else PromotedOut(**i.promoted),
        )
        for i in items
    ]


def json_response(body: BaseModel) -> Response:
    """`body`, validated once and serialized by pydantic; a route returning it skips FastAPI's second
    validation of its response model (the model still documents the route)."""
    return Response(body.model_dump_json(), media_type="application/json")


@router.get("/pins/{pin_id}", response_model=PinOut, summary="One Pin")
def get_pin(pin_id: IdPath, system: SystemDep) -> PinOut:
    return pin_out(home_feed.pin(system, pin_id))


@router.get("/feed/home", response_model=FeedOut, summary="The home feed, every item with its reasons")
async def get_home_feed(
    system: SystemDep, visitor: VisitorDep, limit: int = Query(default=25, ge=1, le=MAX_LIMIT)
) -> Response:
    def work() -> Response:
        page = home_feed.feed(system, visitor, limit)
        return json_response(
            FeedOut(
                items=entries(page.items),
                offsite_data_used=page.offsite_data_used,
                offsite_data_note=page.offsite_data_note,
                toned_down=[ToneDownOut(**d) for d in page.toned_down],
            )
        )

    return await run_hot_read(system, work)


@router.get("/pins/{pin_id}/why", response_model=WhyOut, summary="Why this Pin is recommended to me")
def get_why(pin_id: IdPath, system: SystemDep, caller: CallerDep) -> WhyOut:
    return WhyOut(pin_id=pin_id, reasons=home_feed.why(system, caller, pin_id))


@router.post(
    "/engagement",
    response_model=EngagementResult,
    summary="Record saves, clicks, close-ups, hides, follows and searches (idempotent by event_id)",
    dependencies=[SameOriginJson],
)
@fails_with(403, 404)  # another person's board; an unknown Pin, board or person
def post_engagement(body: EngagementBatch, system: SystemDep, user_id: UserDep) -> EngagementResult:
    events = [EngagementIn(**e.model_dump()) for e in body.events]
    results = home_feed.record(system, user_id, events)
    return EngagementResult(events=[EventStatus(**r) for r in results])


# GET /v1/me/boards moved to api/routes/boards.py (with its schema).
