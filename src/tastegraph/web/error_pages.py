"""Friendly HTML error pages for page paths; the API keeps its JSON errors."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from tastegraph.kernel import CsrfFailed, RateLimited, TastegraphError, Unavailable
from tastegraph.web.rendering import Pages


def is_page_path(path: str) -> bool:
    return not (path.startswith("/v1/") or path in ("/v1", "/healthz", "/readyz"))


ERROR_TITLES: dict[int, str] = {
    400: "That request didn't look right",
    401: "Please sign in",
    403: "That didn't go through",
    404: "We couldn't find that page",
    405: "That page can't do that",
    409: "That already exists",
    413: "That was too much at once",
    415: "That request didn't look right",
    422: "Something needs fixing",
    429: "Slow down a little",
    503: "We'll be right back",
}


def install_error_pages(app: FastAPI, pages: Pages) -> None:
    """Page paths get friendly HTML error pages; the API keeps its JSON errors (handled as before)."""
    Handler = Callable[[Request, Exception], Awaitable[Response]]

    def wrap(exc_class: type[Exception] | int, page: Callable[[Request, Exception], Response]) -> None:
        previous: Handler | None = app.exception_handlers.get(exc_class)  # type: ignore[assignment]

        async def handler(request: Request, exc: Exception) -> Response:
            if is_page_path(request.url.path) or previous is None:
                return page(request, exc)
            return await previous(request, exc)

        app.add_exception_handler(exc_class, handler)

    def domain_page(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, TastegraphError)
        if isinstance(exc, CsrfFailed):
            return pages.error(
                request,
                403,
                "That form had expired",
                "For your safety we only accept forms that came from a Tastegraph page you opened. "
                "Go back, reload the page and try again.",
            )
        response = pages.error(
            request,
            exc.status,
            ERROR_TITLES.get(exc.status, "Something went wrong"),
            exc.message[:1].upper() + exc.message[1:] + ".",
        )
        if isinstance(exc, RateLimited | Unavailable):
            response.headers["Retry-After"] = str(exc.retry_after_seconds)
        return response

    def http_page(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        status = exc.status_code
        if status == 404:
            message = "The page may have moved, or the link may be mistyped. Try the home feed instead."
        else:
            message = exc.detail if isinstance(exc.detail, str) else "Please try again."
        response = pages.error(request, status, ERROR_TITLES.get(status, "Something went wrong"), message)
        for key, value in (exc.headers or {}).items():
            response.headers[key] = value
        return response

    def validation_page(request: Request, exc: Exception) -> Response:
        return pages.error(
            request,
            404,
            ERROR_TITLES[404],
            "The page may have moved, or the link may be mistyped. Try the home feed instead.",
        )

    def unexpected_page(request: Request, exc: Exception) -> Response:
        try:
            return pages.error(
                request,
                500,
                "Something went wrong on our side",
                "We've noted it. Please try again in a moment.",
            )
        except Exception:  # never fail while reporting a failure
            return HTMLResponse("<h1>Something went wrong on our side</h1>", status_code=500)

    wrap(TastegraphError, domain_page)
    wrap(StarletteHTTPException, http_page)
    wrap(RequestValidationError, validation_page)
    wrap(OverflowError, validation_page)  # an id too large for the database: no such page
    wrap(DataError, validation_page)
    wrap(Exception, unexpected_page)
