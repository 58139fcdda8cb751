"""Bulk loading of on-site engagement (close-ups, clicks, ...) for the demo world and benchmarks.

Unlike `engagement.record_engagement` this neither validates nor deduplicates nor asks consent: it is
for generated histories, loaded once into an empty store. Every row is stored or the call raises (a repeated
`event_id` is an `IntegrityError`, see `kernel.bulk.insert_rows`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Unpack

from sqlalchemy import Connection

from tastegraph.collect.tables import engagement_events
from tastegraph.kernel.bulk import Options, Row, insert_rows


def add_engagement_events(conn: Connection, rows: Sequence[Row], **options: Unpack[Options]) -> int:
    """`event_id`, `user_id`, `kind`, `pin_id`, `occurred_at`, `received_at`, and optionally `board_id`,
    `target_user_id`, `query`."""
    return insert_rows(conn, engagement_events, rows, **options)
