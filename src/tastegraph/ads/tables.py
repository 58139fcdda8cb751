"""Ads tables: advertisers, their ad accounts and API tokens, audiences and customer-list uploads, and
what serves Promoted Pins: the advertisers' Pins, campaigns, ad groups and ads, and the shared counters
that hold their budgets and frequency caps (ads.spend)."""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Column, Index, Integer, LargeBinary, String

from tastegraph.kernel.tables import SUBJECT, UTCDateTime, id_column, person_ref, reference, table

# An advertiser may be managed by a person with an account here (the advertiser pages); deleting that
# account leaves the advertiser without a manager rather than deleting its data.
advertisers = table(
    "advertisers",
    id_column(),
    Column("name", String(120), nullable=False),
    person_ref("owner_user_id", ondelete="SET NULL", nullable=True, index=True),
    Column("created_at", UTCDateTime, nullable=False),
    personal=True,
)

ad_accounts = table(
    "ad_accounts",
    id_column(),
    reference("advertiser_id", "advertisers.id", nullable=False, index=True),
    Column("name", String(120), nullable=False),
    # Public: it appears in the tag on the advertiser's pages. Not a credential.
    Column("tag_id", String(32), nullable=False, unique=True),
    # The advertiser's own site: Pins linking there are "the advertiser's Pins" (engagement audiences).
    Column("website_domain", String(253), nullable=True),
    # Money is in micro-units of this currency (ISO 4217); the advertiser's "day" for budgets and
    # frequency caps is a day in this IANA time zone. Both are set at creation.
    Column("currency", String(3), nullable=False, server_default="USD"),
    Column("timezone", String(64), nullable=False, server_default="UTC"),
    Column("created_at", UTCDateTime, nullable=False),
    personal=False,
)

