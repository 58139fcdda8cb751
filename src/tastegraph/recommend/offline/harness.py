"""Fit a model, rank all items for every test user (train items excluded), and measure."""

from __future__ import annotations

import resource
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np

from tastegraph.recommend.offline.data import Interactions
from tastegraph.recommend.offline.metrics import recall_ndcg, top_k
from tastegraph.recommend.offline.models import Recommender

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class EvalResult:
    model: str
    k: int
    recall: float
    ndcg: float
    users: int
    items: int
    test_users: int
    fit_seconds: float
    score_seconds: float
    peak_memory_mb: float

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def peak_memory_mb() -> float:
    """Peak resident memory of this process so far (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def rank_users(model: Recommender, data: Interactions, users: np.ndarray, k: int) -> np.ndarray:
    """Top-k item ids for `users`, never an item the user has in train."""
    history = data.train[users]
    scores = model.score(history)
    rows, cols = history.nonzero()
    scores[rows, cols] = -np.inf
    return top_k(scores, k)


def metrics_for(
    model: Recommender, data: Interactions, users: np.ndarray, k: int, batch_size: int = 1024
) -> tuple[np.ndarray, np.ndarray]:
    """Per-user Recall@k and NDCG@k of an already fitted model."""
    recalls, ndcgs = [], []
    for start in range(0, len(users), batch_size):
        batch = users[start : start + batch_size]
        recall, ndcg = recall_ndcg(rank_users(model, data, batch, k), data.test[batch], k)
        recalls.append(recall)
        ndcgs.append(ndcg)
    empty = np.zeros(0)
    return (np.concatenate(recalls) if recalls else empty, np.concatenate(ndcgs) if ndcgs else empty)


def evaluate(
    model: Recommender,
    data: Interactions,
    k: int = 20,
    batch_size: int = 1024,
    progress: Progress | None = None,
) -> EvalResult:
    if k < 1:
        raise ValueError("k must be at least 1")
    started = time.perf_counter()
    if progress:
        progress("fit", 0, 1)
    model.fit(data.train)
    fitted = time.perf_counter()
    if progress:
        progress("fit", 1, 1)
    users = data.test_users()
    recalls: list[np.ndarray] = []
    ndcgs: list[np.ndarray] = []
    for start in range(0, len(users), batch_size):
        batch = users[start : start + batch_size]
        ranked = rank_users(model, data, batch, k)
        recall, ndcg = recall_ndcg(ranked, data.test[batch], k)
        recalls.append(recall)
        ndcgs.append(ndcg)
        if progress:
            progress("score", min(start + batch_size, len(users)), len(users))
    done = time.perf_counter()
    return EvalResult(
        model=model.name,
        k=k,
        recall=float(np.concatenate(recalls).mean()) if recalls else 0.0,
        ndcg=float(np.concatenate(ndcgs).mean()) if ndcgs else 0.0,
        users=data.n_users,
        items=data.n_items,
        test_users=len(users),
        fit_seconds=round(fitted - started, 3),
        score_seconds=round(done - fitted, 3),
        peak_memory_mb=round(peak_memory_mb(), 1),
    )
