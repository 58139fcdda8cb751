"""Candidate sources for the home feed. Each returns ranked candidates, each with the reason that put it
there, derived from the very rows that produced it."""

from __future__ import annotations

import time
import weakref
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, desc, func, select

from tastegraph.catalog.tables import (
    board_follows,
    board_pins,
    boards,
    hides,
    pin_topics,
    pins,
    topics,
    user_follows,
    users,
)
from tastegraph.collect import Visit
from tastegraph.collect.tables import engagement_events


@dataclass
class Candidate:
    pin_id: int
    reason: dict[str, Any]


@dataclass
class Profile:
    """What we know about the viewer that the sources need, read once per request."""

    user_id: int | None
    saved: list[tuple[int, datetime]] = field(default_factory=list)  # (pin, saved_at), newest first
    excluded: set[int] = field(default_factory=set)
    visits: list[Visit] = field(default_factory=list)


def _iso(dt: datetime) -> str:
    return dt.isoformat()


def load_profile(conn: Connection, user_id: int | None, visits: list[Visit]) -> Profile:
    profile = Profile(user_id=user_id, visits=visits)
    if user_id is None:
        return profile
    profile.saved = [
        (int(p), at)
        for p, at in conn.execute(
            select(board_pins.c.pin_id, func.max(board_pins.c.saved_at).label("at"))
            .where(board_pins.c.saved_by == user_id)
            .group_by(board_pins.c.pin_id)
            .order_by(desc("at"))
            .limit(500)
        )
    ]
    hidden = conn.execute(select(hides.c.pin_id).where(hides.c.user_id == user_id)).scalars()
    profile.excluded = {p for p, _ in profile.saved} | {int(h) for h in hidden}
    return profile


def followed_boards(conn: Connection, profile: Profile, limit: int) -> list[Candidate]:
    if profile.user_id is None:
        return []
    rows = conn.execute(
        select(board_pins.c.pin_id, boards.c.id, boards.c.name, board_pins.c.saved_at)
        .join(board_follows, board_follows.c.board_id == board_pins.c.board_id)
        .join(boards, boards.c.id == board_pins.c.board_id)
        .where(board_follows.c.user_id == profile.user_id)
        .order_by(board_pins.c.saved_at.desc())
        .limit(limit)
    )
    return [
        Candidate(
            int(r[0]),
            {"kind": "followed_board", "board_id": int(r[1]), "board_name": r[2], "at": _iso(r[3])},
        )
        for r in rows
    ]


def followed_people(conn: Connection, profile: Profile, limit: int) -> list[Candidate]:
    if profile.user_id is None:
        return []
    rows = conn.execute(
        select(board_pins.c.pin_id, users.c.id, users.c.display_name, board_pins.c.saved_at)
        .join(user_follows, user_follows.c.followee_id == board_pins.c.saved_by)
        .join(users, users.c.id == board_pins.c.saved_by)
        .where(user_follows.c.follower_id == profile.user_id)
        .order_by(board_pins.c.saved_at.desc())
        .limit(limit)
    )
    return [
        Candidate(
            int(r[0]), {"kind": "followed_person", "user_id": int(r[1]), "user_name": r[2], "at": _iso(r[3])}
        )
        for r in rows
    ]


def saved_alongside(conn: Connection, profile: Profile, limit: int, seeds: int = 20) -> list[Candidate]:
    """Pins that share boards with the viewer's recent saves ("people who saved X also saved this")."""
    recent = profile.saved[:seeds]
    if not recent:
        return []
    saved_at = dict(recent)
    seed_ids = list(saved_at)
    bp_seed = board_pins.alias("seed")
    bp_other = board_pins.alias("other")
    co = func.count().label("co")
    rows = conn.execute(
        select(bp_other.c.pin_id, bp_seed.c.pin_id, co)
        .join(bp_other, bp_other.c.board_id == bp_seed.c.board_id)
        .where(bp_seed.c.pin_id.in_(seed_ids), bp_other.c.pin_id.not_in(seed_ids))
        .group_by(bp_other.c.pin_id, bp_seed.c.pin_id)
        .order_by(co.desc(), bp_other.c.pin_id)
        .limit(limit * 3)
    ).all()
    titles = dict(conn.execute(select(pins.c.id, pins.c.title).where(pins.c.id.in_(seed_ids))).all())
    out: list[Candidate] = []
    seen: set[int] = set()
    for pin_id, via, n in rows:
        if pin_id in seen:
            continue
        seen.add(pin_id)
        out.append(
            Candidate(
                int(pin_id),
                {
                    "kind": "saved_alongside",
                    "pin_id": int(via),
                    "pin_title": titles.get(via, ""),
                    "boards_in_common": int(n),
                    "at": _iso(saved_at[int(via)]),
                },
            )
        )
    return out[:limit]


