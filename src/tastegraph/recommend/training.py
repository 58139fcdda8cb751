"""Training: turn stored engagement into a model artifact.

The artifact holds
  - the board x Pin graph (every save) for Pixie walks,
  - a person x (Pin + domain) interaction matrix: saves, clicks and close-ups (never hides; a hidden Pin
    is dropped from the person's row), plus one column per off-site domain ("domain:<name>") for people
    whose consent allows it *now*, read only through `collect.visits.usable_visits`,
  - a graph filter fitted on that matrix, for personalized scores,
  - the id maps (Pins, people, boards, domains).

Off-site visits make the artifact personal data with a shelf life: `offsite_expires_at` is when its
oldest visit leaves the retention window, after which the server stops using it and the retention sweep
deletes it. Only the last `offsite_lookback` of visits are used, so a fresh artifact lives for weeks.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import scipy.sparse as sp
from sqlalchemy import Connection, Row

from tastegraph.catalog import graph_reads
from tastegraph.collect import engagement_reads
from tastegraph.collect import visits as visit_store
from tastegraph.consent import ConsentService, Purpose, RequestSignals
from tastegraph.kernel import InvalidInput
from tastegraph.recommend.model_store import Artifact, index_of
from tastegraph.recommend.offline.graph_filter import GraphFilter, GraphFilterParams

Progress = Callable[[str, int, int], None]

# Interaction weights: a save is the strongest positive signal; a click, close-up or site visit says less.
SAVE_WEIGHT = 1.0
ENGAGE_WEIGHT = 0.5
DOMAIN_WEIGHT = 0.5
ENGAGE_KINDS = ("click", "closeup")


@dataclass(frozen=True)
class TrainingParams:
    rank: int = 64
    seed: int = 0
    offsite_lookback: timedelta = timedelta(days=14)


# Per Pin, how many of the Pins sharing boards with it the artifact keeps (most boards in common first):
# the home feed's "saved alongside" source reads these lists instead of joining saves per request.
CO_SAVED_TOP = 100
CO_SAVED_CHUNK = 2048


def top_co_saved(board_pins: sp.csr_matrix, k: int = CO_SAVED_TOP) -> sp.csr_matrix:
    """Pins x Pins: for each Pin, the `k` other Pins on the most boards with it (ties: lower position
    first), valued by the number of boards they share."""
    board_pins = sp.csr_matrix(board_pins, dtype=np.float32)
    pin_boards = sp.csr_matrix(board_pins.T)
    n = board_pins.shape[1]
    parts = []
    for start in range(0, n, CO_SAVED_CHUNK):
        rows = np.arange(start, min(n, start + CO_SAVED_CHUNK))
        co = sp.coo_matrix(pin_boards[rows] @ board_pins)
        keep = co.row + start != co.col  # not the Pin itself
        r, c, v = co.row[keep], co.col[keep], co.data[keep]
        order = np.lexsort((c, -v, r))
        r, c, v = r[order], c[order], v[order]
        first = np.searchsorted(r, np.arange(len(rows)))  # each row's first entry in sorted order
        rank = np.arange(len(r)) - first[r]
        top = rank < k
        parts.append(sp.csr_matrix((v[top], (r[top], c[top])), shape=(len(rows), n), dtype=np.float32))
    if not parts:
        return sp.csr_matrix((0, 0), dtype=np.float32)
    return sp.csr_matrix(sp.vstack(parts, format="csr"))


def _no_progress(stage: str, done: int, total: int) -> None:
    return None


def _ids(ids: list[int]) -> np.ndarray:
    return np.asarray(sorted(ids), dtype=np.int64)


def _binary(rows: np.ndarray, cols: np.ndarray, shape: tuple[int, int], value: float) -> sp.csr_matrix:
    keep = (rows >= 0) & (cols >= 0)
    m = sp.csr_matrix((np.ones(int(keep.sum()), dtype=np.float32), (rows[keep], cols[keep])), shape=shape)
    m.sum_duplicates()
    m.data[:] = value
    return m


def _pairs(rows: Sequence[Row[Any, Any]]) -> tuple[np.ndarray, np.ndarray]:
    if not rows:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    a = np.asarray(rows, dtype=np.int64)
    return a[:, 0], a[:, 1]


@dataclass
class _Offsite:
    domains: list[str]
    matrix: sp.csr_matrix  # users x domains
    oldest: datetime | None
    users_used: int
    users_refused: int
    visits_used: int


def _offsite(
    conn: Connection,
    consent: ConsentService,
    user_ids: np.ndarray,
    now: datetime,
    lookback: timedelta,
    report: Progress,
) -> _Offsite:
    """Domain columns from the visits each person's consent allows at `now`, and only those."""
    since = now - lookback
    per_user: list[tuple[int, set[str]]] = []
    oldest: datetime | None = None
    refused = used = 0
    total = len(user_ids)
    for i, uid in enumerate(user_ids.tolist()):
        decision = consent.decide(conn, Purpose.PERSONALIZE_WITH_OFFSITE, uid, None, RequestSignals(), now)
        if not decision.allowed:
            refused += 1
        else:
            visits = [v for v in visit_store.usable_visits(conn, decision) if v.visited_at >= since]
            if visits:
                per_user.append((i, {v.domain for v in visits}))
                used += len(visits)
                first = min(v.visited_at for v in visits)
                oldest = first if oldest is None else min(oldest, first)
        if i % 500 == 0 or i == total - 1:
            report("consent + visits", i + 1, total)
    domains = sorted({d for _, ds in per_user for d in ds})
    col = {d: j for j, d in enumerate(domains)}
    rows = np.asarray([i for i, ds in per_user for _ in ds], dtype=np.int64)
    cols = np.asarray([col[d] for _, ds in per_user for d in sorted(ds)], dtype=np.int64)
    matrix = _binary(rows, cols, (total, len(domains)), DOMAIN_WEIGHT)
    return _Offsite(domains, matrix, oldest, len(per_user), refused, used)


