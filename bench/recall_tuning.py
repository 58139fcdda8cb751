"""Choose the graph filter's settings on a validation split carved out of the training data.

The test file is never read here. Validation: 20% of each training user's items held out (seed 0); the
metrics are averaged over a seeded sample of validation users to keep each trial fast. Every trial
prints a JSON line; the last line is the best setting (Recall@K, then NDCG@K).

    .venv/bin/python bench/recall_tuning.py --train ../shared/data/gowalla/train.txt \
        --user-exponents 0.3,0.4 --item-exponents 0.35,0.4,0.45 --ranks 768,1024 --ideal-weights 0.7,1,1.5
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tastegraph.recommend.offline.data import Interactions, load_lightgcn_file, validation_split
from tastegraph.recommend.offline.graph_filter import GraphFilter, GraphFilterParams, Spectrum, spectrum
from tastegraph.recommend.offline.harness import metrics_for


def _floats(text: str) -> list[float]:
    return [float(x) for x in text.split(",")]


def trial(
    params: GraphFilterParams, fitted: Spectrum, data: Interactions, users: np.ndarray, k: int
) -> dict[str, Any]:
    started = time.perf_counter()
    recall, ndcg = metrics_for(GraphFilter(params, fitted), data, users, k)
    return {
        "recall": round(float(recall.mean()), 5),
        "ndcg": round(float(ndcg.mean()), 5),
        "seconds": round(time.perf_counter() - started, 1),
        "user_exponent": params.user_exponent,
        "item_exponent": params.item_exponent,
        "rank": params.rank,
        "ideal_weight": params.ideal_weight,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--train", type=Path, required=True)
    parser.add_argument("--k", type=int, default=20)
    parser.add_argument("--sample", type=int, default=6000, help="validation users per trial")
    parser.add_argument("--user-exponents", type=_floats, default=[0.4, 0.5, 0.6])
    parser.add_argument("--item-exponents", type=_floats, default=[0.3, 0.4, 0.5, 0.6])
    parser.add_argument(
        "--ranks", type=lambda t: [int(x) for x in t.split(",")], default=[256, 512, 768, 1024]
    )
    parser.add_argument("--ideal-weights", type=_floats, default=[0.3, 1.0, 2.0])
    args = parser.parse_args()

    data = validation_split(load_lightgcn_file(args.train), 0.2, seed=0)
    users = data.test_users()
    users = np.sort(np.random.default_rng(0).choice(users, size=min(args.sample, len(users)), replace=False))
    best: dict[str, Any] | None = None
    for a, b in itertools.product(args.user_exponents, args.item_exponents):
        # One spectrum per pair of exponents, at the largest rank; smaller ranks use its leading part.
        fitted = spectrum(
            data.train, GraphFilterParams(user_exponent=a, item_exponent=b, rank=max(args.ranks))
        )
        for rank, alpha in itertools.product(args.ranks, args.ideal_weights):
            params = GraphFilterParams(user_exponent=a, item_exponent=b, rank=rank, ideal_weight=alpha)
            result = trial(params, fitted, data, users, args.k)
            print(json.dumps(result), flush=True)
            if best is None or (result["recall"], result["ndcg"]) > (best["recall"], best["ndcg"]):
                best = result
    print(json.dumps({"chosen": best}), flush=True)


if __name__ == "__main__":
    main()
