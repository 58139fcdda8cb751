"""Catalogue tables: people, Pins, topics, boards, saves, follows, hides."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.sql.expression import false as sa_false

from tastegraph.kernel.tables import (
    SUBJECT,
    IdType,
    UTCDateTime,
    id_column,
    person_ref,
    reference,
    table,
)

users = table(
    "users",
    Column("id", IdType, primary_key=True, autoincrement=True, info={SUBJECT: True}),
    Column("email", String(320), nullable=False),
    Column("password_hash", String(200), nullable=False),
    Column("display_name", String(80), nullable=False),
    Column("is_demo", Boolean, nullable=False, default=False),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("email"),
    personal=True,
)

topics = table(
    "topics",
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("slug", String(60), nullable=False, unique=True),
    Column("name", String(80), nullable=False),
    personal=False,
)

pins = table(
    "pins",
    id_column(),
    Column("title", String(200), nullable=False),
    Column("description", Text, nullable=False, default=""),
    Column("image_url", String(2048), nullable=False),
    Column("link_url", String(2048), nullable=False),
    Column("domain", String(253), nullable=False),
    person_ref("creator_id", nullable=True),
    Column("save_count", Integer, nullable=False, default=0),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_pins_save_count", "save_count"),
    # A site's most saved Pins (recommend.sources.popular_from_domain) straight from the index, in order:
    # under PostgreSQL's generic plan for the prepared statement the query otherwise walked the save
    # count index and filtered by site (7.7 ms, 12,000 buffers; 0.3 ms with this index).
    Index("ix_pins_domain_popular", "domain", "save_count", "id"),
    personal=True,
)

pin_topics = table(
    "pin_topics",
    reference("pin_id", "pins.id", primary_key=True),
    Column("topic_id", Integer, ForeignKey("topics.id", ondelete="CASCADE"), primary_key=True),
    Index("ix_pin_topics_topic", "topic_id", "pin_id"),
    personal=False,
)

boards = table(
    "boards",
    id_column(),
    person_ref("owner_id", nullable=False, index=True),
    Column("name", String(120), nullable=False),
    Column("description", Text, nullable=False, default=""),
    # A secret board is visible to its owner only: never shown to others, never used to suggest the
    # owner or the board to anyone.
    Column("secret", Boolean, nullable=False, default=False, server_default=sa_false()),
    Column("created_at", UTCDateTime, nullable=False),
    personal=True,
)

# A save: a Pin on a board. `saved_by` is the board owner at the time of saving.
board_pins = table(
    "board_pins",
    reference("board_id", "boards.id", primary_key=True),
    reference("pin_id", "pins.id", primary_key=True),
    person_ref("saved_by", nullable=False),
    Column("saved_at", UTCDateTime, nullable=False),
    Index("ix_board_pins_pin", "pin_id", "board_id"),
    Index("ix_board_pins_saved_by", "saved_by", "saved_at"),
    personal=True,
)

board_follows = table(
    "board_follows",
    person_ref(primary_key=True),
    reference("board_id", "boards.id", primary_key=True),
    Column("created_at", UTCDateTime, nullable=False),
    personal=True,
)

user_follows = table(
    "user_follows",
    person_ref("follower_id", primary_key=True),
    person_ref("followee_id", primary_key=True),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_user_follows_followee", "followee_id"),
    personal=True,
)

hides = table(
    "hides",
    person_ref(primary_key=True),
    reference("pin_id", "pins.id", primary_key=True),
    Column("created_at", UTCDateTime, nullable=False),
    # Feed controls: why the person hid it (not_interested | seen_it | offensive), or none given.
    Column("reason", String(20), nullable=True),
    personal=True,
)

# --- feed controls ----------------------------------------------------------------------------------
# A topic the person removed in "Tune your home feed": it no longer counts as an interest and its Pins
# are ranked lower (catalog.feed_controls).
topic_exclusions = table(
    "topic_exclusions",
    person_ref(primary_key=True),
    Column("topic_id", Integer, ForeignKey("topics.id", ondelete="CASCADE"), primary_key=True),
    Column("created_at", UTCDateTime, nullable=False),
    personal=True,
)
