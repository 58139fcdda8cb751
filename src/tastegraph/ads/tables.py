"""Ads tables: advertisers, their ad accounts and API tokens, audiences and customer-list uploads."""

from __future__ import annotations

from sqlalchemy import JSON, Column, Index, Integer, LargeBinary, String

from tastegraph.kernel.tables import UTCDateTime, id_column, person_ref, reference, table

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
