"""The FastAPI application: routes, middleware, error mapping, the periodic retention sweep and the
background refill of shared catalogue lists."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import logging
import signal
import threading
from collections.abc import AsyncIterator
from typing import Any

from fastapi import Depends, FastAPI
from threadpoolctl import threadpool_limits

from tastegraph import __version__
from tastegraph.api import docs, errors, openapi_errors, openapi_integers, openapi_text
from tastegraph.api.input_guard import check_request_text, reads_body
from tastegraph.api.middleware import BodyLimit, EmbeddableCors, RateLimit, SecurityHeaders
from tastegraph.api.routes import (
    accounts,
    ads,
    boards,
    campaigns,
    feed,
    feed_tuner,
    offsite,
    privacy,
    promoted,
    psi,
    recommendations,
    search,
    tag,
    testing,
)
from tastegraph.bootstrap import System
from tastegraph.config import Settings
from tastegraph.kernel import Unavailable
from tastegraph.kernel.counters import Limit, SharedRate
from tastegraph.usecases import maintenance, measurement_pixels

log = logging.getLogger("tastegraph.api")


async def _sweep_forever(system: System) -> None:
    while True:
        await asyncio.sleep(system.settings.sweep_interval_seconds)
        try:
            deleted = await asyncio.to_thread(maintenance.sweep, system)
            log.info("retention sweep: %s", deleted)
        except Exception as exc:  # keep sweeping; the next run retries
            if errors.database_unavailable(exc):
                log.warning("retention sweep: the database is unavailable (%s)", exc)
            else:
                log.exception("retention sweep failed")


# How often reservations of served ads whose tokens expired unseen are freed (ads.spend); a token lives
# an hour, so a budget holds an unseen ad's price at most about this much longer.
RELEASE_TICK_SECONDS = 60.0


async def _release_reservations_forever(system: System) -> None:
    while True:
        await asyncio.sleep(RELEASE_TICK_SECONDS)
        try:
            released = await asyncio.to_thread(maintenance.release_expired_reservations, system)
            if released:
                log.info("freed %d expired ad reservations", released)
        except Exception as exc:  # the next tick retries; until then the budget only under-spends
            if errors.database_unavailable(exc):
                log.warning("freeing ad reservations: the database is unavailable (%s)", exc)
            else:
                log.exception("freeing ad reservations failed")


async def _flush_delivery_counts_forever(system: System) -> None:
    """Delivery insights' counters, written every few seconds off the request path."""
    while True:
        await asyncio.sleep(1.0)
        try:
            await asyncio.to_thread(maintenance.flush_delivery_counts, system)
        except Exception as exc:  # the counts stay in memory for the next try
            if errors.database_unavailable(exc):
                log.warning("writing delivery counts: the database is unavailable (%s)", exc)
            else:
                log.exception("writing delivery counts failed")


# How often the background task looks for shared lists about to expire (shared_lists.REFILL_AHEAD_SECONDS
# is a few of these).
LIST_REFILL_TICK_SECONDS = 2.0


async def _refill_lists_forever(system: System) -> None:
    """Refill the shared catalogue lists requests used before they expire (recommend.shared_lists), one
    at a time so requests go in between: on the event loop where hot reads run there (SQLite: 0.2-3.5 ms
    a list), else on a thread of its own, which mostly waits for the database and leaves the hot-read
    threads to requests (PostgreSQL: up to 8 ms a list, more under load)."""
    while True:
        await asyncio.sleep(LIST_REFILL_TICK_SECONDS)
        for key in maintenance.lists_due(system):
            refill = functools.partial(maintenance.refill_list, system, key)
            try:
                if system.settings.hot_reads_at_once == 0:
                    refill()
                else:
                    await asyncio.to_thread(refill)
            except Exception as exc:  # the list stays until it expires; a request then reads it itself
                if errors.database_unavailable(exc):  # an outage: one line a tick, not a stack trace
                    log.warning("refilling shared list %r: the database is unavailable (%s)", key, exc)
                else:
                    log.exception("refilling shared list %r failed", key)
            await asyncio.sleep(0)


