"""Identity tables: sign-in sessions and the link from a browser cookie to an account."""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, String, Table

from tastegraph.kernel.tables import PERSONAL, SUBJECT, IdType, UTCDateTime, metadata

# Only the SHA-256 of a session token is stored: a leaked table does not let anyone sign in.
sessions = Table(
    "sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column(
        "user_id",
        IdType,
        ForeignKey("users.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
        info={SUBJECT: True},
    ),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    info={PERSONAL: True},
)

browser_links = Table(
    "browser_links",
    metadata,
    Column("browser_id", String(32), primary_key=True, info={SUBJECT: True}),
    Column(
        "user_id",
        IdType,
        ForeignKey("users.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
        info={SUBJECT: True},
    ),
    Column("linked_at", UTCDateTime, nullable=False),
    info={PERSONAL: True},
)
