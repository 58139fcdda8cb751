"""search by words: full-text indexes of Pins (title, description, topic names) and board names

SQLite: FTS5 tables pin_search and board_search (rowid = the Pin's / board's id), kept in sync by
triggers on pins, pin_topics, topics and boards. PostgreSQL: tables pin_search (pin_id, document
tsvector) and board_search (board_id, name tsvector) with GIN indexes, kept in sync by triggers and
deleted with their rows by foreign keys. Saves and unsaves need no index work: which boards a Pin is on is
joined at query time, so secret boards can be filtered per searcher (catalog.search).

These objects are not in the SQLAlchemy metadata (FTS5 tables cannot be declared there);
tests/integration/test_migrations.py ignores exactly them (catalog.search.INDEX_TABLES).

NB for later migrations: SQLite's batch mode rebuilds a table by copying it, which drops its triggers;
a migration that batch-alters pins, pin_topics, topics or boards must create these triggers again.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 18:45:00
"""

from __future__ import annotations

from alembic import op


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


SQLITE_TOPICS_OF = (
    "COALESCE((SELECT group_concat(t.name, ' ') FROM pin_topics pt JOIN topics t ON t.id = pt.topic_id "
    "WHERE pt.pin_id = {pin}), '')"
)

SQLITE_UP = [
    # porter stemming over unicode61 (case and accent folding); prefix indexes of 2 to 6 characters
    # make every prefix query an index lookup (catalog.search cuts prefixes to 6 characters): a longer
    # prefix would merge the doclists of every word it starts, for each query.
    "CREATE VIRTUAL TABLE pin_search USING fts5(title, description, topics, "
    "tokenize = 'porter unicode61 remove_diacritics 2', prefix = '2 3 4 5 6')",
    "CREATE VIRTUAL TABLE board_search USING fts5(name, "
    "tokenize = 'porter unicode61 remove_diacritics 2', prefix = '2 3 4 5 6')",
    "INSERT INTO pin_search (rowid, title, description, topics) "
    f"SELECT p.id, p.title, p.description, {SQLITE_TOPICS_OF.format(pin='p.id')} FROM pins p",
    "INSERT INTO board_search (rowid, name) SELECT id, name FROM boards",
    "CREATE TRIGGER pin_search_insert AFTER INSERT ON pins BEGIN "
    "INSERT INTO pin_search (rowid, title, description, topics) VALUES "
    f"(new.id, new.title, new.description, {SQLITE_TOPICS_OF.format(pin='new.id')}); END",
    "CREATE TRIGGER pin_search_update AFTER UPDATE OF title, description ON pins BEGIN "
    "UPDATE pin_search SET title = new.title, description = new.description WHERE rowid = new.id; END",
    "CREATE TRIGGER pin_search_delete AFTER DELETE ON pins BEGIN "
    "DELETE FROM pin_search WHERE rowid = old.id; END",
    "CREATE TRIGGER pin_search_topic_insert AFTER INSERT ON pin_topics BEGIN "
    f"UPDATE pin_search SET topics = {SQLITE_TOPICS_OF.format(pin='new.pin_id')} "
    "WHERE rowid = new.pin_id; END",
    "CREATE TRIGGER pin_search_topic_delete AFTER DELETE ON pin_topics BEGIN "
    f"UPDATE pin_search SET topics = {SQLITE_TOPICS_OF.format(pin='old.pin_id')} "
    "WHERE rowid = old.pin_id; END",
    "CREATE TRIGGER pin_search_topic_rename AFTER UPDATE OF name ON topics BEGIN "
    f"UPDATE pin_search SET topics = {SQLITE_TOPICS_OF.format(pin='pin_search.rowid')} "
    "WHERE rowid IN (SELECT pin_id FROM pin_topics WHERE topic_id = new.id); END",
    "CREATE TRIGGER board_search_insert AFTER INSERT ON boards BEGIN "
    "INSERT INTO board_search (rowid, name) VALUES (new.id, new.name); END",
    "CREATE TRIGGER board_search_update AFTER UPDATE OF name ON boards BEGIN "
    "UPDATE board_search SET name = new.name WHERE rowid = new.id; END",
    "CREATE TRIGGER board_search_delete AFTER DELETE ON boards BEGIN "
    "DELETE FROM board_search WHERE rowid = old.id; END",
]

SQLITE_DOWN = [
    *(
        f"DROP TRIGGER IF EXISTS {name}"
        for name in (
            "pin_search_insert",
            "pin_search_update",
            "pin_search_delete",
            "pin_search_topic_insert",
            "pin_search_topic_delete",
            "pin_search_topic_rename",
            "board_search_insert",
            "board_search_update",
            "board_search_delete",
        )
    ),
    "DROP TABLE IF EXISTS pin_search",
    "DROP TABLE IF EXISTS board_search",
]

