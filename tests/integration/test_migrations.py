"""The Alembic history builds exactly the schema the code declares, on every backend."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from tastegraph.db import current_revision, make_engine
from tastegraph.db.schema import full_metadata


def test_migrated_schema_matches_metadata(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        assert current_revision(engine) is not None
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = compare_metadata(ctx, full_metadata())
        assert diff == []
    finally:
        engine.dispose()
