"""Per-request context: the system, who is asking (session and browser cookies), and the request's
consent signals. Also the checks every cookie-authenticated JSON route makes."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import math
import weakref
from collections.abc import Callable
from typing import Annotated, TypeVar
from urllib.parse import urlsplit

import anyio
from fastapi import Depends, Request, Response
from sqlalchemy import Connection

from tastegraph.api.openapi_errors import fails_with
from tastegraph.bootstrap import System
from tastegraph.identity import BROWSER_COOKIE, DEVICE_COOKIE, SESSION_COOKIE
from tastegraph.kernel import Forbidden, RateLimited, Unauthenticated, UnsupportedMediaType
from tastegraph.usecases import accounts as account_cases
from tastegraph.usecases import sessions
from tastegraph.usecases.callers import Caller, Visitor

# The caller lookups are framework-free, shared with the pages (web.context).
from tastegraph.usecases.sessions import caller_in as caller_in
from tastegraph.usecases.sessions import resolve_caller as resolve_caller


async def get_system(request: Request) -> System:
    # async (it does no I/O): FastAPI runs a plain `def` dependency on the thread pool, a thread hop
    # per request for nothing.
    system: System = request.app.state.system
    return system


SystemDep = Annotated[System, Depends(get_system)]


def visitor_of(request: Request) -> Visitor:
    return sessions.visitor_from(request.headers, request.cookies)


async def get_visitor(request: Request) -> Visitor:
    """A dependency with no database work (async: no thread hop); the hot read routes resolve the caller
    in their own transaction with `caller_in`."""
    return visitor_of(request)


VisitorDep = Annotated[Visitor, Depends(get_visitor)]


T = TypeVar("T")


def read_as_caller(system: System, visitor: Visitor, work: Callable[[Connection, Caller], T]) -> T:
    """`work(conn, caller)` in one read transaction that also looks the caller up (one transaction and
    no thread hop for the dependency); when the request's GPC signal must first turn a setting off, that
    write happens and `work` runs in a fresh read transaction."""
    with system.read() as conn:
        caller = caller_in(system, conn, visitor)
        if caller is not None:
            return work(conn, caller)
    caller = resolve_caller(system, visitor)
    with system.read() as conn:
        return work(conn, caller)


# One limiter per event loop: a server process has one; tests start a loop per client.
_hot_limiters: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, anyio.CapacityLimiter] = (
    weakref.WeakKeyDictionary()
)


async def run_hot_read(system: System, work: Callable[[], T]) -> T:
    """Run a CPU-bound read route's `work` on a worker thread, at most `hot_read_concurrency` at a time in
    this process (the rest queue here instead of thrashing the interpreter lock on one core); or, when
    that is 0, right here on the event loop (see config.Settings.hot_read_concurrency)."""
    at_once = system.settings.hot_reads_at_once
    if at_once == 0:
        return work()
    loop = asyncio.get_running_loop()
    limiter = _hot_limiters.get(loop)
    if limiter is None:
        limiter = anyio.CapacityLimiter(at_once)
        _hot_limiters[loop] = limiter
    return await anyio.to_thread.run_sync(work, limiter=limiter)


def get_caller(request: Request, system: SystemDep) -> Caller:
    return resolve_caller(system, visitor_of(request))


CallerDep = Annotated[Caller, Depends(get_caller)]


@fails_with(401)
async def require_user(caller: CallerDep) -> int:
    if caller.user_id is None:
        raise Unauthenticated("sign in first")
    return caller.user_id


UserDep = Annotated[int, Depends(require_user)]


def _origin_allowed(request: Request, system: System) -> bool:
    origin = request.headers.get("origin")
    if origin is None:
        return True
    if origin.strip().lower() == "null":  # a sandboxed frame or a file: never our own pages
        return False
    own = {system.settings.public_origin.rstrip("/"), f"{request.url.scheme}://{request.url.netloc}"}
    try:
        parts = urlsplit(origin)
    except ValueError:
        return False
    return f"{parts.scheme}://{parts.netloc}" in own


@fails_with(403, 415, unsafe_methods_only=True)
async def same_origin_json(request: Request, system: SystemDep) -> None:
    """For routes authenticated by the session cookie: bodies must be JSON (a cross-site form cannot
    send that without a CORS preflight we never grant), and a present Origin must be our own."""
    if request.method in ("POST", "PUT", "PATCH", "DELETE"):
        ctype = request.headers.get("content-type", "")
        has_body = request.headers.get("content-length", "0") not in ("0", "") or "transfer-encoding" in (
            request.headers
        )
        if has_body and ctype.split(";")[0].strip().lower() != "application/json":
            raise UnsupportedMediaType("send the body as application/json", field="content-type")
        if not _origin_allowed(request, system):
            raise Forbidden("cross-origin requests are not accepted here", field="origin")


SameOriginJson = Depends(same_origin_json)


def bearer_token(request: Request) -> str | None:
    """The token of an `Authorization: Bearer TOKEN` header."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def _digest(value: str) -> bytes:
    return hashlib.sha256(value.encode()).digest()


