"""The Promoted Pins auction alone: auctions per second on one core, and latency per auction, at 10,000
and 100,000 candidate ad groups.

Each auction fills 3 slots (a feed page of 20 has ads at positions 3, 10 and 17) from one request's
candidates: half CPM, half CPC, about ten ad groups per advertiser, log-normal bids and pCTRs, quality
factors from `quality_factors` over invented organic engagement, a $0.50 CPM reserve. Eight different
candidate sets per size are cycled so caches do not flatter the numbers; building the arrays is not
timed (a server builds them from its targeting step), `run_auction` is. One process, one thread.

    .venv/bin/python bench/auction_bench.py [--small] [--repeats 5] [--no-docs]
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from datetime import UTC, datetime  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from bench.common import (  # noqa: E402
    machine_info,
    machine_line,
    md_table,
    percentile,
    print_json_line,
    replace_doc_section,
)
from tastegraph.ads.auction import CLICK, IMPRESSION, Candidates, quality_factors, run_auction  # noqa: E402

SLOTS = 3
RESERVE_CPM_MICRO = 500_000
SETS = 8


def candidate_set(n: int, seed: int) -> Candidates:
    rng = np.random.default_rng(seed)
    billable = rng.choice(np.array([IMPRESSION, CLICK], dtype=np.int8), n)
    cpm = rng.lognormal(np.log(3_000_000), 0.6, n)  # median $3 CPM
    cpc = rng.lognormal(np.log(400_000), 0.7, n)  # median $0.40 a click
    bids = np.where(billable == CLICK, cpc, cpm).astype(np.int64) + 1
    pctr = np.clip(rng.lognormal(np.log(0.01), 0.8, n), 1e-4, 0.5)
    impressions = rng.integers(0, 100_000, n)
    engagements = rng.binomial(impressions, np.clip(rng.lognormal(np.log(0.03), 0.5, n), 0, 1))
    quality = quality_factors(pctr, float(np.median(pctr)), engagements, impressions, 0.03)
    return Candidates(
        ad_id=rng.permutation(n).astype(np.int64) + 1,
        ad_group_id=np.arange(n, dtype=np.int64),
        advertiser_id=rng.integers(0, max(1, n // 10), n).astype(np.int64),
        billable=billable,
        bid_micro=bids,
        pctr=pctr,
        quality=quality,
    )


def measure(n: int, auctions: int, repeats: int) -> dict[str, float | int | list[float]]:
    sets = [candidate_set(n, seed) for seed in range(SETS)]
    for c in sets:
        c.check()
        run_auction(c, SLOTS, RESERVE_CPM_MICRO)  # warm up
    rates: list[float] = []  # auctions per CPU second of this thread: the per-core figure
    wall_rates: list[float] = []  # auctions per wall-clock second (includes time other processes took)
    p50s: list[float] = []
    p99s: list[float] = []
    cpu_p99s: list[float] = []
    for _ in range(repeats):
        wall: list[float] = []
        cpu: list[float] = []
        started, cpu_started = time.perf_counter(), time.thread_time()
        for i in range(auctions):
            t0, c0 = time.perf_counter(), time.thread_time()
            run_auction(sets[i % SETS], SLOTS, RESERVE_CPM_MICRO)
            cpu.append(time.thread_time() - c0)
            wall.append(time.perf_counter() - t0)
        wall_rates.append(auctions / (time.perf_counter() - started))
        rates.append(auctions / (time.thread_time() - cpu_started))
        p50s.append(1000 * percentile(wall, 50))
        p99s.append(1000 * percentile(wall, 99))
        cpu_p99s.append(1000 * percentile(cpu, 99))
    return {
        "candidates": n,
        "auctions_per_repeat": auctions,
        "auctions_per_second": statistics.median(rates),
        "auctions_per_wall_second": statistics.median(wall_rates),
        "p50_ms": statistics.median(p50s),
        "p99_ms": statistics.median(p99s),
        "cpu_p99_ms": statistics.median(cpu_p99s),
        "rates": [round(r) for r in rates],
        "p99s_ms": [round(p, 3) for p in p99s],
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--small", action="store_true", help="1,000 and 5,000 candidates, briefly")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--no-docs", action="store_true")
    args = parser.parse_args()

    load_before = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    plan = [(1_000, 300), (5_000, 300)] if args.small else [(10_000, 5_000), (100_000, 600)]
    results = [measure(n, auctions, args.repeats) for n, auctions in plan]
    load_after = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    summary = {"results": results, "load_before": load_before, "load_after": load_after}
    if not args.no_docs and not args.small:
        rows = [
            (
                f"{r['candidates']:,}",
                f"{r['auctions_per_second']:,.0f}",
                f"{r['auctions_per_wall_second']:,.0f}",
                f"{r['p50_ms']:.3f}",
                f"{r['p99_ms']:.3f}",
                f"{r['cpu_p99_ms']:.3f}",
                ", ".join(f"{x:,}" for x in r["rates"]),  # type: ignore[union-attr]
            )
            for r in results
        ]
        body = f"""## Promoted Pins: the auction

- Date: {datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")}
- Machine: {machine_line(machine_info())}
- Load (`uptime`): before `{load_before}`; after `{load_after}`
- Command: `OPENBLAS_NUM_THREADS=1 .venv/bin/python bench/auction_bench.py` (sets the thread variables itself)
- What runs: `tastegraph.ads.auction.run_auction` on one request's candidates, {SLOTS} slots, reserve
  $0.50 CPM; half CPM and half CPC ad groups, ~10 per advertiser (so one-ad-per-advertiser matters),
  log-normal bids and pCTRs, quality factors from `quality_factors`. {SETS} different candidate sets
  per size, cycled. One process, one thread; {args.repeats} repeats, medians shown (latency percentiles
  are per repeat, then the median over repeats). "Per CPU-second" divides by the thread's own CPU time,
  which is the per-core rate on a machine shared with other work; "wall" includes the time the
  scheduler gave to other processes (the load above), and so does the wall-clock p99.

{
            md_table(
                (
                    "candidate ad groups",
                    "auctions per CPU-second (one core)",
                    "auctions per wall second",
                    "p50 ms (wall)",
                    "p99 ms (wall)",
                    "p99 ms (CPU)",
                    "runs (per CPU-second)",
                ),
                rows,
            )
        }

Targets: at least 5,000 auctions/s at 10,000 candidates, p99 at most 5 ms. The cost is a handful of
numpy passes over the candidates (billing-unit bids, value, score, reserve mask: memory-bound, which is
why 100,000 costs more than ten times 10,000 once the arrays outgrow the cache) plus a sampled cut-off
that avoids a full partition; the Python part (sorting the few dozen best, one-per-advertiser, prices)
is a fixed ~20-30 µs. Building and checking the arrays (`Candidates.of`) is the caller's and not timed.
"""
        replace_doc_section("ads-auction", body)
    print_json_line(summary)


if __name__ == "__main__":
    main()
