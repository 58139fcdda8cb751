"""Pixie-style random walks on the Gowalla user-item graph: walk steps per second on one core.

Queries are 10 random items each (seeded); every walk runs its full step budget (early stopping off)
so steps/s measures the compiled walk loop, including per-query set-up and boosting. One thread.

    .venv/bin/python bench/walks.py [--data ../shared/data/gowalla] [--queries 300] [--no-docs]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import machine_info, machine_line, md_table, print_json_line, replace_doc_section
from tastegraph.recommend.offline.data import load_lightgcn_file
from tastegraph.recommend.walks import build_graph, pixie


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=Path("../shared/data/gowalla"))
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--steps", type=int, default=200_000, help="step budget per query set")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-docs", action="store_true")
    args = parser.parse_args()

    train = load_lightgcn_file(args.data / "train.txt")
    started = time.perf_counter()
    graph = build_graph(train)
    build_seconds = time.perf_counter() - started
    pixie(graph, np.array([0, 1]), total_steps=1_000)  # compile before timing
    rng = np.random.default_rng(0)
    query_sets = [rng.choice(graph.n_items, size=10, replace=False) for _ in range(args.queries)]
    rates, latencies = [], []
    for _ in range(args.runs):
        steps, t0 = 0, time.perf_counter()
        for q in query_sets:
            q0 = time.perf_counter()
            steps += pixie(graph, q, total_steps=args.steps, stop_items=10**9).steps
            latencies.append(time.perf_counter() - q0)
        rates.append(steps / (time.perf_counter() - t0))
    early = [pixie(graph, q, total_steps=args.steps).steps for q in query_sets[:100]]
    summary = {
        "steps_per_second_median": statistics.median(rates),
        "runs": [round(r) for r in rates],
        "query_ms_median": 1000 * statistics.median(latencies),
        "early_stop_steps_median": statistics.median(early),
        "graph_build_seconds": round(build_seconds, 3),
        "items": graph.n_items,
        "users": graph.n_users,
        "edges": int(graph.item_ptr[-1]),
    }
    if not args.no_docs:
        body = f"""## Random walks (Pixie-style) on Gowalla

- Date: {datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")}
- Machine: {machine_line(machine_info())}
- Command: `.venv/bin/python bench/walks.py`
- Graph: Gowalla train as a user-item bipartite graph after degree pruning ({summary["items"]:,} items,
  {summary["users"]:,} users, {summary["edges"]:,} edges; built in {build_seconds:.2f} s). {args.queries}
  query sets of 10 random items, {args.steps:,} steps each, early stopping off, one thread, {args.runs} runs.

{
            md_table(
                ("measure", "value"),
                [
                    (
                        "walk steps per second, one core (median of runs)",
                        f"{summary['steps_per_second_median'] / 1e6:.1f} million",
                    ),
                    ("runs (steps/s)", ", ".join(f"{r / 1e6:.1f} M" for r in rates)),
                    (f"one query set, {args.steps:,} steps (median)", f"{summary['query_ms_median']:.1f} ms"),
                    (
                        "steps taken with early stopping (1,000 items x 4 visits), median",
                        f"{summary['early_stop_steps_median']:,.0f}",
                    ),
                ],
            )
        }

A step is one item -> user -> item hop. The target was 10 million steps per second per core.
"""
        replace_doc_section("walks", body)
    print_json_line(summary)


if __name__ == "__main__":
    main()
