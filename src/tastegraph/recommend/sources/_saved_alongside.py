"""Saved alongside: Pins that share boards with the viewer's recent saves ("people who saved X also
saved this")."""

from __future__ import annotations

from datetime import datetime

import numpy as np
from sqlalchemy import Connection

from tastegraph.catalog import graph_reads
from tastegraph.recommend.model import Model
from tastegraph.recommend.reasons import SavedAlongside
from tastegraph.recommend.sources._base import Candidate, FeedSource, Memoized, from_memo, memoizable
from tastegraph.recommend.sources._profile import Profile, pin_titles


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
                found = memoizable(_saved_alongside(conn, profile, model, cols, recent, limit))
                model.memo.put(key, found)
            return from_memo(found)
        if known.any():
            rows += _co_saved_in_model(model, cols[known], np.asarray(seed_ids)[known], limit * 3)
    if live:
        rows += graph_reads.co_saved_with(conn, live, seed_ids, limit * 3)
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
        out.append(Candidate(pin_id, SavedAlongside(via, titles.get(via, ""), n, saved_at[via])))
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


SOURCE = FeedSource(
    "saved_alongside",
    3,
    lambda conn, profile, ask: saved_alongside(conn, profile, ask.limit, model=ask.model),
)