def _top_topics(conn: Connection, pin_ids: Iterable[int], k: int) -> list[tuple[int, str, str, int]]:
    ids = list(pin_ids)
    if not ids:
        return []
    n = func.count().label("n")
    rows = conn.execute(
        select(topics.c.id, topics.c.slug, topics.c.name, n)
        .join(pin_topics, pin_topics.c.topic_id == topics.c.id)
        .where(pin_topics.c.pin_id.in_(ids))
        .group_by(topics.c.id, topics.c.slug, topics.c.name)
        .order_by(n.desc(), topics.c.slug)
        .limit(k)
    )
    return [(int(r[0]), r[1], r[2], int(r[3])) for r in rows]


# Popularity changes slowly, and ranking a topic's Pins by saves is the costliest query of a feed, so
# each topic's top list is kept for a short while. The cache hangs off the engine: one per database.
POPULAR_TTL_SECONDS = 30.0
POPULAR_DEPTH = 300
_popular_cache: weakref.WeakKeyDictionary[Engine, dict[int, tuple[float, list[int]]]] = (
    weakref.WeakKeyDictionary()
)


def popular_in_topic(conn: Connection, topic_id: int, limit: int) -> list[int]:
    per_engine = _popular_cache.setdefault(conn.engine, {})
    hit = per_engine.get(topic_id)
    if hit is None or time.monotonic() - hit[0] > POPULAR_TTL_SECONDS or limit > POPULAR_DEPTH:
        ranked = [
            int(p)
            for p in conn.execute(
                select(pin_topics.c.pin_id)
                .join(pins, pins.c.id == pin_topics.c.pin_id)
                .where(pin_topics.c.topic_id == topic_id)
                .order_by(pins.c.save_count.desc(), pins.c.id)
                .limit(max(limit, POPULAR_DEPTH))
            ).scalars()
        ]
        hit = (time.monotonic(), ranked)
        per_engine[topic_id] = hit
    return hit[1][:limit]


def topic_interests(conn: Connection, profile: Profile, limit: int) -> list[Candidate]:
    """Popular Pins in the topics of what the viewer saved, clicked and looked at closely."""
    if profile.user_id is None:
        return []
    engaged = [p for p, _ in profile.saved[:100]]
    engaged += [
        int(p)
        for p in conn.execute(
            select(engagement_events.c.pin_id)
            .where(
                engagement_events.c.user_id == profile.user_id,
                engagement_events.c.kind.in_(("click", "closeup")),
                engagement_events.c.pin_id.is_not(None),
            )
            .order_by(engagement_events.c.occurred_at.desc())
            .limit(100)
        ).scalars()
    ]
    counts = Counter(engaged)
    top = _top_topics(conn, counts, 3)
    out: list[Candidate] = []
    per_topic = max(1, limit // max(1, len(top)))
    for topic_id, slug, name, n in top:
        for pin_id in popular_in_topic(conn, topic_id, per_topic + len(profile.excluded)):
            out.append(
                Candidate(
                    pin_id, {"kind": "topic_interest", "topic": slug, "topic_name": name, "engagements": n}
                )
            )
    return out


def offsite(conn: Connection, profile: Profile, limit: int, max_domains: int = 5) -> list[Candidate]:
    """Pins linking to sites the viewer visited, then popular Pins in those sites' topics
    ("other stuff people have added from those websites")."""
    if not profile.visits:
        return []
    latest: dict[str, Visit] = {}
    visits_per_domain: Counter[str] = Counter()
    for v in profile.visits:  # newest first
        latest.setdefault(v.domain, v)
        visits_per_domain[v.domain] += 1
    domains = sorted(latest, key=lambda d: (-visits_per_domain[d], -latest[d].visited_at.timestamp(), d))
    domains = domains[:max_domains]
    per_domain = max(2, limit // len(domains))
    out: list[Candidate] = []
    for d in domains:
        v = latest[d]
        base = {
            "kind": "offsite_visit",
            "domain": d,
            "at": _iso(v.visited_at),
            "visits": visits_per_domain[d],
        }
        from_site = [
            int(p)
            for p in conn.execute(
                select(pins.c.id)
                .where(pins.c.domain == d)
                .order_by(pins.c.save_count.desc(), pins.c.id)
                .limit(per_domain)
            ).scalars()
        ]
        out.extend(Candidate(p, {**base, "via": "pins_from_site"}) for p in from_site)
        for topic_id, slug, name, _ in _domain_topics(conn, d):
            for p in popular_in_topic(conn, topic_id, per_domain):
                out.append(Candidate(p, {**base, "via": "site_topic", "topic": slug, "topic_name": name}))
    return out


def _domain_topics(conn: Connection, domain: str, k: int = 2) -> list[tuple[int, str, str, int]]:
    ids = conn.execute(select(pins.c.id).where(pins.c.domain == domain).limit(200)).scalars().all()
    return _top_topics(conn, (int(i) for i in ids), k)


def popular(conn: Connection, limit: int) -> list[Candidate]:
    rows = conn.execute(
        select(pins.c.id, pins.c.save_count).order_by(pins.c.save_count.desc(), pins.c.id).limit(limit)
    )
    return [Candidate(int(r[0]), {"kind": "popular", "saves": int(r[1])}) for r in rows]
