"""Offline evaluation of recommenders on a public data set (`tastegraph bench recall`): full-ranking
Recall@K and NDCG@K with the training items excluded."""

from __future__ import annotations

from tastegraph.recommend.offline import DEFAULT_MODEL, evaluate, load_lightgcn, make_model

__all__ = ["DEFAULT_MODEL", "evaluate", "load_lightgcn", "make_model"]
