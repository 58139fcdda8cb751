"""New Pins per topic are kept per database on kernel.cache's clock: for 30 s less up to a quarter, and
read again when the request's clock moves back (which Pins count as new depends on it)."""

from __future__ import annotations

from datetime import timedelta

from tastegraph.bootstrap import System
from tastegraph.catalog import content
from tastegraph.kernel.cache import ManualMonotonic
from tastegraph.recommend import sources as src


def _new_pin(system: System, topic_id: int, age: timedelta, n: int) -> int:
    with system.write() as conn:
        return content.create_pin(
            conn,
            title=f"new {n}",
            link_url=f"https://example.com/{n}",
            image_url=f"https://example.com/{n}.jpg",
            now=system.clock.now() - age,
            topic_ids=[topic_id],
        )


def test_new_pins_are_kept_for_at_most_their_lifetime(system: System, cache_clock: ManualMonotonic) -> None:
    with system.write() as conn:
        topic_id = content.ensure_topic(conn, "camping", "Camping")
    first = _new_pin(system, topic_id, timedelta(days=1), 1)
    now = system.clock.now()
    with system.read() as conn:
        assert [p[0] for p in src.new_pins_in_topic(conn, topic_id, now)] == [first]
    second = _new_pin(system, topic_id, timedelta(hours=1), 2)
    cache_clock.advance(30 * 0.75 - 0.1)  # within the shortest lifetime: still the kept list
    with system.read() as conn:
        assert [p[0] for p in src.new_pins_in_topic(conn, topic_id, now)] == [first]
    cache_clock.advance(0.2 + 30 * 0.25)  # past the longest
    with system.read() as conn:
        assert [p[0] for p in src.new_pins_in_topic(conn, topic_id, now)] == [second, first]


def test_a_clock_moved_back_reads_again(system: System, cache_clock: ManualMonotonic) -> None:
    with system.write() as conn:
        topic_id = content.ensure_topic(conn, "camping", "Camping")
    old = _new_pin(system, topic_id, timedelta(days=20), 1)  # not new now; new 10 days ago
    now = system.clock.now()
    with system.read() as conn:
        assert src.new_pins_in_topic(conn, topic_id, now) == []
        earlier = [p[0] for p in src.new_pins_in_topic(conn, topic_id, now - timedelta(days=10))]
        assert earlier == [old]
