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
import time
import weakref
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine

TTL_SECONDS = 30.0
# Refilled when this close to expiry: a few of the background task's 2-s ticks.
REFILL_AHEAD_SECONDS = 10.0
IDLE_SECONDS = 600.0

Loader = Callable[[Connection], Any]


@dataclass(slots=True)
class _Entry:
    expires_at: float
    used_at: float
    value: Any
    load: Loader


_lists: weakref.WeakKeyDictionary[Engine, dict[Hashable, _Entry]] = weakref.WeakKeyDictionary()


def expiry(now: float) -> float:
    """TTL_SECONDS from now, less up to a quarter at random, so lists read together expire spread out."""
    return now + TTL_SECONDS * (1.0 - random.random() / 4)


def shared(conn: Connection, key: Hashable, load: Loader) -> Any:
    """The list under `key`, from memory if read less than its lifetime ago; else `load(conn)`.
    `load` may be called again later on another connection (the background refill), so it must read
    everything it needs from the connection it is given."""
    per_engine = _lists.setdefault(conn.engine, {})
    now = time.monotonic()
    entry = per_engine.get(key)
    if entry is None or now >= entry.expires_at:
        entry = per_engine[key] = _Entry(expiry(now), now, load(conn), load)
    else:
        entry.used_at = now
    return entry.value


def due(engine: Engine) -> list[Hashable]:
    """Lists to refill now: those used in the last IDLE_SECONDS that expire within
    REFILL_AHEAD_SECONDS. Lists unused for longer are dropped here."""
    per_engine = _lists.get(engine)
    if not per_engine:
        return []
    now = time.monotonic()
    due_now = []
    for key, entry in list(per_engine.items()):  # a copy: request threads may add lists (PostgreSQL)
        if now - entry.used_at > IDLE_SECONDS:
            per_engine.pop(key, None)
        elif entry.expires_at - now <= REFILL_AHEAD_SECONDS:
            due_now.append(key)
    return due_now


def refill(conn: Connection, key: Hashable) -> None:
    """Read the list under `key` again (if it is still kept), keeping when it was last used."""
    per_engine = _lists.get(conn.engine)
    entry = per_engine.get(key) if per_engine else None
    if per_engine is None or entry is None:
        return
    value = entry.load(conn)
    per_engine[key] = _Entry(expiry(time.monotonic()), entry.used_at, value, entry.load)
