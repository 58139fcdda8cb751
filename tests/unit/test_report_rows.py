"""Pure parts of the reports: the time zone's offsets over a span (SQLite's day of a row), a row's
columns from its cells (withheld, partial, ratios), and CSV that a spreadsheet will not run."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

from tastegraph.measure.report_rows import COLUMNS, Part, csv_text, figures_of, row_json
from tastegraph.measure.reports import _offsets


def test_offsets_find_the_daylight_saving_changes() -> None:
    lo, hi = datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 11, 1, tzinfo=UTC)
    assert _offsets("Europe/Berlin", lo, hi) == [
        (datetime(2026, 3, 29, 1, 0, tzinfo=UTC), 3600),
        (datetime(2026, 10, 25, 1, 0, tzinfo=UTC), 7200),
        (None, 3600),
    ]
    assert _offsets("Asia/Kathmandu", lo, hi) == [(None, 5 * 3600 + 45 * 60)]
    assert _offsets("UTC", lo, hi) == [(None, 0)]


def test_a_row_withholds_and_marks_partial_and_derives_ratios() -> None:
    figs = figures_of(
        {
            "impressions": Part(1000, True),
            "spend": Part(5_000_000, True),
            "clicks": Part(40, True, partial=True),
            "saves": Part(3, False),
            "conv:click:checkout": Part(10, True),
            "cval:click:checkout": Part(250.0, True),
            "conv:view:signup": Part(2, False),
        }
    )
    row = row_json("2026-05-20", "campaign", 7, "Spring", figs, COLUMNS)
    assert row["clicks"] == 40 and "clicks" in row["partial"] and "ctr" in row["partial"]
    assert row["ctr"] == 0.04 and row["cpc_in_micro"] == 125_000 and row["cpm_in_micro"] == 5_000_000
    assert row["saves"] is None and "saves" in row["withheld"]
    assert row["conversions"] == 10 and "conversions" in row["partial"]  # the signups are withheld
    assert row["conversions_by_event"] == {"checkout": 10, "signup": None}
    assert row["view_through_conversions"] is None
    assert row["cpa_in_micro"] == 500_000 and row["roas"] == 50.0


def test_csv_names_cannot_run_as_formulas() -> None:
    row = row_json(None, "ad", 1, "=HYPERLINK(1)", figures_of({"clicks": Part(12, True)}), ("clicks",))
    table = list(csv.reader(io.StringIO(csv_text([row], ("clicks",)))))
    assert table[0] == ["date", "level", "id", "name", "clicks", "withheld", "partial"]
    assert table[1][3] == "'=HYPERLINK(1)" and table[1][4] == "12"
