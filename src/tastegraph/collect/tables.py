"""Signal tables: off-site visits from the save button, on-site engagement, and advertisers' events."""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, Column, ForeignKey, Index, Integer, Numeric, String, Table, Text

from tastegraph.kernel.tables import PERSONAL, SUBJECT, IdType, UTCDateTime, metadata

offsite_visits = Table(
    "offsite_visits",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("event_id", String(64), nullable=False, unique=True),
    Column("browser_id", String(32), nullable=True, info={SUBJECT: True}),
    Column(
        "user_id",
        IdType,
        ForeignKey("users.id", ondelete="CASCADE"),
        nullable=True,
        info={SUBJECT: True},
    ),
    Column("url", Text, nullable=False),
    Column("domain", String(253), nullable=False),
    Column("visited_at", UTCDateTime, nullable=False),
    Column("received_at", UTCDateTime, nullable=False),
    Index("ix_offsite_visits_user", "user_id", "visited_at"),
    Index("ix_offsite_visits_browser", "browser_id", "visited_at"),
    Index("ix_offsite_visits_visited_at", "visited_at"),
    info={PERSONAL: True},
)

engagement_events = Table(
    "engagement_events",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("event_id", String(64), nullable=False, unique=True),
    Column(
        "user_id",
        IdType,
        ForeignKey("users.id", ondelete="CASCADE"),
        nullable=False,
        info={SUBJECT: True},
    ),
    Column("kind", String(20), nullable=False),
    Column("pin_id", IdType, ForeignKey("pins.id", ondelete="CASCADE"), nullable=True),
    Column("board_id", IdType, ForeignKey("boards.id", ondelete="CASCADE"), nullable=True),
    Column(
        "target_user_id",
        IdType,
        ForeignKey("users.id", ondelete="CASCADE"),
        nullable=True,
        info={SUBJECT: True},
    ),
    Column("query", String(200), nullable=True),
    Column("occurred_at", UTCDateTime, nullable=False),
    Column("received_at", UTCDateTime, nullable=False),
    Index("ix_engagement_events_user", "user_id", "occurred_at"),
    info={PERSONAL: True},
)

# Events advertisers share: from the tag on their pages (`source` "tag") and the conversions API ("api").
# Identifiers arrive hashed (or are hashed on arrival) and are used only to find the person; what is
# kept is whom they matched (`user_id`), never the hashes. Erasing a person clears every column that
# names them and keeps the anonymous event, so the advertiser's aggregate counts stay right.
advertiser_events = Table(
    "advertiser_events",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("ad_account_id", IdType, ForeignKey("ad_accounts.id", ondelete="CASCADE"), nullable=False),
    Column("source", String(8), nullable=False),  # tag | api
    Column("event_name", String(20), nullable=False),
    Column("event_id", String(128), nullable=False),
    Column("action_source", String(12), nullable=False),  # web | app_android | app_ios | offline
    Column("event_time", UTCDateTime, nullable=False),
    Column("received_at", UTCDateTime, nullable=False),
    Column(
        "user_id",
        IdType,
        ForeignKey("users.id", ondelete="CASCADE"),
        nullable=True,
        info={SUBJECT: True},
    ),
    Column("browser_id", String(32), nullable=True, info={SUBJECT: True}),  # our tg_bid cookie
    # The tag's first-party cookie on the advertiser's own site (a random id, per site).
    Column("site_visitor_id", String(40), nullable=True, info={SUBJECT: True}),
    Column("matched_by", String(40), nullable=True),  # e.g. "cookie", "em", "em,ph"
    Column("click_id", String(128), nullable=True),
    Column("opt_out", Boolean, nullable=False, default=False),
    Column("limited_data_processing", Boolean, nullable=False, default=False),
    Column("global_privacy_control", Boolean, nullable=False, default=False),
    Column("value", Numeric(18, 4), nullable=True),
    Column("currency", String(3), nullable=True),
    Column("order_id", String(128), nullable=True),
    Column("order_quantity", Integer, nullable=True),
    Column("search_query", String(256), nullable=True),
    Column("line_items", JSON, nullable=True),
    Column("page_url", Text, nullable=True),
    Index("ix_advertiser_events_dedupe", "event_id", "ad_account_id", "event_name"),
    Index("ix_advertiser_events_account_time", "ad_account_id", "event_time"),
    Index("ix_advertiser_events_user", "user_id"),
    Index("ix_advertiser_events_browser", "browser_id"),
    Index("ix_advertiser_events_received", "received_at"),
    info={PERSONAL: True},
)
