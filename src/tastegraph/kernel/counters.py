"""Counters every server process sees: the database by default, Redis when configured.

Limits built on them (sign-in failures today) hold for the whole deployment, not per process. Each
limit counts in fixed windows of its length and decides with the sliding-window estimate (the current
window's count plus the previous window's, weighted by how much of it still overlaps the last window
length): no burst of twice the limit at a window's edge, two numbers per key.

Written here rather than taken from the `limits` package because windows must follow the injectable
clock (a test moves time 15 minutes and a lockout ends); `limits` keys its windows on wall-clock time.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import BigInteger, Column, Engine, Integer, String, Table, delete, select, tuple_
from sqlalchemy.dialects import postgresql, sqlite

from tastegraph.kernel.clock import Clock
from tastegraph.kernel.tables import PERSONAL, UTCDateTime, metadata

rate_counters = Table(
    "rate_counters",
    metadata,
    Column("key", String(200), primary_key=True),
    Column("window", BigInteger, primary_key=True),  # window start, in seconds since the epoch
    Column("count", Integer, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False, index=True),
    # Keys are keyed hashes (identity.signin_guard: of an email, a client address, a device id), tied to
    # no account and gone within two windows: nothing here can be exported for, or erased with, a person.
    info={PERSONAL: False},
)


class CounterStore(Protocol):
    def add(self, key: str, window: int, amount: int, now: datetime, ttl_seconds: int) -> None: ...

    def counts(self, keys: Sequence[tuple[str, int]]) -> dict[tuple[str, int], int]: ...

    def sweep(self, now: datetime) -> int: ...


class DatabaseCounters:
    """One row per (key, window) in `rate_counters`; each change is its own short transaction."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add(self, key: str, window: int, amount: int, now: datetime, ttl_seconds: int) -> None:
        expires_at = now + timedelta(seconds=ttl_seconds)
        dialect = postgresql if self.engine.dialect.name == "postgresql" else sqlite
        stmt = dialect.insert(rate_counters).values(
            key=key, window=window, count=amount, expires_at=expires_at
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=[rate_counters.c.key, rate_counters.c.window],
            set_={"count": rate_counters.c.count + stmt.excluded.count},
        )
        with self.engine.begin() as conn:
            conn.execute(stmt)

    def counts(self, keys: Sequence[tuple[str, int]]) -> dict[tuple[str, int], int]:
        if not keys:
            return {}
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(rate_counters.c.key, rate_counters.c.window, rate_counters.c.count).where(
                    tuple_(rate_counters.c.key, rate_counters.c.window).in_(list(keys))
                )
            )
            return {(str(k), int(w)): int(n) for k, w, n in rows}

    def sweep(self, now: datetime) -> int:
        with self.engine.begin() as conn:
            return conn.execute(delete(rate_counters).where(rate_counters.c.expires_at < now)).rowcount


class RedisCounters:
    """INCRBY on `<prefix><key>:<window>`, expiring with the window (Redis's own clock only cleans up)."""

    def __init__(self, url: str, prefix: str = "tastegraph:rate:") -> None:
        import redis  # only when configured

        self.client: Any = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self.prefix = prefix

    def _name(self, key: str, window: int) -> str:
        return f"{self.prefix}{key}:{window}"

    def add(self, key: str, window: int, amount: int, now: datetime, ttl_seconds: int) -> None:
        pipe = self.client.pipeline()
        pipe.incrby(self._name(key, window), amount)
        pipe.expire(self._name(key, window), ttl_seconds)
        pipe.execute()

    def counts(self, keys: Sequence[tuple[str, int]]) -> dict[tuple[str, int], int]:
        if not keys:
            return {}
        values = self.client.mget([self._name(k, w) for k, w in keys])
        return {kw: int(v) for kw, v in zip(keys, values, strict=True) if v is not None}

    def sweep(self, now: datetime) -> int:
        return 0  # keys expire by themselves


@dataclass(frozen=True)
class Limit:
    """At most `count` events per `window_seconds` for one key of this limit's `name`."""

    name: str
    count: int
    window_seconds: int


class Limiter:
    def __init__(self, store: CounterStore, clock: Clock) -> None:
        self.store = store
        self.clock = clock

    def _windows(self, limit: Limit, now: datetime) -> tuple[int, int, float]:
        t = now.timestamp()
        current = int(t // limit.window_seconds) * limit.window_seconds
        elapsed = (t - current) / limit.window_seconds
        return current, current - limit.window_seconds, elapsed

    def retry_after(self, limit: Limit, key: str) -> int:
        """Seconds until `key` is under the limit again if nothing more is counted (0: it is now)."""
        now = self.clock.now()
        current, previous, elapsed = self._windows(limit, now)
        name = f"{limit.name}:{key}"
        found = self.store.counts([(name, current), (name, previous)])
        cur, prev = found.get((name, current), 0), found.get((name, previous), 0)
        if cur + prev * (1 - elapsed) < limit.count:
            return 0
        # Under the limit again within this window once enough of the previous one has slid out, or
        # else in the next window once enough of this one has.
        free_at = 1 - (limit.count - cur) / prev if cur < limit.count else 2 - limit.count / cur
        return max(1, math.ceil((free_at - elapsed) * limit.window_seconds))

    def count(self, limit: Limit, key: str, amount: int = 1) -> None:
        now = self.clock.now()
        current, _, _ = self._windows(limit, now)
        # Needed until the next window has slid past it entirely.
        self.store.add(f"{limit.name}:{key}", current, amount, now, 2 * limit.window_seconds + 1)
