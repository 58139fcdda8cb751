"""Related Pins ("more like this"): Pixie walks on the board x Pin graph from the trained model, then
live co-saves, then popular Pins of the same topics. Each Pin's reason names a board that links it to
the query Pin in the graph the walk used; board names are read live, so a deleted board is never named.
"""

from __future__ import annotations

import numba
import numpy as np
from sqlalchemy import Connection

from tastegraph.catalog import graph_reads
from tastegraph.recommend.feed import FeedItem
from tastegraph.recommend.model import Model
from tastegraph.recommend.reasons import Reason, SameTopic, SavedTogether
from tastegraph.recommend.sources import Candidate, excluded_pins, popular_in_topic
from tastegraph.recommend.walks import pixie

WALK_STEPS = 20_000
WALK_KEEP = 300  # results kept per walk: enough for the largest page and the viewer's exclusions


def _seed(model: Model, q: int) -> int:
    return model.seed * 1_000_003 + q


def related_pins(
    conn: Connection, pin_id: int, user_id: int | None, model: Model | None, limit: int
) -> list[FeedItem]:
    """Up to `limit` Pins related to `pin_id`: never `pin_id` itself, nor a Pin the viewer (when signed
    in) saved or hid."""
    skip = excluded_pins(conn, user_id) | {pin_id}
    want = limit + min(len(skip), 500)  # the live sources filter `skip` after the query
    order: dict[int, list[Reason]] = {}

    def take(cands: list[Candidate]) -> None:
        """Fill up to `limit` Pins; a Pin found again by a later source keeps one reason per kind."""
        for c in cands:
            if c.pin_id not in skip and (c.pin_id in order or len(order) < limit):
                bucket = order.setdefault(c.pin_id, [])
                if all(r.kind != c.reason.kind for r in bucket):
                    bucket.append(c.reason)

    if model is not None:
        take(walked(conn, model, pin_id, skip, limit))
    if len(order) < limit:
        take(co_saved(conn, pin_id, want))
    if len(order) < limit:
        take(same_topic(conn, pin_id, want))
    return [FeedItem(p, tuple(r)) for p, r in order.items()]


def walked(conn: Connection, model: Model, pin_id: int, skip: set[int], limit: int) -> list[Candidate]:
    """The Pins Pixie walks from `pin_id` visit most, up to `limit` that a board links to it."""
    q = int(model.pin_index([pin_id])[0])
    if q < 0:
        return []  # a Pin newer than the model
    top = 2 * limit + 10  # spare for results only longer paths reach
    exclude = model.pin_index(list(skip))
    exclude = exclude[exclude >= 0]
    # The walk from q depends only on the model and q (the exclusions only drop results afterwards),
    # and so do the boards linking a result to q: the walk's best WALK_KEEP results are kept per model,
    # with the links of those results requests have needed so far, and filtered per request; a request
    # that excludes too many of them walks again.
    cached: tuple[np.ndarray, dict[int, Link]] | None = model.walks.get(q)
    if cached is None:
        walk = pixie(
            model.graph, np.asarray([q]), total_steps=WALK_STEPS, top=WALK_KEEP, seed=_seed(model, q)
        )
        cached = (walk.items, {})
        model.walks.put(q, cached)
    kept = cached[0][np.isin(cached[0], exclude, invert=True)][:top]
    if len(kept) < top and len(cached[0]) == WALK_KEEP:
        items = pixie(
            model.graph,
            np.asarray([q]),
            total_steps=WALK_STEPS,
            top=top,
            seed=_seed(model, q),
            exclude=exclude,
        ).items
        all_links = _linking_boards(model, q, items)
    else:
        known = cached[1]
        missing = np.asarray([r for r in kept.tolist() if r not in known], dtype=np.int64)
        if len(missing):
            known.update((link[0], link) for link in _linking_boards(model, q, missing))
        all_links = [known[r] for r in kept.tolist()]
    links = [link for link in all_links if link[2]][:limit]
    names = graph_reads.board_names(
        conn, {int(model.board_ids[b]) for _, _, ranked in links for b, _ in ranked}
    )
    out = []
    for r, count, ranked in links:
        live = [(int(model.board_ids[b]), shares) for b, shares in ranked if int(model.board_ids[b]) in names]
        if not live:
            continue  # its linking boards were deleted since training
        board_id, shares = live[0]
        reason = SavedTogether(pin_id, count, board_id, names[board_id], shares)
        out.append(Candidate(int(model.pin_ids[r]), reason))
    return out


# (result Pin position, boards holding both Pins, the best 3 linking ((board position, holds the query)))
# Tuples of plain values all the way down: the garbage collector stops tracking them, so the thousands a
# walk cache keeps do not lengthen its full passes (see api.app.freeze_startup_heap).
Link = tuple[int, int, tuple[tuple[int, bool], ...]]
Links = list[Link]


