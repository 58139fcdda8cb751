"""search by words: version counters of what search results are made of, for the per-query result cache

`search_versions` holds two counters, bumped by triggers in the very transaction that changes what a
search could return (so a reader that sees the change also sees the new count, and one that sees the
old count cannot have seen the change):

* kind 'text': Pins added, retitled, redescribed or deleted; topics added to or removed from a Pin, or
  renamed; boards added, renamed, made secret or public, moved to another owner, or deleted;
* kind 'saves': saves and unsaves (board_pins), and Pins' save counts.

catalog.search.index_versions reads their sums; recommend.search keeps results computed under one pair
of counts and recomputes when either moved. PostgreSQL: statement-level triggers (one bump per
statement, bulk loads included), each transaction on one of SHARDS rows (by its transaction id), so
concurrent writers do not queue on one row lock. SQLite: one row per kind (one writer at a time).

Not in the SQLAlchemy metadata: a schema made by create_all has no triggers, so the counters would
never move; catalog.search uses the cache only where this table exists (INDEX_TABLES lists it for
tests/integration/test_migrations.py).

NB like 0011: SQLite's batch mode rebuilds a table without its triggers; a migration that batch-alters
pins, pin_topics, topics, boards or board_pins must create these triggers again.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 17:20:00
"""

from __future__ import annotations

from alembic import op


revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

SHARDS = 8

# (trigger name, event, table, counter kind)
EVENTS = [
    ("pins_insert", "INSERT", "pins", "text"),
    ("pins_text", "UPDATE OF title, description", "pins", "text"),
    ("pins_delete", "DELETE", "pins", "text"),
    ("pins_saves", "UPDATE OF save_count", "pins", "saves"),
    ("pin_topics_insert", "INSERT", "pin_topics", "text"),
    ("pin_topics_delete", "DELETE", "pin_topics", "text"),
    ("topics_rename", "UPDATE OF name", "topics", "text"),
    ("boards_insert", "INSERT", "boards", "text"),
    ("boards_change", "UPDATE OF name, secret, owner_id", "boards", "text"),
    ("boards_delete", "DELETE", "boards", "text"),
    ("board_pins_insert", "INSERT", "board_pins", "saves"),
    ("board_pins_update", "UPDATE", "board_pins", "saves"),
    ("board_pins_delete", "DELETE", "board_pins", "saves"),
]

CREATE_TABLE = (
    "CREATE TABLE search_versions (kind VARCHAR(8) NOT NULL, shard INTEGER NOT NULL, "
    "n BIGINT NOT NULL DEFAULT 0, PRIMARY KEY (kind, shard))"
)


def _sqlite_up() -> list[str]:
    out = [
        CREATE_TABLE,
        "INSERT INTO search_versions (kind, shard, n) VALUES ('text', 0, 0), ('saves', 0, 0)",
    ]
    for name, event, table, kind in EVENTS:
        out.append(
            f"CREATE TRIGGER search_version_{name} AFTER {event} ON {table} BEGIN "
            f"UPDATE search_versions SET n = n + 1 WHERE kind = '{kind}' AND shard = 0; END"
        )
    return out


def _postgres_up() -> list[str]:
    rows = ", ".join(f"('{k}', {s}, 0)" for k in ("text", "saves") for s in range(SHARDS))
    out = [
        CREATE_TABLE,
        f"INSERT INTO search_versions (kind, shard, n) VALUES {rows}",
        f"""CREATE FUNCTION search_version_bump() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
            UPDATE search_versions SET n = n + 1
            WHERE kind = TG_ARGV[0] AND shard = (txid_current() % {SHARDS})::int;
            RETURN NULL;
        END $$""",
    ]
    for name, event, table, kind in EVENTS:
        out.append(
            f"CREATE TRIGGER search_version_{name} AFTER {event} ON {table} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION search_version_bump('{kind}')"
        )
    return out


def upgrade() -> None:
    for statement in _sqlite_up() if op.get_bind().dialect.name == "sqlite" else _postgres_up():
        op.execute(statement)


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    for name, _, table, _ in EVENTS:
        op.execute(f"DROP TRIGGER IF EXISTS search_version_{name}" + ("" if sqlite else f" ON {table}"))
    if not sqlite:
        op.execute("DROP FUNCTION IF EXISTS search_version_bump()")
    op.execute("DROP TABLE IF EXISTS search_versions")
