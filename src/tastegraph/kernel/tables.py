"""The one SQLAlchemy metadata every domain registers its tables on (`table`), shared column types, and
the column shapes many tables repeat (an id, a person's id, a browser's id, a reference to another row)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Column, DateTime, Dialect, ForeignKey, Integer, MetaData, String, Table
from sqlalchemy.sql.schema import SchemaItem
from sqlalchemy.types import TypeDecorator

from tastegraph.kernel.clock import utc

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# SQLite only auto-increments INTEGER PRIMARY KEY, so big ids are plain INTEGER there.
IdType = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC on the way in and out, on SQLite (which stores naive text) and PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        aware = utc(value)
        return aware.replace(tzinfo=None) if dialect.name == "sqlite" else aware

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return utc(value)


# Column.info keys. PERSONAL marks a table holding data about a person; SUBJECT marks the column that
# names the person (a user id or a browser id). The erasure test walks every table with these.
PERSONAL = "personal"
SUBJECT = "subject"


def table(name: str, *items: SchemaItem, personal: bool, **dialect_options: Any) -> Table:
    """A table on the one `metadata`, marked PERSONAL or not: whether it holds data about a person, so
    that export, erasure and the erasure test find it. `dialect_options`: e.g. sqlite_with_rowid=False
    (rows stored in primary-key order)."""
    return Table(name, metadata, *items, info={PERSONAL: personal}, **dialect_options)


def id_column() -> Column[Any]:
    """`id`, the table's own auto-incrementing big id."""
    return Column("id", IdType, primary_key=True, autoincrement=True)


def reference(name: str, target: str, *, ondelete: str = "CASCADE", **column: Any) -> Column[Any]:
    """A big id referring to `target` ("table.column"), deleted with it unless `ondelete` says otherwise;
    `column` are further Column arguments (nullable, index, primary_key, info)."""
    return Column(name, IdType, ForeignKey(target, ondelete=ondelete), **column)


def person_ref(name: str = "user_id", *, ondelete: str = "CASCADE", **column: Any) -> Column[Any]:
    """A person's id (`users.id`, catalog's table), marked as naming the row's SUBJECT."""
    return reference(name, "users.id", ondelete=ondelete, info={SUBJECT: True}, **column)


def browser_ref(**column: Any) -> Column[Any]:
    """`browser_id`, a browser's first-party cookie id (`tg_bid`), marked as naming the row's SUBJECT."""
    return Column("browser_id", String(32), info={SUBJECT: True}, **column)


def inserted_id(result: Any) -> int:
    """The primary key a single-row INSERT produced."""
    key = result.inserted_primary_key
    assert key is not None, "not a single-row insert"
    return int(key[0])
