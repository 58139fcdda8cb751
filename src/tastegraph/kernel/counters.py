"""Counters every server process sees: the database by default, Redis when configured.

Limits built on them (sign-in failures today) hold for the whole deployment, not per process. Each
limit counts in fixed windows of its length and decides with the sliding-window estimate (the current
window's count plus the previous window's, weighted by how much of it still overlaps the last window
length): no burst of twice the limit at a window's edge, two numbers per key.

Written here rather than taken from the `limits` package because windows must follow the injectable
clock (a test moves time 15 minutes and a lockout ends); `limits` keys its windows on wall-clock time.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import BigInteger, Column, Engine, Integer, String, delete, select, tuple_
from sqlalchemy.dialects import postgresql, sqlite

from tastegraph.kernel.clock import Clock
from tastegraph.kernel.tables import UTCDateTime, table

log = logging.getLogger("tastegraph.counters")

rate_counters = table(
    "rate_counters",
    Column("key", String(200), primary_key=True),
    Column("window", BigInteger, primary_key=True),  # window start, in seconds since the epoch
    Column("count", Integer, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False, index=True),
    # Keys are keyed hashes (identity.signin_guard: of an email, a client address, a device id), tied to
    # no account and gone within two windows: nothing here can be exported for, or erased with, a person.
    personal=False,
)


class CounterStore(Protocol):
    def add(self, key: str, window: int, amount: int, now: datetime, ttl_seconds: int) -> int:
        """Add `amount` (may be negative) to the window's count, atomically; return the new count."""
        ...

    def add_many(
        self, amounts: dict[tuple[str, int], int], now: datetime, ttl_seconds: int
    ) -> dict[tuple[str, int], int]:
        """`add` for many (key, window) at once, in one round trip where the store allows."""
        ...

    def counts(self, keys: Sequence[tuple[str, int]]) -> dict[tuple[str, int], int]: ...

    def sweep(self, now: datetime) -> int: ...


class DatabaseCounters:
    """One row per (key, window) in `rate_counters`; each change is its own short transaction."""

    def __init__(self, engine: Engine, read_options: dict[str, object] | None = None) -> None:
        self.engine = engine
        # The engine's options for a read-only transaction (db.engine.READ_ONLY): on SQLite a plain
        # transaction begins IMMEDIATE, taking the write lock, which a counter read must not.
        self.read_options = read_options or {}

    def add(self, key: str, window: int, amount: int, now: datetime, ttl_seconds: int) -> int:
        return self.add_many({(key, window): amount}, now, ttl_seconds)[(key, window)]

    def add_many(
        self, amounts: dict[tuple[str, int], int], now: datetime, ttl_seconds: int
    ) -> dict[tuple[str, int], int]:
        expires_at = now + timedelta(seconds=ttl_seconds)
        dialect = postgresql if self.engine.dialect.name == "postgresql" else sqlite
        out: dict[tuple[str, int], int] = {}
        with self.engine.begin() as conn:
            for (key, window), amount in sorted(amounts.items()):  # one lock order: no deadlocks
                stmt = dialect.insert(rate_counters).values(
                    key=key, window=window, count=amount, expires_at=expires_at
                )
                stmt = stmt.on_conflict_do_update(
                    index_elements=[rate_counters.c.key, rate_counters.c.window],
                    set_={"count": rate_counters.c.count + stmt.excluded.count},
                ).returning(rate_counters.c.count)
                out[(key, window)] = int(conn.execute(stmt).scalar_one())
        return out

    def counts(self, keys: Sequence[tuple[str, int]]) -> dict[tuple[str, int], int]:
        if not keys:
            return {}
        with self.engine.connect() as conn:
            conn = conn.execution_options(**self.read_options)
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

    def add(self, key: str, window: int, amount: int, now: datetime, ttl_seconds: int) -> int:
        return self.add_many({(key, window): amount}, now, ttl_seconds)[(key, window)]

    def add_many(
        self, amounts: dict[tuple[str, int], int], now: datetime, ttl_seconds: int
    ) -> dict[tuple[str, int], int]:
        pipe = self.client.pipeline()
        order = list(amounts)
        for key, window in order:
            pipe.incrby(self._name(key, window), amounts[(key, window)])
            pipe.expire(self._name(key, window), ttl_seconds)
        values = pipe.execute()
        return {kw: int(values[2 * i]) for i, kw in enumerate(order)}

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
        """Seconds until `key` is under the limit again if nothing more is counted (0: it is now).
        Only reads."""
        now = self.clock.now()
        current, previous, elapsed = self._windows(limit, now)
        name = f"{limit.name}:{key}"
        found = self.store.counts([(name, current), (name, previous)])
        return self._wait(limit, found.get((name, current), 0), found.get((name, previous), 0), elapsed)

    @staticmethod
    def _wait(limit: Limit, cur: int, prev: int, elapsed: float) -> int:
        if cur + prev * (1 - elapsed) < limit.count:
            return 0
        # Under the limit again within this window once enough of the previous one has slid out, or
        # else in the next window once enough of this one has.
        free_at = 1 - (limit.count - cur) / prev if cur < limit.count else 2 - limit.count / cur
        return max(1, math.ceil((free_at - elapsed) * limit.window_seconds))

    def reserve(self, limit: Limit, key: str) -> Reservation | int:
        """Count one event now, atomically, if it fits under the limit: a Reservation (which `release`
        can take back), else the seconds to wait (and nothing stays counted). Concurrent callers can
        never pass the limit together, as a read-then-count would let them."""
        now = self.clock.now()
        current, previous, elapsed = self._windows(limit, now)
        name = f"{limit.name}:{key}"
        ttl = 2 * limit.window_seconds + 1  # needed until the next window has slid past it entirely
        cur = self.store.add(name, current, 1, now, ttl)
        prev = self.store.counts([(name, previous)]).get((name, previous), 0)
        if cur - 1 + prev * (1 - elapsed) < limit.count:
            return Reservation(name, current, ttl)
        self.store.add(name, current, -1, now, ttl)
        return self._wait(limit, cur - 1, prev, elapsed)

    def release(self, reservation: Reservation) -> None:
        self.store.add(reservation.key, reservation.window, -1, self.clock.now(), reservation.ttl_seconds)


