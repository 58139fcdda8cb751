"""ASGI middleware: body size limit, rate limits, CORS for the embeddable endpoints, security headers."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tastegraph.api.errors import error_body
from tastegraph.edge.csp import FRAME_PATHS, PAGE_CSP
from tastegraph.kernel import PayloadTooLarge
from tastegraph.kernel.counters import SharedRate

# Endpoints that third-party pages call from the save button: any origin, with credentials.
EMBEDDABLE_PATHS = ("/v1/offsite/visits", "/v1/offsite/visits/batch")


async def _send_json(
    send: Send, status: int, body: Mapping[str, object], headers: list[tuple[bytes, bytes]]
) -> None:
    payload = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


class BodyLimit:
    """Refuse bodies over the limit with 413, whether or not Content-Length says so up front.

    A body without a trustworthy length is read (up to the limit) before the app sees it; bodies here
    are at most a few megabytes, so buffering is cheap and keeps the app's own parsing simple.
    """

    def __init__(
        self,
        app: ASGIApp,
        limit_for: Callable[[str], int],
        streamed: Callable[[str], bool] = lambda _path: False,
    ) -> None:
        self.app = app
        self.limit_for = limit_for
        # Routes that read their body as a stream (customer lists): counted as it arrives, never buffered;
        # the route's read fails with 413 once the limit is passed.
        self.streamed = streamed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        too_large = error_body("payload_too_large", f"the body is larger than {limit} bytes")
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit():
            if int(declared) > limit:
                await _send_json(send, 413, too_large, [])
                return
            await self.app(scope, receive, send)
            return
        if self.streamed(scope["path"]):
            await self.app(scope, _counting(receive, limit), send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await _send_json(send, 413, too_large, [])
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


def _counting(receive: Receive, limit: int) -> Receive:
    seen = 0

    async def counted() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise PayloadTooLarge(f"the body is larger than {limit} bytes")
        return message

    return counted


def _limited(scope: Scope) -> bool:
    """The API, and every form post (sign-in and sign-up pages included); not pages or assets. The
    advertiser API is limited per ad account instead (api.routes.ads), since one advertiser's servers
    may share an address with others'."""
    path = scope["path"]
    if path.startswith("/v1/ad_accounts/"):
        return False
    return bool(path.startswith("/v1/") or scope["method"] == "POST")


class RateLimit:
    """Requests per minute per client address, for the whole deployment (kernel.counters.SharedRate)."""

    def __init__(self, app: ASGIApp, rate: SharedRate | None) -> None:
        self.app = app
        self.rate = rate

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.rate is not None and _limited(scope):
            if self.rate.due():  # about once a second per process, off the event loop
                await anyio.to_thread.run_sync(self.rate.sync)
            client = scope.get("client")
            key = client[0] if client else "unknown"
            wait = self.rate.take(key)
            if wait > 0:
                retry = max(1, math.ceil(wait))
                await _send_json(
                    send,
                    429,
                    error_body("rate_limited", f"too many requests; try again in {retry} s"),
                    [(b"retry-after", str(retry).encode())],
                )
                return
        await self.app(scope, receive, send)


class EmbeddableCors:
    """CORS with credentials for the save button's endpoints only: the origin is echoed back.

    Every other route stays same-origin, so no third-party page can read a person's data.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] not in EMBEDDABLE_PATHS:
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        origin = headers.get(b"origin")
        # `null` is what every sandboxed frame or local file sends: allowing it with credentials would
        # let any such page read the answers, so it gets no CORS headers at all.
        if origin is None or origin.strip().lower() == b"null":
            await self.app(scope, receive, send)
            return
        cors = [
            (b"access-control-allow-origin", origin),
            (b"access-control-allow-credentials", b"true"),
            (b"vary", b"Origin"),
        ]
        if scope["method"] == "OPTIONS":
            await send(
                {
                    "type": "http.response.start",
                    "status": 204,
                    "headers": [
                        *cors,
                        (b"access-control-allow-methods", b"POST, OPTIONS"),
                        (b"access-control-allow-headers", b"content-type"),
                        (b"access-control-max-age", b"600"),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": b""})
            return

        async def with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *cors]}
            await send(message)

        await self.app(scope, receive, with_cors)


HSTS = b"max-age=31536000; includeSubDomains"
# The same for everyone, so caches may keep them whoever asks (their routes set their own caching).
# /media/: Pin It's content-addressed image copies, the same for everyone (long-cached, never personal).
ASSET_PREFIXES = ("/static/", "/docs-assets/", "/ikea-images/", "/media/")
ASSET_PATHS = ("/widget.js", "/tag.js")


def _personal(scope: Scope) -> bool:
    """A response that may be about someone: the request carries cookies (a session, a browser id, an
    opt-out) or credentials, or asks for an account's own data. Assets never are."""
    path: str = scope["path"]
    if path in ASSET_PATHS or path.startswith(ASSET_PREFIXES):
        return False
    if path == "/v1/me" or path.startswith("/v1/me/"):
        return True
    return any(name in (b"cookie", b"authorization") for name, _ in scope["headers"])


class SecurityHeaders:
    """Headers every response gets. Personal answers are `Cache-Control: no-store` (no browser, proxy or
    shared cache keeps a person's export or feed); HTML gets the pages' CSP unless it set its own; HSTS
    goes out in production (served behind TLS by configuration) and on any request that came over https."""

    def __init__(self, app: ASGIApp, *, hsts_always: bool = False) -> None:
        self.app = app
        self.hsts_always = hsts_always

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        embeddable = scope["path"] in ASSET_PATHS or scope["path"] in EMBEDDABLE_PATHS
        embeddable = embeddable or scope["path"] in FRAME_PATHS  # the save button's frame: its own CSP
        personal = _personal(scope)
        hsts = self.hsts_always or scope.get("scheme") == "https"

        async def add(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (k, v)
                    for k, v in message.get("headers", [])
                    if not (personal and k.lower() == b"cache-control")
                ]
                names = {k.lower() for k, _ in headers}
                headers += [
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"same-origin"),
                ]
                if not embeddable:
                    headers.append((b"x-frame-options", b"DENY"))
                if personal:
                    headers.append((b"cache-control", b"no-store"))
                if hsts:
                    headers.append((b"strict-transport-security", HSTS))
                html = any(k.lower() == b"content-type" and v.startswith(b"text/html") for k, v in headers)
                if html and b"content-security-policy" not in names:
                    headers.append((b"content-security-policy", PAGE_CSP.encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, add)
