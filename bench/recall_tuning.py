"""Choose the graph filter's settings on validation splits carved out of the training data.

The test file is never read here. Validation: 20% of each training user's items held out (seed 0); the
metrics are averaged over a seeded sample of validation users to keep each trial fast. Every trial
prints a JSON line; then the best setting per density.

Density ladder (`--densities`): a validation split trains on 80% of the training data, so on less data
than the final model sees, and the best rank grows with the data. To see how, the same held-out items
are also predicted from a thinner training matrix (density 0.75 keeps 75% of each user's remaining
items, seed 1), and each density's best rank is divided by the square root of its number of training
interactions (`rank_scale`); the last line is their geometric mean. On Gowalla the best rank grew with
density, but a rank growing with the data did not help on the test split, so the defaults keep a fixed
rank (docs/benchmarks.md, "Second pass").

    .venv/bin/python bench/recall_tuning.py --train ../shared/data/gowalla/train.txt \\
        --user-exponents 0.3 --item-exponents 0.45 --ranks 512,768,1024,1280,1536 \\
        --ideal-weights 1,1.5,2,2.5,3 --densities 1,0.75
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
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


def thinned(data: Interactions, density: float) -> Interactions:
    """The same held-out items, predicted from `density` of each user's remaining training items."""
    if density >= 1.0:
        return data
    return Interactions(validation_split(data.train, 1.0 - density, seed=1).train, data.test)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--train", type=Path, required=True)
    parser.add_argument("--k", type=int, default=20)
    parser.add_argument("--sample", type=int, default=5000, help="validation users per trial")
    parser.add_argument("--user-exponents", type=_floats, default=[0.3])
    parser.add_argument("--item-exponents", type=_floats, default=[0.45])
    parser.add_argument(
        "--ranks", type=lambda t: [int(x) for x in t.split(",")], default=[512, 768, 1024, 1280, 1536]
    )
    parser.add_argument("--ideal-weights", type=_floats, default=[1.0, 1.5, 2.0, 2.5, 3.0])
    parser.add_argument("--densities", type=_floats, default=[1.0], help="e.g. 1,0.75 for the ladder")
    args = parser.parse_args()

    validation = validation_split(load_lightgcn_file(args.train), 0.2, seed=0)
    users = validation.test_users()
    users = np.sort(np.random.default_rng(0).choice(users, size=min(args.sample, len(users)), replace=False))
    per_rank: list[float] = []
    for density in args.densities:
        data = thinned(validation, density)
        best: dict[str, Any] | None = None
        for a, b in itertools.product(args.user_exponents, args.item_exponents):
            # One spectrum per pair of exponents, at the largest rank; smaller ranks use its leading part.
            fitted = spectrum(
                data.train, GraphFilterParams(user_exponent=a, item_exponent=b, rank=max(args.ranks))
            )
            for rank, alpha in itertools.product(args.ranks, args.ideal_weights):
                params = GraphFilterParams(user_exponent=a, item_exponent=b, rank=rank, ideal_weight=alpha)
                result = {"density": density, "interactions": data.train.nnz}
                result |= trial(params, fitted, data, users, args.k)
                print(json.dumps(result), flush=True)
                if best is None or (result["recall"], result["ndcg"]) > (best["recall"], best["ndcg"]):
                    best = result
        assert best is not None
        best["rank_scale"] = round(best["rank"] / math.sqrt(best["interactions"]), 3)
        per_rank.append(best["rank_scale"])
        print(json.dumps({"chosen": best}), flush=True)
    if len(per_rank) > 1:
        geometric_mean = math.exp(sum(math.log(x) for x in per_rank) / len(per_rank))
        print(json.dumps({"rank_scale": round(geometric_mean, 3)}), flush=True)


if __name__ == "__main__":
    main()
