"""Shared fixtures: a real database (SQLite always; PostgreSQL too when TASTEGRAPH_TEST_POSTGRES_URL is
set), a System on a frozen clock, and an HTTP client against the real app."""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, text

from tastegraph.bootstrap import System, build
from tastegraph.config import Settings
from tastegraph.db import make_engine, normalize_url, upgrade
from tastegraph.db.schema import full_metadata
from tastegraph.kernel import FrozenClock, cache
from tastegraph.kernel.cache import ManualMonotonic
from tastegraph.server import compose

START = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
PG_URL = os.environ.get("TASTEGRAPH_TEST_POSTGRES_URL")
BACKENDS = ["sqlite", "postgresql"] if PG_URL else ["sqlite"]


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str | None]:
    """A fresh PostgreSQL database for this test run, migrated once; dropped at the end."""
    if not PG_URL:
        yield None
        return
    admin = create_engine(normalize_url(PG_URL), isolation_level="AUTOCOMMIT")
    name = f"tastegraph_test_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    base = normalize_url(PG_URL).rsplit("/", 1)[0]
    url = f"{base}/{name}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _truncate_pg(engine: Engine) -> None:
    names = ", ".join(f'"{t.name}"' for t in full_metadata().sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path, pg_database: str | None) -> Iterator[str]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'test.db'}"
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
        yield url
        return
    assert pg_database is not None
    engine = make_engine(pg_database)
    _truncate_pg(engine)
    engine.dispose()
    yield pg_database


def make_settings(database_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "database_url": database_url,
        "env": "test",
        "test_clock": True,
        "ikea_dir": None,
        # Never the working directory's models/: tests must not load, sweep or erase real artifacts.
        "model_dir": Path(tempfile.gettempdir()) / f"tastegraph-test-models-{uuid.uuid4().hex}",
        # Pin It's image copies: never the working directory's media/.
        "media_dir": Path(tempfile.gettempdir()) / f"tastegraph-test-media-{uuid.uuid4().hex}",
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


@pytest.fixture
def cache_clock() -> Iterator[ManualMonotonic]:
    """The in-memory caches' clock (kernel.cache.monotonic), moved by hand: `cache_clock.advance(31)`."""
    moved = ManualMonotonic()
    cache.use_monotonic(moved)
    yield moved
    cache.use_monotonic(None)


@pytest.fixture
def system(database_url: str, clock: FrozenClock, tmp_path: Path) -> Iterator[System]:
    sys = build(make_settings(database_url, model_dir=tmp_path / "models"), clock=clock)
    yield sys
    sys.dispose()


@pytest.fixture
def client(system: System) -> Iterator[TestClient]:
    app = compose(system, run_sweeper=False)
    with TestClient(app, base_url="http://127.0.0.1:8000") as c:
        yield c
