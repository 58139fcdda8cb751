"""Catalogue lists the sources share, the same for everyone: a topic's or a site's most saved Pins, a
site's main topics, the most saved Pins of all. Each is kept per database for a short while
(recommend.shared_lists: refilled ahead by the server's background task)."""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Callable, Hashable, Iterable
from typing import Any, TypeVar, cast

from sqlalchemy import Connection

from tastegraph.catalog import content, graph_reads
from tastegraph.recommend import shared_lists

# Popularity changes slowly, and ranking a topic's Pins by saves is the costliest query of a feed, so
# each topic's top list is kept for a short while (recommend.shared_lists: per database, refilled ahead).
POPULAR_TTL_SECONDS = shared_lists.TTL_SECONDS
POPULAR_DEPTH = 300

TopicCount = tuple[int, str, str, int]  # (topic id, slug, name, Pins or engagements)
T = TypeVar("T")


def popular_in_topic(conn: Connection, topic_id: int, limit: int) -> list[int]:
    return _top(conn, ("topic", topic_id), graph_reads.most_saved_in_topic, limit, topic_id=topic_id)


# What a site's Pins are (its most saved Pins, its main topics) is catalogue data, the same for everyone,
# so like the topic lists it is kept per domain (recommend.shared_lists). Who visited which site is not:
# that still comes, per request, only from the consent-checked visits in `Profile.visits`.


def popular_from_domain(conn: Connection, domain: str, limit: int) -> list[int]:
    """The domain's most saved Pins."""
    return _top(conn, ("site pins", domain), graph_reads.most_saved_from_domain, limit, domain=domain)


def domain_topics(conn: Connection, domain: str, k: int = 2) -> list[TopicCount]:
    """The main topics of (up to 200 of) the domain's Pins."""
    found: list[TopicCount] = shared_lists.shared(
        conn, ("site topics", domain, k), functools.partial(_domain_topics, domain=domain, k=k)
    )
    return found


def _domain_topics(conn: Connection, domain: str, k: int) -> list[TopicCount]:
    ids = graph_reads.some_pins_from_domain(conn, domain, 200)
    # The Pins' topics from memory (content.pin_facts): the join costs more, and its refills of every
    # domain at once stalled a feed request for tens of milliseconds each half minute.
    return top_topics(conn, ids, k)


def most_saved(conn: Connection, k: int) -> list[tuple[int, int]]:
    """(Pin, saves) of the k most saved Pins of all (the top POPULAR_DEPTH kept)."""
    return _top(conn, "popular", graph_reads.most_saved, k)


def _top(conn: Connection, key: Hashable, read: Callable[..., list[T]], limit: int, **of: Any) -> list[T]:
    """The first `limit` of a ranked list, `read(conn, **of, limit=n)`: from the top POPULAR_DEPTH kept
    under `key` (recommend.shared_lists), or read live when more are asked for."""
    if limit > POPULAR_DEPTH:
        return read(conn, **of, limit=limit)
    ranked: list[T] = shared_lists.shared(conn, key, functools.partial(read, **of, limit=POPULAR_DEPTH))
    return ranked[:limit]


def top_topics(conn: Connection, pin_ids: Iterable[int], k: int) -> list[TopicCount]:
    """The k topics most of the Pins are in, (topic id, slug, name, Pins), ties by slug: from the Pins'
    fixed facts in memory (content.pin_facts) instead of a join."""
    per_topic = Counter(t for f in content.pin_facts(conn, set(pin_ids)).values() for t in f["topics"])
    known = content.topics_by_slug(conn)
    ranked = sorted((-n, slug) for slug, n in per_topic.items() if slug in known)[:k]
    return [(known[slug][0], slug, known[slug][1], -n) for n, slug in ranked]


def unseen(
    ranked: Callable[[int], list[T]],
    limit: int,
    excluded: set[int],
    key: Callable[[T], int] | None = None,
) -> list[T]:
    """The first `limit` entries of a ranked list (`ranked(n)` gives its first n) whose Pin (`key`, or
    the entry itself) is not in `excluded`: from the cached top POPULAR_DEPTH when that is enough, else
    read deeper."""

    def keep(x: T) -> bool:
        return (key(x) if key is not None else cast(int, x)) not in excluded

    found = [x for x in ranked(min(POPULAR_DEPTH, limit + len(excluded))) if keep(x)]
    if len(found) < limit and limit + len(excluded) > POPULAR_DEPTH:
        found = [x for x in ranked(limit + len(excluded)) if keep(x)]
    return found[:limit]
