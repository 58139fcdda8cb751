"""What the server does on its own between requests: the retention sweep, freeing the budget held by
Promoted Pins whose tokens expired unseen, and refilling the shared catalogue lists
(recommend.shared_lists) that requests used, before they expire."""

from __future__ import annotations

from collections.abc import Hashable

from tastegraph.bootstrap import System
from tastegraph.recommend import shared_lists


def sweep(system: System) -> dict[str, int]:
    """Delete what is past its retention window (off-site data after 30 days, ...): rows per store."""
    return system.sweep()


def lists_due(system: System) -> list[Hashable]:
    """The shared lists to refill now (used lately, expiring soon)."""
    return shared_lists.due(system.engine)


def refill_list(system: System, key: Hashable) -> None:
    with system.read() as conn:
        shared_lists.refill(conn, key)


def release_expired_reservations(system: System) -> int:
    """Free the spend reserved by served ads whose tokens expired without an impression or click (ads.spend):
    until then a budget counts them as spent. Reservations released."""
    return system.ad_spend.release_expired(system.clock.now())


def flush_delivery_counts(system: System) -> None:
    """Write this process's delivery-insight counters (ads.delivery_stats), when they are due."""
    tally = system.ad_serving.tally
    if tally.due():
        tally.flush(system.engine)
