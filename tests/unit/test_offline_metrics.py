"""Recall@K and NDCG@K against cases computed by hand, and the data format."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp

from tastegraph.kernel import InvalidInput
from tastegraph.recommend.offline import parse_lightgcn, recall_ndcg
from tastegraph.recommend.offline.data import from_rows
from tastegraph.recommend.offline.metrics import top_k
from tastegraph.recommend.offline.sparse_ops import keep_top_k_per_row


def _test_rows(rows: list[list[int]], n_items: int = 10) -> sp.csr_matrix:
    users = [u for u, items in enumerate(rows) for _ in items]
    items = [i for r in rows for i in r]
    return sp.csr_matrix((np.ones(len(items)), (users, items)), shape=(len(rows), n_items))


def test_hand_computed_recall_and_ndcg() -> None:
    ranked = np.array([[1, 2, 3], [4, 5, 6], [7, 8, 9]])
    test = _test_rows([[2, 0], [9], [7, 8, 9, 0, 1]])
    recall, ndcg = recall_ndcg(ranked, test, k=3)
    # user 0: hit at rank 2 of 2 relevant -> recall 1/2; DCG 1/log2(3); IDCG 1 + 1/log2(3)
    # user 1: no hit; user 2: hits at ranks 1..3 of 5 relevant -> recall 3/5, NDCG 1
    assert recall == pytest.approx([0.5, 0.0, 0.6])
    l3 = 1 / math.log2(3)
    assert ndcg == pytest.approx([l3 / (1 + l3), 0.0, 1.0])


def test_k_cuts_the_list() -> None:
    ranked = np.array([[0, 1, 2, 3]])
    test = _test_rows([[3]])
    assert recall_ndcg(ranked, test, k=3)[0] == pytest.approx([0.0])
    recall, ndcg = recall_ndcg(ranked, test, k=4)
    assert recall == pytest.approx([1.0]) and ndcg == pytest.approx([1 / math.log2(5)])


def test_users_without_test_items_are_refused() -> None:
    with pytest.raises(ValueError):
        recall_ndcg(np.array([[0]]), _test_rows([[]]), k=1)


def test_top_k_orders_and_breaks_ties_by_index() -> None:
    scores = np.array([[0.1, 0.9, 0.5, 0.9, -np.inf]], dtype=np.float32)
    assert top_k(scores, 3).tolist() == [[1, 3, 2]]


def test_parse_and_build() -> None:
    rows = parse_lightgcn(["0 1 2", "", "2 0 0 3"])
    assert rows == [(0, [1, 2]), (2, [0, 0, 3])]
    data = from_rows(rows, [(1, [3])])
    assert data.train.shape == (3, 4)
    assert data.train[2].toarray().tolist() == [[1, 0, 0, 1]]  # a repeat counts once
    assert data.test_users().tolist() == [1]
    with pytest.raises(InvalidInput):
        parse_lightgcn(["0 a"])
    with pytest.raises(InvalidInput):
        parse_lightgcn(["0 -1"])


def test_keep_top_k_per_row() -> None:
    m = sp.csr_matrix(np.array([[0, 3, 1, 2], [0, 0, 0, 0], [5, 0, 0, 4]], dtype=np.float32))
    kept = keep_top_k_per_row(m, 2).toarray()
    assert kept.tolist() == [[0, 3, 0, 2], [0, 0, 0, 0], [5, 0, 0, 4]]
