"""The advertiser API: the conversions API, customer lists, audiences, the account and its tokens.

Every route is authenticated by an ad account's token (`Authorization: Bearer TOKEN`), acts only on
that account (another account's id is refused with 403), and is rate limited per ad account.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict
from typing import Annotated, Any, Literal

import anyio
from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictStr

from tastegraph.api.context import SystemDep, bearer_token
from tastegraph.api.input_guard import items_checked_alone
from tastegraph.api.openapi_errors import fails_with
from tastegraph.api.schemas import MAX_ID, TYPED_TEXT_RULE, IdInt, IdPath, Name
from tastegraph.kernel import (
    Forbidden,
    InvalidInput,
    RateLimited,
    Unauthenticated,
    UnsupportedMediaType,
)
from tastegraph.kernel.json_numbers import JsonInt
from tastegraph.usecases import ad_accounts as account_cases
from tastegraph.usecases import advertiser_events as event_cases
from tastegraph.usecases import audiences as audience_cases
from tastegraph.usecases import customer_lists as list_cases
from tastegraph.usecases.callers import AdCaller

router = APIRouter(prefix="/v1", tags=["advertisers"])

AccountId = IdPath
AudienceId = IdPath
TokenId = IdPath


@fails_with(401, 403)
def ad_account_for(ad_account_id: AccountId, request: Request, system: SystemDep) -> AdCaller:
    """The ad account in the path, if the request's token acts for it; also takes a rate-limit token."""
    token = bearer_token(request)
    if token is None:
        raise Unauthenticated(
            "send the ad account's API token as 'Authorization: Bearer TOKEN'", field="authorization"
        )
    failures = getattr(request.app.state, "ad_auth_failures", None)
    client = request.client.host if request.client else "unknown"
    if failures is not None and failures.due():
        failures.sync()
    if failures is not None and (wait := failures.wait(client)) > 0:
        retry = max(1, math.ceil(wait))
        raise RateLimited("too many requests with a wrong token; slow down", retry_after_seconds=retry)
    owner = account_cases.ad_caller_for_token(system, token)
    if owner is None:
        if failures is not None:
            failures.take(client)
        raise Unauthenticated("unknown or revoked API token", field="authorization")
    if owner.ad_account_id != ad_account_id:
        raise Forbidden("this token acts for another ad account", field="ad_account_id")
    buckets = getattr(request.app.state, "ad_account_buckets", None)
    if buckets is not None:
        if buckets.due():
            buckets.sync()
        wait = buckets.take(str(owner.ad_account_id))
        if wait > 0:
            raise RateLimited(
                "too many requests for this ad account; slow down",
                retry_after_seconds=max(1, math.ceil(wait)),
            )
    return owner


AdAccountDep = Annotated[AdCaller, Depends(ad_account_for)]


def _content_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


@fails_with(415)
async def json_only(request: Request) -> None:
    if _content_type(request) != "application/json":
        raise UnsupportedMediaType("send the body as application/json", field="content-type")


# --- the conversions API -------------------------------------------------------------------------


class EventsBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    # Each item is validated on its own (see docs/api.md): a bad one fails alone. The schema of an
    # item is published as ConversionEvent in /openapi.json.
    data: list[Any] = Field(
        min_length=1,
        max_length=event_cases.MAX_EVENTS,
        json_schema_extra={"items": {"$ref": "#/components/schemas/ConversionEvent"}},
    )


class EventError(BaseModel):
    field: str
    message: str


DUPLICATE_WARNING = (
    "duplicate: an event with this event_name and event_id reached this ad account within 48 hours "
    "(by the tag or this API); it was not stored again"
)


class EventStatus(BaseModel):
    # Pinterest's shape (its SDK reads these): processed (a duplicate too: it is accounted for, with a
    # warning) or failed, with a message.
    status: Literal["processed", "failed"]
    error_message: str | None = None
    warning_message: str | None = None
    # Ours: the three-way outcome and the failed field's path.
    outcome: Literal["processed", "duplicate", "failed"]
    error: EventError | None = None

    @classmethod
    def of(cls, outcome: Mapping[str, Any]) -> EventStatus:
        kind = outcome["status"]
        error = outcome.get("error")
        return cls(
            status="failed" if kind == "failed" else "processed",
            error_message=None if error is None else f"{error['field']}: {error['message']}",
            warning_message=DUPLICATE_WARNING if kind == "duplicate" else None,
            outcome=kind,
            error=None if error is None else EventError(**error),
        )