def reload_on_sighup(system: System) -> bool:
    """`kill -HUP <pid>` reloads the newest model. Only the main thread may take signals (a test client
    runs the app elsewhere); returns whether the handler was installed. With `--workers N` uvicorn's
    supervisor answers SIGHUP by restarting the workers, which load the newest model as they start."""
    if threading.current_thread() is not threading.main_thread():
        return False
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGHUP, lambda: loop.run_in_executor(None, system.models.reload))
    return True


# Wrong admin tokens per client address and minute before 429 (an operator mistypes rarely).
ADMIN_AUTH_FAILURES_PER_MINUTE = 10


def body_limit(settings: Settings, path: str) -> int:
    """Customer lists (up to 1,000,000 rows), conversion batches (1,000 events) and advertiser Pins (an
    image in base64) may be larger."""
    if path.startswith("/v1/ad_accounts/"):
        if "/customer_lists" in path:
            return settings.customer_list_max_body_bytes
        if path.endswith("/pins"):
            return max(settings.max_body_bytes, settings.ad_pin_max_body_bytes)
        return max(settings.max_body_bytes, settings.ads_events_max_body_bytes)
    if path.startswith("/advertisers/") and path.endswith("/promoted/pins"):  # the page's image upload
        return max(settings.max_body_bytes, settings.ad_pin_max_body_bytes)
    return settings.max_body_bytes


def _with_documented_schemas(app: FastAPI) -> None:
    """Publish the schemas that routes validate themselves (ads.DOCUMENTED_SCHEMAS) and every route's
    error answers (openapi_errors) in /openapi.json."""
    from fastapi.openapi.utils import get_openapi

    def build() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title, version=app.version, description=app.description, routes=app.routes
            )
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            for model in ads.DOCUMENTED_SCHEMAS:
                body = model.model_json_schema(ref_template="#/components/schemas/{model}")
                for name, definition in body.pop("$defs", {}).items():
                    components.setdefault(name, definition)
                components[model.__name__] = body
            openapi_errors.document(schema, app.routes, reads_body)
            openapi_text.forbid_nul(schema)
            openapi_integers.restore_integer_bounds(schema)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = build  # type: ignore[method-assign]


def per_minute(system: System, name: str, count: int) -> SharedRate:
    """A requests-per-minute limit held for the whole deployment (in the system's shared counters)."""
    return SharedRate(
        system.counters, system.clock, Limit(name, count, 60), system.settings.rate_limit_sync_seconds
    )


def freeze_startup_heap() -> None:
    """Exempt everything alive after start (modules, functions, classes, the model: about 220,000
    objects) from the cycle collector's full passes. Those passes otherwise walk all of it every few
    seconds under load and stop the worker for 200-450 ms each (Gowalla catalogue, 2 vCPU): the home
    feed's p99. Garbage is still freed by reference counting; only cycles among these objects would
    never be collected, and they live as long as the process anyway."""
    gc.collect()
    gc.freeze()


