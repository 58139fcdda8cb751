"""Which 4xx (and 503) answers each route can give, published in /openapi.json with the one error body.

Most come from what a route is made of, so they are derived rather than listed per route: every route
checks its query text (422) and every /v1/ route is rate limited (429); a route with path parameters
can name nothing (404), one with a body can get a bad one (400, 413, 422). Dependencies and endpoints
that refuse requests for other reasons (sign-in required, another origin, a taken email) say so with
`@fails_with(...)` where they are defined.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import BaseModel

F = TypeVar("F", bound=Callable[..., Any])

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

DESCRIPTIONS = {
    400: "The body is not valid JSON (malformed_body)",
    401: "Sign in, or send a valid API token (unauthenticated)",
    403: "Not allowed: another origin, another ad account, or not yours (forbidden)",
    404: "Nothing has that id or name (not_found)",
    409: "Conflicts with what exists (conflict)",
    413: "The body is too large (payload_too_large)",
    415: "Send the body as application/json (unsupported_media_type)",
    422: "A value is not acceptable; `field` names it (invalid_input)",
    429: "Too many requests; see Retry-After (rate_limited)",
    503: "The database is unreachable or too slow right now; see Retry-After (unavailable)",
}


class ErrorDetail(BaseModel):
    field: str | None
    message: str


class ErrorInfo(BaseModel):
    code: str
    message: str
    field: str | None
    details: list[ErrorDetail] | None = None


class ErrorBody(BaseModel):
    """Every error answer: {"error": {"code", "message", "field"}}."""

    error: ErrorInfo


# dependency or endpoint -> (statuses, whether only for POST/PUT/PATCH/DELETE)
_FAILS_WITH: dict[Callable[..., Any], tuple[frozenset[int], bool]] = {}


def fails_with(*statuses: int, unsafe_methods_only: bool = False) -> Callable[[F], F]:
    """Say which 4xx a dependency or an endpoint may answer besides the derived ones."""

    def mark(func: F) -> F:
        _FAILS_WITH[func] = (frozenset(statuses), unsafe_methods_only)
        return func

    return mark


def _calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    if dependant.call is not None:
        yield dependant.call
    for sub in dependant.dependencies:
        yield from _calls(sub)


def route_errors(route: APIRoute, method: str, reads_body: bool) -> set[int]:
    statuses = {422}
    if route.path_format.startswith("/v1/"):
        statuses.add(429)
    if route.path_format != "/healthz":  # everything else may need the database (api.errors: outages)
        statuses.add(503)
    if route.param_convertors:
        statuses.add(404)
    unsafe = method in UNSAFE_METHODS
    if unsafe:
        statuses.add(413)  # every body is limited, read or not (api.middleware.BodyLimit)
    if reads_body:
        statuses.add(400)
    for call in _calls(route.dependant):
        found, unsafe_only = _FAILS_WITH.get(call, (frozenset(), False))
        if unsafe or not unsafe_only:
            statuses |= found
    return statuses


def _api_routes(routes: list[Any]) -> Iterator[tuple[str, APIRoute]]:
    """Every documented route with its full path (included routers are kept as contexts)."""
    for context in iter_route_contexts(routes):
        route = context.original_route
        if isinstance(route, APIRoute) and route.include_in_schema:
            yield context.path_format or route.path_format, route


def document(schema: dict[str, Any], routes: list[Any], reads_body: Callable[[APIRoute], bool]) -> None:
    """Add each route's error answers (with the error body schema) to an OpenAPI document."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    body = ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, definition in body.pop("$defs", {}).items():
        components[name] = definition
    components["ErrorBody"] = body
    ref = {"$ref": "#/components/schemas/ErrorBody"}
    for path, route in _api_routes(routes):
        for method in sorted(route.methods or ()):
            operation = schema["paths"].get(path, {}).get(method.lower())
            if operation is None:
                continue
            responses = operation.setdefault("responses", {})
            for status in sorted(route_errors(route, method, reads_body(route))):
                responses[str(status)] = {
                    "description": DESCRIPTIONS[status],
                    "content": {"application/json": {"schema": ref}},
                }
    for unused in ("HTTPValidationError", "ValidationError"):
        components.pop(unused, None)