class EventsResult(BaseModel):
    # Pinterest's shape: events received, and accepted (processed or duplicate: not failed).
    num_events_received: int
    num_events_processed: int
    events: list[EventStatus]
    # Ours.
    processed: int
    duplicate: int
    failed: int
    test: bool


@router.post(
    "/ad_accounts/{ad_account_id}/events",
    response_model=EventsResult,
    response_model_exclude_none=True,
    summary="Conversions API: send 1-1,000 events",
    description=(
        "Each event: event_name (page_visit, view_category, search, add_to_cart, checkout, signup, lead, "
        "watch_video, custom), action_source (web, app_android, app_ios, offline), event_time (Unix "
        "seconds, at most 7 days old, at most 5 minutes ahead), event_id, user_data {em, ph, external_id: "
        "lists of SHA-256 hex of normalized values (plain values are normalized and hashed on arrival); "
        "client_ip_address, client_user_agent, click_id}, custom_data {value (number or numeric string), "
        "currency (ISO 4217), order_quantity, order_id, search_query, line_items [{product_id, "
        "product_name, product_category, product_price, product_quantity}]}, event_source_url, opt_out, "
        "limited_data_processing. Answered in Pinterest's shape (num_events_received, num_events_processed, "
        "events[].status processed|failed with error_message / warning_message) and ours beside it: "
        "events[].outcome in request order: processed, duplicate (same event_name and event_id from this "
        "ad account, by tag or API, within 48 hours; status processed with a warning) or failed with the "
        "field's path in error. `?test=true` validates and stores nothing."
    ),
    dependencies=[Depends(json_only)],
)
@items_checked_alone("data")
def post_events(
    ad_account_id: AccountId,
    body: EventsBody,
    system: SystemDep,
    account: AdAccountDep,
    test: bool = Query(default=False, description="validate only; record nothing"),
) -> EventsResult:
    recorded = event_cases.record_events(system, account, body.data, test=test)
    return EventsResult(
        num_events_received=len(recorded.outcomes),
        num_events_processed=recorded.processed + recorded.duplicate,
        events=[EventStatus.of(o.as_dict()) for o in recorded.outcomes],
        processed=recorded.processed,
        duplicate=recorded.duplicate,
        failed=recorded.failed,
        test=recorded.test,
    )


@router.get(
    "/ad_accounts/{ad_account_id}/events/summary",
    summary="Aggregate counts of the events received (measurement; no person is named)",
)
def events_summary(
    ad_account_id: AccountId,
    system: SystemDep,
    account: AdAccountDep,
    days: int = Query(default=30, ge=1, le=540),
) -> dict[str, object]:
    summary = event_cases.events_summary(system, account, days)
    return {"since": summary.since.isoformat(), "events": [asdict(c) for c in summary.events]}


# --- customer lists ------------------------------------------------------------------------------


class CustomerListBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["email", "phone"]
    hashed: StrictBool
    records: list[Any] = Field(min_length=1, max_length=list_cases.MAX_RECORDS)
    name: Name = ""


class CustomerListResult(BaseModel):
    id: int
    uploaded: int
    matched: int
    invalid: int
    errors: list[EventError]
    audience_id: int
    audience: dict[str, object]  # AudienceOut's fields


def customer_list_result(saved: list_cases.CustomerListSaved) -> CustomerListResult:
    return CustomerListResult(**asdict(saved))


