"""Choose the graph filter's settings on a validation split carved out of the training data.

The test file is never read here. Validation: 20% of each training user's items held out (seed 0); the
metrics are averaged over a seeded sample of validation users to keep each trial fast. Each stage tunes
a few settings with the best of the previous stage fixed (coordinate search), and prints every trial
as a JSON line; the last line is the chosen setting.

    .venv/bin/python bench/recall_tuning.py --train ../shared/data/gowalla/train.txt
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

from tastegraph.recommend.offline.data import load_lightgcn_file, validation_split
from tastegraph.recommend.offline.graph_filter import GraphFilter, GraphFilterParams, Spectrum, spectrum
from tastegraph.recommend.offline.harness import metrics_for


def trial(
    params: GraphFilterParams, fitted: Spectrum, data: Any, users: np.ndarray, k: int
) -> dict[str, Any]:
    started = time.perf_counter()
    recall, ndcg = metrics_for(GraphFilter(params, fitted), data, users, k)
    return {
        "recall": round(float(recall.mean()), 5),
        "ndcg": round(float(ndcg.mean()), 5),
        "seconds": round(time.perf_counter() - started, 1),
        **{
            f: getattr(params, f)
            for f in (
                "user_exponent",
                "item_exponent",
                "output_exponent",
                "rank",
                "ideal_weight",
                "boost_weight",
                "boost_power",
            )
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--train", type=Path, required=True)
    parser.add_argument("--k", type=int, default=20)
    parser.add_argument("--sample", type=int, default=8000, help="validation users per trial")
    parser.add_argument("--max-rank", type=int, default=1024)
    args = parser.parse_args()

    train = load_lightgcn_file(args.train)
    data = validation_split(train, 0.2, seed=0)
    users = data.test_users()
    users = np.sort(np.random.default_rng(0).choice(users, size=min(args.sample, len(users)), replace=False))
    best = GraphFilterParams(rank=args.max_rank)
    best_result: dict[str, Any] | None = None

    def consider(result: dict[str, Any], params: GraphFilterParams) -> None:
        nonlocal best, best_result
        print(json.dumps(result), flush=True)
        if best_result is None or (result["recall"], result["ndcg"]) > (
            best_result["recall"],
            best_result["ndcg"],
        ):
            best, best_result = params, result

    # Stage 1: normalization exponents (each needs its own spectrum).
    for a, b in itertools.product((0.4, 0.5, 0.6), (0.3, 0.4, 0.5, 0.6)):
        params = best.with_(user_exponent=a, item_exponent=b)
        fitted = spectrum(data.train, params)
        for rank, alpha in itertools.product((256, 512, 1024), (0.3, 1.0)):
            if rank <= args.max_rank:
                p = params.with_(rank=rank, ideal_weight=alpha)
                consider(trial(p, fitted, data, users, args.k), p)
        print(f"# stage 1 best so far: {best_result}", file=sys.stderr, flush=True)

    # Stage 2: the spectral shape, with the best exponents' spectrum.
    fitted = spectrum(data.train, best.with_(rank=args.max_rank))
    base = best
    for rank, alpha, beta, gamma in itertools.product(
        (256, 512, 768, 1024), (0.0, 0.3, 1.0, 2.0), (0.0, 0.5, 1.0, 2.0), (0.5, 1.0, 2.0)
    ):
        if rank > args.max_rank or (beta == 0 and gamma != 1.0):
            continue
        p = base.with_(rank=rank, ideal_weight=alpha, boost_weight=beta, boost_power=gamma)
        consider(trial(p, fitted, data, users, args.k), p)
    print(f"# stage 2 best: {best_result}", file=sys.stderr, flush=True)

    # Stage 3: popularity re-weighting of the output.
    base = best
    for c in (-0.2, -0.1, 0.0, 0.1, 0.2):
        p = base.with_(output_exponent=c)
        consider(trial(p, fitted, data, users, args.k), p)
    print(json.dumps({"chosen": best_result}))


if __name__ == "__main__":
    main()
