"""Identity tables: sign-in sessions, the link from a browser cookie to an account, hashed identifiers."""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Index, Integer, LargeBinary, String

from tastegraph.kernel.tables import UTCDateTime, browser_ref, person_ref, table

# Only the SHA-256 of a session token is stored: a leaked table does not let anyone sign in.
sessions = table(
    "sessions",
    Column("token_hash", String(64), primary_key=True),
    person_ref(nullable=False, index=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    personal=True,
)

browser_links = table(
    "browser_links",
    browser_ref(primary_key=True),
    person_ref(nullable=False, index=True),
    Column("linked_at", UTCDateTime, nullable=False),
    # Set when the browser signed out (or another person signed in on it): the link no longer speaks for
    # the person, and the id is never tied to anyone again.
    Column("retired_at", UTCDateTime, nullable=True),
    personal=True,
)

# A person's identifiers as advertisers would hash them (identity.normalize): the SHA-256 of the
# normalized email or phone, never the plain value. Matching an advertiser's hashes is a lookup here.
person_identifiers = table(
    "person_identifiers",
    person_ref(primary_key=True),
    Column("kind", String(16), primary_key=True),
    Column("hash", String(64), nullable=False),
    Column("added_at", UTCDateTime, nullable=False),
    Index("ix_person_identifiers_kind_hash", "kind", "hash"),
    personal=True,
)

# Private set intersection, prepared ahead (identity.psi_keys): the platform's secret of the day and every
# person's identifier hash blinded with it, so that round 1 of a session is a read, not a million scalar
# multiplications. A point is valid only while its `hash` is still the person's current one.
psi_keys = table(
    "psi_keys",
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("secret", LargeBinary(32), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    personal=False,
)

psi_points = table(
    "psi_points",
    Column("key_id", Integer, ForeignKey("psi_keys.id", ondelete="CASCADE"), primary_key=True),
    Column("kind", String(16), primary_key=True),
    person_ref(primary_key=True, index=True),
    Column("hash", String(64), nullable=False),
    Column("point", LargeBinary(32), nullable=False),
    personal=True,
)