def train(
    conn: Connection,
    consent: ConsentService,
    now: datetime,
    params: TrainingParams = TrainingParams(),
    progress: Progress | None = None,
) -> Artifact:
    """Read the stored engagement as of `now` and fit a model. Nothing is written here."""
    report = progress or _no_progress
    started = time.perf_counter()
    report("catalogue", 0, 1)
    pin_ids = _ids(graph_reads.all_pin_ids(conn))
    user_ids = _ids(graph_reads.all_user_ids(conn))
    board_ids = _ids(graph_reads.all_board_ids(conn))
    n_pins, n_users = len(pin_ids), len(user_ids)
    report("catalogue", 1, 1)

    report("saves", 0, 1)
    save_rows = graph_reads.all_saves(conn)
    saves_a = np.asarray(save_rows, dtype=np.int64).reshape(-1, 3)
    b_idx, p_idx, u_idx = (
        index_of(board_ids, saves_a[:, 0]),
        index_of(pin_ids, saves_a[:, 1]),
        index_of(user_ids, saves_a[:, 2]),
    )
    board_graph = _binary(b_idx, p_idx, (len(board_ids), n_pins), 1.0)
    saves = _binary(u_idx, p_idx, (n_users, n_pins), SAVE_WEIGHT)
    report("saves", 1, 1)

    report("engagement", 0, 1)
    eu, ep = _pairs(engagement_reads.pin_engagement(conn, ENGAGE_KINDS))
    engaged = _binary(index_of(user_ids, eu), index_of(pin_ids, ep), (n_users, n_pins), ENGAGE_WEIGHT)
    hu, hp = _pairs(graph_reads.all_hides(conn))
    hidden = _binary(index_of(user_ids, hu), index_of(pin_ids, hp), (n_users, n_pins), 1.0)
    on_site = sp.csr_matrix(saves.maximum(engaged))
    on_site = sp.csr_matrix(on_site - on_site.multiply(hidden))  # a hidden Pin is never a positive signal
    on_site.eliminate_zeros()
    report("engagement", 1, 1)

    offsite = _offsite(conn, consent, user_ids, now, params.offsite_lookback, report)
    interactions = sp.csr_matrix(sp.hstack([on_site, offsite.matrix], format="csr"), dtype=np.float32)
    if interactions.nnz == 0:
        raise InvalidInput("nothing to train on: no saves, clicks or close-ups are stored yet")

    report("graph filter", 0, 1)
    rank = max(1, min(params.rank, min(interactions.shape) - 1))
    model = GraphFilter(GraphFilterParams(rank=rank, seed=params.seed))
    model.fit(interactions)
    fitted = model.fitted
    assert fitted is not None
    report("graph filter", 1, 1)

    expires = None if offsite.oldest is None else offsite.oldest + consent.policy.offsite_retention
    artifact = Artifact(
        arrays={
            "pin_ids": pin_ids,
            "user_ids": user_ids,
            "board_ids": board_ids,
            "domains": np.asarray(offsite.domains, dtype=np.str_),
            "filter.basis": fitted.basis,
            "filter.eigenvalues": fitted.eigenvalues,
            "filter.item_degree": np.asarray(fitted.item_degree),
        },
        meta={
            "created_at": now.isoformat(),
            "seed": params.seed,
            "filter": asdict(model.params),
            "offsite_lookback_days": params.offsite_lookback.total_seconds() / 86400,
            "offsite_expires_at": None if expires is None else expires.isoformat(),
            "counts": {
                "pins": n_pins,
                "users": n_users,
                "boards": len(board_ids),
                "domains": len(offsite.domains),
                "saves": len(save_rows),
                "engagement_events": len(eu),
                "interactions": int(interactions.nnz),
                "users_with_offsite": offsite.users_used,
                "users_offsite_refused": offsite.users_refused,
                "visits_used": offsite.visits_used,
            },
        },
    )
    artifact.put_csr("board_pins", board_graph)
    report("co-saves", 0, 1)
    artifact.put_csr("co_saved", top_co_saved(board_graph, CO_SAVED_TOP))
    report("co-saves", 1, 1)
    artifact.put_csr("saves", saves)
    artifact.put_csr("interactions", interactions)
    artifact.put_csr("filter.item_graph", fitted.item_graph)
    artifact.meta["training_seconds"] = round(time.perf_counter() - started, 3)
    return artifact