POSTGRES_UP = [
    "CREATE TABLE pin_search (pin_id BIGINT PRIMARY KEY REFERENCES pins (id) ON DELETE CASCADE, "
    "document tsvector NOT NULL)",
    "CREATE INDEX ix_pin_search_document ON pin_search USING GIN (document)",
    "CREATE TABLE board_search (board_id BIGINT PRIMARY KEY REFERENCES boards (id) ON DELETE CASCADE, "
    "name tsvector NOT NULL)",
    "CREATE INDEX ix_board_search_name ON board_search USING GIN (name)",
    # Weights: title A, topic names B, description C (ts_rank's default weights 1.0, 0.4, 0.2).
    """CREATE FUNCTION pin_search_document(wanted BIGINT) RETURNS tsvector LANGUAGE sql STABLE AS $$
        SELECT setweight(to_tsvector('english', p.title), 'A')
            || setweight(to_tsvector('english', COALESCE((SELECT string_agg(t.name, ' ')
                 FROM pin_topics pt JOIN topics t ON t.id = pt.topic_id WHERE pt.pin_id = p.id), '')), 'B')
            || setweight(to_tsvector('english', p.description), 'C')
        FROM pins p WHERE p.id = wanted
    $$""",
    """CREATE FUNCTION pin_search_of_pin() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
        INSERT INTO pin_search (pin_id, document) VALUES (NEW.id, pin_search_document(NEW.id))
        ON CONFLICT (pin_id) DO UPDATE SET document = EXCLUDED.document;
        RETURN NULL;
    END $$""",
    """CREATE FUNCTION pin_search_of_topic_row() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE changed BIGINT;
    BEGIN
        changed := CASE WHEN TG_OP = 'DELETE' THEN OLD.pin_id ELSE NEW.pin_id END;
        -- A Pin being deleted takes its topic rows with it: its document may be gone already.
        UPDATE pin_search SET document = COALESCE(pin_search_document(changed), document)
        WHERE pin_id = changed;
        RETURN NULL;
    END $$""",
    """CREATE FUNCTION pin_search_of_topic() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
        UPDATE pin_search SET document = pin_search_document(pin_id)
        WHERE pin_id IN (SELECT pin_id FROM pin_topics WHERE topic_id = NEW.id);
        RETURN NULL;
    END $$""",
    """CREATE FUNCTION board_search_of_board() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
        INSERT INTO board_search (board_id, name) VALUES (NEW.id, to_tsvector('english', NEW.name))
        ON CONFLICT (board_id) DO UPDATE SET name = EXCLUDED.name;
        RETURN NULL;
    END $$""",
    "CREATE TRIGGER pin_search_write AFTER INSERT OR UPDATE OF title, description ON pins "
    "FOR EACH ROW EXECUTE FUNCTION pin_search_of_pin()",
    "CREATE TRIGGER pin_search_topics AFTER INSERT OR DELETE ON pin_topics "
    "FOR EACH ROW EXECUTE FUNCTION pin_search_of_topic_row()",
    "CREATE TRIGGER pin_search_topic_rename AFTER UPDATE OF name ON topics "
    "FOR EACH ROW EXECUTE FUNCTION pin_search_of_topic()",
    "CREATE TRIGGER board_search_write AFTER INSERT OR UPDATE OF name ON boards "
    "FOR EACH ROW EXECUTE FUNCTION board_search_of_board()",
    "INSERT INTO pin_search (pin_id, document) SELECT id, pin_search_document(id) FROM pins",
    "INSERT INTO board_search (board_id, name) SELECT id, to_tsvector('english', name) FROM boards",
]

POSTGRES_DOWN = [
    "DROP TRIGGER IF EXISTS pin_search_write ON pins",
    "DROP TRIGGER IF EXISTS pin_search_topics ON pin_topics",
    "DROP TRIGGER IF EXISTS pin_search_topic_rename ON topics",
    "DROP TRIGGER IF EXISTS board_search_write ON boards",
    "DROP FUNCTION IF EXISTS pin_search_of_pin()",
    "DROP FUNCTION IF EXISTS pin_search_of_topic_row()",
    "DROP FUNCTION IF EXISTS pin_search_of_topic()",
    "DROP FUNCTION IF EXISTS board_search_of_board()",
    "DROP FUNCTION IF EXISTS pin_search_document(BIGINT)",
    "DROP TABLE IF EXISTS pin_search",
    "DROP TABLE IF EXISTS board_search",
]


def upgrade() -> None:
    for statement in SQLITE_UP if op.get_bind().dialect.name == 'sqlite' else POSTGRES_UP:
        op.execute(statement)


def downgrade() -> None:
    for statement in SQLITE_DOWN if op.get_bind().dialect.name == 'sqlite' else POSTGRES_DOWN:
        op.execute(statement)
