"""Imports every domain's tables so the one metadata is complete (for Alembic and tests)."""

from __future__ import annotations

from sqlalchemy import MetaData

import tastegraph.ads.tables
import tastegraph.catalog.tables
import tastegraph.collect.tables
import tastegraph.consent.tables
import tastegraph.identity.tables
import tastegraph.kernel.counters  # noqa: F401
from tastegraph.kernel import metadata


def full_metadata() -> MetaData:
    return metadata
