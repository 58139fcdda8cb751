"""Small runs of the advertiser-data and PSI benchmarks work end to end (figures are not checked)."""

from __future__ import annotations

from tests.helpers import run_bench


def test_advertiser_data_small_run() -> None:
    result = run_bench("advertiser_data.py", "--quick", timeout=240)
    sqlite = result["backends"]["sqlite"]  # type: ignore[index]
    assert sqlite["acked_equals_stored"] is True
    assert sqlite["conversions_events_per_s"] > 0 and sqlite["customer_list_rows_per_s"] > 0


def test_psi_small_run() -> None:
    result = run_bench("psi.py", "--quick", timeout=240)
    assert result["size"] == 20_000 and result["matched"] == 10_000
    assert result["prepare_s"] > 0 and result["prepared_protocol_s"] > 0 and result["cold_protocol_s"] > 0
