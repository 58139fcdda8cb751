"""The FastAPI application: routes, middleware, error mapping, and the periodic retention sweep."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from fastapi import FastAPI

from tastegraph import __version__
from tastegraph.api import errors
from tastegraph.api.middleware import BodyLimit, EmbeddableCors, RateLimit, SecurityHeaders, TokenBuckets
from tastegraph.api.routes import accounts, feed, offsite, privacy, testing
from tastegraph.bootstrap import System

log = logging.getLogger("tastegraph.api")


async def _sweep_forever(system: System) -> None:
    while True:
        await asyncio.sleep(system.settings.sweep_interval_seconds)
        try:
            deleted = await asyncio.to_thread(system.sweep)
            log.info("retention sweep: %s", deleted)
        except Exception:  # keep sweeping; the next run retries
            log.exception("retention sweep failed")


def create_app(system: System, *, run_sweeper: bool = True) -> FastAPI:
    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        task = asyncio.create_task(_sweep_forever(system)) if run_sweeper else None
        try:
            yield
        finally:
            if task is not None:
                task.cancel()

    app = FastAPI(
        title="Tastegraph",
        version=__version__,
        description="Consent-first personalization: home feed, off-site signals and the privacy center.",
        lifespan=lifespan,
    )
    app.state.system = system
    errors.install(app)
    for module in (accounts, offsite, feed, privacy):
        app.include_router(module.router)
    if system.settings.test_clock:
        app.include_router(testing.router)

    @app.get("/healthz", tags=["ops"], summary="Liveness")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    settings = system.settings
    app.add_middleware(SecurityHeaders)
    app.add_middleware(EmbeddableCors)
    app.add_middleware(
        RateLimit, buckets=TokenBuckets(settings.rate_limit_per_minute) if settings.rate_limits_on else None
    )
    app.add_middleware(BodyLimit, limit_for=lambda _path: settings.max_body_bytes)
    return app
