"""FastAPI dependencies both adapters use: the running system, the visitor (no database work) and the
resolved caller."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable
from typing import Annotated, TypeVar

import anyio
from fastapi import Depends, Request

from tastegraph.bootstrap import System
from tastegraph.edge.cookies import visitor_of
from tastegraph.usecases.callers import Caller, Visitor, resolve_caller


async def get_system(request: Request) -> System:
    # async (it does no I/O): FastAPI runs a plain `def` dependency on the thread pool, a thread hop
    # per request for nothing.
    system: System = request.app.state.system
    return system


SystemDep = Annotated[System, Depends(get_system)]


async def get_visitor(request: Request) -> Visitor:
    """A dependency with no database work (async: no thread hop); the hot read routes resolve the caller
    in their own transaction (usecases.callers.read_as_caller)."""
    return visitor_of(request)


VisitorDep = Annotated[Visitor, Depends(get_visitor)]


def get_caller(request: Request, system: SystemDep) -> Caller:
    return resolve_caller(system, visitor_of(request))


CallerDep = Annotated[Caller, Depends(get_caller)]


T = TypeVar("T")

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