# Only the SHA-256 of a token is stored; `prefix` (its first characters) lets a person tell tokens apart.
ad_tokens = table(
    "ad_tokens",
    id_column(),
    reference("ad_account_id", "ad_accounts.id", nullable=False, index=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("prefix", String(12), nullable=False),
    Column("label", String(80), nullable=False, default=""),
    Column("created_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime, nullable=True),
    personal=False,
)

audiences = table(
    "audiences",
    id_column(),
    reference("ad_account_id", "ad_accounts.id", nullable=False, index=True),
    Column("kind", String(20), nullable=False),  # visitor | engagement | customer_list | actalike
    Column("name", String(120), nullable=False),
    Column("spec", JSON, nullable=False),  # what defines it (event kinds, retention_days, seed, percent)
    Column("created_at", UTCDateTime, nullable=False),
    Column("refreshed_at", UTCDateTime, nullable=False),
    personal=False,
)

# Who is in an audience. Only people whose consent allowed it at the time it was built; withdrawing
# consent deletes their rows at once (consent withdrawal hook).
audience_members = table(
    "audience_members",
    reference("audience_id", "audiences.id", primary_key=True),
    person_ref(primary_key=True),
    Column("added_at", UTCDateTime, nullable=False),
    Index("ix_audience_members_user", "user_id"),
    personal=True,
)

# What an upload was, never what it contained: the list itself is not kept.
customer_lists = table(
    "customer_lists",
    id_column(),
    reference("ad_account_id", "ad_accounts.id", nullable=False, index=True),
    Column("kind", String(10), nullable=False),  # email | phone
    Column("mode", String(10), nullable=False),  # plain (hashes or plain values) | psi
    Column("uploaded", Integer, nullable=False),
    Column("matched", Integer, nullable=False),
    reference("audience_id", "audiences.id", ondelete="SET NULL", nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    personal=False,
)

# A private-set-intersection upload between its two rounds (identity.psi): the platform's secret for
# this session and the order in which its people's blinded identifiers were sent. Deleted when the
# second round arrives or when it expires (an hour). It names no one by itself: `people` is the list
# of everyone with an identifier of that kind, packed as 8-byte ids.
psi_sessions = table(
    "psi_sessions",
    Column("id", String(32), primary_key=True),
    reference("ad_account_id", "ad_accounts.id", nullable=False, index=True),
    Column("kind", String(10), nullable=False),
    Column("name", String(120), nullable=False, default=""),
    Column("secret", LargeBinary, nullable=False),
    Column("people", LargeBinary, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    personal=False,
)

# Whom each customer list matched, whatever their settings: kept only so the privacy center can tell a
# person which advertisers' lists named them (and export it); never read to build or target anything.
# Deleted with the person's account.
customer_list_matches = table(
    "customer_list_matches",
    reference("customer_list_id", "customer_lists.id", primary_key=True),
    person_ref(primary_key=True),
    Index("ix_customer_list_matches_user", "user_id"),
    personal=True,
)


# --- Promoted Pins --------------------------------------------------------------------------------

Money = BigInteger  # micro-units of the ad account's currency (1 USD = 1,000,000)

# Which Pins an ad account made (POST /ad_accounts/{id}/pins). The Pin itself is an ordinary catalog
# Pin (it can be saved, it appears in search); only an account's own Pins can be its ads.
ad_pins = table(
    "ad_pins",
    reference("pin_id", "pins.id", primary_key=True),
    reference("ad_account_id", "ad_accounts.id", nullable=False, index=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    personal=False,
)

campaigns = table(
    "campaigns",
    id_column(),
    reference("ad_account_id", "ad_accounts.id", nullable=False, index=True),
    Column("name", String(120), nullable=False),
    Column("objective", String(20), nullable=False),  # awareness | consideration | conversions
    Column("status", String(10), nullable=False),  # active | paused | archived
    Column("daily_spend_cap", Money, nullable=True),
    Column("lifetime_spend_cap", Money, nullable=True),
    Column("start_time", UTCDateTime, nullable=True),
    Column("end_time", UTCDateTime, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    personal=False,
)

ad_groups = table(
    "ad_groups",
    id_column(),
    reference("ad_account_id", "ad_accounts.id", nullable=False, index=True),
    reference("campaign_id", "campaigns.id", nullable=False, index=True),
    Column("name", String(120), nullable=False),
    Column("status", String(10), nullable=False),
    Column("billable_event", String(12), nullable=False),  # impression | click
    Column("bid_in_micro", Money, nullable=False),
    Column("budget_in_micro", Money, nullable=False),
    Column("budget_type", String(10), nullable=False),  # daily | lifetime
    Column("pacing_delivery_type", String(12), nullable=False),  # standard | accelerated
    Column("start_time", UTCDateTime, nullable=True),
    Column("end_time", UTCDateTime, nullable=True),
    Column("frequency_cap_impressions", Integer, nullable=True),
    Column("frequency_cap_days", Integer, nullable=True),  # 1 | 7 | 30
    Column("placement", String(10), nullable=False),  # all | browse | search
    # {interests: [topic slugs], keywords: [...], audience_include: [ids], audience_exclude: [ids],
    #  expanded: bool}, validated on the way in (ads.ad_groups).
    Column("targeting_spec", JSON, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    personal=False,
)

ads = table(
    "ads",
    id_column(),
    reference("ad_account_id", "ad_accounts.id", nullable=False, index=True),
    reference("ad_group_id", "ad_groups.id", nullable=False, index=True),
    reference("pin_id", "pins.id", nullable=False, index=True),
    Column("name", String(120), nullable=False),
    Column("status", String(10), nullable=False),
    Column("destination_url", String(2048), nullable=False),
    # Third-party measurement URLs {impression: [...], click: [...], engagement: [...]} (measure.pixels
    # validates them and calls them); None when the ad has none.
    Column("tracking_urls", JSON, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    personal=False,
)

# What people did with Promoted Pins: personal data (export, erasure, retention: ads.ad_log). A row is
# a person's when they were signed in when the ad was served (`user_id`); a signed-out browser's rows
# carry only a hash of its cookie id (`browser_key`, ads.tokens.subject_key) and age out.
ad_impressions = table(
    "ad_impressions",
    Column("token_id", String(24), primary_key=True),  # each served token counts once
    reference("ad_id", "ads.id", nullable=False, index=True),
    reference("ad_group_id", "ad_groups.id", nullable=False),
    reference("ad_account_id", "ad_accounts.id", nullable=False),
    person_ref(nullable=True, index=True),
    Column("browser_key", String(34), nullable=True),
    Column("placement", String(10), nullable=False),
    Column("position", Integer, nullable=False),
    Column("charged_micro", Money, nullable=False),  # the auction price for CPM, else 0
    Column("served_at", UTCDateTime, nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Index("ix_ad_impressions_group_at", "ad_group_id", "at"),
    # Attribution (measure.attribution): a person's last touch of an account's ads before a conversion
    # (which one, read from the index alone), and the touches recorded since its last run.
    Index("ix_ad_impressions_person_account_at", "user_id", "ad_account_id", "at", "ad_id"),
    Index("ix_ad_impressions_at", "at"),
    personal=True,
)

ad_clicks = table(
    "ad_clicks",
    # Random, unguessable; appended to the destination as `tg_click` so the advertiser's tag and
    # conversions API can send it back (attribution).
    Column("click_id", String(32), primary_key=True),
    Column("token_id", String(24), nullable=False, unique=True),
    reference("ad_id", "ads.id", nullable=False, index=True),
    reference("ad_group_id", "ad_groups.id", nullable=False),
    reference("ad_account_id", "ad_accounts.id", nullable=False),
    person_ref(nullable=True, index=True),
    Column("browser_key", String(34), nullable=True),
    Column("placement", String(10), nullable=False),
    Column("position", Integer, nullable=False),
    Column("charged_micro", Money, nullable=False),  # the auction price for CPC, else 0
    Column("at", UTCDateTime, nullable=False),
    Index("ix_ad_clicks_group_at", "ad_group_id", "at"),
    # Attribution (measure.attribution): a person's last touch of an account's ads before a conversion
    # (which one, read from the index alone), and the touches recorded since its last run.
    Index("ix_ad_clicks_person_account_at", "user_id", "ad_account_id", "at", "click_id"),
    Index("ix_ad_clicks_at", "at"),
    personal=True,
)

# Engagement with a Promoted Pin where it was served: the person saved it or opened it up close. Counted
# once per served token and kind; who as in ad_impressions.
ad_engagements = table(
    "ad_engagements",
    Column("token_id", String(24), primary_key=True),
    Column("kind", String(10), primary_key=True),  # save | closeup
    reference("ad_id", "ads.id", nullable=False, index=True),
    reference("ad_group_id", "ad_groups.id", nullable=False),
    reference("ad_account_id", "ad_accounts.id", nullable=False),
    person_ref(nullable=True, index=True),
    Column("browser_key", String(34), nullable=True),
    Column("placement", String(10), nullable=False),
    Column("position", Integer, nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Index("ix_ad_engagements_group_at", "ad_group_id", "at"),
    # Attribution (measure.attribution): a person's last touch of an account's ads before a conversion
    # (which one, read from the index alone), and the touches recorded since its last run.
    Index("ix_ad_engagements_person_account_at", "user_id", "ad_account_id", "at", "ad_id"),
    Index("ix_ad_engagements_at", "at"),
    personal=True,
)

# "Hide this ad" / "hide ads from this advertiser", by a person or a signed-out browser; undoable.
ad_hides = table(
    "ad_hides",
    id_column(),
    person_ref(nullable=True, index=True),
    Column("browser_key", String(34), nullable=True, index=True),
    Column("scope", String(10), nullable=False),  # ad | advertiser
    reference("ad_id", "ads.id", nullable=True),
    reference("ad_account_id", "ad_accounts.id", nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    personal=True,
)

# Delivery insights: counts only, never who. Per ad group and advertiser day: requests where it was
# eligible, lost to pacing / budget / frequency / the auction, served. Requests per UTC hour and
# placement give "not matched by targeting" (requests in its day minus those it was eligible for).
ad_delivery_counts = table(
    "ad_delivery_counts",
    Column("day", String(10), primary_key=True),  # YYYY-MM-DD in the ad account's time zone
    reference("ad_group_id", "ad_groups.id", primary_key=True),
    Column("metric", String(16), primary_key=True),
    Column("n", BigInteger, nullable=False),
    personal=False,
)

ad_request_counts = table(
    "ad_request_counts",
    Column("hour", String(13), primary_key=True),  # YYYY-MM-DDTHH, UTC
    Column("placement", String(10), primary_key=True),  # browse | search
    Column("n", BigInteger, nullable=False),
    personal=False,
)

# --- Promoted Pins: spend and frequency counters (ads.spend, the database store) --------------------

# Spend per budget key (ads.spend documents the keys: an ad group's or a campaign's day or lifetime).
# `reserved` is what served, not yet counted ads hold; spent + reserved never passes the key's limit.
ad_spend_counters = table(
    "ad_spend_counters",
    Column("key", String(200), primary_key=True),
    Column("spent", Money, nullable=False),
    Column("reserved", Money, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    personal=False,
)

# One served ad's hold on its budgets, until its impression or click is charged (then kept as `charged`
# until the token expires, so that a report sent again is told it is a duplicate) or it is released.
# Names no one: who saw the ad is in the signed token, not here.
ad_reservations = table(
    "ad_reservations",
    Column("id", String(64), primary_key=True),
    Column("amount", Money, nullable=False),
    Column("budget_keys", JSON, nullable=False),  # [key, ...], sorted
    Column("state", String(10), nullable=False),  # reserved | charged
    Column("price", Money, nullable=True),  # what was charged
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False, index=True),
    personal=False,
)

# How many ads of a scope (an ad group: "ag:{id}") were served to a person or a signed-out browser, per
# advertiser day. `subject` is "u:{user id}" or "b:{browser id}"; `user_id` is set for a person, so
# that erasure (and deleting the account) finds their rows. Gone 32 days after the last serve.
ad_frequency = table(
    "ad_frequency",
    Column("subject", String(40), primary_key=True, info={SUBJECT: True}),
    Column("scope", String(100), primary_key=True),
    person_ref(nullable=True, index=True),
    Column("days", JSON, nullable=False),  # {advertiser day as a date ordinal: ads served that day}
    Column("updated_at", UTCDateTime, nullable=False, index=True),
    personal=True,
)
