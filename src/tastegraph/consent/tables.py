"""Consent tables: each person's settings and the ledger of every change to them."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Index, String, true

from tastegraph.kernel.tables import (
    IdType,
    UTCDateTime,
    browser_ref,
    id_column,
    person_ref,
    table,
)

user_settings = table(
    "user_settings",
    person_ref(primary_key=True),
    Column("personalization", Boolean, nullable=False, default=True),
    # "Use info from advertisers to improve ads". Turned off by the person, or by a request of theirs
    # carrying Sec-GPC: 1 (an opt-out of sharing; the ledger says which).
    Column("ads_advertiser_data", Boolean, nullable=False, default=True, server_default=true()),
    Column("updated_at", UTCDateTime, nullable=False),
    personal=True,
)

# Rows for a signed-out browser carry only browser_id; signing in links them to the account.
consent_ledger = table(
    "consent_ledger",
    id_column(),
    person_ref(nullable=True),
    browser_ref(nullable=True),
    Column("setting", String(60), nullable=False),
    Column("old_value", String(200), nullable=True),
    Column("new_value", String(200), nullable=False),
    Column("source", String(40), nullable=False),
    Column("changed_at", UTCDateTime, nullable=False),
    Index("ix_consent_ledger_user", "user_id", "changed_at"),
    Index("ix_consent_ledger_browser", "browser_id", "changed_at"),
    personal=True,
)

# Advertisers whose data a person turned off one by one (privacy center). No foreign key to ads: consent
# uses nothing but kernel, and an ad account that goes away leaves a harmless row.
advertiser_data_blocks = table(
    "advertiser_data_blocks",
    person_ref(primary_key=True),
    Column("ad_account_id", IdType, primary_key=True),
    Column("blocked_at", UTCDateTime, nullable=False),
    personal=True,
)
