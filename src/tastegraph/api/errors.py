"""The one place errors become HTTP responses: {"error": {"code", "message", "field"}}."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from tastegraph.kernel import InvalidInput, RateLimited, TastegraphError
from tastegraph.kernel.untrusted_text import TOO_DEEP

log = logging.getLogger("tastegraph.api")

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}


def error_body(code: str, message: str, field: str | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "field": field}}


def error_response(exc: TastegraphError) -> JSONResponse:
    headers = {}
    if isinstance(exc, RateLimited):
        headers["Retry-After"] = str(exc.retry_after_seconds)
    return JSONResponse(error_body(exc.code, exc.message, exc.field), status_code=exc.status, headers=headers)


def format_path(parts: tuple[Any, ...]) -> str | None:
    """A location inside a request as clients see it: `visits[1].url`."""
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or None


def field_path(loc: tuple[Any, ...]) -> str | None:
    """A validation error's location without pydantic's "body"/"query"/... prefix."""
    return format_path(tuple(p for p in loc if p not in ("body", "query", "path", "header", "cookie")))


def _validation_message(err: dict[str, Any]) -> tuple[str, str]:
    kind = err.get("type", "")
    if kind == "json_invalid":
        return "malformed_body", "the body is not valid JSON"
    if kind == "extra_forbidden":
        return "invalid_input", "unknown field"
    if kind == "missing":
        return "invalid_input", "this field is required"
    return "invalid_input", str(err.get("msg", "invalid value"))


def install(app: FastAPI) -> None:
    @app.exception_handler(TastegraphError)
    async def _domain(_: Request, exc: TastegraphError) -> JSONResponse:
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        first = errors[0] if errors else {}
        code, message = _validation_message(first)
        status = 400 if code == "malformed_body" else 422
        field = None if code == "malformed_body" else field_path(tuple(first.get("loc", ())))
        body = error_body(code, message, field)
        if len(errors) > 1:
            body["error"]["details"] = [
                {"field": field_path(tuple(e.get("loc", ()))), "message": _validation_message(e)[1]}
                for e in errors[:20]
            ]
        return JSONResponse(body, status_code=status)

    # Numbers the database cannot hold (an id beyond 64 bits: OverflowError from sqlite3, DataError
    # from PostgreSQL) are the request's fault, wherever they enter, so they are a 422, not a 500.
    @app.exception_handler(OverflowError)
    @app.exception_handler(DataError)
    async def _out_of_range(_: Request, exc: Exception) -> JSONResponse:
        return error_response(InvalidInput("a value in the request is out of range"))

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400 and isinstance(exc.__cause__, RecursionError):
            # FastAPI answers any failure to parse a body with 400, chaining the cause: JSON nested
            # deeper than the parser goes is refused like any other too-deep JSON.
            return error_response(InvalidInput(TOO_DEEP))
        code = _HTTP_CODES.get(exc.status_code, "error")
        message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
        return JSONResponse(error_body(code, message), status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        return JSONResponse(error_body("internal", "something went wrong on our side"), status_code=500)
