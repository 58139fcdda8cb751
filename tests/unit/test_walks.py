"""Pixie-style walks: they find the items that share users with the query, deterministically."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from tastegraph.recommend.walks import build_graph, pixie, recency_weights, steps_per_query


def _two_communities() -> sp.csr_matrix:
    """Users 0-9 like items 0-9; users 10-19 like items 10-19; user 20 bridges weakly."""
    rows, cols = [], []
    for u in range(20):
        base = 0 if u < 10 else 10
        for i in range(base, base + 10):
            if (u + i) % 3:
                rows.append(u)
                cols.append(i)
    rows += [20, 20]
    cols += [0, 19]
    return sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(21, 20))


def test_walks_stay_in_the_query_community_and_skip_the_query() -> None:
    g = build_graph(_two_communities())
    result = pixie(g, np.array([3]), total_steps=20_000, top=9, seed=1)
    assert 3 not in result.items
    assert set(result.items.tolist()) <= set(range(10))
    assert len(result.items) == 9 and np.all(np.diff(result.scores) <= 0)


def test_deterministic_under_seed_and_excludes() -> None:
    g = build_graph(_two_communities())
    a = pixie(g, np.array([3, 12]), total_steps=5_000, seed=7)
    b = pixie(g, np.array([3, 12]), total_steps=5_000, seed=7)
    assert a.items.tolist() == b.items.tolist() and a.steps == b.steps
    c = pixie(g, np.array([3, 12]), total_steps=5_000, seed=7, exclude=np.array([4, 13]))
    assert 4 not in c.items and 13 not in c.items


def test_early_stopping_cuts_the_walk() -> None:
    g = build_graph(_two_communities())
    full = pixie(g, np.array([3]), total_steps=50_000, stop_items=10**9)
    early = pixie(g, np.array([3]), total_steps=50_000, stop_items=3, stop_visits=20)
    assert full.steps == 50_000 and early.steps < 1_000


def test_degree_pruning_drops_hub_users_and_caps_items() -> None:
    m = _two_communities().tolil()
    m[20, :] = 1  # a hub user connected to everything
    g = build_graph(m.tocsr(), max_user_degree=15, max_item_degree=4)
    assert g.user_ptr[21] - g.user_ptr[20] == 0
    assert np.diff(g.item_ptr).max() <= 4


def test_weights_and_budget() -> None:
    budget = steps_per_query(np.array([1, 10, 1000]), np.array([1.0, 1.0, 1.0]), 10_000)
    assert budget.sum() <= 10_000 and budget.min() >= 1
    assert budget[2] < 1000 * budget[0]  # hubs are damped (deg * (C - log deg))
    w = recency_weights(np.array([0.0, 14 * 86400.0]))
    assert w.tolist() == [1.0, 0.5]
