"""Engine setup for SQLite (WAL, foreign keys on) and PostgreSQL (psycopg 3), with bounds on how long a
database that is down, locked or hung may hold a request (the caller answers 503, see api.errors)."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from psycopg.pq import TransactionStatus
from sqlalchemy import Connection, Engine, create_engine, event, exc
from sqlalchemy.pool import StaticPool

from tastegraph.kernel.fastsql import STATEMENT_GUARD

log = logging.getLogger("tastegraph.db")

READ_ONLY = "tastegraph_read_only"
# Batch work (training, PSI preparation, customer-list uploads, retention, migrations): an execution
# option that lifts the statement timeout for the transaction.
LONG_RUNNING = "tastegraph_long_running"

# Dead peers (a host gone, a network cut) are noticed by TCP itself: an idle connection's keepalive probes
# go unanswered, or data sent stays unacknowledged this long.
TCP_KEEPALIVE = {"keepalives": 1, "keepalives_idle": 10, "keepalives_interval": 3, "keepalives_count": 3}
TCP_USER_TIMEOUT_MS = 10_000


@dataclass(frozen=True)
class Limits:
    """How long database work may wait (config.Settings' db_* fields). Statement timeout 0: none."""

    connect_timeout_seconds: int = 3
    statement_timeout_ms: int = 0
    pool_timeout_seconds: float = 5.0
    sqlite_busy_timeout_ms: int = 5000


def normalize_url(url: str) -> str:
    """Accept plain postgresql:// URLs and point them at psycopg 3."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def make_engine(url: str, limits: Limits | None = None, **kwargs: Any) -> Engine:
    url = normalize_url(url)
    limits = limits or Limits()
    if url.startswith("sqlite"):
        memory = url in ("sqlite://", "sqlite:///:memory:")
        busy_ms = limits.sqlite_busy_timeout_ms
        # One shared connection in memory (StaticPool: no checkout to wait for), else a queue pool.
        pooling: dict[str, Any] = (
            {"poolclass": StaticPool} if memory else {"pool_timeout": limits.pool_timeout_seconds}
        )
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": busy_ms / 1000},
            **pooling,
            **kwargs,
        )
        event.listen(engine, "connect", lambda conn, _record: _sqlite_pragmas(conn, busy_ms))
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    connect_args: dict[str, object] = {  # passed to psycopg.connect
        "connect_timeout": limits.connect_timeout_seconds,
        **TCP_KEEPALIVE,
        "tcp_user_timeout": TCP_USER_TIMEOUT_MS,
    }
    if limits.statement_timeout_ms:
        connect_args["options"] = f"-c statement_timeout={limits.statement_timeout_ms}"
    engine = create_engine(
        url,
        pool_size=10,
        max_overflow=20,
        pool_timeout=limits.pool_timeout_seconds,
        connect_args=connect_args,
        **kwargs,
    )
    _guard_postgresql(engine, limits)
    return engine


def _sqlite_pragmas(dbapi_conn: Any, busy_timeout_ms: int) -> None:
    # pysqlite's own transaction handling is off; the "begin" listener issues BEGIN IMMEDIATE.
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    # Past this a write gives up ("database is locked", a 503) rather than holding the request.
    cur.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
    # Reads go through memory-mapped pages (shared by every connection, no copy and no system call per
    # page) and each connection keeps a bigger page cache than SQLite's 2 MB default.
    cur.execute("PRAGMA mmap_size=1073741824")
    cur.execute("PRAGMA cache_size=-32768")
    cur.close()


def _sqlite_begin(conn: Any) -> None:
    # Writers take the lock at BEGIN so concurrent writers queue (busy_timeout) instead of failing to
    # upgrade a read lock; readers begin deferred and never block on WAL.
    read_only = conn.get_execution_options().get(READ_ONLY, False)
    # Straight on the driver connection: this runs for every transaction, and SQLAlchemy's statement
    # execution would cost more than the BEGIN itself.
    conn.connection.driver_connection.execute("BEGIN" if read_only else "BEGIN IMMEDIATE")


# --- PostgreSQL: a server that accepts but never answers ---------------------------------------------


class _Watchdog:
    """Shuts down the socket of a PostgreSQL connection that has waited on the server past its deadline.

    A hung or stopped server (or anything in front of one) still acknowledges every TCP packet, so
    neither keepalives nor tcp_user_timeout notice it, the server's statement_timeout never fires, and
    psycopg would wait forever. The shutdown wakes the waiting thread with an OperationalError; the pool
    then discards the connection. One thread per process, started on demand, gone when idle.
    """

    TICK_SECONDS = 0.2
    IDLE_TICKS = 50

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._armed: dict[int, tuple[float, Any]] = {}
        self._thread: threading.Thread | None = None

    def arm(self, dbapi_conn: Any, seconds: float) -> None:
        with self._lock:
            self._armed[id(dbapi_conn)] = (time.monotonic() + seconds, dbapi_conn)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="tastegraph-db-watchdog", daemon=True)
                self._thread.start()

    def disarm(self, dbapi_conn: Any) -> None:
        with self._lock:
            self._armed.pop(id(dbapi_conn), None)

    def watching(self, dbapi_conn: Any, seconds: float) -> _Watching:
        return _Watching(self, dbapi_conn, seconds)

    def forget_thread(self) -> None:
        """After fork: the child has no watchdog thread yet."""
        self._lock = threading.Lock()
        self._armed.clear()
        self._thread = None

    def _run(self) -> None:
        idle = 0
        while True:
            time.sleep(self.TICK_SECONDS)
            with self._lock:
                if not self._armed:
                    idle += 1
                    if idle >= self.IDLE_TICKS:
                        self._thread = None
                        return
                    continue
                idle = 0
                now = time.monotonic()
                # Under the lock, so the owner cannot finish and close the connection meanwhile.
                for key, (deadline, dbapi_conn) in list(self._armed.items()):
                    if deadline <= now:
                        del self._armed[key]
                        _sever_if_waiting(dbapi_conn)


class _Watching:
    __slots__ = ("_conn", "_dog", "_seconds")

    def __init__(self, dog: _Watchdog, dbapi_conn: Any, seconds: float) -> None:
        self._dog, self._conn, self._seconds = dog, dbapi_conn, seconds

    def __enter__(self) -> None:
        self._dog.arm(self._conn, self._seconds)

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._dog.disarm(self._conn)


def _sever_if_waiting(dbapi_conn: Any) -> None:
    try:
        # Only while a command is in progress (sent, not yet answered): a commit armed the watch with no
        # event to disarm it after, and an idle connection must be left alone.
        if dbapi_conn.pgconn.transaction_status != TransactionStatus.ACTIVE:
            return
        # A duplicate descriptor: shutting it down ends the connection's socket, closing it leaves
        # psycopg's own descriptor for psycopg to close.
        with socket.socket(fileno=os.dup(dbapi_conn.pgconn.socket)) as sock:
            sock.shutdown(socket.SHUT_RDWR)
        log.warning("the database did not answer in time; connection closed")
    except Exception:  # already closed: nothing to cut (and the watchdog must never die)
        pass


WATCHDOG = _Watchdog()
os.register_at_fork(after_in_child=WATCHDOG.forget_thread)


class _StatementGuard:
    """kernel.fastsql's hook: its statements go straight to the driver, so they are watched here."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def __call__(self, conn: Connection) -> AbstractContextManager[None]:
        if conn.get_execution_options().get(LONG_RUNNING, False):
            return nullcontext()
        return WATCHDOG.watching(conn.connection.driver_connection, self.seconds)


_FRESH = "tastegraph_fresh"


def _guard_postgresql(engine: Engine, limits: Limits) -> None:
    # A ping answers in a millisecond; a pooled connection that cannot answer in this long is dropped and
    # replaced (one connect attempt, itself bounded by connect_timeout).
    ping_seconds = limits.connect_timeout_seconds / 2
    # The server cancels a statement at statement_timeout and says so at once; past that (plus the time
    # an answer needs to arrive) nobody is answering. Without a statement timeout any wait may be work.
    statement_seconds = (
        limits.statement_timeout_ms / 1000 + limits.connect_timeout_seconds
        if limits.statement_timeout_ms
        else None
    )
    guard = _StatementGuard(statement_seconds) if statement_seconds is not None else None

    @event.listens_for(engine, "connect")
    def _connected(_dbapi_conn: Any, record: Any) -> None:
        record.info[_FRESH] = True
        if guard is not None:
            record.info[STATEMENT_GUARD] = guard

    # SQLAlchemy's pool_pre_ping, with a deadline: its ping would wait forever on a hung server.
    @event.listens_for(engine, "checkout")
    def _ping(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        if record.info.pop(_FRESH, False):
            return
        try:
            with WATCHDOG.watching(dbapi_conn, ping_seconds):
                cursor = dbapi_conn.cursor()
                try:
                    cursor.execute(";")
                finally:
                    cursor.close()
        except engine.dialect.loaded_dbapi.Error as err:
            # Its siblings are likely as dead (a restart, an outage): the pool replaces them all.
            raise exc.InvalidatePoolError(f"pooled connection failed its ping: {err}") from err

    if statement_seconds is None:
        return
    seconds = statement_seconds

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        if conn.get_execution_options().get(LONG_RUNNING, False):
            conn.connection.driver_connection.execute("SET LOCAL statement_timeout = 0")  # type: ignore[union-attr]

    # COMMIT and ROLLBACK wait on the server too (a rollback also runs when a pooled connection comes
    # back). There is no event after them: the watch ends at the next statement, at check-in, or when
    # the watchdog finds the connection no longer waiting.
    def watch_ending(conn: Connection) -> None:
        # An invalidated connection (it died) has nothing left to wait on.
        if not conn.invalidated and not conn.get_execution_options().get(LONG_RUNNING, False):
            WATCHDOG.arm(conn.connection.driver_connection, seconds)

    event.listen(engine, "commit", watch_ending)
    event.listen(engine, "rollback", watch_ending)
    event.listen(engine, "reset", lambda dbapi_conn, _record, _state: WATCHDOG.arm(dbapi_conn, seconds))
    event.listen(engine, "checkin", lambda dbapi_conn, _record: WATCHDOG.disarm(dbapi_conn))

    # Statements (execute, execute without parameters, executemany) run under the watchdog; returning
    # False leaves a long-running one to SQLAlchemy, unwatched.
    def watched(run: Callable[..., Any], cursor: Any, context: Any, *args: Any) -> bool:
        if context.execution_options.get(LONG_RUNNING, False):
            return False
        with WATCHDOG.watching(cursor.connection, seconds):
            run(*args)
        return True

    event.listen(engine, "do_execute", lambda cur, sql, args, ctx: watched(cur.execute, cur, ctx, sql, args))
    event.listen(engine, "do_execute_no_params", lambda cur, sql, ctx: watched(cur.execute, cur, ctx, sql))
    event.listen(
        engine, "do_executemany", lambda cur, sql, args, ctx: watched(cur.executemany, cur, ctx, sql, args)
    )
