"""Routes that exist only when the server runs with TASTEGRAPH_TEST_CLOCK=1."""

from __future__ import annotations

from fastapi import APIRouter

from tastegraph.api.context import SystemDep
from tastegraph.api.schemas import ClockBody
from tastegraph.kernel import FrozenClock, SettableClock

router = APIRouter(prefix="/v1/test", tags=["testing"])


@router.post("/clock", summary="Move the server's clock to an instant (it runs on from there)")
def set_clock(body: ClockBody, system: SystemDep) -> dict[str, str]:
    clock = system.clock
    if not isinstance(clock, SettableClock | FrozenClock):
        raise RuntimeError("the test clock is not settable")
    clock.set(body.now)
    return {"now": clock.now().isoformat()}


@router.post("/sweep", summary="Run retention now, on the server's clock")
def run_sweep(system: SystemDep) -> dict[str, object]:
    return {"now": system.clock.now().isoformat(), "deleted": system.sweep()}
