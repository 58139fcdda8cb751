"""A tiny run of the attribution benchmark works end to end on SQLite (figures are not checked, only
that each run did what it says: the full run attributes, the rerun changes nothing, the day adds)."""

from __future__ import annotations

from typing import Any

from tests.helpers import run_bench


def test_attribution_bench_small_run() -> None:
    result: Any = run_bench("attribution_bench.py", "--quick", timeout=240)
    sqlite = result["backends"]["sqlite"]
    assert sqlite["rows"]["impressions"] == 5_000 and sqlite["rows"]["conversions"] == 500
    full, rerun, day = sqlite["full"], sqlite["rerun"], sqlite["day"]
    assert 0 < full["inserted"] == full["rows"] <= full["considered"] <= 500
    assert (rerun["inserted"], rerun["updated"], rerun["deleted"]) == (0, 0, 0)
    assert rerun["rows"] == full["rows"]
    assert day["inserted"] > 0 and day["rows"] == full["rows"] + day["inserted"] - day["deleted"]
    assert full["seconds"] > 0 and full["rss_peak_mb"] > 0
