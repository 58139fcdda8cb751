"""A database that is down, hung, slow, locked or full answers 503 `unavailable` with Retry-After within
seconds (never a 500 after minutes), /healthz stays up, /readyz says so, and the same server recovers by
itself when the database is back.

PostgreSQL outages go through a proxy in front of the real server (tests.integration.outage_proxy);
SQLite's come from a second connection holding the write lock and from a disk that fills up."""

from __future__ import annotations

import sqlite3
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, select, text
from sqlalchemy.engine import make_url

from tastegraph.api.errors import database_unavailable
from tastegraph.bootstrap import System, build
from tastegraph.collect.tables import advertiser_events
from tastegraph.db import upgrade
from tastegraph.kernel import FrozenClock
from tastegraph.kernel.fastsql import Query
from tastegraph.server import compose
from tests.conftest import PG_URL, make_settings
from tests.integration.ads_support import ad_account
from tests.integration.ads_support import event as conversion
from tests.integration.outage_proxy import OutageProxy

# An outage must be answered well before the defaults' 3 s connect + 10 s statement + 5 s pool wait.
BOUND_SECONDS = 8.0

needs_postgres = pytest.mark.skipif(not PG_URL, reason="TASTEGRAPH_TEST_POSTGRES_URL is not set")

T = TypeVar("T")


def within(seconds: float, work: Callable[[], T]) -> tuple[T, float]:
    """`work()` and how long it took; fails the test (leaving the hung call behind) past `seconds`."""
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["value"] = work()
        except BaseException as exc:  # handed to the test's thread
            box["error"] = exc

    start = time.monotonic()
    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(seconds)
    took = time.monotonic() - start
    if worker.is_alive():
        pytest.fail(f"no answer within {seconds} s")
    if "error" in box:
        raise box["error"]
    return box["value"], took


def assert_unavailable(r: httpx.Response) -> None:
    assert r.status_code == 503, r.text
    assert int(r.headers["Retry-After"]) > 0
    error = r.json()["error"]
    assert error["code"] == "unavailable" and error["field"] is None and error["message"]
    assert set(error) == {"code", "message", "field"}


# --- PostgreSQL, through a proxy --------------------------------------------------------------------


@pytest.fixture
def proxy(pg_database: str | None) -> Iterator[OutageProxy]:
    if pg_database is None:
        pytest.skip("TASTEGRAPH_TEST_POSTGRES_URL is not set")
    url = make_url(pg_database)
    p = OutageProxy((url.host or "127.0.0.1", url.port or 5432))
    yield p
    p.close()


def through(proxy: OutageProxy, pg_database: str | None) -> str:
    assert pg_database is not None
    url = make_url(pg_database).set(host="127.0.0.1", port=proxy.port)
    return url.render_as_string(hide_password=False)


@pytest.fixture
def proxied(
    proxy: OutageProxy, pg_database: str | None, clock: FrozenClock, tmp_path: Path
) -> Iterator[tuple[TestClient, System]]:
    """A server (default time limits) whose database is reached through the proxy."""
    system = build(make_settings(through(proxy, pg_database), model_dir=tmp_path / "models"), clock=clock)
    with TestClient(compose(system, run_sweeper=False), base_url="http://127.0.0.1:8000") as client:
        yield client, system
    system.dispose()


def serves(client: TestClient) -> None:
    """Database routes answer: a sync route (404: it looked), a hot read, readiness, a page."""
    assert client.get("/v1/pins/1").status_code == 404
    assert client.get("/v1/feed/home").status_code == 200
    assert client.get("/readyz").json() == {"status": "ready"}
    assert client.get("/").status_code == 200


@needs_postgres
def test_refused_connections_answer_503_and_the_server_recovers(
    proxy: OutageProxy, proxied: tuple[TestClient, System]
) -> None:
    client, _ = proxied
    serves(client)  # the pool holds live connections now
    proxy.refuse()

    r, took = within(BOUND_SECONDS, lambda: client.get("/v1/pins/1"))
    assert_unavailable(r)
    print(f"refused: 503 after {took:.3f} s")
    r, _ = within(BOUND_SECONDS, lambda: client.get("/v1/feed/home"))
    assert_unavailable(r)
    r, _ = within(BOUND_SECONDS, lambda: client.get("/readyz"))
    assert_unavailable(r)
    # Liveness is the process, not the database: restarting would not help.
    assert client.get("/healthz").json() == {"status": "ok"}
    # Pages say so in words, not a stack trace.
    r, _ = within(BOUND_SECONDS, lambda: client.get("/"))
    assert r.status_code == 503
    assert r.headers["content-type"].startswith("text/html")
    assert "Retry-After" in r.headers
    assert "right back" in r.text and "Traceback" not in r.text

    proxy.forward()
    serves(client)  # the same server, no restart


