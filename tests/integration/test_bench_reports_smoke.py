"""bench/report_bench.py works end to end on a small run (benchmarks are not tests: this checks only that
the script loads its data, builds the rollups, gets answers from a real server and reports figures)."""

from __future__ import annotations

from tests.helpers import run_bench


def test_report_benchmark_small_run() -> None:
    result = run_bench("report_bench.py", "--quick", "--no-docs", "--requests", "5", timeout=600)
    assert result["scale"] == {
        "impressions": 100_000,
        "clicks": 10_000,
        "conversions": 10_000,
        "people": 10_000,
    }
    rollups = result["rollups"]
    assert isinstance(rollups, dict) and rollups["full_cells"] > 0
    latency = result["latency"]
    assert isinstance(latency, dict)
    assert latency["total"]["rows"] == 21  # 20 campaigns and the other row
    assert latency["day"]["rows"] > 20 * 80
    for figures in latency.values():
        assert figures["p99"] > 0
