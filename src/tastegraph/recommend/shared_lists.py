"""Catalogue lists that are the same for everyone (a topic's or a site's most saved Pins, the most saved
Pins of all), kept in memory per database for at most TTL_SECONDS and refilled ahead of time.

Each list is read on first use. After that the server's background task (api.app) refills the lists
someone used in the last IDLE_SECONDS shortly before they expire, one list at a time, so a request
almost never waits for a refill, and a burst of requests after a quiet spell does not refill every list
at once (on PostgreSQL a topic's list takes 8-30 ms under load; refilled in the requests that found them
expired, they stalled the first second of each burst). A list nobody asked for in IDLE_SECONDS is
dropped instead. Without the background task (tests, scripts) a request refills an expired list itself.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine

from tastegraph.kernel import cache
from tastegraph.kernel.cache import PerDatabase, TimedCache

TTL_SECONDS = 30.0
# Refilled when this close to expiry: a few of the background task's 2-s ticks.
REFILL_AHEAD_SECONDS = 10.0
IDLE_SECONDS = 600.0

Loader = Callable[[Connection], Any]


@dataclass(slots=True)
class _Lists:
    """One database's lists: the values with their expiry, and per list when it was last used and how
    it is read again."""

    values: TimedCache[Hashable, Any] = field(
        default_factory=lambda: TimedCache("shared lists", TTL_SECONDS, spread=0.25)
    )
    used_at: dict[Hashable, float] = field(default_factory=dict)
    loads: dict[Hashable, Loader] = field(default_factory=dict)


_lists: PerDatabase[_Lists] = PerDatabase(_Lists)


def expiry(now: float) -> float:
    """TTL_SECONDS from now, less up to a quarter at random, so lists read together expire spread out
    (the lists' own lifetimes; for other caches kept as long, such as the new Pins per topic)."""
    return now + TTL_SECONDS * (1.0 - random.random() / 4)


def shared(conn: Connection, key: Hashable, load: Loader) -> Any:
    """The list under `key`, from memory if read less than its lifetime ago; else `load(conn)`.
    `load` may be called again later on another connection (the background refill), so it must read
    everything it needs from the connection it is given."""
    lists = _lists.of(conn.engine)
    now = cache.monotonic()
    value = lists.values.get(key, now)
    if value is None:
        value = load(conn)
        lists.loads[key] = load
        lists.values.put(key, value)
    lists.used_at[key] = now
    return value


def kept(engine: Engine) -> list[Hashable]:
    """The keys of the lists kept for this database (expired or not)."""
    lists = _lists.existing(engine)
    return [] if lists is None else lists.values.keys()


def expires_at(engine: Engine, key: Hashable) -> float | None:
    """When the list under `key` expires on the caches' clock (kernel.cache.monotonic); None if not kept."""
    lists = _lists.existing(engine)
    return None if lists is None else lists.values.expires_at(key)


def due(engine: Engine) -> list[Hashable]:
    """Lists to refill now: those used in the last IDLE_SECONDS that expire within
    REFILL_AHEAD_SECONDS. Lists unused for longer are dropped here."""
    lists = _lists.existing(engine)
    if lists is None or not lists.used_at:
        return []
    now = cache.monotonic()
    due_now = []
    for key, used_at in list(lists.used_at.items()):  # a copy: request threads may add lists (PostgreSQL)
        expires = lists.values.expires_at(key)
        if now - used_at > IDLE_SECONDS:
            lists.values.pop(key)
            lists.used_at.pop(key, None)
            lists.loads.pop(key, None)
        elif expires is not None and expires - now <= REFILL_AHEAD_SECONDS:
            due_now.append(key)
    return due_now


def refill(conn: Connection, key: Hashable) -> None:
    """Read the list under `key` again (if it is still kept), keeping when it was last used."""
    lists = _lists.existing(conn.engine)
    load = None if lists is None else lists.loads.get(key)
    if lists is None or load is None or lists.values.expires_at(key) is None:
        return
    lists.values.put(key, load(conn))
