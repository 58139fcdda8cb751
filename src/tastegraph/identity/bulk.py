"""Bulk loading of people's hashed identifiers (what advertisers' customer lists are matched against).

For the demo world and benchmarks. Hashes must already be normalized and hashed (`plain_hash`): this
stores what it is given. Every row is stored or the call raises (see `kernel.bulk.insert_rows`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Unpack

from sqlalchemy import Connection

from tastegraph.identity.tables import person_identifiers
from tastegraph.kernel.bulk import Options, Row, insert_rows


def add_identifiers(conn: Connection, rows: Sequence[Row], **options: Unpack[Options]) -> int:
    """`user_id`, `kind` ("email" or "phone"), `hash` (64 hex digits), `added_at`."""
    return insert_rows(conn, person_identifiers, rows, **options)
