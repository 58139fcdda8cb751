"""Identity tables: sign-in sessions, the link from a browser cookie to an account, hashed identifiers."""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Index, Integer, LargeBinary, String, Table

from tastegraph.kernel.tables import PERSONAL, UTCDateTime, browser_ref, metadata, person_ref

# Only the SHA-256 of a session token is stored: a leaked table does not let anyone sign in.
sessions = Table(
    "sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    person_ref(nullable=False, index=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    info={PERSONAL: True},
)

browser_links = Table(
    "browser_links",
    metadata,
    browser_ref(primary_key=True),
    person_ref(nullable=False, index=True),
    Column("linked_at", UTCDateTime, nullable=False),
    # Set when the browser signed out (or another person signed in on it): the link no longer speaks for
    # the person, and the id is never tied to anyone again.
    Column("retired_at", UTCDateTime, nullable=True),
    info={PERSONAL: True},
)

# A person's identifiers as advertisers would hash them (identity.normalize): the SHA-256 of the
# normalized email or phone, never the plain value. Matching an advertiser's hashes is a lookup here.
person_identifiers = Table(
    "person_identifiers",
    metadata,
    person_ref(primary_key=True),
    Column("kind", String(16), primary_key=True),
    Column("hash", String(64), nullable=False),
    Column("added_at", UTCDateTime, nullable=False),
    Index("ix_person_identifiers_kind_hash", "kind", "hash"),
    info={PERSONAL: True},
)

# Private set intersection, prepared ahead (identity.psi_keys): the platform's secret of the day and every
# person's identifier hash blinded with it, so that round 1 of a session is a read, not a million scalar
# multiplications. A point is valid only while its `hash` is still the person's current one.
psi_keys = Table(
    "psi_keys",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("secret", LargeBinary(32), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    info={PERSONAL: False},
)

psi_points = Table(
    "psi_points",
    metadata,
    Column("key_id", Integer, ForeignKey("psi_keys.id", ondelete="CASCADE"), primary_key=True),
    Column("kind", String(16), primary_key=True),
    person_ref(primary_key=True, index=True),
    Column("hash", String(64), nullable=False),
    Column("point", LargeBinary(32), nullable=False),
    info={PERSONAL: True},
)
