"""Bulk loading: many rows into one table, in big executemany batches or (PostgreSQL, on request) COPY.

For loaders that write hundreds of thousands of rows at once (the demo world, benchmark catalogues). No
package writes another's tables with this: each domain's `bulk` module wraps it for its own tables, and
loaders call those.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypedDict

from sqlalchemy import Connection, Table, insert, text

from tastegraph.kernel.errors import InvalidInput

Row = Mapping[str, Any]
# (rows done, rows in all): called once with 0 before the first batch, then after every batch.
Progress = Callable[[int, int], None]

CHUNK = 5000


class Options(TypedDict, total=False):
    """`insert_rows`' keyword arguments (see there), which the domains' loaders pass on:
    `def add_x(conn, rows, **options: Unpack[Options])`."""

    chunk: int
    progress: Progress | None
    copy: bool


def insert_rows(
    conn: Connection,
    table: Table,
    rows: Sequence[Row],
    *,
    chunk: int = CHUNK,
    progress: Progress | None = None,
    copy: bool = False,
) -> int:
    """Insert every row, `chunk` rows a statement, and return how many went in: all of them, or it raises.

    Rows are dicts keyed by column name, each with the keys of the first row. A key that names no
    column is refused before anything is written (SQLAlchemy would drop it without a word); a row
    missing one of the first row's keys raises (`StatementError`; `InvalidInput` with COPY), a duplicate
    key or a broken foreign key the driver's `IntegrityError`: nothing is skipped or merged, and the
    caller's transaction is left to roll back. Rows that carry explicit ids move
    PostgreSQL's id sequence past them, so later inserts that take the next id do not collide.

    With `copy=True` on PostgreSQL the rows go through COPY (faster for millions of rows); COPY sends the
    first row's columns only and applies no Python-side column defaults, so give every column you mean.
    Elsewhere `copy` is ignored.
    """
    if chunk < 1:
        raise InvalidInput("chunk must be at least 1", field="chunk")
    total = len(rows)
    if progress is not None:
        progress(0, total)
    if not rows:
        return 0
    unknown = set(rows[0]) - set(table.c.keys())
    if unknown:
        raise InvalidInput(f"{table.name} has no column {', '.join(sorted(unknown))}", field="rows")
    if copy and conn.dialect.name == "postgresql":
        _copy(conn, table, rows, chunk, progress)
    else:
        for start in range(0, total, chunk):
            batch = rows[start : start + chunk]
            conn.execute(insert(table), batch)
            if progress is not None:
                progress(start + len(batch), total)
    if "id" in rows[0] and "id" in table.c:
        sync_id_sequence(conn, table)
    return total


def _copy(conn: Connection, table: Table, rows: Sequence[Row], chunk: int, progress: Progress | None) -> None:
    """PostgreSQL COPY of dict rows (datetimes are timezone-aware, so psycopg sends them as such)."""
    cols = list(rows[0])
    raw: Any = conn.connection.driver_connection
    total = len(rows)
    try:
        with raw.cursor() as cur, cur.copy(f"COPY {table.name} ({', '.join(cols)}) FROM STDIN") as out:
            for start in range(0, total, chunk):
                for r in rows[start : start + chunk]:
                    out.write_row([r[c] for c in cols])
                if progress is not None:
                    progress(min(total, start + chunk), total)
    except KeyError as exc:  # as executemany would, refuse a row without one of the first row's keys
        raise InvalidInput(f"a row for {table.name} has no {exc.args[0]}", field="rows") from exc


def sync_id_sequence(conn: Connection, table: Table) -> None:
    """PostgreSQL sequences do not see explicit ids: move the table's past the rows it holds."""
    if conn.dialect.name != "postgresql":
        return
    conn.execute(
        text(
            f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
            f"(SELECT COALESCE(MAX(id), 0) + 1 FROM {table.name}), false)"
        )
    )
