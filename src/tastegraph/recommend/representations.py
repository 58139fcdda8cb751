"""People as taste vectors: what actalike audiences compare.

A person's vector is their saves projected on the trained graph filter's top singular directions (the
same low-pass part that scores their recommendations), scaled to unit length, so the dot product of two
people is the cosine similarity of their tastes as the model sees them.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from tastegraph.recommend.model import Model
from tastegraph.recommend.offline.sparse_ops import degree_power


def taste_vectors(model: Model) -> tuple[np.ndarray, np.ndarray]:
    """(user ids, unit-length float32 vectors, one row per id); people without saves get zero rows."""
    f = model.filter
    assert f.fitted is not None
    basis = f.fitted.basis[:, : f.params.rank]
    weights = degree_power(f.fitted.item_degree, -f.params.item_exponent)
    vectors = np.asarray(sp.csr_matrix(model.saves, dtype=np.float32) @ (basis * weights[:, None]))
    norms = np.linalg.norm(vectors, axis=1)
    vectors = np.where(norms[:, None] > 0, vectors / np.maximum(norms, 1e-12)[:, None], 0.0)
    return np.asarray(model.user_ids), vectors.astype(np.float32)


def most_similar(
    user_ids: np.ndarray, vectors: np.ndarray, seed: set[int], eligible: set[int], count: int
) -> list[int]:
    """The `count` eligible people (never the seed) closest to the seed's mean taste."""
    rows = np.isin(user_ids, np.fromiter(seed, dtype=user_ids.dtype, count=len(seed)))
    if count <= 0 or not rows.any():
        return []
    centre = vectors[rows].mean(axis=0)
    norm = float(np.linalg.norm(centre))
    if norm == 0:
        return []
    scores = vectors @ (centre / norm)
    candidates = np.isin(user_ids, np.fromiter(eligible - seed, dtype=user_ids.dtype)) & ~rows
    candidates &= np.linalg.norm(vectors, axis=1) > 0
    idx = np.flatnonzero(candidates)
    if len(idx) == 0:
        return []
    take = min(count, len(idx))
    best = idx[np.argpartition(-scores[idx], take - 1)[:take]]
    best = best[np.argsort(-scores[best], kind="stable")]
    return [int(u) for u in user_ids[best]]
