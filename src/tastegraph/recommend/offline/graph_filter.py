"""Graph-filter collaborative filtering: a closed-form low-pass filter on the item-item graph.

Scores are the user's history passed through two filters on the normalized interaction matrix
R~ = D_u^-a R D_i^-b (Shen et al., "How Powerful is Graph Convolution for Recommendation?", CIKM 2021,
GF-CF):
  - a linear filter  r @ R~^T R~ ,
  - an ideal low-pass filter keeping the top `rank` singular directions of R~, re-weighted by item degree,
and their weighted sum. Nothing is trained by gradient descent; fitting is one sparse product and one
truncated SVD.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from tastegraph.recommend.offline.sparse_ops import degree_power


@dataclass
class GraphFilterParams:
    user_exponent: float = 0.5
    item_exponent: float = 0.5
    rank: int = 256
    ideal_weight: float = 0.3
    svd_iterations: int = 4
    seed: int = 0


class GraphFilter:
    name = "graph-filter"

    def __init__(self, params: GraphFilterParams | None = None) -> None:
        self.params = params or GraphFilterParams()
        self.item_graph = sp.csr_matrix((0, 0), dtype=np.float32)
        self.basis = np.zeros((0, 0), dtype=np.float32)  # items x rank
        self.item_in = np.zeros(0, dtype=np.float32)
        self.item_out = np.zeros(0, dtype=np.float32)

    def fit(self, train: sp.csr_matrix) -> None:
        from sklearn.utils.extmath import randomized_svd

        p = self.params
        train = train.astype(np.float32)
        user_deg = np.asarray(train.sum(axis=1)).ravel()
        item_deg = np.asarray(train.sum(axis=0)).ravel()
        norm = sp.csr_matrix(
            sp.diags(degree_power(user_deg, -p.user_exponent))
            @ train
            @ sp.diags(degree_power(item_deg, -p.item_exponent))
        )
        self.item_graph = sp.csr_matrix(norm.T @ norm).astype(np.float32)
        if p.rank > 0 and p.ideal_weight != 0:
            rank = min(p.rank, min(train.shape) - 1)
            _, _, vt = randomized_svd(norm, n_components=rank, n_iter=p.svd_iterations, random_state=p.seed)
            self.basis = np.ascontiguousarray(vt.T, dtype=np.float32)
            self.item_in = degree_power(item_deg, -p.item_exponent)
            self.item_out = degree_power(item_deg, p.item_exponent)

    def score(self, history: sp.csr_matrix) -> np.ndarray:
        history = history.astype(np.float32)
        scores = np.asarray((history @ self.item_graph).toarray(), dtype=np.float32)
        if self.basis.size:
            low = (history @ sp.diags(self.item_in)) @ self.basis
            scores += self.params.ideal_weight * ((low @ self.basis.T) * self.item_out)
        return scores
