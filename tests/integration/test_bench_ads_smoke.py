"""bench/auction_bench.py and bench/pacing_sim.py work end to end on small runs (benchmarks are not tests:
this checks only that the scripts run and report sane figures)."""

from __future__ import annotations

from typing import Any

from tests.helpers import run_bench


def test_auction_benchmark_small_run() -> None:
    result: dict[str, Any] = run_bench("auction_bench.py", "--small", "--repeats", "1", "--no-docs")
    sizes = [r["candidates"] for r in result["results"]]
    assert sizes == [1_000, 5_000]
    for r in result["results"]:
        assert r["auctions_per_second"] > 0 and 0 < r["p50_ms"] <= r["p99_ms"]


def test_pacing_simulation_small_run() -> None:
    result: dict[str, Any] = run_bench("pacing_sim.py", "--small", "--no-docs", timeout=600)
    for pacing in ("standard", "accelerated"):
        r = result["results"][pacing]
        assert r["served"] > 0 and r["budget_limited_groups"] > 0
        assert r["max_overspend_pct"] <= 1.0  # the guard's bound holds even on a small run
    # Standard pacing spreads spend over the day; accelerated spends it early.
    assert (
        result["results"]["standard"]["tracking_mean_median"]
        < result["results"]["accelerated"]["tracking_mean_median"]
    )
