"""Imports every domain's tables so the one metadata is complete (for Alembic and tests)."""

from __future__ import annotations

from sqlalchemy import MetaData

# Importing a domain package loads its tables onto the one metadata.
import tastegraph.ads
import tastegraph.catalog
import tastegraph.collect
import tastegraph.consent
import tastegraph.identity
import tastegraph.kernel.counters
import tastegraph.measure  # noqa: F401
from tastegraph.kernel import metadata


def full_metadata() -> MetaData:
    return metadata