async def require_admin(request: Request, system: SystemDep) -> None:
    """The operator routes: `Authorization: Bearer <TASTEGRAPH_ADMIN_TOKEN>`. Compared as digests in
    constant time (neither the token's content nor its length shows in the timing), and wrong tokens are
    counted per client address, so guessing is slow."""
    expected = system.settings.admin_token
    if expected is None:  # the routes are not mounted then; refuse anyway should one be
        raise Unauthenticated("admin routes are off", field="authorization")
    failures = request.app.state.admin_auth_failures
    client = request.client.host if request.client else "unknown"
    if failures.due():
        await anyio.to_thread.run_sync(failures.sync)
    if (wait := failures.wait(client)) > 0:
        retry = max(1, math.ceil(wait))
        raise RateLimited("too many wrong admin tokens; slow down", retry_after_seconds=retry)
    token = bearer_token(request)
    if token is None or not hmac.compare_digest(_digest(token), _digest(expected.get_secret_value())):
        failures.take(client)
        raise Unauthenticated("send the admin token as 'Authorization: Bearer TOKEN'", field="authorization")


AdminOnly = Depends(require_admin)


LOCAL_SUFFIX = sessions.LOCAL_SUFFIX


def _https(request: Request, system: System) -> bool:
    return request.url.scheme == "https" or system.settings.cookies_always_secure


def read_cross_site_cookie(request: Request, name: str) -> str | None:
    """A cross-site cookie, or its plain-http twin (see `set_cross_site_cookie`)."""
    return sessions.cross_site_cookie(request.cookies, name)


def set_session_cookie(response: Response, request: Request, system: System, token: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=system.settings.session_days * 86400,
        httponly=True,
        secure=_https(request, system),
        samesite="lax",
        path="/",
    )


def set_cross_site_cookie(
    response: Response, request: Request, system: System, name: str, value: str, max_age: int
) -> None:
    """Cookies the save button needs on third-party pages: SameSite=None, which browsers accept only
    with Secure. Over plain http (local development) Secure cookies are kept by browsers on loopback but
    never sent back by non-browser HTTP clients, so a SameSite=Lax twin named `<name>_local` goes along."""
    response.set_cookie(name, value, max_age=max_age, httponly=True, secure=True, samesite="none", path="/")
    if not _https(request, system):
        response.set_cookie(
            name + LOCAL_SUFFIX, value, max_age=max_age, httponly=True, samesite="lax", path="/"
        )


def clear_cookie(response: Response, request: Request, system: System, name: str) -> None:
    response.delete_cookie(name, path="/", httponly=True, secure=_https(request, system), samesite="lax")
    if name != SESSION_COOKIE:
        response.delete_cookie(name, path="/", httponly=True, secure=True, samesite="none")
        response.delete_cookie(name + LOCAL_SUFFIX, path="/", httponly=True, samesite="lax")


def set_browser_cookie(response: Response, request: Request, system: System, browser_id: str) -> None:
    set_cross_site_cookie(response, request, system, BROWSER_COOKIE, browser_id, 400 * 24 * 3600)


def set_device_cookie(response: Response, request: Request, system: System, value: str) -> None:
    """This browser signed in to the account before: it is not held back by that account's lockout."""
    response.set_cookie(
        DEVICE_COOKIE,
        value,
        max_age=365 * 24 * 3600,
        httponly=True,
        secure=_https(request, system),
        samesite="lax",
        path="/",
    )


# --- accounts: the use cases' results as cookies (shared by the API and the pages) -------------------


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def sign_in(
    system: System, request: Request, response: Response, email: str, password: str, caller: Caller
) -> int:
    """usecases.accounts.sign_in, then the session, browser and device cookies on `response`."""
    signed = account_cases.sign_in(
        system,
        email,
        password,
        browser_id=caller.browser_id,
        address=client_address(request),
        device_cookie=request.cookies.get(DEVICE_COOKIE),
    )
    set_session_cookie(response, request, system, signed.session_token)
    set_browser_cookie(response, request, system, signed.browser_id)
    set_device_cookie(response, request, system, signed.device_cookie)
    return signed.user_id


def sign_out(system: System, request: Request, response: Response, caller: Caller) -> None:
    """usecases.accounts.sign_out, then forget the session and the browser id in the browser."""
    account_cases.sign_out(system, caller.session_token, caller.browser_id)
    clear_cookie(response, request, system, SESSION_COOKIE)
    clear_cookie(response, request, system, BROWSER_COOKIE)


def delete_account(system: System, request: Request, response: Response, user_id: int) -> dict[str, int]:
    """usecases.accounts.delete_account; the browser forgets the session and the browser id too, so
    nothing later can be tied to the deleted account's browser."""
    counts = account_cases.delete_account(system, user_id)
    clear_cookie(response, request, system, SESSION_COOKIE)
    clear_cookie(response, request, system, BROWSER_COOKIE)
    return counts
