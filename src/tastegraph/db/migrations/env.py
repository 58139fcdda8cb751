"""Alembic environment: the engine comes from the caller (tastegraph.db.migrate), never from a file."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine

from tastegraph.db.engine import LONG_RUNNING
from tastegraph.db.schema import full_metadata

config = context.config
engine = config.attributes.get("engine")


def run() -> None:
    if not isinstance(engine, Engine):
        raise RuntimeError("run migrations through `tastegraph db upgrade`")
    # A migration may rewrite a big table: no statement timeout.
    with engine.execution_options(**{LONG_RUNNING: True}).begin() as conn:
        context.configure(
            connection=conn,
            target_metadata=full_metadata(),
            render_as_batch=conn.dialect.name == "sqlite",
            compare_type=True,
        )
        context.run_migrations()


run()
