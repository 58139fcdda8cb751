"""One ingest at a time per ad account, where the database can have two at once.

SQLite runs one writer at a time (`System.write` begins IMMEDIATE), so two batches never overlap there.
On PostgreSQL two concurrent batches could both find an event new and both store it: a transaction-scoped
advisory lock, one key per ad account, makes the second wait until the first commits."""

from __future__ import annotations

import zlib

from sqlalchemy import Connection, text


def serialize_ingest(conn: Connection, ad_account_id: int) -> None:
    """Hold this ad account's ingest lock until the transaction ends (a no-op but on PostgreSQL)."""
    if conn.dialect.name != "postgresql":
        return
    lock_key = zlib.crc32(f"advertiser_events:{ad_account_id}".encode())
    conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": lock_key})
