"""Per-request context for the pages: the system and who is asking. The lookup is the API's
(`usecases.sessions`), so a page and a JSON route see the same caller for the same cookies; the pages
never import the API."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from tastegraph.bootstrap import System
from tastegraph.usecases import sessions
from tastegraph.usecases.callers import Caller


async def get_system(request: Request) -> System:
    # async (no I/O): a plain `def` dependency would cost a thread hop per request.
    system: System = request.app.state.system
    return system


SystemDep = Annotated[System, Depends(get_system)]


def get_caller(request: Request, system: SystemDep) -> Caller:
    """The signed-in person (or None), this browser and the request's consent signals; a signed-in
    person's browser sending GPC turns their sharing setting off first."""
    return sessions.resolve_caller(system, sessions.visitor_from(request.headers, request.cookies))


CallerDep = Annotated[Caller, Depends(get_caller)]
