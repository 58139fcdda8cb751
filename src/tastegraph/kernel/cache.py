"""The process-wide caches: one kind of map for everything a server process keeps in memory between
requests (Pin facts, topic lists, popular lists, a model's memoized candidates).

- Expiry runs on a monotonic clock that tests can move: every cache reads `monotonic()` of this module,
  which is `time.monotonic` unless a test installs a `ManualMonotonic` with `use_monotonic`. (Wall-clock
  "now" from kernel.clock is the wrong clock for expiry: a test that moves the date 31 days ahead must
  not also empty every cache, and a cache must not live forever when the wall clock is set back.)
- Spread expiry: an entry lives `ttl` less up to `spread` of it at random, so entries read together are
  not all read again in one request.
- Hit and miss counts per cache (`stats()`, `all_stats()`) for metrics.
- Values are kept in one dict and expiry times in another: a dict of plain values is untracked by the
  garbage collector after one pass, while (expiry, value) pairs would lengthen every full collection.

Thread safety: requests run on several threads per process on PostgreSQL. Every method works over
dict operations that are atomic in CPython and tolerates another thread adding or dropping an entry
between two of them; `Memo` (least recently used) takes a lock, since an ordered move is not atomic.
"""

from __future__ import annotations

import random
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
T = TypeVar("T")

MonotonicSource = Callable[[], float]
_source: MonotonicSource = time.monotonic


def monotonic() -> float:
    """Seconds on the caches' clock (time.monotonic unless a test installed another)."""
    return _source()


def use_monotonic(source: MonotonicSource | None) -> None:
    """Install the caches' clock (None: back to time.monotonic). For tests and benchmarks."""
    global _source
    _source = time.monotonic if source is None else source


