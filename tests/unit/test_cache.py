"""kernel.cache: expiry on the caches' movable clock, spread expiry, size limits, counts."""

from __future__ import annotations

import gc

import pytest

from tastegraph.kernel import cache
from tastegraph.kernel.cache import ManualMonotonic, Memo, PerDatabase, TimedCache


def test_an_entry_lives_its_ttl_on_the_moved_clock(cache_clock: ManualMonotonic) -> None:
    c: TimedCache[str, int] = TimedCache("t", ttl=30)
    c.put("a", 1)
    cache_clock.advance(29.9)
    assert c.get("a") == 1
    cache_clock.advance(0.2)
    assert c.get("a") is None
    assert (c.stats().hits, c.stats().misses) == (1, 1)


def test_spread_shortens_lifetimes_by_at_most_its_share(cache_clock: ManualMonotonic) -> None:
    draws = iter([0.0, 0.999, 0.5])
    c: TimedCache[int, int] = TimedCache("t", ttl=100, spread=0.25, rng=lambda: next(draws))
    c.put_many({1: 1, 2: 2, 3: 3})
    assert [c.expires_at(k) for k in (1, 2, 3)] == pytest.approx(
        [cache_clock.now + 100, cache_clock.now + 75.025, cache_clock.now + 87.5]
    )
    cache_clock.advance(80)
    assert c.get_many([1, 2, 3]) == ({1: 1, 3: 3}, [2])


def test_get_or_load_loads_once_until_expiry(cache_clock: ManualMonotonic) -> None:
    loads: list[int] = []
    c: TimedCache[str, int] = TimedCache("t", ttl=10)

    def load() -> int:
        loads.append(1)
        return len(loads)

    assert c.get_or_load("k", load) == 1
    assert c.get_or_load("k", load) == 1
    cache_clock.advance(11)
    assert c.get_or_load("k", load) == 2


def test_a_full_cache_starts_over_and_expired_entries_are_purged(cache_clock: ManualMonotonic) -> None:
    c: TimedCache[int, int] = TimedCache("t", ttl=10, max_entries=3)
    c.put_many({1: 1, 2: 2, 3: 3})
    c.put(4, 4)
    assert c.keys() == [4]
    cache_clock.advance(11)
    c.get_many([])  # a read after a ttl purges what expired
    assert len(c) == 0


def test_a_clock_going_back_is_refused() -> None:
    with pytest.raises(ValueError):
        ManualMonotonic().advance(-1)


def test_memo_keeps_the_most_recently_used() -> None:
    m: Memo[str, int] = Memo("m", size=2)
    m.put("a", 1)
    m.put("b", 2)
    assert m.get("a") == 1
    m.put("c", 3)
    assert (m.get("a"), m.get("b"), m.get("c")) == (1, None, 3)
    assert m.stats() == cache.CacheStats("m", 3, 1, 2)
    nothing: Memo[str, int] = Memo("none", size=0)
    nothing.put("a", 1)
    assert nothing.get("a") is None


def test_per_database_caches_are_separate_and_listed() -> None:
    class Engine:
        pass

    one, two = Engine(), Engine()
    caches: PerDatabase[TimedCache[str, int]] = PerDatabase(lambda: TimedCache("per-db", ttl=5))
    caches.of(one).put("x", 1)
    assert caches.of(two).get("x") is None
    assert caches.of(one) is caches.of(one)
    assert caches.existing(Engine()) is None
    assert any(s.name == "per-db" and s.entries == 1 for s in cache.all_stats())


def test_the_maps_are_readable_and_a_purge_replaces_them(cache_clock: ManualMonotonic) -> None:
    c: TimedCache[str, int] = TimedCache("t", ttl=10)
    c.put_many({"a": 1, "b": 2})
    before = c.entries
    assert dict(c.entries) == {"a": 1, "b": 2}
    assert dict(c.expires) == {"a": cache_clock.now + 10, "b": cache_clock.now + 10}
    cache_clock.advance(11)
    c.get_many([])
    assert c.entries == {} and c.expires == {} and c.entries is not before


def test_memo_items_are_the_entries_least_recent_first() -> None:
    m: Memo[str, list[int]] = Memo("m", size=3)
    value = [1]
    m.put("a", value)
    m.put("b", [2])
    m.get("a")
    items = m.items()
    assert items == [("b", [2]), ("a", [1])] and items[1][1] is value
    m.clear()
    assert m.items() == [] and len(m) == 0


def test_a_per_database_cache_goes_with_its_engine() -> None:
    class Engine:
        pass

    engine = Engine()
    caches: PerDatabase[TimedCache[str, int]] = PerDatabase(lambda: TimedCache("per-db-gone", ttl=5))
    caches.of(engine).put("x", 1)
    assert any(s.name == "per-db-gone" for s in cache.all_stats())
    del engine
    gc.collect()
    assert not any(s.name == "per-db-gone" for s in cache.all_stats())
    assert caches.of(Engine()).get("x") is None


def test_get_on_a_clock_the_caller_read(cache_clock: ManualMonotonic) -> None:
    c: TimedCache[str, int] = TimedCache("t", ttl=10)
    c.put("a", 1)
    assert c.get("a", cache_clock.now + 9.9) == 1
    assert c.get("a", cache_clock.now + 10) is None
