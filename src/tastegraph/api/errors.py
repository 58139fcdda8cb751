"""The one place errors become HTTP responses: {"error": {"code", "message", "field"}}."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Mapping
from typing import Any, NotRequired, TypedDict

import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy import exc as sa_exc
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from tastegraph.kernel import InvalidInput, RateLimited, TastegraphError, Unavailable
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


class FieldError(TypedDict):
    field: str | None
    message: str


class ErrorContent(TypedDict):
    code: str
    message: str
    field: str | None
    details: NotRequired[list[FieldError]]  # every invalid field, when a request has more than one


class ErrorDocument(TypedDict):
    """The body of every error answer (documented as openapi_errors.ErrorBody)."""

    error: ErrorContent


def error_body(code: str, message: str, field: str | None = None) -> ErrorDocument:
    return {"error": {"code": code, "message": message, "field": field}}


def retry_after(exc: TastegraphError) -> dict[str, str]:
    """The Retry-After header of an error that is over after a while (rate limits, outages)."""
    if isinstance(exc, RateLimited | Unavailable):
        return {"Retry-After": str(exc.retry_after_seconds)}
    return {}


def error_response(exc: TastegraphError) -> JSONResponse:
    headers = retry_after(exc)
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


def _validation_message(err: Mapping[str, object]) -> tuple[str, str]:
    kind = err.get("type", "")
    if kind == "json_invalid":
        return "malformed_body", "the body is not valid JSON"
    if kind == "extra_forbidden":
        return "invalid_input", "unknown field"
    if kind == "missing":
        return "invalid_input", "this field is required"
    return "invalid_input", str(err.get("msg", "invalid value"))


# SQLite's primary result codes for a database that is busy, locked, full or failing underneath: the
# request may well succeed later. The rest (no such table, a syntax error, corruption) are bugs: 500.
_SQLITE_TRANSIENT = {
    5,  # SQLITE_BUSY: another connection holds the write lock past busy_timeout
    6,  # SQLITE_LOCKED
    7,  # SQLITE_NOMEM
    8,  # SQLITE_READONLY: e.g. the file system went read-only
    10,  # SQLITE_IOERR
    13,  # SQLITE_FULL: the disk (or max_page_count) is full
    14,  # SQLITE_CANTOPEN
    15,  # SQLITE_PROTOCOL
}

# The database errors that may mean "unavailable": each is looked at by `database_unavailable`.
DATABASE_ERRORS: tuple[type[Exception], ...] = (
    sa_exc.OperationalError,
    sa_exc.InterfaceError,
    sa_exc.TimeoutError,
    psycopg.OperationalError,
    sqlite3.OperationalError,
)


def database_unavailable(exc: BaseException) -> bool:
    """Whether a database error says the database is down, unreachable, too slow, locked or full (503)
    rather than that our code is wrong (500). Errors come wrapped by SQLAlchemy or, from statements that
    go straight to the driver (kernel.fastsql, SQLite's BEGIN), as the driver raised them."""
    if isinstance(exc, sa_exc.TimeoutError):  # no pooled connection came free in time
        return True
    cause: BaseException | None = exc
    if isinstance(exc, sa_exc.DBAPIError):
        if exc.connection_invalidated:  # SQLAlchemy saw the connection die
            return True
        cause = exc.orig
    # psycopg: lost or refused connections, connect timeouts, statement timeouts and cancels, a server
    # shutting down or out of disk/connections, deadlocks. Its programming errors have other classes.
    if isinstance(cause, psycopg.OperationalError):
        return True
    if isinstance(cause, sqlite3.OperationalError):
        return (cause.sqlite_errorcode & 0xFF) in _SQLITE_TRANSIENT
    return False


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

    # An outage is no bug: 503 with Retry-After, logged without a stack trace. It is answered like any
    # other domain error, by whichever handler is installed for those at request time, so pages render
    # it as a page (web.pages wraps that handler).
    async def _database(request: Request, exc: Exception) -> Response:
        if not database_unavailable(exc):
            raise exc  # a genuine bug: the 500 handler below
        log.warning("database unavailable: %s: %s", type(exc).__name__, (str(exc).splitlines() or [""])[0])
        unavailable = Unavailable("the database is not available right now; try again in a few seconds")
        handler = request.app.exception_handlers[TastegraphError]
        response: Response = await handler(request, unavailable)
        return response

    for kind in DATABASE_ERRORS:
        app.add_exception_handler(kind, _database)

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
