"""One check of every request's text before any route sees it (a dependency of the whole app): path
parameters, query parameters, form fields and JSON bodies may not hold NUL or lone surrogates, and JSON
may not nest deeper than `MAX_JSON_DEPTH` (kernel.untrusted_text says why).

A bad path parameter names nothing (404); anything else is refused with 422 and the field's path. The
check runs before authentication and before the route, so a refused request writes nothing. It reads
what FastAPI already parsed (Starlette caches the JSON and the form on the request): nothing is parsed
twice. Routes that validate list items one by one, so that a bad item fails alone (the conversions
API's events, customer-list records), say so with `@items_checked_alone("data")`.
"""

from __future__ import annotations

import email.message
from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import Request
from fastapi.routing import APIRoute

from tastegraph.api.errors import format_path
from tastegraph.kernel import InvalidInput, MalformedBody, NotFound
from tastegraph.kernel.untrusted_text import TOO_DEEP, json_problem, text_problem

F = TypeVar("F", bound=Callable[..., Any])

# endpoint function -> the top-level list whose items the route checks itself
_ITEMS_CHECKED_ALONE: dict[Callable[..., Any], str] = {}


def items_checked_alone(field: str) -> Callable[[F], F]:
    """Mark a route whose JSON body's `field` is a list the route validates item by item (a bad item
    fails alone); the rest of its body is checked here as usual. Also for a route that reads its JSON
    body itself, which this check then parses first (and Starlette keeps for the route)."""

    def mark(endpoint: F) -> F:
        _ITEMS_CHECKED_ALONE[endpoint] = field
        return endpoint

    return mark


def _media_type(request: Request) -> str:
    message = email.message.Message()
    message["content-type"] = request.headers.get("content-type", "")
    return message.get_content_type()


def _is_json(media_type: str) -> bool:
    # What FastAPI parses as JSON.
    return media_type == "application/json" or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )


def reads_body(route: APIRoute) -> bool:
    return route.body_field is not None or route.endpoint in _ITEMS_CHECKED_ALONE


async def check_request_text(request: Request) -> None:
    for name, value in request.path_params.items():
        if isinstance(value, str) and text_problem(value) is not None:
            raise NotFound("nothing has that name", field=name)
    for name, value in request.query_params.multi_items():
        if (message := text_problem(name)) is not None:
            raise InvalidInput(f"a parameter name is not acceptable: {message}")
        if (message := text_problem(value)) is not None:
            raise InvalidInput(message, field=name)
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    if not reads_body(route):
        return  # the route reads no body (and a GET's body is never read)
    alone = _ITEMS_CHECKED_ALONE.get(route.endpoint)
    media_type = _media_type(request)
    if media_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        form = await request.form()
        for name, field_value in form.multi_items():
            if (message := text_problem(name)) is not None:
                raise InvalidInput(f"a field name is not acceptable: {message}")
            if isinstance(field_value, str) and (message := text_problem(field_value)) is not None:
                raise InvalidInput(message, field=name)
    elif _is_json(media_type) and await request.body():
        _check_json(await _parsed_json(request), alone)


async def _parsed_json(request: Request) -> Any:
    try:
        return await request.json()
    except RecursionError as exc:
        raise InvalidInput(TOO_DEEP) from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedBody("the body is not valid JSON") from exc


def _check_json(body: Any, alone: str | None) -> None:
    if alone is not None and isinstance(body, dict) and isinstance(body.get(alone), list):
        body = {**body, alone: []}  # its items are the route's to check, one by one
    problem = json_problem(body)
    if problem is not None:
        raise InvalidInput(problem.message, field=format_path(problem.loc))
