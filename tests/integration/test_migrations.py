"""The Alembic history builds exactly the schema the code declares, on every backend."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from tastegraph.catalog.search import INDEX_TABLES
from tastegraph.db import current_revision, make_engine
from tastegraph.db.schema import full_metadata


def _declared_or_compared(name: str | None, type_: str, parent_names: object) -> bool:
    """Compare everything but the full-text search indexes of migration 0011 (catalog.search): FTS5
    virtual tables and their shadow tables (SQLite), the tsvector tables (PostgreSQL). They cannot be
    declared in the SQLAlchemy metadata; tests/integration/test_search.py checks them instead."""
    return not (type_ == "table" and name in INDEX_TABLES)


def test_migrated_schema_matches_metadata(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        assert current_revision(engine) is not None
        with engine.connect() as conn:
            ctx = MigrationContext.configure(
                conn, opts={"compare_type": True, "include_name": _declared_or_compared}
            )
            diff = compare_metadata(ctx, full_metadata())
        assert diff == []
    finally:
        engine.dispose()