def _linking_boards(model: Model, q: int, results: np.ndarray) -> Links:
    """For each result Pin: how many boards hold it and the query Pin `q`, and the boards holding it
    that link it to `q` (they hold `q` too, or another Pin saved with `q`), best first: boards holding
    both, then by Pins shared with `q`'s boards (the best 3). A result only longer paths reach has none."""
    pb, bp = model.pin_boards, model.board_pins
    n_both = np.zeros(len(results), dtype=np.int64)
    best = np.full((len(results), 3), -1, dtype=np.int64)
    best_both = np.zeros((len(results), 3), dtype=np.bool_)
    _links(
        pb.indptr,
        pb.indices,
        bp.indptr,
        bp.indices,
        q,
        np.asarray(results, dtype=np.int64),
        n_both,
        best,
        best_both,
    )
    return [(r, int(n_both[k]), _ranked(best[k], best_both[k])) for k, r in enumerate(results.tolist())]


def _ranked(boards: np.ndarray, holds_q: np.ndarray) -> tuple[tuple[int, bool], ...]:
    return tuple((int(b), bool(h)) for b, h in zip(boards, holds_q, strict=True) if b >= 0)


@numba.njit(cache=True, nogil=True)
def _links(
    pb_ptr: np.ndarray,
    pb_idx: np.ndarray,
    bp_ptr: np.ndarray,
    bp_idx: np.ndarray,
    q: int,
    results: np.ndarray,
    n_both: np.ndarray,
    best: np.ndarray,
    best_both: np.ndarray,
) -> None:
    """The loops of `_linking_boards`, over the CSR arrays of Pins x boards (pb) and boards x Pins (bp).

    A board's overlap (Pins on it saved with q, the result itself not counted) is counted only for the
    boards that can make a result's best 3: all its boards, or only those holding q when 3 or more do.
    """
    n_pins = len(pb_ptr) - 1
    n_boards = len(bp_ptr) - 1
    near = np.zeros(n_pins, dtype=np.bool_)  # Pins saved with q (and q)
    holds_q = np.zeros(n_boards, dtype=np.bool_)
    for j in range(pb_ptr[q], pb_ptr[q + 1]):
        b = pb_idx[j]
        holds_q[b] = True
        for i in range(bp_ptr[b], bp_ptr[b + 1]):
            near[bp_idx[i]] = True
    for k in range(len(results)):
        r = results[k]
        both = 0
        for j in range(pb_ptr[r], pb_ptr[r + 1]):
            if holds_q[pb_idx[j]]:
                both += 1
        n_both[k] = both
        top_over = np.full(3, -1, dtype=np.int64)
        for j in range(pb_ptr[r], pb_ptr[r + 1]):
            b = pb_idx[j]
            h = holds_q[b]
            if both >= 3 and not h:
                continue
            over = 0
            for i in range(bp_ptr[b], bp_ptr[b + 1]):
                p = bp_idx[i]
                if near[p] and p != r:
                    over += 1
            if not h and over == 0:
                continue  # does not link r to q
            # Insert (holds q, overlap, -board) into the best 3, largest first.
            for slot in range(3):
                cur = best[k, slot]
                better = cur < 0
                if not better:
                    ch = best_both[k, slot]
                    if h != ch:
                        better = h
                    elif over != top_over[slot]:
                        better = over > top_over[slot]
                    else:
                        better = b < cur
                if better:
                    for m in range(2, slot, -1):
                        best[k, m] = best[k, m - 1]
                        best_both[k, m] = best_both[k, m - 1]
                        top_over[m] = top_over[m - 1]
                    best[k, slot] = b
                    best_both[k, slot] = h
                    top_over[slot] = over
                    break


def co_saved(conn: Connection, pin_id: int, want: int) -> list[Candidate]:
    """Live: Pins on the same boards as `pin_id`, most shared boards first."""
    rows = graph_reads.co_saved_boards(conn, pin_id, want)
    names = graph_reads.board_names(conn, {int(r[2]) for r in rows})
    return [
        Candidate(int(p), SavedTogether(pin_id, int(count), int(b), names.get(int(b), ""), True))
        for p, count, b in rows
    ]


def same_topic(conn: Connection, pin_id: int, want: int) -> list[Candidate]:
    """Popular Pins in the query Pin's topics: what a brand-new Pin with no saves is related to."""
    out: list[Candidate] = []
    for topic_id, slug, name in graph_reads.topics_of_pin(conn, pin_id):
        reason = SameTopic(pin_id, slug, name)
        out.extend(Candidate(p, reason) for p in popular_in_topic(conn, topic_id, want))
    return out
