"""What the save button reports, and the signed-out opt-out."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.params import Depends

from tastegraph.api.context import (
    CallerDep,
    SameOriginJson,
    SystemDep,
    set_browser_cookie,
)
from tastegraph.api.openapi_errors import fails_with
from tastegraph.api.schemas import BrowserChoice, VisitBatchBody, VisitBatchResult, VisitBody, VisitResult
from tastegraph.bootstrap import System
from tastegraph.edge.cookies import browser_allows, partition_id_of, set_browser_choice, set_partition_cookie
from tastegraph.kernel import UnsupportedMediaType
from tastegraph.usecases import offsite
from tastegraph.usecases.callers import Caller
from tastegraph.usecases.offsite import VisitIn

router = APIRouter(prefix="/v1", tags=["off-site"])


@fails_with(415)
def _json_only(request: Request) -> None:
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != "application/json":
        raise UnsupportedMediaType("send the body as application/json", field="content-type")


def record(
    system: System,
    request: Request,
    response: Response,
    caller: Caller,
    items: list[VisitIn],
    body: VisitBody | None = None,
) -> offsite.Recorded:
    recorded = offsite.record_visits(
        system,
        caller,
        request.headers.get("origin"),
        items,
        partitioned=body is not None and body.partitioned,
        partition_id=partition_id_of(request),
        click_id=body.click_id if body is not None else None,
        embedder=body.embedder if body is not None else None,
    )
    if recorded.new_browser_id is not None:
        set_browser_cookie(response, request, system, recorded.new_browser_id)
    if recorded.new_partition_id is not None:
        set_partition_cookie(response, system, recorded.new_partition_id)
    return recorded


@router.post(
    "/offsite/visits",
    response_model=VisitResult,
    summary="Report a visit to a page carrying the save button",
    responses={201: {"model": VisitResult}},
    dependencies=[Depends(_json_only)],
)
def post_visit(
    body: VisitBody, request: Request, response: Response, system: SystemDep, caller: CallerDep
) -> VisitResult:
    item = VisitIn(body.url, body.event_id, site=body.site)
    recorded = record(system, request, response, caller, [item], body)
    (outcome,) = recorded.outcomes
    response.status_code = 201 if outcome.stored and not outcome.duplicate else 200
    return VisitResult(**outcome.as_dict(), partition_token=recorded.partition_token)


@router.post(
    "/offsite/visits/batch",
    response_model=VisitBatchResult,
    summary="Report up to 500 visits at once",
    dependencies=[Depends(_json_only)],
)
def post_visits(
    body: VisitBatchBody, request: Request, response: Response, system: SystemDep, caller: CallerDep
) -> VisitBatchResult:
    items = [VisitIn(v.url, v.event_id, v.visited_at, v.site) for v in body.visits]
    outcomes = record(system, request, response, caller, items).outcomes
    return VisitBatchResult(results=[VisitResult(**o.as_dict()) for o in outcomes])


@router.get("/browser/personalization", response_model=BrowserChoice, summary="This browser's choice")
def get_browser_choice(request: Request, system: SystemDep) -> BrowserChoice:
    return BrowserChoice(allow=browser_allows(request, system))


@router.put(
    "/browser/personalization",
    response_model=BrowserChoice,
    summary="Allow or refuse personalization using sites this browser visits (signed out)",
    dependencies=[SameOriginJson],
)
def put_browser_choice(
    body: BrowserChoice, request: Request, response: Response, system: SystemDep, caller: CallerDep
) -> BrowserChoice:
    set_browser_choice(system, request, response, caller, body.allow)
    return BrowserChoice(allow=body.allow)
