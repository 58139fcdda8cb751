"""Offline evaluation: the LightGCN data format, full-ranking Recall@K / NDCG@K, and the models."""

from tastegraph.recommend.offline.data import Interactions, load_lightgcn, parse_lightgcn
from tastegraph.recommend.offline.harness import EvalResult, evaluate
from tastegraph.recommend.offline.metrics import recall_ndcg
from tastegraph.recommend.offline.models import DEFAULT_MODEL, MODELS, Recommender, make_model

__all__ = [
    "DEFAULT_MODEL",
    "MODELS",
    "EvalResult",
    "Interactions",
    "Recommender",
    "evaluate",
    "load_lightgcn",
    "make_model",
    "parse_lightgcn",
    "recall_ndcg",
]
