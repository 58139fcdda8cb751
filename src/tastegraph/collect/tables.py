"""Signal tables: off-site visits from the save button, on-site engagement, and advertisers' events."""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, Column, Index, Integer, Numeric, String, Text, text

from tastegraph.kernel.tables import (
    SUBJECT,
    UTCDateTime,
    browser_ref,
    id_column,
    person_ref,
    reference,
    table,
)

offsite_visits = table(
    "offsite_visits",
    id_column(),
    Column("event_id", String(64), nullable=False, unique=True),
    browser_ref(nullable=True),
    person_ref(nullable=True),
    Column("url", Text, nullable=False),
    Column("domain", String(253), nullable=False),
    Column("visited_at", UTCDateTime, nullable=False),
    Column("received_at", UTCDateTime, nullable=False),
    Index("ix_offsite_visits_user", "user_id", "visited_at"),
    Index("ix_offsite_visits_browser", "browser_id", "visited_at"),
    Index("ix_offsite_visits_visited_at", "visited_at"),
    # Without third-party cookies (issue 14): the partitioned cookie (CHIPS) a visit came with, when it
    # came with no browser id, and how the visit was tied to its person (account | browser | storage_access
    # | partition | click), for the export.
    Column("partition_id", String(32), nullable=True),
    Column("tied_by", String(16), nullable=True),
    Index("ix_offsite_visits_partition", "partition_id", "domain"),
    personal=True,
)

# --- off-site visits without third-party cookies (issue 14) ------------------------------------------
# Single-use tickets a partition's frame hands to the Pin It popup it opens: redeemed by the person who
# saves there, they tie that partition's visits on that site to that person. Only a hash is stored.
offsite_link_tickets = table(
    "offsite_link_tickets",
    Column("ticket_hash", String(64), primary_key=True),
    Column("partition_id", String(32), nullable=False, info={SUBJECT: True}),
    Column("domain", String(253), nullable=False),  # the site the visits are stored under
    Column(
        "host", String(253), nullable=False
    ),  # the host of the page that asked (the same, but in development)
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Index("ix_offsite_link_tickets_expires", "expires_at"),
    personal=True,
)

# Which partition (a browser's partitioned cookie on one site) a person tied to themselves, and when: a
# partition is tied to at most one person, so someone else's ticket can never pull its visits to another.
offsite_partition_links = table(
    "offsite_partition_links",
    id_column(),
    Column("partition_id", String(32), nullable=False),
    Column("domain", String(253), nullable=False),
    person_ref(nullable=False),
    Column("visits", Integer, nullable=False),
    Column("linked_at", UTCDateTime, nullable=False),
    Index("ix_offsite_partition_links_partition", "partition_id", "domain", unique=True),
    Index("ix_offsite_partition_links_user", "user_id"),
    personal=True,
)

# Outbound click ids (`tg_click` in the URL of a Pin's site): random, one person, one site, short-lived.
# Only a hash is stored, so the table cannot be replayed from a copy.
offsite_click_ids = table(
    "offsite_click_ids",
    id_column(),
    Column("click_hash", String(64), nullable=False, unique=True),
    person_ref(nullable=False),
    reference("pin_id", "pins.id", nullable=True, ondelete="SET NULL"),
    Column("host", String(253), nullable=False),  # the host the Pin links to
    # The partition (or browser) that first came back with it: a copied link ties nothing for others.
    Column("bound_to", String(32), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Index("ix_offsite_click_ids_user", "user_id"),
    Index("ix_offsite_click_ids_expires", "expires_at"),
    personal=True,
)

engagement_events = table(
    "engagement_events",
    id_column(),
    Column("event_id", String(64), nullable=False, unique=True),
    person_ref(nullable=False),
    Column("kind", String(20), nullable=False),
    reference("pin_id", "pins.id", nullable=True),
    reference("board_id", "boards.id", nullable=True),
    person_ref("target_user_id", nullable=True),
    Column("query", String(200), nullable=True),
    Column("occurred_at", UTCDateTime, nullable=False),
    Column("received_at", UTCDateTime, nullable=False),
    Index("ix_engagement_events_user", "user_id", "occurred_at"),
    personal=True,
)

# Events advertisers share: from the tag on their pages (`source` "tag") and the conversions API ("api").
# Identifiers arrive hashed (or are hashed on arrival) and are used only to find the person; what is
# kept is whom they matched (`user_id`), never the hashes. Erasing a person clears every column that
# names them and keeps the anonymous event, so the advertiser's aggregate counts stay right.
advertiser_events = table(
    "advertiser_events",
    id_column(),
    reference("ad_account_id", "ad_accounts.id", nullable=False),
    Column("source", String(8), nullable=False),  # tag | api
    Column("event_name", String(20), nullable=False),
    Column("event_id", String(128), nullable=False),
    Column("action_source", String(12), nullable=False),  # web | app_android | app_ios | offline
    Column("event_time", UTCDateTime, nullable=False),
    Column("received_at", UTCDateTime, nullable=False),
    person_ref(nullable=True),
    browser_ref(nullable=True),  # our tg_bid cookie
    # The tag's first-party cookie on the advertiser's own site (a random id, per site).
    Column("site_visitor_id", String(40), nullable=True, info={SUBJECT: True}),
    Column("matched_by", String(40), nullable=True),  # e.g. "cookie", "em", "em,ph"
    Column("click_id", String(128), nullable=True),
    Column("opt_out", Boolean, nullable=False, default=False),
    Column("limited_data_processing", Boolean, nullable=False, default=False),
    Column("global_privacy_control", Boolean, nullable=False, default=False),
    # Whether the conversion may be attributed to an ad (measure.attribution), decided by consent when
    # the event arrived: the person's "use info from advertisers" setting then, the request's signals and
    # the event's flags. NULL for events stored before it was recorded (migration 0018): never attributed.
    Column("attributable", Boolean, nullable=True),
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
    # Conversions that name a click (measure.attribution re-evaluates them when the click is recorded).
    Index(
        "ix_advertiser_events_click",
        "click_id",
        postgresql_where=text("click_id IS NOT NULL"),
        sqlite_where=text("click_id IS NOT NULL"),
    ),
    personal=True,
)
