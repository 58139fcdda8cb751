"""Recommenders for full-ranking evaluation. Each learns from a users x items 0/1 matrix and scores
every item for a batch of users given their histories (rows of the same matrix)."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, Protocol

import numpy as np
import scipy.sparse as sp

from tastegraph.recommend.offline.sparse_ops import degree_power, keep_top_k_per_row, row_normalize


class Recommender(Protocol):
    name: str

    def fit(self, train: sp.csr_matrix) -> None: ...

    def score(self, history: sp.csr_matrix) -> np.ndarray:
        """Scores (len(history) x n_items, float32) for users with these histories."""
        ...


class MostPopular:
    name = "most-popular"

    def __init__(self) -> None:
        self.popularity = np.zeros(0, dtype=np.float32)

    def fit(self, train: sp.csr_matrix) -> None:
        self.popularity = np.asarray(train.sum(axis=0), dtype=np.float32).ravel()

    def score(self, history: sp.csr_matrix) -> np.ndarray:
        return np.broadcast_to(self.popularity, (history.shape[0], self.popularity.size)).copy()


class ItemItem:
    """Scores = history @ W for a sparse item-item matrix W built by a subclass."""

    name = "item-item"

    def __init__(self) -> None:
        self.weights = sp.csr_matrix((0, 0), dtype=np.float32)

    def score(self, history: sp.csr_matrix) -> np.ndarray:
        return np.asarray((history @ self.weights).toarray(), dtype=np.float32)


class ItemKNN(ItemItem):
    """Cosine item-kNN with shrinkage: each item keeps its `neighbours` most similar items."""

    name = "item-knn"

    def __init__(self, neighbours: int = 200, shrink: float = 10.0) -> None:
        super().__init__()
        self.neighbours, self.shrink = neighbours, shrink

    def fit(self, train: sp.csr_matrix) -> None:
        co = (train.T @ train).tocsr().astype(np.float32)
        co.setdiag(0)
        norms = np.sqrt(np.asarray(train.sum(axis=0)).ravel()).astype(np.float32)
        co = co.tocoo()
        co.data = co.data / (norms[co.row] * norms[co.col] + self.shrink)
        self.weights = keep_top_k_per_row(co.tocsr(), self.neighbours)


class RP3Beta(ItemItem):
    """RP3beta (Paudel et al. 2017; Dacrema et al. 2019): 3-step random-walk probabilities
    item -> user -> item, raised to alpha, divided by the target's popularity ** beta, top-k kept."""

    name = "rp3beta"

    def __init__(self, alpha: float = 1.0, beta: float = 0.5, neighbours: int = 200) -> None:
        super().__init__()
        self.alpha, self.beta, self.neighbours = alpha, beta, neighbours

    def fit(self, train: sp.csr_matrix) -> None:
        p_ui = row_normalize(train)
        p_iu = row_normalize(sp.csr_matrix(train.T))
        if self.alpha != 1.0:
            p_ui.data **= self.alpha
            p_iu.data **= self.alpha
        w = (p_iu @ p_ui).tocsr().astype(np.float32)
        w.setdiag(0)
        popularity = np.asarray(train.sum(axis=0)).ravel()
        w = sp.csr_matrix(w @ sp.diags(degree_power(popularity, -self.beta)))
        self.weights = keep_top_k_per_row(w, self.neighbours)


class ALS:
    """Implicit-feedback matrix factorization (Hu, Koren, Volinsky 2008) with the `implicit` library."""

    name = "als"

    def __init__(
        self, factors: int = 128, regularization: float = 0.05, iterations: int = 15, alpha: float = 20.0
    ):
        self.factors, self.regularization, self.iterations, self.alpha = (
            factors,
            regularization,
            iterations,
            alpha,
        )
        self.item_factors = np.zeros((0, 0), dtype=np.float32)
        self._model: Any = None

    def fit(self, train: sp.csr_matrix) -> None:
        os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
        from implicit.als import AlternatingLeastSquares

        self._model = AlternatingLeastSquares(
            factors=self.factors,
            regularization=self.regularization,
            iterations=self.iterations,
            alpha=self.alpha,
            random_state=0,
        )
        self._model.fit(train.astype(np.float32), show_progress=False)
        self.item_factors = np.asarray(self._model.item_factors, dtype=np.float32)
        self.user_factors = np.asarray(self._model.user_factors, dtype=np.float32)

    def score(self, history: sp.csr_matrix) -> np.ndarray:
        # Users are re-solved from their histories, so any history (not just training rows) can be scored.
        users = np.asarray(
            self._model.recalculate_user(np.arange(history.shape[0]), history.astype(np.float32)),
            dtype=np.float32,
        )
        return users @ self.item_factors.T


def _graph_filter(**settings: float) -> Recommender:
    from tastegraph.recommend.offline.graph_filter import GraphFilter, GraphFilterParams

    return GraphFilter(GraphFilterParams(**settings))  # type: ignore[arg-type]


MODELS: dict[str, Callable[..., Recommender]] = {
    "graph-filter": _graph_filter,
    "most-popular": MostPopular,
    "item-knn": ItemKNN,
    "rp3beta": RP3Beta,
    "als": ALS,
}

# The project's best model with its default settings (chosen on validation data: docs/benchmarks.md).
DEFAULT_MODEL = "graph-filter"


def _number(text: str) -> float | int:
    value = float(text)
    return int(value) if value.is_integer() and "." not in text else value


def make_model(spec: str) -> Recommender:
    """A model from "name" or "name:setting=value,setting=value" (e.g. "rp3beta:alpha=0.8,beta=0.4")."""
    from tastegraph.kernel import InvalidInput

    name, _, settings_text = spec.partition(":")
    if name not in MODELS:
        raise InvalidInput(f"unknown model {name!r}; choose from {', '.join(sorted(MODELS))}", field="model")
    settings: dict[str, float | int] = {}
    for part in filter(None, settings_text.split(",")):
        key, eq, value = part.partition("=")
        try:
            settings[key.strip().replace("-", "_")] = _number(value)
        except ValueError:
            eq = ""
        if not eq:
            raise InvalidInput(f"model settings are key=number pairs, not {part!r}", field="model")
    try:
        return MODELS[name](**settings)
    except TypeError as exc:
        raise InvalidInput(f"{name} does not take these settings: {exc}", field="model") from None
