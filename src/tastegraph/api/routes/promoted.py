"""What people do with Promoted Pins: impressions, clicks, engagement (save, close-up), hiding an ad
or an advertiser, and undoing it.

Tokens come from the `promoted` field of a feed, related-Pins or search item. A token speaks only for
whom it was served to (the signed-in person, or the signed-out browser by its cookie): reported by
anyone else it is refused and changes nothing."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field, StrictStr

from tastegraph.api.context import CallerDep, SameOriginJson, SystemDep
from tastegraph.api.openapi_errors import fails_with
from tastegraph.api.schemas import IdPath, StrictModel
from tastegraph.usecases import promoted_pins as cases

router = APIRouter(prefix="/v1", tags=["promoted pins"])

Token = Annotated[StrictStr, Field(min_length=1, max_length=600)]


class ImpressionsBody(StrictModel):
    tokens: Annotated[list[Token], Field(min_length=1, max_length=cases.MAX_TOKENS)]


class TokenStatus(BaseModel):
    status: Literal["recorded", "duplicate", "refused"]
    reason: Literal["forged", "expired", "not_yours"] | None = None


class ImpressionsOut(BaseModel):
    results: list[TokenStatus]  # in request order


@router.post(
    "/ads/impressions",
    response_model=ImpressionsOut,
    response_model_exclude_none=True,
    summary="Report Promoted Pins seen (at least half the card in view for a second)",
    dependencies=[SameOriginJson],
)
def post_impressions(body: ImpressionsBody, system: SystemDep, caller: CallerDep) -> ImpressionsOut:
    results = cases.impressions(system, caller, body.tokens)
    return ImpressionsOut(results=[TokenStatus(status=r.status, reason=r.reason) for r in results])


class EngagementBody(StrictModel):
    token: Token
    kind: Literal["save", "closeup"]


@router.post(
    "/ads/engagement",
    response_model=TokenStatus,
    response_model_exclude_none=True,
    summary="Report engagement with a Promoted Pin where it was served (saved it, or opened it up close)",
    dependencies=[SameOriginJson],
)
def post_engagement(body: EngagementBody, system: SystemDep, caller: CallerDep) -> TokenStatus:
    result = cases.engagement(system, caller, body.token, body.kind)
    return TokenStatus(status=result.status, reason=result.reason)


@router.get(
    "/ads/click/{token}",
    status_code=302,
    response_class=RedirectResponse,
    summary="Go to a Promoted Pin's destination (the click is counted once, with a tg_click id)",
)
@fails_with(404)  # not one of our tokens, or its ad is gone
def click(
    token: Annotated[str, Path(min_length=1, max_length=600)],
    request: Request,
    system: SystemDep,
    caller: CallerDep,
) -> Response:
    outcome = cases.click(system, caller, token)
    # No-store: a cached redirect would skip counting, and would carry another click's id.
    headers = {"Cache-Control": "no-store"}
    if request.headers.get("accept", "").split(",")[0].strip() == "application/json":
        # The page's own script (browser measurement mode) asks where to go and whether the click
        # counted, so it calls the ad's click pixels only after it did; then it goes there itself.
        body = {"status": outcome.status, "reason": outcome.reason, "destination": outcome.destination}
        return JSONResponse(body, headers=headers)
    return RedirectResponse(outcome.destination, status_code=302, headers=headers)


class HideBody(StrictModel):
    token: Token
    scope: Literal["ad", "advertiser"] = "ad"


class HideOut(BaseModel):
    id: int
    scope: str


@router.post(
    "/ads/hide",
    status_code=201,
    response_model=HideOut,
    summary="Hide this ad, or every ad of its advertiser, from me (undo: DELETE /v1/me/ad-hides/{id})",
    dependencies=[SameOriginJson],
)
@fails_with(403)  # the ad was not shown to this caller
def hide(body: HideBody, system: SystemDep, caller: CallerDep) -> HideOut:
    return HideOut(id=cases.hide(system, caller, body.token, body.scope), scope=body.scope)


class HiddenAd(BaseModel):
    id: int
    scope: str
    ad_id: int | None
    ad_account_id: int
    advertiser: str
    ad_title: str | None = None  # the hidden ad's Pin title (scope "ad")
    created_at: str


class HiddenAdsOut(BaseModel):
    hidden: list[HiddenAd]


@router.get("/me/ad-hides", response_model=HiddenAdsOut, summary="The ads and advertisers I hid")
def list_hides(system: SystemDep, caller: CallerDep) -> HiddenAdsOut:
    return HiddenAdsOut(hidden=[HiddenAd(**h) for h in cases.hidden_ads(system, caller)])


@router.delete(
    "/me/ad-hides/{hide_id}", status_code=204, summary="Undo a hide", dependencies=[SameOriginJson]
)
@fails_with(404)
def unhide(hide_id: IdPath, system: SystemDep, caller: CallerDep) -> None:
    cases.unhide(system, caller, hide_id)
