"""Hot read queries straight through the database driver, inside SQLAlchemy's transaction.

The home feed and related Pins run about ten small queries per request. SQLAlchemy's execution and
per-row result processing cost 0.15-0.8 ms per query on them (three to four times what SQLite itself
spends), so these queries are written as ordinary SQLAlchemy statements, compiled once per dialect, and
executed on the connection's own driver connection (same transaction, same isolation), returning plain
tuples. Timestamps come back as the driver gives them; `utc_time` turns them into aware UTC datetimes.

Parameters are passed to the driver as they are (no type processing: ints, strings, `bind_time` for
times); expanding IN lists are rendered as one placeholder per value.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.sql.expression import Executable

# Key, in a driver connection's `Connection.info`, of a guard the engine may set: called with the
# connection, it gives a context that bounds how long the statement may wait on the server (db.engine).
STATEMENT_GUARD = "tastegraph_statement_guard"
StatementGuard = Callable[[Connection], AbstractContextManager[None]]


class Query:
    """A statement compiled once per dialect and run on the driver connection."""

    def __init__(self, statement: Executable) -> None:
        self.statement = statement
        # dialect name -> (SQL text, positional parameter names or None for named, parameter defaults)
        self._compiled: dict[str, tuple[str, tuple[str, ...] | None, dict[str, object]]] = {}

    def _compile(self, conn: Connection) -> tuple[str, tuple[str, ...] | None, dict[str, object]]:
        name = conn.dialect.name
        found = self._compiled.get(name)
        if found is None:
            compiled = self.statement.compile(dialect=conn.dialect)  # type: ignore[attr-defined]
            # Values the statement carries itself (e.g. the IN list of a literal filter, OFFSET 0).
            defaults = {n: b.effective_value for b, n in compiled.bind_names.items() if not b.required}
            positions = tuple(compiled.positiontup) if compiled.positional else None
            found = (str(compiled), positions, defaults)
            self._compiled[name] = found
        return found

    def rows(self, conn: Connection, params: Mapping[str, object] | None = None) -> list[tuple[Any, ...]]:
        sql, positions, defaults = self._compile(conn)
        merged = {**defaults, **params} if params else defaults
        args: Any
        if "__[POSTCOMPILE_" in sql:
            sql, args = _expand(sql, positions, merged)
        else:
            args = tuple(merged[p] for p in positions) if positions is not None else merged
        driver = conn.connection.driver_connection
        assert driver is not None
        cursor = driver.cursor()
        guard: StatementGuard | None = conn.info.get(STATEMENT_GUARD)
        try:
            if guard is None:
                cursor.execute(sql, args)
            else:
                with guard(conn):
                    cursor.execute(sql, args)
            return list(cursor.fetchall())
        finally:
            cursor.close()

    def column(self, conn: Connection, params: Mapping[str, object] | None = None) -> list[Any]:
        return [r[0] for r in self.rows(conn, params)]


def _expand(sql: str, positions: tuple[str, ...] | None, params: dict[str, object]) -> tuple[str, Any]:
    """Render expanding IN parameters (`bindparam(name, expanding=True)`, a list per call) as one
    placeholder per value, in the driver's parameter style. An empty list matches nothing."""
    value: Any  # a list for an expanding parameter, else passed to the driver as it is
    if positions is not None:  # qmark: "?" per value, in order
        args: list[object] = []
        for name in positions:
            value = params[name]
            token = f"__[POSTCOMPILE_{name}]"
            if token in sql:
                values = list(value)
                sql = sql.replace(token, ", ".join("?" * len(values)) if values else "NULL", 1)
                args.extend(values)
            else:
                args.append(value)
        return sql, tuple(args)
    named = dict(params)
    for name, value in params.items():
        token = f"__[POSTCOMPILE_{name}]"
        if token in sql:
            values = list(value)
            keys = [f"{name}_x{i}" for i in range(len(values))]
            named.update(zip(keys, values, strict=True))
            sql = sql.replace(token, ", ".join(f"%({k})s" for k in keys) if keys else "NULL")
    return sql, named


def utc_time(value: Any) -> datetime:
    """A timestamp as a driver returns it (SQLite: naive UTC text; PostgreSQL: aware datetime) as an aware
    UTC datetime."""
    if isinstance(value, str):
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)  # type: ignore[no-any-return]
    return value.astimezone(UTC)  # type: ignore[no-any-return]


def bind_time(conn: Connection, value: datetime) -> Any:
    """An aware datetime as a parameter, stored the way SQLAlchemy stores it (SQLite: naive UTC text with
    microseconds, so text comparison orders it correctly against stored values)."""
    aware = value.astimezone(UTC)
    if conn.dialect.name == "sqlite":
        return aware.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
    return aware


class StoredTime:
    """A timestamp as the driver returned it, turned into an aware datetime (`get`) only when read:
    candidates carry times in their reasons, and only the few shown are ever written out."""

    __slots__ = ("raw",)

    def __init__(self, raw: Any) -> None:
        self.raw = raw

    def get(self) -> datetime:
        return utc_time(self.raw)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, StoredTime) and self.raw == other.raw

    def __hash__(self) -> int:
        return hash(self.raw)

    def __repr__(self) -> str:
        return f"StoredTime({self.raw!r})"
