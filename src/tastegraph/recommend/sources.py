"""Candidate sources for the home feed. Each returns ranked candidates, each with the reason that put it
there, derived from the very rows that produced it."""

from __future__ import annotations

import functools
import time
import weakref
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar, cast

import numpy as np
from sqlalchemy import Connection, Engine, bindparam, desc, func, or_, select

from tastegraph.catalog import content
from tastegraph.catalog.tables import (
    board_follows,
    board_pins,
    boards,
    hides,
    pin_topics,
    pins,
    user_follows,
    users,
)
from tastegraph.collect import Visit
from tastegraph.collect.tables import engagement_events
from tastegraph.kernel.fastsql import Query, StoredTime, utc_time
from tastegraph.recommend import shared_lists
from tastegraph.recommend.model import Model
from tastegraph.recommend.topk import top_positive


@dataclass
class Candidate:
    pin_id: int
    reason: dict[str, Any]


@dataclass
class Profile:
    """What we know about the viewer that the sources need, read once per request."""

    user_id: int | None
    saved_ids: list[int] = field(default_factory=list)  # the newest SAVED_DEPTH saves, newest first
    # (pin, saved_at) of the newest RECENT_SAVES of them: what reasons name (with when) and the model sees.
    saved: list[tuple[int, datetime]] = field(default_factory=list)
    # Every Pin the viewer saved or hid: never recommended again.
    excluded: set[int] = field(default_factory=set)
    visits: list[Visit] = field(default_factory=list)
    _engaged: list[int] | None = None
    _topics: list[tuple[int, str, str, int]] | None = None
    _titles: dict[int, str] = field(default_factory=dict)


# Candidates as a memo keeps them: tuples of plain values, which the garbage collector stops tracking.
Memoized = tuple[tuple[int, tuple[tuple[str, Any], ...]], ...]


def _memoizable(candidates: list[Candidate]) -> Memoized:
    return tuple((c.pin_id, tuple(c.reason.items())) for c in candidates)


def _from_memo(found: Memoized) -> list[Candidate]:
    return [Candidate(pin_id, dict(reason)) for pin_id, reason in found]


def _excluded_key(profile: Profile) -> tuple[int, ...]:
    return tuple(sorted(profile.excluded))


# Reasons keep times as datetimes until explain.with_text writes out those of the Pins actually shown
# (formatting every candidate's times costs more than ranking them).

# The per-request statements, built once and run through the driver (kernel.fastsql: no statement
# building, cache-key hashing or per-row processing per request).
# Every save, newest first, without the times (reading a time costs more than the rest of the row), and
# the newest RECENT_SAVES with them.
_SAVED_ORDER = Query(
    select(board_pins.c.pin_id)
    .where(board_pins.c.saved_by == bindparam("user_id"))
    .group_by(board_pins.c.pin_id)
    .order_by(func.max(board_pins.c.saved_at).desc(), board_pins.c.pin_id)
)
_RECENT_SAVES = Query(
    select(board_pins.c.pin_id, func.max(board_pins.c.saved_at).label("at"))
    .where(board_pins.c.saved_by == bindparam("user_id"))
    .group_by(board_pins.c.pin_id)
    .order_by(desc("at"), board_pins.c.pin_id)
    .limit(bindparam("limit"))
)
_HIDDEN = Query(select(hides.c.pin_id).where(hides.c.user_id == bindparam("user_id")))
_SAVED_PINS = Query(select(board_pins.c.pin_id).where(board_pins.c.saved_by == bindparam("user_id")))
_ENGAGED = Query(
    select(engagement_events.c.pin_id)
    .where(
        engagement_events.c.user_id == bindparam("user_id"),
        or_(engagement_events.c.kind == "click", engagement_events.c.kind == "closeup"),
        engagement_events.c.pin_id.is_not(None),
    )
    .order_by(engagement_events.c.occurred_at.desc())
    .limit(bindparam("limit"))
)
_FOLLOWED_BOARDS = Query(
    select(board_pins.c.pin_id, boards.c.id, boards.c.name, board_pins.c.saved_at)
    .join(board_follows, board_follows.c.board_id == board_pins.c.board_id)
    .join(boards, boards.c.id == board_pins.c.board_id)
    .where(board_follows.c.user_id == bindparam("user_id"))
    .order_by(board_pins.c.saved_at.desc())
    .limit(bindparam("limit"))
)
_FOLLOWED_PEOPLE = Query(
    select(board_pins.c.pin_id, users.c.id, users.c.display_name, board_pins.c.saved_at)
    .join(user_follows, user_follows.c.followee_id == board_pins.c.saved_by)
    .join(users, users.c.id == board_pins.c.saved_by)
    .where(user_follows.c.follower_id == bindparam("user_id"))
    .order_by(board_pins.c.saved_at.desc())
    .limit(bindparam("limit"))
)
SAVED_DEPTH = 500  # the newest saves the sources look at
RECENT_SAVES = 40  # of which the newest, with when they were saved (TASTE_SAVES and the co-save seeds)