class ManualMonotonic:
    """A monotonic clock a test moves by hand: `use_monotonic(clock)`, then `clock.advance(31)`."""

    def __init__(self, start: float = 1_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("a monotonic clock never goes back")
        self.now += seconds


@dataclass(frozen=True)
class CacheStats:
    name: str
    hits: int
    misses: int
    entries: int


_registry: weakref.WeakSet[_Counted] = weakref.WeakSet()


class _Counted:
    """Hit/miss counting and registration, shared by the cache kinds."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.hits = 0
        self.misses = 0
        _registry.add(self)

    def __len__(self) -> int:
        raise NotImplementedError

    def stats(self) -> CacheStats:
        return CacheStats(self.name, self.hits, self.misses, len(self))


def all_stats() -> list[CacheStats]:
    """Counts of every live cache in this process, by name (several per-database caches share a name)."""
    return sorted((c.stats() for c in list(_registry)), key=lambda s: s.name)


class TimedCache(_Counted, Generic[K, V]):
    """A map whose entries expire `ttl` seconds (less up to `spread` of that, at random) after they were
    put. With `max_entries`, a put that would pass it empties the cache first (cheap, and a full cache of
    mostly-live entries is rare: each server sizes it for its working set)."""

    def __init__(
        self,
        name: str,
        ttl: float,
        *,
        spread: float = 0.0,
        max_entries: int | None = None,
        rng: Callable[[], float] = random.random,
    ) -> None:
        super().__init__(name)
        if ttl <= 0 or not 0.0 <= spread < 1.0:
            raise ValueError("ttl must be positive and spread in [0, 1)")
        self.ttl = ttl
        self.spread = spread
        self.max_entries = max_entries
        self._rng = rng
        self._values: dict[K, V] = {}
        self._expires: dict[K, float] = {}
        self._purge_at = 0.0

    def __len__(self) -> int:
        return len(self._values)

    def expiry(self, now: float) -> float:
        """When an entry put at `now` expires."""
        return now + self.ttl * (1.0 - self.spread * self._rng()) if self.spread else now + self.ttl

    def get(self, key: K, now: float | None = None) -> V | None:
        """The live entry under `key`, or None. `now`: the caches' clock, if the caller has just read it
        (`monotonic()`) for its own bookkeeping."""
        if now is None:
            now = _source()  # monotonic() with one call less (the caches read it on every request)
        if self._expires.get(key, 0.0) > now:
            found = self._values.get(key)  # .get: another thread may drop it between the two reads
            if found is not None:
                self.hits += 1
                return found
        self.misses += 1
        return None

    def get_many(self, keys: Iterable[K]) -> tuple[dict[K, V], list[K]]:
        """(the live entries among `keys`, the keys not found), counting each key once; in key order."""
        now = _source()
        self._purge_if_due(now)
        found: dict[K, V] = {}
        missing: list[K] = []
        expires, values = self._expires, self._values
        for key in keys:
            hit = values.get(key) if expires.get(key, 0.0) > now else None
            if hit is not None:
                found[key] = hit
            else:
                missing.append(key)
        self.hits += len(found)
        self.misses += len(missing)
        return found, missing

    def put(self, key: K, value: V) -> None:
        self.put_many({key: value})

    def put_many(self, items: dict[K, V]) -> None:
        now = _source()
        if self.max_entries is not None and len(self._values) + len(items) > self.max_entries:
            self.clear()
        for key, value in items.items():
            self._values[key] = value
            self._expires[key] = self.expiry(now)

    def get_or_load(self, key: K, load: Callable[[], V]) -> V:
        """The live entry under `key`, or `load()` put there. Two threads missing together both load
        (the caches hold reads that are safe to repeat)."""
        found = self.get(key)
        if found is None:
            found = load()
            self.put(key, found)
        return found

    def pop(self, key: K) -> None:
        self._values.pop(key, None)
        self._expires.pop(key, None)

    def clear(self) -> None:
        self._values.clear()
        self._expires.clear()

    def expires_at(self, key: K) -> float | None:
        """When the entry under `key` expires on the caches' clock (None if there is none)."""
        return self._expires.get(key) if key in self._values else None

    def keys(self) -> list[K]:
        return list(self._values)

    @property
    def entries(self) -> Mapping[K, V]:
        """The map of values itself, expired ones included until purged (read-only; for inspection,
        e.g. that the collector stops tracking it: a purge replaces it with a new one)."""
        return self._values

    @property
    def expires(self) -> Mapping[K, float]:
        """The map of expiry times itself, on the caches' clock (read-only, like `entries`)."""
        return self._expires

    def _purge_if_due(self, now: float) -> None:
        # Expired entries nobody asks for again are dropped once per ttl; over copies, since on
        # PostgreSQL another request thread may add or drop entries meanwhile.
        if now < self._purge_at:
            return
        expires = {k: t for k, t in list(self._expires.items()) if t > now}
        self._values = {k: v for k, v in list(self._values.items()) if k in expires}
        self._expires = expires
        self._purge_at = now + self.ttl


class Memo(_Counted, Generic[K, V]):
    """A least-recently-used map of at most `size` entries that never expire by time (for what is fixed
    for a model's lifetime: the model is replaced as a whole). Size 0 keeps nothing."""

    def __init__(self, name: str, size: int) -> None:
        super().__init__(name)
        self.size = size
        self._items: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._items)

    def get(self, key: K) -> V | None:
        if self.size == 0:
            return None
        with self._lock:
            found = self._items.get(key)
            if found is None:
                self.misses += 1
            else:
                self.hits += 1
                self._items.move_to_end(key)
            return found

    def put(self, key: K, value: V) -> None:
        if self.size == 0:
            return
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def items(self) -> list[tuple[K, V]]:
        """The entries, least recently used first (a copy of the list; the keys and values themselves)."""
        with self._lock:
            return list(self._items.items())

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


class PerDatabase(Generic[T]):
    """One cache (or other per-process object) per database engine, made on first use and gone with the
    engine: tests and tools open several databases in one process, and none may see another's entries."""

    def __init__(self, make: Callable[[], T]) -> None:
        self._make = make
        # By id(engine) rather than a WeakKeyDictionary, whose every read makes a weak reference (three
        # times the cost of a dict read; pin_facts looks its cache up on every feed). An entry leaves
        # when its engine is collected, from a finalizer that runs before the engine's id can be reused.
        self._by_id: dict[int, T] = {}

    def of(self, engine: object) -> T:
        found = self._by_id.get(id(engine))
        if found is None:
            made = self._make()
            found = self._by_id.setdefault(id(engine), made)
            if found is made:  # (another thread may have made one first: that one is kept)
                weakref.finalize(engine, self._by_id.pop, id(engine), None).atexit = False
        return found

    def existing(self, engine: object) -> T | None:
        return self._by_id.get(id(engine))
