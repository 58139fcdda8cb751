"""Database setup and the one Alembic migration history for every table."""

from tastegraph.db.engine import make_engine, normalize_url
from tastegraph.db.migrate import current_revision, upgrade

__all__ = ["current_revision", "make_engine", "normalize_url", "upgrade"]