@router.post(
    "/ad_accounts/{ad_account_id}/customer_lists",
    status_code=201,
    response_model=CustomerListResult,
    summary="Upload a customer list (JSON, or CSV streamed) and get its audience",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/CustomerListBody"}},
                "text/csv": {"schema": {"type": "string", "description": "one record per line"}},
            },
        }
    },
    description=(
        "JSON: {kind: email|phone, hashed: bool, records: [...], name?}. CSV: the body as text/csv "
        "(first column; an optional header row), with ?kind=email|phone&hashed=true|false&name=... . "
        "Up to 1,000,000 records. Hashed records are SHA-256 hex of normalized values; plain ones are "
        "normalized and hashed on arrival. The list is matched and discarded: only the counts and the "
        "audience of matched people whose settings allow it are kept."
    ),
)
@items_checked_alone("records")  # a bad record is counted invalid, the rest are matched
@fails_with(400, 415)
async def post_customer_list(
    ad_account_id: AccountId,
    request: Request,
    system: SystemDep,
    account: AdAccountDep,
    kind: str | None = Query(default=None, description="CSV uploads: email or phone"),
    hashed: bool | None = Query(default=None, description="CSV uploads: whether records are SHA-256"),
    name: str = Query(default="", max_length=120),
) -> CustomerListResult:
    ctype = _content_type(request)
    if ctype == "application/json":
        # Parsed and checked already by input_guard (which refuses a body that is not JSON).
        body = _validated(CustomerListBody, await request.json())
        saved = await anyio.to_thread.run_sync(
            lambda: list_cases.upload(system, account, body.kind, body.hashed, body.name, body.records)
        )
        return customer_list_result(saved)
    if ctype not in ("text/csv", "text/plain"):
        raise UnsupportedMediaType("send JSON, or the list as text/csv", field="content-type")
    if kind is None or hashed is None:
        raise InvalidInput("CSV uploads need ?kind=email|phone and ?hashed=true|false", field="kind")
    stream = request.stream()

    async def next_chunk() -> bytes | None:
        try:
            return await stream.__anext__()
        except StopAsyncIteration:
            return None

    def chunks() -> Any:
        # Runs in the worker thread: pulls the body from the event loop a chunk at a time.
        while (chunk := anyio.from_thread.run(next_chunk)) is not None:
            yield chunk

    saved = await anyio.to_thread.run_sync(
        lambda: list_cases.upload_csv(system, account, kind, hashed, name, chunks())
    )
    return customer_list_result(saved)


# Schemas that routes reference by name but parse themselves (per-event validation, streamed CSV).
DOCUMENTED_SCHEMAS: tuple[type[BaseModel], ...] = (event_cases.ConversionEvent, CustomerListBody)


def _validated(model: type[CustomerListBody], raw: object) -> CustomerListBody:
    from pydantic import ValidationError

    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or None
        message = "this field is required" if first.get("type") == "missing" else str(first.get("msg"))
        raise InvalidInput(message, field=where) from exc


# --- audiences -----------------------------------------------------------------------------------


def _rules_by_kind(schema: dict[str, Any]) -> None:
    """What ads.audiences checks for each kind, stated in the schema as one complete variant per kind
    (fields of another kind are accepted and ignored, so every variant has every field)."""
    fields = schema.pop("properties")
    required = schema.pop("required", [])
    closed = schema.pop("additionalProperties", False)
    days = {"type": ["integer", "null"], "minimum": 1, "maximum": 540}

    def names(values: list[str]) -> dict[str, Any]:
        return {"type": ["array", "null"], "items": {"enum": values}}

    rules: list[tuple[str, dict[str, Any], list[str]]] = [
        (
            "visitor",
            {"event_names": names(list(audience_cases.VISITOR_EVENT_NAMES)), "retention_days": days},
            [],
        ),
        (
            "engagement",
            {
                "engagement_kinds": names(list(audience_cases.ENGAGEMENT_KINDS)),
                "retention_days": days,
            },
            [],
        ),
        (
            "actalike",
            {
                "seed_audience_id": {"type": "integer", "minimum": 1, "maximum": MAX_ID},
                "percent": {"type": ["number", "null"], "minimum": 1, "maximum": 10},
            },
            ["seed_audience_id"],
        ),
    ]
    schema["oneOf"] = [
        {
            "type": "object",
            "properties": {**fields, "kind": {"const": kind}, **overrides},
            "required": [*required, *more_required],
            "additionalProperties": closed,
        }
        for kind, overrides, more_required in rules
    ]


class AudienceCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra=_rules_by_kind)
    kind: Literal["visitor", "engagement", "actalike"]
    name: Name = ""
    # visitor: which event kinds (all when empty), and how far back (1-540 days)
    event_names: list[StrictStr] | None = None
    retention_days: JsonInt | None = None
    # engagement: save, click, closeup (all when empty)
    engagement_kinds: list[StrictStr] | None = None
    # actalike: the seed audience, and the size as a percentage (1-10) of eligible people
    seed_audience_id: IdInt | None = None
    percent: JsonInt | StrictFloat | None = None


class AudienceOut(BaseModel):
    id: int
    kind: str
    name: str
    size: int
    usable: bool
    spec: dict[str, object]  # the kind's rules (ads.audiences.AudienceSpec)
    refreshed_at: str


@router.get("/ad_accounts/{ad_account_id}/audiences", summary="Audiences (sizes rounded)")
def list_audiences(ad_account_id: AccountId, system: SystemDep, account: AdAccountDep) -> dict[str, object]:
    return {"audiences": [asdict(a) for a in audience_cases.list_audiences(system, account)]}


