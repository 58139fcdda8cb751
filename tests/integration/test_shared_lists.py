"""Shared catalogue lists (recommend.shared_lists): read once per lifetime, refilled ahead of expiry by
the server's background task, dropped when nobody uses them."""

from __future__ import annotations

import time
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Connection, select, update

from tastegraph.api import app as app_module
from tastegraph.bootstrap import System
from tastegraph.catalog import graph_reads
from tastegraph.catalog.tables import pin_topics, pins
from tastegraph.demo import WorldSize, load_world
from tastegraph.kernel.cache import ManualMonotonic
from tastegraph.recommend import shared_lists
from tastegraph.recommend import sources as src
from tastegraph.server import compose

SEED = 5


def test_a_list_is_read_once_per_lifetime(system: System, cache_clock: ManualMonotonic) -> None:
    calls: list[int] = []

    def load(conn: Connection) -> list[int]:
        calls.append(1)
        return [len(calls)]

    with system.read() as conn:
        assert shared_lists.shared(conn, "k", load) == [1]
        cache_clock.advance(shared_lists.TTL_SECONDS * 0.7)  # within every lifetime (at least 3/4 of the TTL)
        assert shared_lists.shared(conn, "k", load) == [1]
        cache_clock.advance(shared_lists.TTL_SECONDS * 0.31)  # past every lifetime
        assert shared_lists.shared(conn, "k", load) == [2]
    assert len(calls) == 2


def test_due_lists_are_refilled_ahead_and_idle_ones_dropped(
    system: System, cache_clock: ManualMonotonic
) -> None:
    loads = {"a": 0, "b": 0}

    def loader(key: str) -> Any:
        def load(conn: Connection) -> int:
            loads[key] += 1
            return loads[key]

        return load

    with system.read() as conn:
        shared_lists.shared(conn, "a", loader("a"))
        shared_lists.shared(conn, "b", loader("b"))
    assert shared_lists.due(system.engine) == []  # fresh
    cache_clock.advance(shared_lists.TTL_SECONDS - shared_lists.REFILL_AHEAD_SECONDS + 0.01)
    assert sorted(shared_lists.due(system.engine)) == ["a", "b"]
    with system.read() as conn:
        shared_lists.refill(conn, "a")
        assert shared_lists.shared(conn, "a", loader("a")) == 2  # the refilled value, no new read
    assert loads == {"a": 2, "b": 1}
    assert shared_lists.due(system.engine) == ["b"]
    # "b" is never asked for again: once idle long enough it is dropped, not refilled.
    with system.read() as conn:
        for _ in range(int(shared_lists.IDLE_SECONDS // 10) + 1):
            cache_clock.advance(10.0)
            shared_lists.shared(conn, "a", loader("a"))
            for key in shared_lists.due(system.engine):
                shared_lists.refill(conn, key)
    assert "b" not in shared_lists.kept(system.engine)
    assert "a" in shared_lists.kept(system.engine) and loads["b"] < 100


def test_the_server_refills_a_topic_list_before_a_request_needs_it(
    system: System, cache_clock: ManualMonotonic, monkeypatch: Any
) -> None:
    """A topic's popular list changes in the database; the background task reads it again ahead of its
    expiry, so the next request gets the new ranking without reading it itself."""
    with system.write() as conn:
        load_world(conn, SEED, system.clock.now(), WorldSize(pins=80, users=10))
    with system.read() as conn:
        topic_id = int(conn.execute(select(pin_topics.c.topic_id).limit(1)).scalar_one())
        before = src.popular_in_topic(conn, topic_id, 5)
    last = before[-1]
    with system.write() as conn:  # the fifth most saved Pin becomes the most saved by far
        conn.execute(update(pins).where(pins.c.id == last).values(save_count=10_000))
    with system.read() as conn:
        assert src.popular_in_topic(conn, topic_id, 5) == before  # still the kept list
    key = ("topic", topic_id)
    # Due now: within REFILL_AHEAD_SECONDS of its expiry (at least 3/4 of the TTL away), not past it.
    cache_clock.advance(shared_lists.TTL_SECONDS - shared_lists.REFILL_AHEAD_SECONDS + 0.01)
    expires = shared_lists.expires_at(system.engine, key)
    monkeypatch.setattr(app_module, "LIST_REFILL_TICK_SECONDS", 0.02)
    reads: list[int] = []
    # A request reading the list itself would call this; the background refill holds the original.
    monkeypatch.setattr(graph_reads, "most_saved_in_topic", lambda *a, **k: reads.append(1) or [])
    with TestClient(compose(system)):
        deadline = time.monotonic() + 10
        while shared_lists.expires_at(system.engine, key) == expires and time.monotonic() < deadline:
            time.sleep(0.02)
    with system.read() as conn:
        after = src.popular_in_topic(conn, topic_id, 5)
    assert after[0] == last and after != before
    assert reads == []