@dataclass(frozen=True)
class Reservation:
    key: str
    window: int
    ttl_seconds: int


class SharedRate:
    """Requests per window per key (the per-address API limit, the ad-account limits), held for the
    whole deployment at the cost of one shared-store round trip per process per `sync_seconds`.

    Each process decides from the deployment's totals as of its last sync plus what it let through
    since; `sync` pushes those local counts to the store and reads back the totals of the keys it let
    through since the last sync. So each process lets a key through at most one sync interval's worth
    of requests beyond the limit (N processes: N of those), and a request never waits for the store. With
    `sync_seconds=0` every request reserves its place in the store itself (exact, a round trip each).
    If the store cannot be reached, each process goes on with its own counts (a limiter must not turn
    a database hiccup into an outage) and tries again at the next sync.
    """

    def __init__(self, store: CounterStore, clock: Clock, limit: Limit, sync_seconds: float = 1.0) -> None:
        self.store = store
        self.clock = clock
        self.limit = limit
        self.sync_seconds = sync_seconds
        self._local: dict[tuple[str, int], int] = {}  # let through here, not yet pushed
        self._shared: dict[tuple[str, int], int] = {}  # deployment totals as of the last sync
        self._lock = threading.Lock()
        self._syncing = threading.Lock()
        self._last_sync = 0.0
        self._exact = Limiter(store, clock) if sync_seconds == 0 else None

    def _windows(self) -> tuple[int, int, float]:
        t = self.clock.now().timestamp()
        size = self.limit.window_seconds
        current = int(t // size) * size
        return current, current - size, (t - current) / size

    def _estimate(self, key: str) -> tuple[float, int, int, float]:
        current, previous, elapsed = self._windows()
        cur = self._shared.get((key, current), 0) + self._local.get((key, current), 0)
        prev = self._shared.get((key, previous), 0) + self._local.get((key, previous), 0)
        return cur + prev * (1 - elapsed), cur, prev, elapsed

    def wait(self, key: str) -> float:
        """Seconds until `key` may pass again (0: now); counts nothing."""
        if self._exact is not None:
            try:
                return float(self._exact.retry_after(self.limit, key))
            except Exception:
                log.warning("shared rate counters unreachable; limiting per process until they are back")
        with self._lock:
            used, cur, prev, elapsed = self._estimate(key)
        if used < self.limit.count:
            return 0.0
        return float(Limiter._wait(self.limit, cur, prev, elapsed))

    def take(self, key: str) -> float:
        """Count one request for `key` if it may pass (returns 0), else the seconds to wait."""
        if self._exact is not None:
            try:
                held = self._exact.reserve(self.limit, key)
                return 0.0 if isinstance(held, Reservation) else float(held)
            except Exception:
                log.warning("shared rate counters unreachable; limiting per process until they are back")
        with self._lock:
            used, cur, prev, elapsed = self._estimate(key)
            if used < self.limit.count:
                current = self._windows()[0]
                self._local[(key, current)] = self._local.get((key, current), 0) + 1
                return 0.0
        return float(Limiter._wait(self.limit, cur, prev, elapsed))

    def due(self) -> bool:
        return self._exact is None and time.monotonic() - self._last_sync >= self.sync_seconds

    def sync(self) -> None:
        """Push local counts and read the deployment's totals back (one caller at a time)."""
        if not self._syncing.acquire(blocking=False):
            return
        try:
            self._last_sync = time.monotonic()
            current, previous, _ = self._windows()
            with self._lock:
                pushed, self._local = self._local, {}
                # Only keys this process let through since its last sync need fresh totals (a key it has
                # not seen since then is read again at the next sync after it comes back), so a sync
                # costs what the last interval's traffic touched, not every client of two windows.
                keys = {k for k, w in pushed if w >= previous}
            now, ttl = self.clock.now(), 2 * self.limit.window_seconds + 1
            try:
                fresh = {kw: n for kw, n in pushed.items() if kw[1] >= previous}
                totals = self.store.add_many(fresh, now, ttl) if fresh else {}
                wanted = [(k, w) for k in keys for w in (current, previous) if (k, w) not in totals]
                totals.update(self.store.counts(wanted))
            except Exception:
                log.warning("shared rate counters unreachable; limiting per process until they are back")
                with self._lock:  # keep what was not pushed, for the next sync
                    for kw, n in pushed.items():
                        self._local[kw] = self._local.get(kw, 0) + n
                return
            with self._lock:
                kept = {kw: n for kw, n in self._shared.items() if kw[1] >= previous}
                self._shared = kept | totals
        finally:
            self._syncing.release()
