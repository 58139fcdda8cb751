"""A small run of the advertiser-data benchmark works end to end (figures are for docs, not checked)."""

from __future__ import annotations

from tests.integration.test_bench_smoke import _run


def test_advertiser_data_small_run() -> None:
    result = _run("advertiser_data.py", "--quick", timeout=240)
    sqlite = result["backends"]["sqlite"]  # type: ignore[index]
    assert sqlite["acked_equals_stored"] is True
    assert sqlite["conversions_events_per_s"] > 0 and sqlite["customer_list_rows_per_s"] > 0
    assert result["psi_size"] == 2000 and result["psi_seconds"] > 0
