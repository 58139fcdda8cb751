"""The home feed: gather candidates from every source, merge their reasons, blend and cut."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from tastegraph.collect import visits as visit_store
from tastegraph.consent import Decision
from tastegraph.recommend import sources
from tastegraph.recommend.explain import with_text
from tastegraph.recommend.model import Model
from tastegraph.recommend.sources import Candidate, Profile

MAX_LIMIT = 100

# Share of the feed each source may claim, in blending order. Off-site and co-save signals are the
# strongest evidence of current intent, and the trained model's taste scores rank with co-saves; brand-new
# Pins in the viewer's topics get a steady share so they reach people before anyone engages with them;
# popular Pins only fill what is left.
SOURCE_WEIGHTS: dict[str, int] = {
    "offsite_visit": 4,
    "similar_taste": 3,
    "saved_alongside": 3,
    "followed_board": 2,
    "followed_person": 2,
    "topic_interest": 2,
    "new_in_topic": 2,
    "popular": 1,
}


@dataclass(frozen=True)
class FeedItem:
    pin_id: int
    reasons: list[dict[str, Any]]

    def as_dict(self) -> dict[str, Any]:
        return {"pin_id": self.pin_id, "reasons": self.reasons}


def _gather(
    conn: Connection, profile: Profile, pool: int, now: datetime, model: Model | None
) -> dict[str, list[Candidate]]:
    return {
        "offsite_visit": sources.offsite(conn, profile, pool),
        "similar_taste": sources.similar_taste(conn, profile, model, pool),
        "saved_alongside": sources.saved_alongside(conn, profile, pool, model=model),
        "followed_board": sources.followed_boards(conn, profile, pool),
        "followed_person": sources.followed_people(conn, profile, pool),
        "topic_interest": sources.topic_interests(conn, profile, pool),
        "new_in_topic": sources.new_in_topic(conn, profile, now, pool),
        "popular": sources.popular(conn, pool, profile.excluded),
    }


def _blend(by_source: dict[str, list[Candidate]], excluded: set[int], limit: int) -> list[FeedItem]:
    """Smooth weighted round-robin over the sources; a Pin found by several sources keeps every reason."""
    queues = {s: [c.pin_id for c in by_source[s] if c.pin_id not in excluded] for s in SOURCE_WEIGHTS}
    heads = dict.fromkeys(SOURCE_WEIGHTS, 0)
    credit = dict.fromkeys(SOURCE_WEIGHTS, 0)
    total = sum(SOURCE_WEIGHTS.values())
    chosen: list[int] = []
    taken: set[int] = set()
    while len(chosen) < limit:
        live = [s for s in SOURCE_WEIGHTS if heads[s] < len(queues[s])]
        if not live:
            break
        for s in live:
            credit[s] += SOURCE_WEIGHTS[s]
        pick = max(live, key=lambda s: credit[s])
        credit[pick] -= total
        pin_id = queues[pick][heads[pick]]
        heads[pick] += 1
        if pin_id not in taken:
            taken.add(pin_id)
            chosen.append(pin_id)
    # Reasons of the chosen Pins only, in source order, each once.
    reasons: dict[int, list[dict[str, Any]]] = {p: [] for p in chosen}
    for cands in by_source.values():
        for c in cands:
            bucket = reasons.get(c.pin_id)
            if bucket is not None and c.reason not in bucket:
                bucket.append(c.reason)
    return [FeedItem(p, with_text(reasons[p])) for p in chosen]


def home_feed(
    conn: Connection,
    user_id: int | None,
    offsite_permit: Decision,
    limit: int = 25,
    *,
    now: datetime,
    model: Model | None = None,
) -> list[FeedItem]:
    """The home feed for a signed-in person or a signed-out browser.

    Off-site visits come only through `offsite_permit`, the consent decision for this request; when it
    refuses, no off-site data is read at all (and the model sees none either). Without a trained
    `model` the feed uses the live sources only.
    """
    limit = max(1, min(limit, MAX_LIMIT))
    visits = visit_store.usable_visits(conn, offsite_permit)
    profile = sources.load_profile(conn, user_id, visits)
    return _blend(_gather(conn, profile, max(limit, 30), now, model), profile.excluded, limit)


def why(
    conn: Connection,
    user_id: int | None,
    offsite_permit: Decision,
    pin_id: int,
    *,
    now: datetime,
    model: Model | None = None,
) -> list[dict[str, Any]]:
    """Every reason the feed machinery has for showing `pin_id` to this person, from the same sources."""
    visits = visit_store.usable_visits(conn, offsite_permit)
    profile = sources.load_profile(conn, user_id, visits)
    if pin_id in profile.excluded:
        return []
    found: list[dict[str, Any]] = []
    for cands in _gather(conn, profile, MAX_LIMIT, now, model).values():
        for c in cands:
            if c.pin_id == pin_id and c.reason not in found:
                found.append(c.reason)
    return with_text(found)
