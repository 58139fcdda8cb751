"""Signal tables: off-site visits reported by the save button, and on-site engagement events."""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Index, String, Table, Text

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
