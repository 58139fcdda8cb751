"""The home feed: gather candidates from every source, merge their reasons, blend and cut."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection

from tastegraph.collect import visits as visit_store
from tastegraph.consent import Decision
from tastegraph.recommend.model import Model
from tastegraph.recommend.reasons import Reason, ReasonJson, reasons_json
from tastegraph.recommend.shaping import ToneDown, demote, shaping
from tastegraph.recommend.sources import FEED_SOURCES, Ask, Candidate, Profile, load_profile

MAX_LIMIT = 100

# Share of the feed each source may claim (its `weight`), in blending order (FEED_SOURCES). Off-site and
# co-save signals are the strongest evidence of current intent (4 and 3), and the trained model's taste
# scores rank with co-saves (3); follows and topics get 2, and so do brand-new Pins in the viewer's
# topics, a steady share so they reach people before anyone engages with them; popular Pins (1) only
# fill what is left.
SOURCE_WEIGHTS: dict[str, int] = {s.name: s.weight for s in FEED_SOURCES}


@dataclass(frozen=True)
class FeedItem:
    """A recommended Pin with every reason it earned (`because`); `reasons` is their JSON."""

    pin_id: int
    because: tuple[Reason, ...]

    @property
    def reasons(self) -> list[ReasonJson]:
        # A plain property (read once per item shown): functools.cached_property takes a lock per read.
        return reasons_json(self.because)

    def as_dict(self) -> dict[str, object]:
        return {"pin_id": self.pin_id, "reasons": self.reasons}


def _gather(
    conn: Connection, profile: Profile, pool: int, now: datetime, model: Model | None
) -> dict[str, list[Candidate]]:
    ask = Ask(pool, now, model)
    return {s.name: s.candidates(conn, profile, ask) for s in FEED_SOURCES}


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
    reasons: dict[int, list[Reason]] = {p: [] for p in chosen}
    for cands in by_source.values():
        for c in cands:
            bucket = reasons.get(c.pin_id)
            if bucket is not None and c.reason not in bucket:
                bucket.append(c.reason)
    return [FeedItem(p, tuple(reasons[p])) for p in chosen]


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
    return home_feed_shaped(conn, user_id, offsite_permit, limit, now=now, model=model).items


@dataclass(frozen=True)
class ShapedFeed:
    """The feed, and the sites and topics the viewer's feed controls tone down in it (recommend.shaping)."""

    items: list[FeedItem]
    toned_down: list[ToneDown]


def home_feed_shaped(
    conn: Connection,
    user_id: int | None,
    offsite_permit: Decision,
    limit: int = 25,
    *,
    now: datetime,
    model: Model | None = None,
) -> ShapedFeed:
    """`home_feed`, with what the viewer's hides and removed topics do to it."""
    limit = max(1, min(limit, MAX_LIMIT))
    visits = visit_store.usable_visits(conn, offsite_permit)
    profile = load_profile(conn, user_id, visits)
    shape = shaping(conn, profile)
    gathered = _gather(conn, profile, max(limit, 30), now, model)
    if not shape:
        return ShapedFeed(_blend(gathered, profile.excluded, limit), [])
    # Feed controls: blend deeper, then let the strikes push Pins of hidden sites and topics down.
    blended = _blend(gathered, profile.excluded, min(3 * limit, 3 * MAX_LIMIT))
    by_pin = {i.pin_id: i for i in blended}
    kept = demote(conn, shape, [i.pin_id for i in blended])[:limit]
    return ShapedFeed([by_pin[p] for p in kept], shape.toned_down())


def why(
    conn: Connection,
    user_id: int | None,
    offsite_permit: Decision,
    pin_id: int,
    *,
    now: datetime,
    model: Model | None = None,
) -> list[ReasonJson]:
    """Every reason the feed machinery has for showing `pin_id` to this person, from the same sources,
    as JSON (the way the API and the pages show it)."""
    visits = visit_store.usable_visits(conn, offsite_permit)
    profile = load_profile(conn, user_id, visits)
    if pin_id in profile.excluded:
        return []
    found: list[Reason] = []
    for cands in _gather(conn, profile, MAX_LIMIT, now, model).values():
        for c in cands:
            if c.pin_id == pin_id and c.reason not in found:
                found.append(c.reason)
    return reasons_json(found)
