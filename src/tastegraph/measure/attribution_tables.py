"""Attribution results (measure.attribution writes them, reports read them).

One row per conversion (an advertiser event of a conversion kind) that may be attributed: the same
person's last click, last engagement and last counted impression of the account's Promoted Pins in the
longest window an account may choose (measure.settings.MAX_WINDOW_DAYS) before the conversion. Which of
them is credited is decided by the windows in force when a report is computed (click beats engagement
beats view, each inside its window), so changing the windows needs no recomputation.

A conversion whose person did not allow "use info from advertisers" when it arrived has no row: it is
counted in the advertiser's totals only (collect.advertiser_events.summary)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Numeric, String

from tastegraph.kernel.tables import SUBJECT, IdType, UTCDateTime, table

ad_attributions = table(
    "ad_attributions",
    # Every id here is a plain id, not a foreign key. A foreign key check per row locks the row it
    # names (the event, the person): writing a million rows took 64 s more on PostgreSQL
    # (docs/benchmarks.md). What a cascade would do is done explicitly: erasure deletes the person's
    # rows (measure.attribution.erase, registered before the tables they come from), the sweep deletes
    # rows older than the ad logs and any whose event is gone; ad accounts and ads are never deleted.
    Column("event_id", IdType, primary_key=True),
    Column("ad_account_id", IdType, nullable=False),
    # Whose conversion it was: a person ("u:{id}", user_id set) or a signed-out browser's ad log key
    # ("b:{browser_key}", reached through a click id). Reports count distinct people by it; erasure
    # deletes the person's rows.
    Column("user_id", IdType, nullable=True, index=True, info={SUBJECT: True}),
    Column("person_key", String(40), nullable=False, info={SUBJECT: True}),
    Column("event_name", String(20), nullable=False),
    Column("event_time", UTCDateTime, nullable=False),
    Column("value", Numeric(18, 4), nullable=True),
    Column("currency", String(3), nullable=True),
    # The candidates (each None when there was none in the longest window).
    Column("click_ad_id", IdType, nullable=True),
    Column("click_at", UTCDateTime, nullable=True),
    Column("click_id", String(32), nullable=True),
    Column("engagement_ad_id", IdType, nullable=True),
    Column("engagement_at", UTCDateTime, nullable=True),
    Column("view_ad_id", IdType, nullable=True),
    Column("view_at", UTCDateTime, nullable=True),
    Column("computed_at", UTCDateTime, nullable=False),
    Index("ix_ad_attributions_account_time", "ad_account_id", "event_time"),
    # The retention sweep (measure.attribution.sweep) deletes by conversion time across accounts.
    Index("ix_ad_attributions_event_time", "event_time"),
    personal=True,
)

# How far each incremental run got: the largest advertiser_events.id and the latest ad-log time it saw.
attribution_progress = table(
    "attribution_progress",
    Column("name", String(20), primary_key=True),
    Column("value", BigInteger, nullable=True),
    Column("at", UTCDateTime, nullable=True),
    personal=False,
)
