"""Measurement tables shared by its parts: each ad account's measurement settings (attribution windows
and how its reports protect people). The outbox of measurement pixels, attribution results and report
rollups have their own modules (pixel_tables, attribution_tables, report_tables)."""

from __future__ import annotations

from sqlalchemy import Column, Float, Integer, String

from tastegraph.kernel.tables import UTCDateTime, reference, table

# One row per ad account that changed a default (measure.settings gives the defaults for the rest).
# Windows in days: click 1|7|14|30|60, engagement 1|7|14|30|60, view 0|1|7|14|30|60. `privacy` is
# "threshold" (rows from fewer than TASTEGRAPH_REPORT_MIN_PEOPLE people withheld) or "dp" (calibrated
# noise, `dp_epsilon` per 7-day epoch).
measurement_settings = table(
    "measurement_settings",
    reference("ad_account_id", "ad_accounts.id", primary_key=True),
    Column("click_days", Integer, nullable=False),
    Column("engagement_days", Integer, nullable=False),
    Column("view_days", Integer, nullable=False),
    Column("privacy", String(10), nullable=False),
    Column("dp_epsilon", Float, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    personal=False,
)
