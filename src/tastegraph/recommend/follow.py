"""Boards and people to follow.

The trained model (when there is one) only ranks; every reason is computed from live rows (what is on
the board now, what the other person has saved now), so it is true when it is shown. People are matched
on saves only, which others can see on their boards; their clicks, close-ups and off-site visits never
decide or explain a suggestion to someone else.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from sqlalchemy import Connection

from tastegraph.catalog import graph_reads
from tastegraph.recommend.model import Model
from tastegraph.recommend.reasons import (
    BoardMatch,
    FollowReason,
    ReasonJson,
    SavedSamePin,
    SharedTopic,
    reasons_json,
)
from tastegraph.recommend.sources import Profile, engaged_pins, load_profile, viewer_topics
from tastegraph.recommend.topk import top_positive

# Pins the model scores highest for the viewer count as "like ones you saved".
TASTE_POOL = 200


@dataclass(frozen=True)
class Suggestion:
    """A board or person to follow (`id`) with its reasons (`because`); `reasons` is their JSON."""

    id: int
    because: tuple[FollowReason, ...]

    @property
    def reasons(self) -> list[ReasonJson]:
        # A plain property (read once per item shown): functools.cached_property takes a lock per read.
        return reasons_json(self.because)


def _liked(conn: Connection, profile: Profile) -> dict[int, float]:
    """The viewer's own positive signals: saves (1.0) and recent clicks and close-ups (0.5)."""
    liked = {p: 0.5 for p in engaged_pins(conn, profile) if p not in profile.excluded}
    liked.update(dict.fromkeys(profile.saved_ids, 1.0))
    return liked


def _taste(model: Model, liked: dict[int, float], hidden: set[int]) -> dict[int, float]:
    """`liked` plus the Pins the model scores highest for it (never a hidden one), scaled to at most 1."""
    ids = list(liked)
    cols = model.pin_index(ids)
    known = cols >= 0
    taste = dict(liked)
    if not known.any():
        return taste
    weights = [liked[p] for p, k in zip(ids, known.tolist(), strict=True) if k]
    scores = model.score(cols[known].tolist(), weights)
    scores[cols[known]] = 0.0
    drop = model.pin_index(list(hidden))
    scores[drop[drop >= 0]] = 0.0
    top = top_positive(scores, TASTE_POOL)
    if len(top):
        peak = float(scores[top[0]])
        for c in top.tolist():
            taste.setdefault(int(model.pin_ids[c]), float(scores[c]) / peak)
    return taste


def _taste_vector(model: Model, taste: dict[int, float]) -> np.ndarray:
    cols = model.pin_index(list(taste))
    vec = np.zeros(model.n_pins, dtype=np.float32)
    vec[cols[cols >= 0]] = np.asarray(list(taste.values()), dtype=np.float32)[cols >= 0]
    return vec


def _top(score: np.ndarray, want: int) -> list[int]:
    """Positions of the `want` highest positive scores, best first, ties by position."""
    return [int(i) for i in top_positive(score, want)]


def _damped(m: sp.csr_matrix, vec: np.ndarray) -> np.ndarray:
    """Row sums of taste weight, divided by sqrt(row size) so a row does not win by holding everything."""
    sizes = np.diff(m.indptr).astype(np.float32)
    return np.asarray(np.asarray(m @ vec).ravel() / np.sqrt(np.maximum(sizes, 1.0)), dtype=np.float32)


# --- boards ------------------------------------------------------------------------------------------


def boards_to_follow(conn: Connection, user_id: int, model: Model | None, limit: int) -> list[Suggestion]:
    profile = load_profile(conn, user_id, [])
    liked = _liked(conn, profile)
    if not liked:
        return []
    taste = _taste(model, liked, profile.excluded) if model is not None else liked
    skip = graph_reads.own_and_followed_boards(conn, user_id)
    want = limit * 3 + len(skip)
    if model is not None:
        ranked = _rank_boards_model(model, taste, want)
    else:
        ranked = graph_reads.boards_holding_most(conn, list(liked), want)
    ranked = [b for b in ranked if b not in skip]
    return _board_reasons(conn, ranked, taste, liked, bool(profile.saved), limit)


def _rank_boards_model(model: Model, taste: dict[int, float], want: int) -> list[int]:
    score = _damped(model.board_pins, _taste_vector(model, taste))
    return [int(model.board_ids[b]) for b in _top(score, want)]


