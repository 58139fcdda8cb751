"""bench/pixel_outbox_bench.py works end to end on a tiny run (benchmarks are not tests: this checks only
that the script runs and that every queued call reached the receiver exactly once)."""

from __future__ import annotations

from typing import Any

from tests.conftest import PG_URL
from tests.helpers import run_bench


def test_pixel_outbox_benchmark_tiny_run() -> None:
    backends = "sqlite,postgresql" if PG_URL else "sqlite"
    result: dict[str, Any] = run_bench(
        "pixel_outbox_bench.py", "--quick", "--backends", backends, timeout=600
    )
    assert [r["backend"] for r in result["results"]] == backends.split(",")
    for r in result["results"]:
        assert r["queue_us_per_event"] > 0
        t, o = r["throughput"], r["outage"]
        assert t["calls"] == 600 and t["calls_received"] == 600 and t["calls_per_s"] > 0
        assert o["backlog_calls"] > 0 and o["calls_received"] == o["calls_expected"] and o["drain_s"] > 0
