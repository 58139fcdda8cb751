"""Advertiser report rollups (measure.reports writes and reads them) and the differential-privacy ledger.

Counts and sums only: no row names a person. `people` is how many distinct people (or signed-out
browsers) a cell of people's actions comes from; the report withholds a cell from fewer than
TASTEGRAPH_REPORT_MIN_PEOPLE of them."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Float, Index, Integer, String

from tastegraph.kernel.tables import UTCDateTime, reference, table
from tastegraph.measure.attribution_tables import ad_attributions

# One cell per ad account, day (YYYY-MM-DD in the account's time zone), level and object, and metric.
# level "ad": computed from the logs and attributions (object_id an ad id); "ad_group" and "campaign":
# the sums of their ads' cells that may be published (`withheld` counts the ads' cells left out);
# "other" (object_id 0): the day's withheld ad cells of a metric together, `people` the distinct
# people behind all of them. Metrics: impressions, spend (micro-units), clicks, saves, closeups,
# conv:{click|engagement|view}:{event_name} (conversions) and cval:... (their value).
report_cells = table(
    "report_cells",
    reference("ad_account_id", "ad_accounts.id", primary_key=True),
    Column("level", String(10), primary_key=True),
    Column("day", String(10), primary_key=True),
    Column("object_id", BigInteger, primary_key=True),
    Column("metric", String(40), primary_key=True),
    Column("value", Float, nullable=False),
    Column("people", Integer, nullable=True),  # None for impressions and spend (not people's actions)
    Column("withheld", Integer, nullable=False, default=0),
    personal=False,
    # On SQLite the rows are stored in key order: a report reads one contiguous range.
    sqlite_with_rowid=False,
)

# What the cells were computed with: per account, the attribution windows ("w:{id}" -> "c,e,v"), and
# the threshold ("min_people"). A change makes the next refresh recompute what depends on it.
report_state = table(
    "report_state",
    Column("name", String(40), primary_key=True),
    Column("text", String(40), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    personal=False,
)

# privacy "dp": the noisy cells released for an account's day, computed once (from the exact ad cells,
# with noise) and reused by every later report; `noise_sd` is the noise's standard deviation.
# `windows` are the attribution windows the release used ("c,e,v").
report_dp_cells = table(
    "report_dp_cells",
    reference("ad_account_id", "ad_accounts.id", primary_key=True),
    Column("level", String(10), primary_key=True),
    Column("day", String(10), primary_key=True),
    Column("object_id", BigInteger, primary_key=True),
    Column("metric", String(40), primary_key=True),
    Column("value", Float, nullable=False),
    Column("noise_sd", Float, nullable=False),
    personal=False,
    sqlite_with_rowid=False,
)

# One row per released account day (what it cost, under which windows).
report_dp_releases = table(
    "report_dp_releases",
    reference("ad_account_id", "ad_accounts.id", primary_key=True),
    Column("day", String(10), primary_key=True),
    Column("windows", String(20), nullable=False),
    Column("epsilon", Float, nullable=False),
    Column("released_at", UTCDateTime, nullable=False),
    personal=False,
)

# The privacy budget spent per ad account and 7-day epoch (epoch_start: the Monday, YYYY-MM-DD, of the
# days whose data the releases describe).
report_dp_ledger = table(
    "report_dp_ledger",
    reference("ad_account_id", "ad_accounts.id", primary_key=True),
    Column("epoch_start", String(10), primary_key=True),
    Column("spent", Float, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    personal=False,
)

# A refresh's work list: the account days it recomputes, with their bounds in UTC; `kind` "logs"
# (impressions, spend, clicks, saves, close-ups) or "conv" (conversions). Emptied by each refresh.
report_dirty = table(
    "report_dirty",
    reference("ad_account_id", "ad_accounts.id", primary_key=True),
    Column("day", String(10), primary_key=True),
    Column("kind", String(4), primary_key=True),
    Column("timezone", String(64), nullable=False),
    Column("start_at", UTCDateTime, nullable=False),
    Column("end_at", UTCDateTime, nullable=False),
    personal=False,
)

# Reports find the attributions computed since their last run.
Index("ix_ad_attributions_computed_at", ad_attributions.c.computed_at)