def load_profile(conn: Connection, user_id: int | None, visits: list[Visit]) -> Profile:
    profile = Profile(user_id=user_id, visits=visits)
    if user_id is None:
        return profile
    # Every save is excluded; the newest SAVED_DEPTH feed the sources.
    saved = [int(p) for p in _SAVED_ORDER.column(conn, {"user_id": user_id})]
    profile.saved_ids = saved[:SAVED_DEPTH]
    if saved:
        rows = _RECENT_SAVES.rows(conn, {"user_id": user_id, "limit": RECENT_SAVES})
        profile.saved = [(int(p), utc_time(at)) for p, at in rows]
    profile.excluded = set(saved) | _hidden(conn, user_id)
    return profile


def _hidden(conn: Connection, user_id: int) -> set[int]:
    return {int(h) for h in _HIDDEN.column(conn, {"user_id": user_id})}


def excluded_pins(conn: Connection, user_id: int | None) -> set[int]:
    """Every Pin the person saved (not only the newest 500 the sources look at) or hid."""
    if user_id is None:
        return set()
    saved = _SAVED_PINS.column(conn, {"user_id": user_id})
    return {int(p) for p in saved} | _hidden(conn, user_id)


def engaged_pins(conn: Connection, profile: Profile, limit: int = 100) -> list[int]:
    """Pins the viewer clicked or looked at closely, newest first (with repeats, for counting)."""
    if profile.user_id is None:
        return []
    if profile._engaged is None:
        rows = _ENGAGED.column(conn, {"user_id": profile.user_id, "limit": limit})
        profile._engaged = [int(p) for p in rows]
    return profile._engaged


def viewer_topics(conn: Connection, profile: Profile, k: int = 3) -> list[tuple[int, str, str, int]]:
    """The viewer's top topics by what they saved, clicked and looked at closely:
    (topic id, slug, name, engagements)."""
    if profile.user_id is None:
        return []
    if profile._topics is None:
        engaged = profile.saved_ids[:100] + engaged_pins(conn, profile)
        profile._topics = _top_topics_in_memory(conn, engaged, k)
    return profile._topics


def _top_topics_in_memory(
    conn: Connection, pin_ids: Iterable[int], k: int
) -> list[tuple[int, str, str, int]]:
    """The k topics most of the Pins are in, (topic id, slug, name, Pins), ties by slug: from the Pins'
    fixed facts in memory (content.pin_facts) instead of a join."""
    per_topic = Counter(t for f in content.pin_facts(conn, set(pin_ids)).values() for t in f["topics"])
    known = content.topics_by_slug(conn)
    ranked = sorted((-n, slug) for slug, n in per_topic.items() if slug in known)[:k]
    return [(known[slug][0], slug, known[slug][1], -n) for n, slug in ranked]


def followed_boards(conn: Connection, profile: Profile, limit: int) -> list[Candidate]:
    if profile.user_id is None:
        return []
    rows = _FOLLOWED_BOARDS.rows(conn, {"user_id": profile.user_id, "limit": limit})
    return [
        Candidate(
            int(r[0]),
            {"kind": "followed_board", "board_id": int(r[1]), "board_name": r[2], "at": StoredTime(r[3])},
        )
        for r in rows
    ]


def followed_people(conn: Connection, profile: Profile, limit: int) -> list[Candidate]:
    if profile.user_id is None:
        return []
    rows = _FOLLOWED_PEOPLE.rows(conn, {"user_id": profile.user_id, "limit": limit})
    return [
        Candidate(
            int(r[0]),
            {"kind": "followed_person", "user_id": int(r[1]), "user_name": r[2], "at": StoredTime(r[3])},
        )
        for r in rows
    ]