def create_app(system: System, *, run_sweeper: bool = True, freeze_heap: bool = False) -> FastAPI:
    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # Scoring one request is a small matrix product: extra BLAS threads only contend with each other
        # and with concurrent requests (one rank-64 product: 7.6 ms with OpenBLAS threads, 0.2 ms without,
        # on 2 busy cores).
        threadpool_limits(1, user_api="blas")
        await asyncio.to_thread(system.models.reload)  # load the newest model before the first request
        if freeze_heap:
            freeze_startup_heap()
        hup = reload_on_sighup(system)
        # Background work: retention, and keeping shared lists fresh.
        tasks = (
            [
                asyncio.create_task(_sweep_forever(system)),
                asyncio.create_task(_refill_lists_forever(system)),
                asyncio.create_task(_release_reservations_forever(system)),
                asyncio.create_task(_flush_delivery_counts_forever(system)),
            ]
            if run_sweeper
            else []
        )
        # Third-party measurement pixels (TASTEGRAPH_MEASUREMENT_PIXELS=server), sent continuously.
        if run_sweeper and measurement_pixels.enabled(system):
            tasks.append(asyncio.create_task(measurement_pixels.send_forever(system)))
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            try:  # the last few seconds of delivery counts
                await asyncio.to_thread(system.ad_serving.tally.flush, system.engine)
            except Exception:
                log.exception("writing delivery counts at shutdown failed")
            # Searches acknowledged as kept and still queued are written before the process ends.
            try:
                await asyncio.to_thread(system.search_history.close)
            except Exception:
                log.exception("writing %d queued searches at shutdown failed", len(system.search_history))
            if hup:
                asyncio.get_running_loop().remove_signal_handler(signal.SIGHUP)

    app = FastAPI(
        title="Tastegraph",
        version=__version__,
        description="Consent-first personalization: home feed, off-site signals and the privacy center.",
        lifespan=lifespan,
        # api.docs serves /docs and /redoc from our own files: FastAPI's pages load them from a CDN.
        docs_url=None,
        redoc_url=None,
        # Every route's path, query, form and JSON text is checked once, before the route (input_guard).
        dependencies=[Depends(check_request_text)],
    )
    app.state.system = system
    errors.install(app)
    _with_documented_schemas(app)
    ads_on = system.settings.ads_rate_limit_enabled
    app.state.ad_account_buckets = (
        per_minute(system, "api-ad-account", system.settings.ads_rate_limit_per_minute) if ads_on else None
    )
    # Requests with a wrong token, per client address: the per-IP limit does not cover the advertiser
    # API, and guessing tokens should not be free.
    failures = system.settings.ads_auth_failures_per_minute
    app.state.ad_auth_failures = per_minute(system, "api-ad-token-failures", failures) if ads_on else None
    app.state.admin_auth_failures = per_minute(
        system, "api-admin-token-failures", ADMIN_AUTH_FAILURES_PER_MINUTE
    )
    for module in (accounts, offsite, feed, recommendations, privacy, ads, psi, tag, boards):
        app.include_router(module.router)
    app.include_router(feed_tuner.router)  # feed controls: hides' undo, the feed tuner, searches
    app.include_router(search.router)  # issue 14: search by words
    app.include_router(campaigns.router)  # issue 15: Promoted Pins for advertisers
    app.include_router(promoted.router)  # issue 15: impressions, clicks and hides of Promoted Pins
    if system.settings.test_clock:
        app.include_router(testing.router)
    if system.settings.admin_token is not None:  # operator routes exist only with their token
        app.include_router(recommendations.admin_router)
    docs.install(app)

    # Liveness: the process serves. On the event loop (async), so it answers even while every worker
    # thread waits on a database; it never looks at the database (restarting would not bring it back).
    @app.get("/healthz", tags=["ops"], summary="Liveness")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    ready_seconds = system.settings.db_connect_timeout_seconds

    @app.get(
        "/readyz",
        tags=["ops"],
        summary="Readiness: the database answers a trivial query",
        responses={503: {"description": "the database is unreachable or too slow (Retry-After)"}},
    )
    async def readyz() -> dict[str, str]:
        try:
            # The probe's thread may run on (each wait it makes is bounded); the answer does not wait.
            await asyncio.wait_for(asyncio.to_thread(system.check_database), ready_seconds)
        except TimeoutError:
            raise Unavailable(f"the database did not answer within {ready_seconds} s") from None
        return {"status": "ready"}

    settings = system.settings
    app.add_middleware(EmbeddableCors)
    app.add_middleware(
        RateLimit,
        rate=per_minute(system, "api-address", settings.rate_limit_per_minute)
        if settings.rate_limits_on
        else None,
    )
    app.add_middleware(
        BodyLimit,
        limit_for=lambda path: body_limit(settings, path),
        streamed=lambda path: path.startswith("/v1/ad_accounts/") and path.endswith("/customer_lists"),
    )
    # Outermost, so refusals by the middleware above (413, 429) carry the headers too.
    app.add_middleware(SecurityHeaders, hsts_always=settings.env == "production")
    return app