@needs_postgres
def test_a_hung_server_answers_503_and_the_server_recovers(
    proxy: OutageProxy, proxied: tuple[TestClient, System]
) -> None:
    client, _ = proxied
    serves(client)
    # Pooled connections stay open but nothing comes back: their ping must not wait forever.
    proxy.blackhole()

    r, took = within(BOUND_SECONDS + 2, lambda: client.get("/v1/pins/1"))
    assert_unavailable(r)
    print(f"blackholed, warm pool: 503 after {took:.3f} s")
    assert took < BOUND_SECONDS
    r, took = within(BOUND_SECONDS + 2, lambda: client.get("/v1/feed/home"))
    assert_unavailable(r)
    print(f"blackholed, next request: 503 after {took:.3f} s")
    assert took < BOUND_SECONDS
    r, took = within(BOUND_SECONDS, lambda: client.get("/readyz"))
    assert_unavailable(r)
    assert took < 4.0  # readiness gives up after the connect timeout (3 s)
    assert client.get("/healthz").status_code == 200

    proxy.forward()
    serves(client)


@needs_postgres
def test_a_server_hung_from_the_start_answers_503(
    proxy: OutageProxy, proxied: tuple[TestClient, System]
) -> None:
    client, _ = proxied
    proxy.blackhole()  # not one connection made yet: the connect timeout alone bounds it
    r, took = within(BOUND_SECONDS + 2, lambda: client.get("/v1/pins/1"))
    assert_unavailable(r)
    print(f"blackholed, cold pool: 503 after {took:.3f} s")
    assert took < BOUND_SECONDS
    proxy.forward()
    serves(client)


@needs_postgres
def test_a_statement_in_flight_when_the_server_hangs_is_cut_off(
    proxy: OutageProxy, pg_database: str | None, clock: FrozenClock, tmp_path: Path
) -> None:
    settings = make_settings(
        through(proxy, pg_database),
        model_dir=tmp_path / "models",
        db_statement_timeout_ms=500,
        db_connect_timeout_seconds=2,
    )
    system = build(settings, clock=clock)
    try:
        # Through SQLAlchemy and straight through the driver (kernel.fastsql, the hot reads).
        statements: list[Callable[[Any], object]] = [
            lambda conn: conn.execute(text("SELECT 1")).scalar_one(),
            lambda conn: Query(select(text("1"))).rows(conn),
        ]
        for run in statements:
            proxy.forward()

            def hang(run: Callable[[Any], object] = run) -> BaseException:
                try:
                    with system.read() as conn:
                        run(conn)
                        proxy.blackhole()
                        run(conn)
                except Exception as exc:
                    return exc
                raise AssertionError("a hung server answered")

            error, took = within(10, hang)
            # The server would cancel at 0.5 s and answer at once; 2 s later nobody is answering.
            assert 2.0 < took < 4.0, took
            assert database_unavailable(error), repr(error)
        proxy.forward()
        with system.read() as conn:
            assert conn.execute(text("SELECT 1")).scalar_one() == 1
    finally:
        system.dispose()


@needs_postgres
def test_statement_timeout_cancels_requests_but_not_batch_work(
    pg_database: str | None, clock: FrozenClock, tmp_path: Path
) -> None:
    assert pg_database is not None
    settings = make_settings(
        pg_database, model_dir=tmp_path / "models", db_statement_timeout_ms=300, psi_workers=1
    )
    system = build(settings, clock=clock)
    try:
        start = time.monotonic()
        with pytest.raises(Exception) as caught, system.read() as conn:
            conn.execute(text("SELECT pg_sleep(3)"))
        assert time.monotonic() - start < 2
        assert database_unavailable(caught.value), repr(caught.value)
        # Training, PSI preparation, uploads, retention and migrations run without it.
        with system.read(long_running=True) as conn:
            conn.execute(text("SELECT pg_sleep(0.6)"))
        with system.write(long_running=True) as conn:
            conn.execute(text("SELECT pg_sleep(0.6)"))
            # only for that transaction: the connection goes back to the pool with the limit
        with system.read() as conn:
            assert conn.execute(text("SHOW statement_timeout")).scalar_one() == "300ms"
        assert system.prepare_psi()["key_id"] > 0
    finally:
        system.dispose()


# --- SQLite: locked, and a full disk ----------------------------------------------------------------


def sqlite_system(path: Path, clock: FrozenClock, tmp_path: Path, **overrides: object) -> System:
    system = build(
        make_settings(f"sqlite:///{path}", model_dir=tmp_path / "models", **overrides), clock=clock
    )
    upgrade(system.engine)
    return system


def test_a_locked_sqlite_database_answers_503(clock: FrozenClock, tmp_path: Path) -> None:
    path = tmp_path / "locked.db"
    system = sqlite_system(path, clock, tmp_path, sqlite_busy_timeout_ms=300)
    with TestClient(compose(system, run_sweeper=False), base_url="http://127.0.0.1:8000") as client:
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # another writer that does not let go
        try:
            body = {"email": "ann@example.com", "password": "correct horse"}
            r, took = within(10, lambda: client.post("/v1/users", json=body))
            assert_unavailable(r)
            assert took < 2.0
            # Readers are not blocked by a writer (WAL): the database is ready for them.
            assert client.get("/readyz").status_code == 200
        finally:
            other.execute("ROLLBACK")
            other.close()
        assert client.post("/v1/users", json=body).status_code == 201
    system.dispose()


