"""Sparse-matrix helpers shared by the item-item models."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def keep_top_k_per_row(m: sp.csr_matrix, k: int) -> sp.csr_matrix:
    """Keep each row's k largest entries (a neighbourhood), dropping the rest."""
    m = m.tocsr()
    m.eliminate_zeros()
    counts = np.diff(m.indptr)
    if counts.max(initial=0) <= k:
        return m
    keep = np.ones(m.nnz, dtype=bool)
    for row in np.flatnonzero(counts > k):
        start, end = m.indptr[row], m.indptr[row + 1]
        drop = np.argpartition(m.data[start:end], end - start - k)[: end - start - k]
        keep[start + drop] = False
    kept_before = np.r_[0, np.cumsum(keep)]
    return sp.csr_matrix((m.data[keep], m.indices[keep], kept_before[m.indptr]), shape=m.shape)


def row_normalize(m: sp.csr_matrix) -> sp.csr_matrix:
    sums = np.asarray(m.sum(axis=1)).ravel()
    inv = np.divide(1.0, sums, out=np.zeros_like(sums, dtype=np.float64), where=sums > 0)
    return sp.csr_matrix(sp.diags(inv.astype(np.float32)) @ m)


def degree_power(degrees: np.ndarray, power: float) -> np.ndarray:
    """degrees ** power, with 0 where the degree is 0 (isolated users or items)."""
    out = np.zeros(degrees.shape, dtype=np.float64)
    nz = degrees > 0
    out[nz] = np.power(degrees[nz].astype(np.float64), power)
    return out.astype(np.float32)