@router.get(
    "/ad_accounts/{ad_account_id}/audiences/{audience_id}",
    response_model=AudienceOut,
    summary="One audience (size rounded, never below the minimum)",
)
def get_audience(
    ad_account_id: AccountId, audience_id: AudienceId, system: SystemDep, account: AdAccountDep
) -> AudienceOut:
    return AudienceOut(**asdict(audience_cases.get_audience(system, account, audience_id)))


@router.post(
    "/ad_accounts/{ad_account_id}/audiences",
    status_code=201,
    response_model=AudienceOut,
    summary="Create a visitor, engagement or actalike audience",
    dependencies=[Depends(json_only)],
)
@fails_with(404, 409)  # an unknown seed audience; an actalike without a trained model
def create_audience(
    ad_account_id: AccountId, body: AudienceCreate, system: SystemDep, account: AdAccountDep
) -> AudienceOut:
    new = audience_cases.NewAudience(
        kind=body.kind,
        name=body.name,
        event_names=body.event_names,
        retention_days=body.retention_days,
        engagement_kinds=body.engagement_kinds,
        seed_audience_id=body.seed_audience_id,
        percent=body.percent,
    )
    return AudienceOut(**asdict(audience_cases.create_audience(system, account, new)))


@router.post(
    "/ad_accounts/{ad_account_id}/audiences/{audience_id}/refresh",
    response_model=AudienceOut,
    summary="Recompute an audience's members now (consent is decided again for everyone)",
)
def refresh_audience(
    ad_account_id: AccountId, audience_id: AudienceId, system: SystemDep, account: AdAccountDep
) -> AudienceOut:
    return AudienceOut(**asdict(audience_cases.refresh_audience(system, account, audience_id)))


# --- the account and its tokens ----------------------------------------------------------------------


@router.get(
    "/ad_accounts/{ad_account_id}",
    summary="The ad account, with its tag id, attribution windows and report privacy mode",
)
def get_ad_account(
    ad_account_id: AccountId, system: SystemDep, account: AdAccountDep
) -> Mapping[str, object]:
    return account_cases.ad_account_view(system, account)


class AttributionWindows(BaseModel):
    """Days after a click, an engagement (save, close-up) or a counted impression (view; 0: never) in
    which a conversion is credited to it. Click beats engagement beats view."""

    model_config = ConfigDict(extra="forbid")
    click_days: Literal[1, 7, 14, 30, 60] | None = None
    engagement_days: Literal[1, 7, 14, 30, 60] | None = None
    view_days: Literal[0, 1, 7, 14, 30, 60] | None = None


class AdAccountPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    attribution: AttributionWindows | None = None
    # threshold: cells from fewer than TASTEGRAPH_REPORT_MIN_PEOPLE people withheld; dp: noisy counts
    # under a privacy budget (docs/privacy.md).
    privacy: Literal["threshold", "dp"] | None = None


@router.patch(
    "/ad_accounts/{ad_account_id}",
    summary="Change the attribution windows or the report privacy mode (only the fields given)",
    dependencies=[Depends(json_only)],
)
def patch_ad_account(
    ad_account_id: AccountId, body: AdAccountPatch, system: SystemDep, account: AdAccountDep
) -> Mapping[str, object]:
    windows = None if body.attribution is None else body.attribution.model_dump(exclude_none=True)
    return account_cases.update_ad_account(system, account, attribution=windows, privacy=body.privacy)


@router.get("/ad_accounts/{ad_account_id}/tokens", summary="The account's API tokens (never their values)")
def list_tokens(ad_account_id: AccountId, system: SystemDep, account: AdAccountDep) -> dict[str, object]:
    return {"tokens": [asdict(t) for t in account_cases.list_tokens(system, account)]}


class TokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    label: Annotated[StrictStr, Field(max_length=80, json_schema_extra=TYPED_TEXT_RULE)] = ""


@router.post(
    "/ad_accounts/{ad_account_id}/tokens",
    status_code=201,
    summary="Create another API token (shown once)",
    dependencies=[Depends(json_only)],
)
def create_token(
    ad_account_id: AccountId, body: TokenCreate, system: SystemDep, account: AdAccountDep
) -> dict[str, object]:
    new = account_cases.create_token(system, account, body.label)
    return {"id": new.id, "token": new.token}


@router.delete(
    "/ad_accounts/{ad_account_id}/tokens/{token_id}", status_code=204, summary="Revoke an API token"
)
def revoke_token(
    ad_account_id: AccountId, token_id: TokenId, system: SystemDep, account: AdAccountDep
) -> None:
    account_cases.revoke_token(system, account, token_id)
