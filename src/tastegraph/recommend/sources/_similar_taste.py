"""The trained model's taste scores: the Pins the model scores highest for the viewer's history, each
naming the history item (a save, a close-up or click, or a visited site) that contributes most to its
score."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Literal, NamedTuple

from sqlalchemy import Connection

from tastegraph.collect import Visit
from tastegraph.recommend.model import Model
from tastegraph.recommend.reasons import OffsiteVisit, SimilarTaste
from tastegraph.recommend.sources._base import Candidate, FeedSource, Memoized, from_memo, memoizable
from tastegraph.recommend.sources._profile import (
    TASTE_SAVES,
    Profile,
    engaged_pins,
    excluded_key,
    in_removed_topic,
    pin_titles,
)
from tastegraph.recommend.topk import top_positive

# How much of the viewer's history the model sees per request: enough to capture taste, few enough that
# scoring each history item on its own (to name the one behind each Pin) stays cheap.
TASTE_ENGAGED = 16
TASTE_DOMAINS = 8
TASTE_WEIGHTS = {"save": 1.0, "engagement": 0.5, "site": 0.5}


class PinOrigin(NamedTuple):
    """A Pin of the viewer's history: a save (with when) or a click or close-up."""

    via: Literal["save", "engagement"]
    pin_id: int
    at: datetime | None


class SiteOrigin(NamedTuple):
    """A site the viewer visited (`visits` times, last `at`)."""

    domain: str
    at: datetime
    visits: int


History = list[tuple[int, float, PinOrigin | SiteOrigin]]  # (model column, weight, what it is)


def _taste_history(conn: Connection, profile: Profile, model: Model) -> History:
    """(model column, weight, what it is) for the viewer's recent saves, clicks and usable visits."""
    history: History = []
    saved = profile.saved[:TASTE_SAVES]
    # Feed controls: what the viewer did in a topic they removed no longer speaks for their taste.
    removed = in_removed_topic(conn, profile, [p for p, _ in saved] + engaged_pins(conn, profile))
    saved = [s for s in saved if s[0] not in removed]
    for (pin_id, at), col in zip(saved, model.pin_index([p for p, _ in saved]).tolist(), strict=True):
        if col >= 0:
            history.append((col, TASTE_WEIGHTS["save"], PinOrigin("save", pin_id, at)))
    engaged = [
        p
        for p in dict.fromkeys(engaged_pins(conn, profile))
        if p not in profile.excluded and p not in removed
    ]
    engaged = engaged[:TASTE_ENGAGED]
    for pin_id, col in zip(engaged, model.pin_index(engaged).tolist(), strict=True):
        if col >= 0:
            history.append((col, TASTE_WEIGHTS["engagement"], PinOrigin("engagement", pin_id, None)))
    # Visits arrive here only through the request's consent decision (profile.visits); newest first.
    latest: dict[str, Visit] = {}
    counts: Counter[str] = Counter()
    for v in profile.visits:
        latest.setdefault(v.domain, v)
        counts[v.domain] += 1
    for domain in list(latest)[:TASTE_DOMAINS]:
        col = model.domain_column(domain)
        if col >= 0:
            site = SiteOrigin(domain, latest[domain].visited_at, counts[domain])
            history.append((col, TASTE_WEIGHTS["site"], site))
    return history


def similar_taste(conn: Connection, profile: Profile, model: Model | None, limit: int) -> list[Candidate]:
    """Pins the trained model scores highest for the viewer's history, each naming the history item
    (a save, a close-up or click, or a visited site) that contributes most to its score."""
    if model is None:
        return []
    history = _taste_history(conn, profile, model)
    if not history:
        return []
    # The key as plain tuples: the collector never stops tracking a named tuple (nor anything holding one).
    key = ("taste", limit, tuple((c, w, tuple(o)) for c, w, o in history), excluded_key(profile))
    found: Memoized | None = model.memo.get(key)
    if found is None:
        found = memoizable(_similar_taste(conn, profile, model, history, limit))
        model.memo.put(key, found)
    return from_memo(found)


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
    titles = pin_titles(conn, profile, [o.pin_id for o in origins if isinstance(o, PinOrigin)])
    out = []
    for col, origin in zip(best.tolist(), origins, strict=True):
        reason: OffsiteVisit | SimilarTaste
        if isinstance(origin, SiteOrigin):
            reason = OffsiteVisit(origin.domain, origin.at, origin.visits, "similar_taste")
        else:
            reason = SimilarTaste(origin.via, origin.pin_id, titles.get(origin.pin_id, ""), origin.at)
        out.append(Candidate(int(model.pin_ids[col]), reason))
    return out


SOURCE = FeedSource(
    "similar_taste", 3, lambda conn, profile, ask: similar_taste(conn, profile, ask.model, ask.limit)
)
