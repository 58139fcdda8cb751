"""Per-request context: the system, who is asking (session and browser cookies), and the request's
consent signals. Also the checks every cookie-authenticated JSON route makes."""

from __future__ import annotations

import hashlib
import hmac
import math
from typing import Annotated
from urllib.parse import urlsplit

import anyio
from fastapi import Depends, Request

from tastegraph.api.openapi_errors import fails_with
from tastegraph.bootstrap import System
from tastegraph.edge.cookies import visitor_of as visitor_of
from tastegraph.edge.deps import CallerDep as CallerDep
from tastegraph.edge.deps import SystemDep as SystemDep
from tastegraph.edge.deps import VisitorDep as VisitorDep
from tastegraph.edge.deps import get_caller as get_caller
from tastegraph.edge.deps import get_system as get_system
from tastegraph.edge.deps import run_hot_read as run_hot_read
from tastegraph.kernel import Forbidden, RateLimited, Unauthenticated, UnsupportedMediaType
from tastegraph.usecases.callers import Caller as Caller
from tastegraph.usecases.callers import Visitor as Visitor
from tastegraph.usecases.callers import read_as_caller as read_as_caller
from tastegraph.usecases.callers import resolve_caller as resolve_caller


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


# The cookie helpers live in edge.cookies (the pages use them too); named here for the API's routes.
from tastegraph.edge.cookies import clear_cookie as clear_cookie  # noqa: E402
from tastegraph.edge.cookies import client_address as client_address  # noqa: E402
from tastegraph.edge.cookies import delete_account as delete_account  # noqa: E402
from tastegraph.edge.cookies import read_cross_site_cookie as read_cross_site_cookie  # noqa: E402
from tastegraph.edge.cookies import set_browser_cookie as set_browser_cookie  # noqa: E402
from tastegraph.edge.cookies import set_cross_site_cookie as set_cross_site_cookie  # noqa: E402
from tastegraph.edge.cookies import set_session_cookie as set_session_cookie  # noqa: E402
from tastegraph.edge.cookies import sign_in as sign_in  # noqa: E402
from tastegraph.edge.cookies import sign_out as sign_out  # noqa: E402
