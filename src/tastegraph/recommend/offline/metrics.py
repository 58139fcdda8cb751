"""Full-ranking Recall@K and NDCG@K with binary relevance, as the LightGCN paper defines them:
recall = hits in the top K / number of the user's test items; NDCG = DCG@K / ideal DCG@K, where the
ideal list puts min(K, |test|) hits first. Both are averaged over users with at least one test item."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k highest scores per row, best first (ties broken by lower index)."""
    k = min(k, scores.shape[1])
    part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    part_scores = np.take_along_axis(scores, part, axis=1)
    # lexsort: primary key descending score, secondary ascending item index, for determinism.
    order = np.lexsort((part, -part_scores), axis=1)
    return np.take_along_axis(part, order, axis=1)


def recall_ndcg(ranked: np.ndarray, test: sp.csr_matrix, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-user Recall@k and NDCG@k for `ranked` (users x >=k item ids) against the rows of `test`."""
    ranked = ranked[:, :k]
    n_test = np.diff(test.indptr).astype(np.float64)
    if np.any(n_test == 0):
        raise ValueError("every evaluated user needs at least one test item")
    hits = np.zeros(ranked.shape, dtype=bool)
    for row in range(ranked.shape[0]):
        relevant = test.indices[test.indptr[row] : test.indptr[row + 1]]
        hits[row] = np.isin(ranked[row], relevant, assume_unique=True)
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    dcg = hits @ discounts
    ideal_len = np.minimum(n_test, k).astype(np.int64)
    ideal = np.concatenate([[0.0], np.cumsum(discounts)])[ideal_len]
    return hits.sum(axis=1) / n_test, dcg / ideal
