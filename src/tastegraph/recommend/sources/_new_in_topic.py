"""New in topic (cold start): Pins created in the last 14 days with few saves, in the viewer's topics,
so a new Pin reaches people through its topics before anyone has engaged with it."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Connection

from tastegraph.catalog import graph_reads
from tastegraph.kernel.cache import PerDatabase, TimedCache
from tastegraph.recommend.reasons import NewInTopic
from tastegraph.recommend.sources._base import Candidate, FeedSource
from tastegraph.recommend.sources._lists import POPULAR_DEPTH, POPULAR_TTL_SECONDS
from tastegraph.recommend.sources._profile import Profile, viewer_topics

NEW_PIN_AGE = timedelta(days=14)
NEW_PIN_MAX_SAVES = 3
NewPin = tuple[int, datetime, int]  # (pin id, created at, saves)

# Finding a topic's new Pins walks all of the topic's Pins (about 10 ms of a feed on the demo world), so,
# like popular lists, they are kept per topic for POPULAR_TTL_SECONDS (less up to a quarter, at random):
# a new Pin shows up within that. Not refilled ahead like shared_lists: which Pins count as new depends
# on the request's clock, so each entry keeps the clock it was read at, (read at, new Pins).
_new_pins: PerDatabase[TimedCache[int, tuple[datetime, tuple[NewPin, ...]]]] = PerDatabase(
    lambda: TimedCache("recommend.new_in_topic", POPULAR_TTL_SECONDS, spread=0.25)
)


def new_pins_in_topic(conn: Connection, topic_id: int, now: datetime) -> list[NewPin]:
    """The topic's Pins created in the last 14 days with at most 3 saves, newest first."""
    cache = _new_pins.of(conn.engine)
    hit = cache.get(topic_id)
    # A clock moved back (tests) could miss older Pins: read again then too.
    if hit is None or now < hit[0]:
        rows = graph_reads.new_pins_in_topic(
            conn, topic_id, now - NEW_PIN_AGE, NEW_PIN_MAX_SAVES, POPULAR_DEPTH
        )
        hit = (now, tuple(rows))
        cache.put(topic_id, hit)
    since = now - NEW_PIN_AGE
    return [p for p in hit[1] if since <= p[1] <= now]


def new_in_topic(conn: Connection, profile: Profile, now: datetime, limit: int) -> list[Candidate]:
    """Cold start: Pins created in the last 14 days with few saves, in the viewer's topics, newest
    first, so a new Pin reaches people through its topics before anyone has engaged with it."""
    found: dict[int, tuple[datetime, int, str, str]] = {}
    for topic_id, slug, name, _ in viewer_topics(conn, profile):
        for pin_id, created, saves in new_pins_in_topic(conn, topic_id, now):
            if pin_id not in profile.excluded:
                found.setdefault(pin_id, (created, saves, slug, name))
    newest = sorted(found.items(), key=lambda kv: (kv[1][0], kv[0]), reverse=True)[:limit]
    return [
        Candidate(pin_id, NewInTopic(slug, name, created, n)) for pin_id, (created, n, slug, name) in newest
    ]


SOURCE = FeedSource(
    "new_in_topic", 2, lambda conn, profile, ask: new_in_topic(conn, profile, ask.now, ask.limit)
)
