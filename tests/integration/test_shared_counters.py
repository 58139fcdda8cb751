"""The counters every server process shares: the sliding-window limiter with atomic reservations, and
request-rate limits that hold across processes (database and Redis stores)."""

from __future__ import annotations

import sqlite3
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tastegraph.bootstrap import build
from tastegraph.db import make_engine, upgrade
from tastegraph.kernel import FrozenClock
from tastegraph.kernel.counters import (
    CounterStore,
    DatabaseCounters,
    Limit,
    Limiter,
    RedisCounters,
    Reservation,
    SharedRate,
    rate_counters,
)
from tests.conftest import START, make_settings
from tests.helpers import REDIS_URL, counter_stores

COUNTERS = counter_stores()


@pytest.fixture(params=COUNTERS)
def store(request: pytest.FixtureRequest, database_url: str) -> Iterator[CounterStore]:
    if request.param == "redis":
        yield RedisCounters(REDIS_URL, prefix=f"tastegraph-test-{uuid.uuid4().hex}:")
        return
    engine = make_engine(database_url)
    yield DatabaseCounters(engine)
    engine.dispose()


# START is 12:00:00, a window edge; 12:07:30 is halfway through a 15-minute window.
MID = START + timedelta(minutes=7, seconds=30)


def test_reservations_stop_at_the_limit_and_say_when_to_come_back(store: CounterStore) -> None:
    clock = FrozenClock(MID)
    limiter = Limiter(store, clock)
    limit = Limit("t", 3, 900)
    held = [limiter.reserve(limit, "k") for _ in range(4)]
    assert [isinstance(h, Reservation) for h in held] == [True, True, True, False]
    assert held[3] == 450 + 900 * (1 - 3 / 3)  # the window's count slides out by the next one's end
    assert limiter.retry_after(limit, "k") == 450
    assert limiter.retry_after(limit, "other") == 0
    first = held[0]
    assert isinstance(first, Reservation)
    limiter.release(first)  # a released reservation no longer counts
    assert limiter.retry_after(limit, "k") == 0
    # Half-way through the next window, half of the previous one's 2 still counts: 1 + 0, then 1 + 1,
    # pass; 1 + 2 does not.
    clock.advance(timedelta(minutes=15))
    assert isinstance(limiter.reserve(limit, "k"), Reservation)
    assert isinstance(limiter.reserve(limit, "k"), Reservation)
    assert not isinstance(limiter.reserve(limit, "k"), Reservation)


def test_two_processes_share_one_request_limit(store: CounterStore) -> None:
    clock = FrozenClock(MID)
    # sync_seconds=0: every request reserves its place in the store, so the limit is exact
    a, b = (SharedRate(store, clock, Limit("r", 10, 60), sync_seconds=0) for _ in range(2))
    passed = sum((a if i % 2 else b).take("1.2.3.4") == 0 for i in range(30))
    assert passed == 10
    assert a.wait("1.2.3.4") > 0 and b.wait("1.2.3.4") > 0
    assert a.take("5.6.7.8") == 0  # another address is not held back


def test_between_syncs_a_process_admits_at_most_one_intervals_worth(store: CounterStore) -> None:
    clock = FrozenClock(MID)
    a, b = (SharedRate(store, clock, Limit("r", 10, 60), sync_seconds=3600) for _ in range(2))
    assert sum(a.take("ip") == 0 for _ in range(8)) == 8
    a.sync()
    assert sum(b.take("ip") == 0 for _ in range(8)) == 8  # b has not synced since it saw the key
    b.sync()  # b now knows the deployment has let 16 through
    assert b.take("ip") > 0
    a.sync()  # a let nothing through since its last sync: it still decides from 8 ...
    assert a.take("ip") == 0
    a.sync()  # ... until the sync after it lets the key through again
    assert a.take("ip") > 0
    # Per-process counters (the old token buckets) would have let a and b through 10 each, forever.


class _Down:
    """A store that cannot be reached."""

    def add_many(self, amounts: object, now: datetime, ttl_seconds: int) -> dict[tuple[str, int], int]:
        raise ConnectionError("store down")

    def add(self, *args: object) -> int:
        raise ConnectionError("store down")

    def counts(self, keys: object) -> dict[tuple[str, int], int]:
        raise ConnectionError("store down")

    def sweep(self, now: datetime) -> int:
        return 0


def test_an_unreachable_store_leaves_each_process_its_own_limit() -> None:
    rate = SharedRate(_Down(), FrozenClock(MID), Limit("r", 5, 60), sync_seconds=0)
    results = []
    for _ in range(7):
        rate.sync()  # logs and carries on
        results.append(rate.take("ip") == 0)
    assert results == [True] * 5 + [False] * 2


def test_the_sweep_deletes_counters_past_two_windows(database_url: str) -> None:
    engine = make_engine(database_url)
    store = DatabaseCounters(engine)
    clock = FrozenClock(MID)
    limiter = Limiter(store, clock)
    limiter.reserve(Limit("s", 5, 60), "k")
    assert store.sweep(clock.now()) == 0
    assert store.sweep(clock.now() + timedelta(seconds=122)) == 1
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(rate_counters)).scalar_one() == 0
    engine.dispose()


def test_reading_counters_never_waits_for_the_sqlite_write_lock(tmp_path: Path) -> None:
    """A refused sign-in is answered from a read: it must not queue behind writers (a flood of them
    would otherwise hold SQLite's write lock one after the other)."""
    url = f"sqlite:///{tmp_path / 'c.db'}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    system = build(make_settings(url, model_dir=tmp_path / "m", sqlite_busy_timeout_ms=300))
    writer = sqlite3.connect(tmp_path / "c.db", isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    try:
        started = time.monotonic()
        assert system.counters.counts([("k", 0)]) == {}
        assert time.monotonic() - started < 0.25
    finally:
        writer.execute("ROLLBACK")
        writer.close()
        system.dispose()
