"""Pins, the home feed, "why am I seeing this", and engagement events."""

from __future__ import annotations

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel
from sqlalchemy import Connection

from tastegraph.api.context import (
    CallerDep,
    SameOriginJson,
    SystemDep,
    UserDep,
    VisitorDep,
    read_as_caller,
    run_hot_read,
)
from tastegraph.api.openapi_errors import fails_with
from tastegraph.api.schemas import (
    EngagementBatch,
    EngagementResult,
    EventStatus,
    FeedEntry,
    FeedOut,
    IdPath,
    PinOut,
    WhyOut,
)
from tastegraph.bootstrap import System
from tastegraph.catalog import content
from tastegraph.collect import EngagementIn, engagement
from tastegraph.consent import Decision, Purpose, Reason
from tastegraph.recommend import MAX_LIMIT, home_feed, why
from tastegraph.usecases.callers import Caller, Visitor

router = APIRouter(prefix="/v1", tags=["feed"])


_PIN_FIELDS = frozenset(PinOut.model_fields)


def _pin_out(pin: dict[str, object]) -> PinOut:
    return PinOut.model_validate({k: v for k, v in pin.items() if k in _PIN_FIELDS})


def json_response(body: BaseModel) -> Response:
    """`body`, validated once and serialized by pydantic; a route returning it skips FastAPI's second
    validation of its response model (the model still documents the route)."""
    return Response(body.model_dump_json(), media_type="application/json")


def offsite_permit(system: System, conn: Connection, caller: Caller) -> Decision:
    """The consent decision that gates every read of off-site data for this request."""
    return system.consent.decide(
        conn,
        Purpose.PERSONALIZE_WITH_OFFSITE,
        caller.user_id,
        caller.browser_id,
        caller.signals,
        system.clock.now(),
    )


def build_feed(system: System, caller: Caller | Visitor, limit: int) -> FeedOut:
    """The feed for a resolved caller, or for a visitor looked up in the feed's own read transaction."""
    if isinstance(caller, Visitor):
        return read_as_caller(system, caller, lambda conn, resolved: _feed(system, conn, resolved, limit))
    with system.read() as conn:
        return _feed(system, conn, caller, limit)


def _feed(system: System, conn: Connection, caller: Caller, limit: int) -> FeedOut:
    now = system.clock.now()
    permit = offsite_permit(system, conn, caller)
    items = home_feed(conn, caller.user_id, permit, limit, now=now, model=system.models.current(now))
    pins = content.get_pins(conn, [i.pin_id for i in items])
    return FeedOut(
        # A Pin deleted since its source ranked it (e.g. a cached popular list) is left out.
        items=[
            FeedEntry(pin_id=i.pin_id, reasons=i.reasons, pin=_pin_out(pins[i.pin_id]))
            for i in items
            if i.pin_id in pins
        ],
        offsite_data_used=permit.allowed,
        # A browser we have never seen has nothing withheld, so it gets no note.
        offsite_data_note=None if permit.allowed or permit.reason is Reason.NO_SUBJECT else permit.explain(),
    )


def explain_pin(
    system: System, conn: Connection, caller: Caller, permit: Decision, pin_id: int
) -> list[dict[str, object]]:
    """Every reason the feed has for `pin_id`, on the system clock and the current model."""
    now = system.clock.now()
    return why(conn, caller.user_id, permit, pin_id, now=now, model=system.models.current(now))


@router.get("/pins/{pin_id}", response_model=PinOut, summary="One Pin")
def get_pin(pin_id: IdPath, system: SystemDep) -> PinOut:
    with system.read() as conn:
        return _pin_out(content.get_pin(conn, pin_id))


@router.get("/feed/home", response_model=FeedOut, summary="The home feed, every item with its reasons")
async def get_home_feed(
    system: SystemDep, visitor: VisitorDep, limit: int = Query(default=25, ge=1, le=MAX_LIMIT)
) -> Response:
    return await run_hot_read(system, lambda: json_response(build_feed(system, visitor, limit)))


@router.get("/pins/{pin_id}/why", response_model=WhyOut, summary="Why this Pin is recommended to me")
def get_why(pin_id: IdPath, system: SystemDep, caller: CallerDep) -> WhyOut:
    with system.read() as conn:
        content.get_pin(conn, pin_id)  # 404 for unknown Pins
        permit = offsite_permit(system, conn, caller)
        return WhyOut(pin_id=pin_id, reasons=explain_pin(system, conn, caller, permit, pin_id))


@router.post(
    "/engagement",
    response_model=EngagementResult,
    summary="Record saves, clicks, close-ups, hides, follows and searches (idempotent by event_id)",
    dependencies=[SameOriginJson],
)
@fails_with(403, 404)  # another person's board; an unknown Pin, board or person
def post_engagement(body: EngagementBatch, system: SystemDep, user_id: UserDep) -> EngagementResult:
    events = [EngagementIn(**e.model_dump()) for e in body.events]
    with system.write() as conn:
        results = engagement.record_engagement(conn, user_id, events, system.clock.now())
    return EngagementResult(events=[EventStatus(**r) for r in results])


@router.get("/me/boards", summary="My boards")
def my_boards(system: SystemDep, user_id: UserDep) -> dict[str, object]:
    with system.read() as conn:
        return {"items": content.boards_of(conn, user_id)}
