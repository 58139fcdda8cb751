"""People recommendation evaluated on held-out friend links ("people with similar interests").

Data: a user x artist listening matrix and an undirected friend graph (HetRec 2011 Last.fm format:
`user<TAB>artist<TAB>count` and `user<TAB>friend`). Protocol: hold out 20% of each user's friend links
(seeded; a held-out link is removed in both directions), recommend 20 people to every user who lost a
link, never the user or a remaining friend, and report Recall@20 of the held-out friends.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from tastegraph.recommend.offline.metrics import recall_ndcg, top_k
from tastegraph.recommend.offline.sparse_ops import degree_power


@dataclass(frozen=True)
class SocialData:
    listening: sp.csr_matrix  # users x artists, log(1 + plays)
    friends: sp.csr_matrix  # users x users, symmetric 0/1


def load_lastfm(folder: Path) -> SocialData:
    plays = np.loadtxt(folder / "user_artist.dat", delimiter="\t", skiprows=1, dtype=np.int64, ndmin=2)
    links = np.loadtxt(folder / "user_friends.dat", delimiter="\t", skiprows=1, dtype=np.int64, ndmin=2)
    users = np.unique(np.concatenate([plays[:, 0], links.ravel()]))
    artists = np.unique(plays[:, 1])
    u_index = {int(u): i for i, u in enumerate(users)}
    a_index = {int(a): i for i, a in enumerate(artists)}
    rows = np.array([u_index[int(u)] for u in plays[:, 0]])
    cols = np.array([a_index[int(a)] for a in plays[:, 1]])
    listening = sp.csr_matrix(
        (np.log1p(plays[:, 2]).astype(np.float32), (rows, cols)), shape=(len(users), len(artists))
    )
    a = np.array([u_index[int(u)] for u in links[:, 0]])
    b = np.array([u_index[int(v)] for v in links[:, 1]])
    return SocialData(listening, _symmetric(a, b, len(users)))


def _symmetric(a: np.ndarray, b: np.ndarray, n: int) -> sp.csr_matrix:
    m = sp.csr_matrix((np.ones(2 * len(a), dtype=np.float32), (np.r_[a, b], np.r_[b, a])), shape=(n, n))
    m.sum_duplicates()
    m.data[:] = 1.0
    m.setdiag(0)
    m.eliminate_zeros()
    return m


def hold_out_links(
    friends: sp.csr_matrix, fraction: float = 0.2, seed: int = 0
) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """(remaining graph, held-out graph), both symmetric.

    Each user should lose `fraction` of their links (rounded; users with one link keep it). A link
    belongs to two people, so links are visited in a seeded random order and one is held out while both
    ends are still under their quota; removing it on both sides keeps the remaining graph leak-free.
    """
    rng = np.random.default_rng(seed)
    upper = sp.triu(friends, k=1).tocoo()
    degree = np.asarray(friends.sum(axis=1)).ravel()
    quota = np.where(degree >= 2, np.round(fraction * degree), 0).astype(np.int64)
    taken = np.zeros_like(quota)
    held = np.zeros(upper.nnz, dtype=bool)
    for e in rng.permutation(upper.nnz):
        u, v = upper.row[e], upper.col[e]
        if taken[u] < quota[u] and taken[v] < quota[v]:
            held[e] = True
            taken[u] += 1
            taken[v] += 1
    n = friends.shape[0]
    return (
        _symmetric(upper.row[~held], upper.col[~held], n),
        _symmetric(upper.row[held], upper.col[held], n),
    )


PeopleScorer = Callable[[np.ndarray], np.ndarray]


def popular_people(graph: sp.csr_matrix) -> PeopleScorer:
    degree = np.asarray(graph.sum(axis=0), dtype=np.float32).ravel()
    return lambda users: np.broadcast_to(degree, (len(users), len(degree))).copy()


def listening_similarity(listening: sp.csr_matrix, idf: bool = True) -> PeopleScorer:
    """Cosine similarity of (tf-idf weighted) listening profiles."""
    m = listening.astype(np.float32)
    if idf:
        df = np.asarray((m > 0).sum(axis=0)).ravel()
        m = sp.csr_matrix(m @ sp.diags(np.log((1 + m.shape[0]) / (1 + df)).astype(np.float32)))
    norms = np.sqrt(np.asarray(m.multiply(m).sum(axis=1)).ravel())
    m = sp.csr_matrix(sp.diags(degree_power(norms, -1.0)) @ m)
    return lambda users: np.asarray((m[users] @ m.T).toarray(), dtype=np.float32)


def adamic_adar(graph: sp.csr_matrix) -> PeopleScorer:
    """Friends in common, each weighted 1 / log(their number of friends)."""
    degree = np.asarray(graph.sum(axis=0)).ravel()
    weights = np.zeros_like(degree, dtype=np.float32)
    weights[degree > 1] = 1.0 / np.log(degree[degree > 1])
    weighted = sp.csr_matrix(graph @ sp.diags(weights))
    return lambda users: np.asarray((weighted[users] @ graph).toarray(), dtype=np.float32)


def blend(parts: list[tuple[float, PeopleScorer]]) -> PeopleScorer:
    """Weighted sum of per-user max-normalized scores."""

    def score(users: np.ndarray) -> np.ndarray:
        total: np.ndarray | None = None
        for weight, scorer in parts:
            s = scorer(users)
            top = s.max(axis=1, keepdims=True)
            s = np.divide(s, top, out=np.zeros_like(s), where=top > 0)
            total = weight * s if total is None else total + weight * s
        assert total is not None
        return total

    return score


def friend_recall(scorer: PeopleScorer, known: sp.csr_matrix, held: sp.csr_matrix, k: int = 20) -> float:
    """Mean Recall@k of held-out friends over users who have any, excluding self and known friends."""
    users = np.flatnonzero(np.diff(held.indptr) > 0)
    recalls = []
    for start in range(0, len(users), 512):
        batch = users[start : start + 512]
        scores = scorer(batch)
        scores[np.arange(len(batch)), batch] = -np.inf
        rows, cols = known[batch].nonzero()
        scores[rows, cols] = -np.inf
        recall, _ = recall_ndcg(top_k(scores, k), held[batch], k)
        recalls.append(recall)
    return float(np.concatenate(recalls).mean()) if recalls else 0.0
