"""Third-party measurement pixels: sending the outbox (measure.pixels) from the server's background
task and from `tastegraph sweep`, and what is waiting in it. Queuing happens in usecases.promoted_pins,
in the transaction that counts each impression, click or engagement."""

from __future__ import annotations

import asyncio
from dataclasses import asdict

from tastegraph.bootstrap import System
from tastegraph.measure import pixels


def sender(system: System) -> pixels.Sender:
    """A sender for this process (it keeps its HTTP connections and which hosts are held back)."""
    return pixels.Sender(system.engine, system.clock, system.settings.measurement_insecure_host_set)


def enabled(system: System) -> bool:
    """Whether the platform calls tracking URLs itself (TASTEGRAPH_MEASUREMENT_PIXELS=server)."""
    return system.settings.measurement_pixels == "server"


async def send_forever(system: System) -> None:
    """The server's background task (cancel it to stop)."""
    await sender(system).run_forever()


def drain(system: System, max_seconds: float = 60.0) -> dict[str, int]:
    """Send what is due now (at most `max_seconds`), as `tastegraph sweep` does: what happened, and what
    is left in the outbox."""
    if not enabled(system):
        return {}

    async def run() -> pixels.Stats:
        one = sender(system)
        try:
            return await one.drain(max_seconds=max_seconds)
        finally:
            await one.close()

    stats = asyncio.run(run())
    with system.read() as conn:
        left = pixels.pending(conn)
    return {**asdict(stats), "pending": left}


def backlog(system: System) -> dict[str, int]:
    with system.read() as conn:
        return pixels.backlog(conn)