def _events(system: System, prefix: str, n: int) -> list[dict[str, Any]]:
    return [conversion(system, f"{prefix}-{i}") for i in range(n)]


def _stored(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        return int(conn.execute(f"SELECT count(*) FROM {advertiser_events.name}").fetchone()[0])
    finally:
        conn.close()


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 16 MB file system of its own (tmpfs), when this process may mount one."""
    where = tmp_path / "small-disk"
    where.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(where)], capture_output=True, check=False
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def _fill(directory: Path) -> Path:
    """Take every free byte of the file system `directory` is on."""
    filler = directory / "filler"
    with filler.open("wb", buffering=0) as out:
        for size in (1 << 20, 1 << 12, 1):
            try:
                while out.write(b"\0" * size):
                    pass
            except OSError:  # no space left for this size: try a smaller one
                pass
    return filler


@pytest.mark.parametrize("limit", ["disk", "max_page_count"])
def test_a_full_disk_answers_503_and_keeps_the_database_whole(
    limit: str, clock: FrozenClock, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    directory = request.getfixturevalue("small_disk") if limit == "disk" else tmp_path
    path = directory / "full.db"
    system = sqlite_system(path, clock, tmp_path)
    pages_allowed: list[int] = []

    @event.listens_for(system.engine, "connect")
    def _limit(dbapi_conn: Any, _record: Any) -> None:
        if pages_allowed:
            dbapi_conn.execute(f"PRAGMA max_page_count = {pages_allowed[0]}")

    with TestClient(compose(system, run_sweeper=False), base_url="http://127.0.0.1:8000") as client:
        acct = ad_account(system)
        url = f"/v1/ad_accounts/{acct.id}/events"
        r = client.post(url, json={"data": _events(system, "kept", 20)}, headers=acct.auth)
        assert r.status_code == 200 and r.json()["processed"] == 20, r.text

        if limit == "disk":
            filler = _fill(directory)
        else:
            with system.read() as conn:
                pages = int(conn.execute(text("PRAGMA page_count")).scalar_one())
            pages_allowed.append(pages + 2)
            system.engine.dispose()  # new connections take the limit
        batch = {"data": _events(system, "lost", 1000)}
        r, _ = within(10, lambda: client.post(url, json=batch, headers=acct.auth))
        assert_unavailable(r)

        # Nothing of the failed batch, everything committed before, and a sound file.
        system.engine.dispose()
        assert _stored(path) == 20
        # Room again: the same server writes again.
        if limit == "disk":
            filler.unlink()
        else:
            pages_allowed.clear()
            system.engine.dispose()
        r = client.post(url, json={"data": _events(system, "later", 10)}, headers=acct.auth)
        assert r.status_code == 200, r.text
    system.dispose()
    assert _stored(path) == 30


def test_a_database_bug_is_still_a_500(clock: FrozenClock, tmp_path: Path) -> None:
    """Only outages are 503: a query against a table that is not there (sqlite3.OperationalError too) is
    our bug, and says so."""
    path = tmp_path / "broken.db"
    system = sqlite_system(path, clock, tmp_path)
    raw = sqlite3.connect(path)
    raw.execute("PRAGMA foreign_keys = OFF")
    raw.execute("DROP TABLE pins")
    raw.close()
    app = compose(system, run_sweeper=False)
    with TestClient(app, base_url="http://127.0.0.1:8000", raise_server_exceptions=False) as client:
        r = client.get("/v1/pins/1")
        assert r.status_code == 500
        assert r.json()["error"]["code"] == "internal"
        assert "Retry-After" not in r.headers
    system.dispose()


def test_which_database_errors_are_outages() -> None:
    import psycopg
    from sqlalchemy import exc as sa_exc

    def wrapped(orig: Exception) -> sa_exc.DBAPIError:
        return sa_exc.OperationalError("SELECT 1", {}, orig)

    locked = sqlite3.connect(":memory:")
    try:
        locked.execute("SELECT * FROM nowhere")
    except sqlite3.OperationalError as exc:
        missing_table = exc
    locked.close()
    assert not database_unavailable(missing_table)
    assert not database_unavailable(wrapped(missing_table))
    assert database_unavailable(wrapped(psycopg.errors.QueryCanceled("canceling statement")))
    assert database_unavailable(psycopg.OperationalError("connection refused"))
    assert database_unavailable(sa_exc.TimeoutError("QueuePool limit reached"))
    assert not database_unavailable(wrapped(psycopg.errors.UndefinedTable("no such table")))
    assert not database_unavailable(ValueError("not a database error"))