def _board_reasons(
    conn: Connection,
    ranked: list[int],
    taste: dict[int, float],
    liked: dict[int, float],
    has_saves: bool,
    limit: int,
) -> list[Suggestion]:
    """From what is on each board now: how many of its Pins match the viewer's taste, and the best one."""
    if not ranked:
        return []
    on_board: defaultdict[int, list[int]] = defaultdict(list)
    for b, p in graph_reads.pins_on_boards(conn, ranked):
        if p in taste:
            on_board[b].append(p)
    picks = [b for b in ranked if on_board.get(b)][:limit]
    examples = {b: max(on_board[b], key=lambda p: (liked.get(p, 0.0), taste[p], -p)) for b in picks}
    titles = graph_reads.pin_titles(conn, examples.values())
    out = []
    for b in picks:
        example = examples[b]
        reason = BoardMatch(
            pins=len(on_board[b]),
            yours=sum(1 for p in on_board[b] if p in liked),
            pin_id=example,
            pin_title=titles.get(example, ""),
            from_="saves" if has_saves else "engagement",
        )
        out.append(Suggestion(b, (reason,)))
    return out


# --- people ------------------------------------------------------------------------------------------


def people_to_follow(conn: Connection, user_id: int, model: Model | None, limit: int) -> list[Suggestion]:
    profile = load_profile(conn, user_id, [])
    liked = _liked(conn, profile)
    skip = graph_reads.followees(conn, user_id) | {user_id}
    want = limit * 3 + len(skip)
    ranked: list[int] = []
    if model is not None and liked:
        ranked = _rank_people_model(model, _taste(model, liked, profile.excluded), want)
    elif profile.saved:
        ranked = _rank_people_live(conn, profile.saved_ids, want)
    ranked = [u for u in ranked if u not in skip]
    topics = viewer_topics(conn, profile)
    if len(ranked) < limit and topics:
        more = graph_reads.top_savers_in_topics(conn, [t[0] for t in topics], want)
        ranked += [u for u in more if u not in skip and u not in ranked]
    return _people_reasons(conn, ranked, set(profile.saved_ids), topics, limit)


def _rank_people_model(model: Model, taste: dict[int, float], want: int) -> list[int]:
    """People whose saves carry the most of the viewer's taste."""
    score = _damped(model.saves, _taste_vector(model, taste))
    return [int(model.user_ids[u]) for u in _top(score, want)]


def _rank_people_live(conn: Connection, saved: list[int], want: int) -> list[int]:
    """People who saved the same Pins, each shared Pin weighted 1 / log(2 + its saves) (rare ones say
    more about taste than popular ones)."""
    score: defaultdict[int, float] = defaultdict(float)
    for u, saves in graph_reads.savers_of(conn, saved[:500]):
        score[u] += 1.0 / math.log(2 + saves)
    return [u for u, _ in sorted(score.items(), key=lambda kv: (-kv[1], kv[0]))[:want]]


def _people_reasons(
    conn: Connection,
    ranked: list[int],
    saved: set[int],
    topics: list[tuple[int, str, str, int]],
    limit: int,
) -> list[Suggestion]:
    """A Pin you both saved (the least saved one: it says the most), else the shared topic they save
    most in; from live saves. Someone with neither, or no longer here, is left out."""
    if not ranked:
        return []
    alive = graph_reads.existing_people(conn, ranked)
    shared = _shared_saves(conn, ranked, saved)
    by_topic = _shared_topics(conn, [u for u in ranked if u not in shared], [t[0] for t in topics])
    topic_of = {t[0]: t for t in topics}
    popularity = graph_reads.pin_save_counts(conn, {p for ps in shared.values() for p in ps})
    # (person, (Pins both saved, the least saved of them) or the topic they share)
    picks: list[tuple[int, tuple[int, int] | SharedTopic]] = []
    for u in ranked:
        if u not in alive:
            continue
        if shared.get(u):
            pin = min(shared[u], key=lambda p: (popularity.get(p, 0), p))
            picks.append((u, (len(shared[u]), pin)))
        elif u in by_topic:
            topic_id, count = by_topic[u]
            _, slug, name, _ = topic_of[topic_id]
            picks.append((u, SharedTopic(slug, name, count)))
        if len(picks) == limit:
            break
    titles = graph_reads.pin_titles(conn, {p[1] for _, p in picks if isinstance(p, tuple)})
    return [
        Suggestion(u, (SavedSamePin(p[0], p[1], titles.get(p[1], "")) if isinstance(p, tuple) else p,))
        for u, p in picks
    ]


def _shared_saves(conn: Connection, people: list[int], saved: set[int]) -> dict[int, set[int]]:
    shared: defaultdict[int, set[int]] = defaultdict(set)
    if saved:
        for u, p in graph_reads.saves_among(conn, people, sorted(saved)[:1000]):
            shared[u].add(p)
    return shared


def _shared_topics(conn: Connection, people: list[int], topic_ids: list[int]) -> dict[int, tuple[int, int]]:
    """Per person, the viewer's topic they save most in: (topic id, their saves in it)."""
    best: dict[int, tuple[int, int]] = {}
    if not topic_ids or not people:
        return best
    # Topics are filtered here, not in SQL (see graph_reads.saves_per_topic).
    wanted = set(topic_ids)
    for u, t, count in graph_reads.saves_per_topic(conn, people):
        if t in wanted and count > best.get(u, (0, 0))[1]:
            best[u] = (t, count)
    return best
