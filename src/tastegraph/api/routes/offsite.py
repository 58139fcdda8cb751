"""What the save button reports, and the signed-out opt-out."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.params import Depends

from tastegraph.api.context import (
    CallerDep,
    SameOriginJson,
    SystemDep,
    clear_cookie,
    read_cross_site_cookie,
    set_browser_cookie,
    set_cross_site_cookie,
)
from tastegraph.api.openapi_errors import fails_with
from tastegraph.api.schemas import BrowserChoice, VisitBatchBody, VisitBatchResult, VisitBody, VisitResult
from tastegraph.bootstrap import System
from tastegraph.collect import VisitIn, VisitOutcome, visits
from tastegraph.consent import OPT_OUT_COOKIE
from tastegraph.kernel import InvalidInput, UnsupportedMediaType
from tastegraph.kernel.urls import domain_of
from tastegraph.usecases.callers import Caller

router = APIRouter(prefix="/v1", tags=["off-site"])


@fails_with(415)
def _json_only(request: Request) -> None:
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != "application/json":
        raise UnsupportedMediaType("send the body as application/json", field="content-type")


def _check_reporting_origin(request: Request, urls: list[str]) -> None:
    """A page may only report itself: when the browser names the calling origin, the URL must be on it.
    An origin that names no site (`null`: a sandboxed frame, a file, a redirect across sites) is a
    foreign one, so it can report nothing."""
    origin = request.headers.get("origin")
    if origin is None:
        return
    try:
        origin_host = None if origin == "null" else domain_of(origin, field="origin")
    except InvalidInput:
        origin_host = None
    for i, url in enumerate(urls):
        if origin_host is None or domain_of(url) != origin_host:
            field = "url" if len(urls) == 1 else f"visits[{i}].url"
            raise InvalidInput("a page can only report visits to its own site", field=field)


def record(
    system: System, request: Request, response: Response, caller: Caller, items: list[VisitIn]
) -> list[VisitOutcome]:
    _check_reporting_origin(request, [v.url for v in items])
    browser_id = caller.browser_id
    issued = False
    with system.write() as conn:
        user_id = caller.user_id or system.identity.user_for_browser(conn, browser_id)
        if browser_id is None and user_id is None:
            browser_id, issued = system.identity.new_browser_id(), True
        outcomes = visits.record_visits(
            conn, system.consent, user_id, browser_id, caller.signals, items, system.clock.now()
        )
    # A new browser cookie only when something was actually kept about this browser.
    if issued and browser_id is not None and any(o.stored and not o.duplicate for o in outcomes):
        set_browser_cookie(response, request, system, browser_id)
    return outcomes


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
    (outcome,) = record(system, request, response, caller, [VisitIn(body.url, body.event_id, site=body.site)])
    response.status_code = 201 if outcome.stored and not outcome.duplicate else 200
    return VisitResult(**outcome.as_dict())


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
    outcomes = record(system, request, response, caller, items)
    return VisitBatchResult(results=[VisitResult(**o.as_dict()) for o in outcomes])


def browser_allows(request: Request) -> bool:
    return read_cross_site_cookie(request, OPT_OUT_COOKIE) != "1"


def set_browser_choice(
    system: System, request: Request, response: Response, caller: Caller, allow: bool, previous: bool
) -> None:
    """The signed-out checkbox. Unchecking deletes what this browser reported while signed out."""
    if caller.browser_id is not None:
        with system.write() as conn:
            user_id = caller.user_id or system.identity.user_for_browser(conn, caller.browser_id)
            system.consent.record_browser_choice(
                conn, caller.browser_id, user_id, allow, previous, system.clock.now()
            )
    if allow:
        clear_cookie(response, request, system, OPT_OUT_COOKIE)
    else:
        set_cross_site_cookie(response, request, system, OPT_OUT_COOKIE, "1", 5 * 365 * 86400)


@router.get("/browser/personalization", response_model=BrowserChoice, summary="This browser's choice")
def get_browser_choice(request: Request) -> BrowserChoice:
    return BrowserChoice(allow=browser_allows(request))


@router.put(
    "/browser/personalization",
    response_model=BrowserChoice,
    summary="Allow or refuse personalization using sites this browser visits (signed out)",
    dependencies=[SameOriginJson],
)
def put_browser_choice(
    body: BrowserChoice, request: Request, response: Response, system: SystemDep, caller: CallerDep
) -> BrowserChoice:
    set_browser_choice(system, request, response, caller, body.allow, browser_allows(request))
    return BrowserChoice(allow=body.allow)
