"""Held-out friend links and the people recommenders on a tiny social graph."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from tastegraph.recommend.offline.people import (
    adamic_adar,
    blend,
    friend_recall,
    hold_out_links,
    listening_similarity,
    popular_people,
)


def _clique_pairs(groups: list[range]) -> sp.csr_matrix:
    n = max(g.stop for g in groups)
    rows, cols = [], []
    for g in groups:
        for u in g:
            for v in g:
                if u != v:
                    rows.append(u)
                    cols.append(v)
    return sp.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=(n, n))


def test_hold_out_is_symmetric_disjoint_and_about_a_fifth() -> None:
    friends = _clique_pairs([range(0, 10), range(10, 20)])
    known, held = hold_out_links(friends, 0.2, seed=3)
    assert (known != known.T).nnz == 0 and (held != held.T).nnz == 0
    assert known.multiply(held).nnz == 0
    assert known.nnz + held.nnz == friends.nnz
    per_user = np.asarray(held.sum(axis=1)).ravel()
    assert per_user.max() <= round(0.2 * 9)
    assert hold_out_links(friends, 0.2, seed=3)[1].nnz == held.nnz  # seeded


def test_graph_and_taste_find_the_right_people() -> None:
    friends = _clique_pairs([range(0, 10), range(10, 20)])
    known, held = hold_out_links(friends, 0.2, seed=0)
    taste = sp.csr_matrix(np.kron(np.eye(2), np.ones((10, 5))).astype(np.float32))  # two taste groups
    assert friend_recall(adamic_adar(known), known, held) == 1.0
    assert friend_recall(listening_similarity(taste), known, held) > 0.5
    mixed = blend([(1.0, listening_similarity(taste)), (1.0, adamic_adar(known))])
    assert friend_recall(mixed, known, held) == 1.0
    assert 0 <= friend_recall(popular_people(known), known, held) <= 1
