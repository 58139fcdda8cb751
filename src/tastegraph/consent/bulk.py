"""Bulk loading of people's consent settings, for the demo world and benchmark catalogues.

Rows go straight into the settings table, as a sign-up writes them: no ledger entries, because nothing
was changed. Every row is stored or the call raises (see `kernel.bulk.insert_rows`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Unpack

from sqlalchemy import Connection

from tastegraph.consent.tables import user_settings
from tastegraph.kernel.bulk import Options, Row, insert_rows


def add_settings(conn: Connection, rows: Sequence[Row], **options: Unpack[Options]) -> int:
    """One row a person: `user_id`, `personalization`, `updated_at`; settings left out take their
    defaults (with `copy=True` on PostgreSQL, the database's defaults)."""
    return insert_rows(conn, user_settings, rows, **options)