def saved_alongside(
    conn: Connection, profile: Profile, limit: int, seeds: int = 20, model: Model | None = None
) -> list[Candidate]:
    """Pins that share boards with the viewer's recent saves ("people who saved X also saved this").

    With a trained model, boards in common are counted on the model's board x Pin graph (in memory,
    as of training); seeds newer than the model are counted live in SQL, and so is everything
    without a model. Either way a Pin's reason names the seed it shares the most boards with."""
    recent = profile.saved[:seeds]
    if not recent:
        return []
    seed_ids = list(dict(recent))
    rows: list[tuple[int, int, int]] = []  # (Pin, seed, boards in common)
    live = seed_ids
    if model is not None:
        cols = model.pin_index(seed_ids)
        known = cols >= 0
        live = [p for p, ok in zip(seed_ids, known.tolist(), strict=True) if not ok]
        if not live:  # all counted on the model: the answer depends on the seeds alone
            key = ("co_saved", limit, tuple(recent))
            found: Memoized | None = model.memo.get(key)
            if found is None:
                found = _memoizable(_saved_alongside(conn, profile, model, cols, recent, limit))
                model.memo.put(key, found)
            return _from_memo(found)
        if known.any():
            rows += _co_saved_in_model(model, cols[known], np.asarray(seed_ids)[known], limit * 3)
    if live:
        rows += _co_saved_live(conn, live, seed_ids, limit * 3)
    return _name_seeds(conn, profile, rows, recent, limit)


def _saved_alongside(
    conn: Connection,
    profile: Profile,
    model: Model,
    cols: np.ndarray,
    recent: list[tuple[int, datetime]],
    limit: int,
) -> list[Candidate]:
    seed_ids = np.asarray([p for p, _ in recent])
    rows = _co_saved_in_model(model, cols, seed_ids, limit * 3)
    return _name_seeds(conn, profile, rows, recent, limit)


def _name_seeds(
    conn: Connection,
    profile: Profile,
    rows: list[tuple[int, int, int]],
    recent: list[tuple[int, datetime]],
    limit: int,
) -> list[Candidate]:
    """The best `limit` of (Pin, seed, boards in common), each with the seed it shares the most with."""
    saved_at = dict(recent)
    seed_ids = list(saved_at)
    rows.sort(key=lambda r: (-r[2], r[0]))
    titles = pin_titles(conn, profile, seed_ids)
    out: list[Candidate] = []
    seen: set[int] = set(seed_ids)
    for pin_id, via, n in rows:
        if pin_id in seen:
            continue
        seen.add(pin_id)
        out.append(
            Candidate(
                pin_id,
                {
                    "kind": "saved_alongside",
                    "pin_id": via,
                    "pin_title": titles.get(via, ""),
                    "boards_in_common": n,
                    "at": saved_at[via],
                },
            )
        )
        if len(out) == limit:
            break
    return out


def _co_saved_in_model(
    model: Model, cols: np.ndarray, seed_ids: np.ndarray, want: int
) -> list[tuple[int, int, int]]:
    """The `want` best (Pin, seed, boards in common) of the seeds at model positions `cols`; per Pin
    only its best seed (the lowest seed id among equals), never a seed itself."""
    sizes, pin, n = model.co_saved(cols)
    seed = np.repeat(seed_ids, sizes)
    keep = np.isin(pin, cols, invert=True)
    seed, pin, n = seed[keep], pin[keep], n[keep]
    order = np.lexsort((seed, pin, -n))  # most boards first, then Pin position, then seed id
    _, first = np.unique(pin[order], return_index=True)  # each Pin's best entry
    best = order[np.sort(first)][:want]
    return list(
        zip(
            model.pin_ids[pin[best]].tolist(),
            seed[best].tolist(),
            n[best].astype(np.int64).tolist(),
            strict=True,
        )
    )


def _co_saved_live(
    conn: Connection, seeds: list[int], all_seeds: list[int], want: int
) -> list[tuple[int, int, int]]:
    bp_seed = board_pins.alias("seed")
    bp_other = board_pins.alias("other")
    co = func.count().label("co")
    rows = conn.execute(
        select(bp_other.c.pin_id, bp_seed.c.pin_id, co)
        .join(bp_other, bp_other.c.board_id == bp_seed.c.board_id)
        .where(bp_seed.c.pin_id.in_(seeds), bp_other.c.pin_id.not_in(all_seeds))
        .group_by(bp_other.c.pin_id, bp_seed.c.pin_id)
        .order_by(co.desc(), bp_other.c.pin_id)
        .limit(want)
    ).all()
    return [(int(p), int(v), int(n)) for p, v, n in rows]


# Popularity changes slowly, and ranking a topic's Pins by saves is the costliest query of a feed, so
# each topic's top list is kept for a short while (recommend.shared_lists: per database, refilled ahead).
POPULAR_TTL_SECONDS = shared_lists.TTL_SECONDS
POPULAR_DEPTH = 300


def popular_in_topic(conn: Connection, topic_id: int, limit: int) -> list[int]:
    if limit > POPULAR_DEPTH:
        return _popular_in_topic(conn, topic_id, limit)
    ranked: list[int] = shared_lists.shared(
        conn,
        ("topic", topic_id),
        functools.partial(_popular_in_topic, topic_id=topic_id, limit=POPULAR_DEPTH),
    )
    return ranked[:limit]


def _popular_in_topic(conn: Connection, topic_id: int, limit: int) -> list[int]:
    return [
        int(p)
        for p in conn.execute(
            select(pin_topics.c.pin_id)
            .join(pins, pins.c.id == pin_topics.c.pin_id)
            .where(pin_topics.c.topic_id == topic_id)
            .order_by(pins.c.save_count.desc(), pins.c.id)
            .limit(limit)
        ).scalars()
    ]


def topic_interests(conn: Connection, profile: Profile, limit: int) -> list[Candidate]:
    """Popular Pins in the topics of what the viewer saved, clicked and looked at closely."""
    top = viewer_topics(conn, profile)
    out: list[Candidate] = []
    per_topic = max(1, limit // max(1, len(top)))
    for topic_id, slug, name, n in top:
        reason = {"kind": "topic_interest", "topic": slug, "topic_name": name, "engagements": n}
        ranked = _unseen(functools.partial(popular_in_topic, conn, topic_id), per_topic, profile.excluded)
        out.extend(Candidate(pin_id, dict(reason)) for pin_id in ranked)
    return out


T = TypeVar("T")


def _unseen(
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
            "at": v.visited_at,
            "visits": visits_per_domain[d],
        }
        from_site = popular_from_domain(conn, d, per_domain)
        out.extend(Candidate(p, {**base, "via": "pins_from_site"}) for p in from_site)
        for topic_id, slug, name, _ in domain_topics(conn, d):
            for p in popular_in_topic(conn, topic_id, per_domain):
                out.append(Candidate(p, {**base, "via": "site_topic", "topic": slug, "topic_name": name}))
    return out


# What a site's Pins are (its most saved Pins, its main topics) is catalogue data, the same for everyone,
# so like the topic lists it is kept per domain (recommend.shared_lists). Who visited which site is not:
# that still comes, per request, only from the consent-checked visits in `Profile.visits`.


def popular_from_domain(conn: Connection, domain: str, limit: int) -> list[int]:
    """The domain's most saved Pins."""
    if limit > POPULAR_DEPTH:
        return _popular_from_domain(conn, domain, limit)
    ranked: list[int] = shared_lists.shared(
        conn,
        ("site pins", domain),
        functools.partial(_popular_from_domain, domain=domain, limit=POPULAR_DEPTH),
    )
    return ranked[:limit]


def _popular_from_domain(conn: Connection, domain: str, limit: int) -> list[int]:
    return [
        int(p)
        for p in conn.execute(
            select(pins.c.id)
            .where(pins.c.domain == domain)
            .order_by(pins.c.save_count.desc(), pins.c.id)
            .limit(limit)
        ).scalars()
    ]


def domain_topics(conn: Connection, domain: str, k: int = 2) -> list[tuple[int, str, str, int]]:
    """The main topics of (up to 200 of) the domain's Pins."""
    found: list[tuple[int, str, str, int]] = shared_lists.shared(
        conn, ("site topics", domain, k), functools.partial(_domain_topics, domain=domain, k=k)
    )
    return found


def _domain_topics(conn: Connection, domain: str, k: int) -> list[tuple[int, str, str, int]]:
    ids = conn.execute(select(pins.c.id).where(pins.c.domain == domain).limit(200)).scalars().all()
    # The Pins' topics from memory (content.pin_facts): the join costs more, and its refills of every
    # domain at once stalled a feed request for tens of milliseconds each half minute.
    return _top_topics_in_memory(conn, (int(i) for i in ids), k)


def popular(conn: Connection, limit: int, excluded: set[int] | None = None) -> list[Candidate]:
    """The most saved Pins of all but `excluded` (the top POPULAR_DEPTH kept for POPULAR_TTL_SECONDS)."""

    def ranked(k: int) -> list[tuple[int, int]]:
        if k > POPULAR_DEPTH:
            return _popular(conn, k)
        top: list[tuple[int, int]] = shared_lists.shared(
            conn, "popular", functools.partial(_popular, limit=POPULAR_DEPTH)
        )
        return top[:k]

    rows = _unseen(ranked, limit, excluded or set(), key=lambda r: r[0])
    return [Candidate(p, {"kind": "popular", "saves": n}) for p, n in rows]


def _popular(conn: Connection, limit: int) -> list[tuple[int, int]]:
    rows = conn.execute(
        select(pins.c.id, pins.c.save_count).order_by(pins.c.save_count.desc(), pins.c.id).limit(limit)
    )
    return [(int(r[0]), int(r[1])) for r in rows]


# --- the trained model and cold start ----------------------------------------------------------------

# How much of the viewer's history the model sees per request: enough to capture taste, few enough that
# scoring each history item on its own (to name the one behind each Pin) stays cheap.
TASTE_SAVES = 40
TASTE_ENGAGED = 16
TASTE_DOMAINS = 8
TASTE_WEIGHTS = {"save": 1.0, "engagement": 0.5, "site": 0.5}


History = list[tuple[int, float, dict[str, Any]]]


def _taste_history(conn: Connection, profile: Profile, model: Model) -> History:
    """(model column, weight, what it is) for the viewer's recent saves, clicks and usable visits."""
    history: History = []
    saved = profile.saved[:TASTE_SAVES]
    for (pin_id, at), col in zip(saved, model.pin_index([p for p, _ in saved]).tolist(), strict=True):
        if col >= 0:
            history.append((col, TASTE_WEIGHTS["save"], {"via": "save", "pin_id": pin_id, "at": at}))
    engaged = [p for p in dict.fromkeys(engaged_pins(conn, profile)) if p not in profile.excluded]
    engaged = engaged[:TASTE_ENGAGED]
    for pin_id, col in zip(engaged, model.pin_index(engaged).tolist(), strict=True):
        if col >= 0:
            history.append((col, TASTE_WEIGHTS["engagement"], {"via": "engagement", "pin_id": pin_id}))
    # Visits arrive here only through the request's consent decision (profile.visits); newest first.
    latest: dict[str, Visit] = {}
    counts: Counter[str] = Counter()
    for v in profile.visits:
        latest.setdefault(v.domain, v)
        counts[v.domain] += 1
    for domain in list(latest)[:TASTE_DOMAINS]:
        col = model.domain_column(domain)
        if col >= 0:
            last = latest[domain].visited_at
            origin = {"via": "site", "domain": domain, "at": last, "visits": counts[domain]}
            history.append((col, TASTE_WEIGHTS["site"], origin))
    return history


def similar_taste(conn: Connection, profile: Profile, model: Model | None, limit: int) -> list[Candidate]:
    """Pins the trained model scores highest for the viewer's history, each naming the history item
    (a save, a close-up or click, or a visited site) that contributes most to its score."""
    if model is None:
        return []
    history = _taste_history(conn, profile, model)
    if not history:
        return []
    key = ("taste", limit, tuple((c, w, tuple(o.items())) for c, w, o in history), _excluded_key(profile))
    found: Memoized | None = model.memo.get(key)
    if found is None:
        found = _memoizable(_similar_taste(conn, profile, model, history, limit))
        model.memo.put(key, found)
    return _from_memo(found)


def _similar_taste(
    conn: Connection, profile: Profile, model: Model, history: History, limit: int
) -> list[Candidate]:
    columns, weights = [h[0] for h in history], [h[1] for h in history]
    # The filter is linear in the history: score the whole history once, then split the score of only
    # the Pins kept into what each history item adds; the largest part names the reason.
    total = model.score(columns, weights)
    drop = model.pin_index(list(profile.excluded))
    total[drop[drop >= 0]] = 0.0
    total[[c for c in columns if c < model.n_pins]] = 0.0
    best = top_positive(total, limit)
    if len(best) == 0:
        return []
    because = model.contributions(columns, weights, best).argmax(axis=0)
    origins = [history[int(i)][2] for i in because]
    titles = pin_titles(conn, profile, [o["pin_id"] for o in origins if "pin_id" in o])
    out = []
    for col, origin in zip(best.tolist(), origins, strict=True):
        if origin["via"] == "site":
            reason = {"kind": "offsite_visit", **origin, "via": "similar_taste"}
        else:
            reason = {"kind": "similar_taste", **origin, "pin_title": titles.get(origin["pin_id"], "")}
        out.append(Candidate(int(model.pin_ids[col]), reason))
    return out


def pin_titles(conn: Connection, profile: Profile, pin_ids: Iterable[int]) -> dict[int, str]:
    """Titles of Pins the reasons name, read once per request: the first read also takes the titles of
    the viewer's recent saves, which the other sources name too."""
    wanted = set(pin_ids)
    missing = wanted - profile._titles.keys()
    if missing:
        missing |= {p for p, _ in profile.saved[:TASTE_SAVES]} - profile._titles.keys()
        facts = content.pin_facts(conn, missing)
        profile._titles.update({p: str(facts[p]["title"]) if p in facts else "" for p in missing})
    return {p: profile._titles[p] for p in wanted}


NEW_PIN_AGE = timedelta(days=14)
NEW_PIN_MAX_SAVES = 3
# Finding a topic's new Pins walks all of the topic's Pins (about 10 ms of a feed on the demo world), so,
# like popular lists, they are kept per topic for POPULAR_TTL_SECONDS: a new Pin shows up within that.
# (Not refilled ahead like shared_lists: which Pins count as new depends on the request's clock.)
NewPin = tuple[int, datetime, int]  # (pin id, created at, saves)
_new_cache: weakref.WeakKeyDictionary[Engine, dict[int, tuple[float, datetime, list[NewPin]]]] = (
    weakref.WeakKeyDictionary()
)


def new_pins_in_topic(conn: Connection, topic_id: int, now: datetime) -> list[NewPin]:
    """The topic's Pins created in the last 14 days with at most 3 saves, newest first."""
    per_engine = _new_cache.setdefault(conn.engine, {})
    hit = per_engine.get(topic_id)
    # A clock moved back (tests) could miss older Pins: read again then too.
    if hit is None or time.monotonic() >= hit[0] or now < hit[1]:
        rows = conn.execute(
            select(pins.c.id, pins.c.created_at, pins.c.save_count)
            .join(pin_topics, pin_topics.c.pin_id == pins.c.id)
            .where(
                pin_topics.c.topic_id == topic_id,
                pins.c.created_at >= now - NEW_PIN_AGE,
                pins.c.save_count <= NEW_PIN_MAX_SAVES,
            )
            .order_by(pins.c.created_at.desc(), pins.c.id.desc())
            .limit(POPULAR_DEPTH)
        )
        hit = (shared_lists.expiry(time.monotonic()), now, [(int(p), at, int(n)) for p, at, n in rows])
        per_engine[topic_id] = hit
    return [p for p in hit[2] if p[1] >= now - NEW_PIN_AGE and p[1] <= now]


def new_in_topic(conn: Connection, profile: Profile, now: datetime, limit: int) -> list[Candidate]:
    """Cold start: Pins created in the last 14 days with few saves, in the viewer's topics, newest
    first, so a new Pin reaches people through its topics before anyone has engaged with it."""
    found: dict[int, tuple[datetime, int, str, str]] = {}
    for topic_id, slug, name, _ in viewer_topics(conn, profile):
        for pin_id, created, saves in new_pins_in_topic(conn, topic_id, now):
            if pin_id not in profile.excluded:
                found.setdefault(pin_id, (created, saves, slug, name))
    newest = sorted(found.items(), key=lambda kv: (kv[1][0], kv[0]), reverse=True)[:limit]
    out = []
    for pin_id, (created, n, slug, name) in newest:
        reason = {"kind": "new_in_topic", "topic": slug, "topic_name": name, "created_at": created}
        out.append(Candidate(pin_id, {**reason, "saves": n}))
    return out
