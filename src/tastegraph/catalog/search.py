"""Text search over Pins: their titles, descriptions, topic names and the names of the boards they are
on, with each database's own full-text engine (migration 0011 builds the indexes and their triggers).

* SQLite: FTS5 tables `pin_search` (title, description, topics) and `board_search` (name), porter
  stemming over unicode61 (case and accent folding), ranked by bm25.
* PostgreSQL: `pin_search.document` (title weight A, topic names B, description C) and
  `board_search.name`, tsvectors of the `english` configuration (stemming, stop words) with GIN
  indexes, ranked by ts_rank.

Board names live in their own index, and which boards a Pin is on is joined at query time (saves and
unsaves need no index work; a rename or deletion updates one row): so a secret board is filtered in the
very query that matches it, and its name matches nothing for anyone but its owner.

Typo tolerance is what the engines give: stemming (chairs = chair, camping = camp) and prefix matching
of the last word, the one still being typed ("folding cha" finds "folding chair"; a prefix counts its
first PREFIX_CHARS characters, which FTS5's prefix indexes answer from the index). Prefixes match
stems, so a prefix typed past a word's stem misses it ("fitn" finds no "fitness", whose stem is "fit";
"fit" does). There is no
edit-distance matching: neither FTS5 nor core PostgreSQL has one over a full-text index (pg_trgm is an
extension this deployment does not assume).

Bounded work per query: the text score (bm25 / ts_rank) is computed for at most RANKED matches, the
newest ones when a query matches more (a word in most Pins scores about the same in all of them, and
the ranking's saves and interests then decide).

User input never reaches the query languages as syntax: a query is cut into words of letters and digits
(`parse_query`), and each word is sent as a quoted FTS5 string or a tsquery lexeme, so `"`, `*`, `:`,
`-`, `NEAR`, `AND`, `OR` and `NOT` are only ever words or separators.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import Connection, bindparam, text

from tastegraph.kernel import InvalidInput
from tastegraph.kernel.cache import PerDatabase
from tastegraph.kernel.fastsql import Query

MAX_QUERY_CHARS = 200
MAX_TERMS = 8
# Of the engine's best matches, how many Pins and boards the ranking sees (then it blends and cuts).
PIN_CANDIDATES = 120
BOARD_CANDIDATES = 20
PINS_PER_BOARD = 20
# Matches whose text score is computed (the newest, when there are more).
RANKED = 500
# A prefix counts this many characters at most (FTS5's prefix indexes go to 6: migration 0011).
PREFIX_CHARS = 6

# The index objects migration 0011 makes, which are not in the SQLAlchemy metadata (FTS5 tables cannot
# be declared there): tests/integration/test_migrations.py ignores exactly these. FTS5 keeps each
# table's data in five shadow tables named after it.
_FTS5_SHADOWS = ("data", "idx", "content", "docsize", "config")
INDEX_TABLES: frozenset[str] = frozenset(
    {"pin_search", "board_search", "search_versions"}
    | {f"{t}_{s}" for t in ("pin_search", "board_search") for s in _FTS5_SHADOWS}
)

Field = Literal["title", "description", "topics", "board"]
PIN_FIELDS: tuple[Field, ...] = ("title", "description", "topics")

# Letters and digits only (underscore is a word character to `\w`, a separator to both engines).
_WORD = re.compile(r"[^\W_]+")
_MARK = re.compile("\x01(.*?)\x02", re.S)


_QUERIES: dict[str, Query] = {}


def _rows(conn: Connection, sql: str, params: dict[str, object]) -> list[tuple[Any, ...]]:
    """`sql` compiled once and run through the driver (kernel.fastsql: SQLAlchemy's execution costs more
    than these small statements); `:ids` is an expanding list."""
    query = _QUERIES.get(sql)
    if query is None:
        stmt = text(sql)
        if ":ids" in sql:
            stmt = stmt.bindparams(bindparam("ids", expanding=True))
        query = _QUERIES[sql] = Query(stmt)
    return query.rows(conn, params)


# Whether each database has migration 0015's counters (a schema made by create_all has not).
_HAS_VERSIONS: PerDatabase[list[bool]] = PerDatabase(list)


@dataclass(frozen=True)
class IndexVersions:
    """Migration 0015's counters: `text` moves with every change to what the engines match (Pins, their
    topics, boards' names, secrecy and owners), `saves` with every save, unsave and save count."""

    text: int
    saves: int


def index_versions(conn: Connection) -> IndexVersions | None:
    """The counters as this transaction sees them, bumped in the same transaction as each change they
    count; None when the schema has none (then nothing may be cached across requests)."""
    known = _HAS_VERSIONS.of(conn.engine)
    if not known:
        if conn.dialect.name == "postgresql":
            found = conn.exec_driver_sql("SELECT to_regclass('search_versions') IS NOT NULL").scalar()
        else:
            found = conn.exec_driver_sql(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'search_versions'"
            ).scalar()
        known.append(bool(found))
    if not known[0]:
        return None
    sums = dict(_rows(conn, "SELECT kind, sum(n) FROM search_versions GROUP BY kind", {}))
    return IndexVersions(int(sums.get("text", 0)), int(sums.get("saves", 0)))


def secret_board_owners(conn: Connection) -> frozenset[int]:
    """Everyone who owns at least one secret board (their searches also match those boards' names)."""
    return frozenset(int(u) for (u,) in _rows(conn, "SELECT DISTINCT owner_id FROM boards WHERE secret", {}))


@dataclass(frozen=True)
class SearchQuery:
    """A query as typed (trimmed) and the words it is searched by, lowercased, each once, in order."""

    text: str
    terms: tuple[str, ...]


def parse_query(q: str | None) -> SearchQuery:
    """The words of `q`; InvalidInput (field "q") for an empty, over-long or wordless query."""
    typed = (q or "").strip()
    if not typed:
        raise InvalidInput("type something to search for", field="q")
    if len(typed) > MAX_QUERY_CHARS:
        raise InvalidInput(f"a search has at most {MAX_QUERY_CHARS} characters", field="q")
    terms = tuple(dict.fromkeys(w.lower() for w in _WORD.findall(typed)))
    if not terms:
        raise InvalidInput("a search needs at least one letter or digit", field="q")
    if len(terms) > MAX_TERMS:
        raise InvalidInput(f"a search has at most {MAX_TERMS} different words", field="q")
    return SearchQuery(typed, terms)


def _is_prefix(terms: Sequence[str], i: int) -> bool:
    return i == len(terms) - 1 and len(terms[i]) >= 2


def _fts5(terms: Sequence[str], joiner: str) -> str:
    # Quoted strings: FTS5 operators and column filters inside quotes are plain text. Terms hold only
    # letters and digits (parse_query), so no quote can appear inside one.
    return joiner.join(
        f'"{t[:PREFIX_CHARS]}"*' if _is_prefix(terms, i) else f'"{t}"' for i, t in enumerate(terms)
    )


def _tsquery(terms: Sequence[str], joiner: str) -> str:
    return joiner.join(f"{t[:PREFIX_CHARS]}:*" if _is_prefix(terms, i) else t for i, t in enumerate(terms))


@dataclass
class TextHit:
    """A Pin the engine matched: its text score (higher is better; Pin fields and board names are
    scored on their own scales, each divided by its best in this search), whether every word matched
    (in the Pin's own fields, or in one board's name), and the best visible board whose name matched."""

    pin_id: int
    pin_score: float = 0.0
    board_score: float = 0.0
    all_terms: bool = False
    board_id: int | None = None
    board_name: str | None = None
    boards_matched: int = 0

    @property
    def text_score(self) -> float:
        # A board's name says less about a Pin than the Pin's own words.
        return max(self.pin_score, 0.8 * self.board_score)


@dataclass(frozen=True)
class FieldMatch:
    """Words of a Pin's field (or its board's name) that the search matched, as they are written."""

    field: Field
    words: tuple[str, ...]
    board_id: int | None = None
    board_name: str | None = None


@dataclass
class _Found:
    hits: dict[int, TextHit] = field(default_factory=dict)

    def hit(self, pin_id: int) -> TextHit:
        h = self.hits.get(pin_id)
        if h is None:
            h = self.hits[pin_id] = TextHit(pin_id)
        return h


def search_pins(conn: Connection, query: SearchQuery, viewer_id: int | None, wanted: int) -> list[TextHit]:
    """Pins whose own words or whose visible boards' names match the query: first those matching every
    word; when they are fewer than `wanted` and there are several words, then those matching any."""
    found = _Found()
    _collect(conn, query.terms, viewer_id, found, all_terms=True)
    if len(found.hits) < wanted and len(query.terms) > 1:
        _collect(conn, query.terms, viewer_id, found, all_terms=False)
    return list(found.hits.values())


def _collect(
    conn: Connection, terms: Sequence[str], viewer_id: int | None, found: _Found, *, all_terms: bool
) -> None:
    pg = conn.dialect.name == "postgresql"
    pins = _pg_pins if pg else _sqlite_pins
    boards = _pg_boards if pg else _sqlite_boards
    pin_rows = pins(conn, terms, all_terms)
    best = max((s for _, s in pin_rows), default=0.0) or 1.0
    for pin_id, score in pin_rows:
        h = found.hit(pin_id)
        if all_terms or not h.all_terms:  # an any-word pass leaves every-word hits as they are
            h.pin_score = max(h.pin_score, score / best)
            h.all_terms = h.all_terms or all_terms
    board_rows = boards(conn, terms, all_terms, viewer_id)
    if not board_rows:
        return
    best = max(s for _, _, s in board_rows) or 1.0
    names = {b: (n, s / best) for b, n, s in board_rows}
    on_boards = _rows(
        conn,
        "SELECT board_id, pin_id FROM board_pins WHERE board_id IN :ids ORDER BY board_id, saved_at DESC",
        {"ids": list(names)},
    )
    taken: dict[int, int] = {}
    for board_id, pin_id in on_boards:
        b = int(board_id)
        taken[b] = taken.get(b, 0) + 1
        if taken[b] > PINS_PER_BOARD:
            continue
        name, score = names[b]
        h = found.hit(int(pin_id))
        if not all_terms and h.all_terms:
            continue
        h.all_terms = h.all_terms or all_terms
        h.boards_matched += 1
        if score > h.board_score:
            h.board_score, h.board_id, h.board_name = score, b, name


def _visible(viewer_id: int | None) -> str:
    # A secret board is its owner's alone: filtered in the query that matches it, before any limit.
    return "(b.secret = false OR b.owner_id = :viewer)" if viewer_id is not None else "b.secret = false"


def _sqlite_pins(conn: Connection, terms: Sequence[str], all_terms: bool) -> list[tuple[int, float]]:
    q = _fts5(terms, " AND " if all_terms else " OR ")
    # FTS5 reads matches in rowid order cheaply but computes bm25 for every match before sorting: so
    # first the RANKED-th newest match (none when there are fewer), then bm25 only above it.
    boundary = _rows(
        conn,
        "SELECT rowid FROM pin_search WHERE pin_search MATCH :q ORDER BY rowid DESC LIMIT 1 OFFSET :n",
        {"q": q, "n": RANKED},
    )
    rows = _rows(
        conn,
        "SELECT rowid, -bm25(pin_search, 4.0, 1.0, 2.0) AS score FROM pin_search "
        "WHERE pin_search MATCH :q AND rowid > :above ORDER BY bm25(pin_search, 4.0, 1.0, 2.0) LIMIT :k",
        {"q": q, "k": PIN_CANDIDATES, "above": int(boundary[0][0]) if boundary else 0},
    )
    return [(int(p), float(s)) for p, s in rows]


def _sqlite_boards(
    conn: Connection, terms: Sequence[str], all_terms: bool, viewer_id: int | None
) -> list[tuple[int, str, float]]:
    q = _fts5(terms, " AND " if all_terms else " OR ")
    boundary = _rows(
        conn,
        "SELECT rowid FROM board_search WHERE board_search MATCH :q ORDER BY rowid DESC LIMIT 1 OFFSET :n",
        {"q": q, "n": RANKED},
    )
    rows = _rows(
        conn,
        "SELECT b.id, b.name, -bm25(board_search) FROM board_search "
        "JOIN boards b ON b.id = board_search.rowid "
        "WHERE board_search MATCH :q AND board_search.rowid > :above "
        f"AND {_visible(viewer_id).replace('false', '0')} "
        "ORDER BY bm25(board_search) LIMIT :k",
        {"q": q, "k": BOARD_CANDIDATES, "viewer": viewer_id, "above": int(boundary[0][0]) if boundary else 0},
    )
    return [(int(b), str(n), float(s)) for b, n, s in rows]


def _pg_pins(conn: Connection, terms: Sequence[str], all_terms: bool) -> list[tuple[int, float]]:
    rows = _rows(
        conn,
        "WITH q AS (SELECT to_tsquery('english', :q) AS q), "
        "m AS (SELECT s.pin_id, s.document FROM pin_search s, q WHERE s.document @@ q.q "
        "ORDER BY s.pin_id DESC LIMIT :ranked) "
        "SELECT m.pin_id, ts_rank(m.document, q.q) AS score FROM m, q "
        "ORDER BY score DESC, m.pin_id LIMIT :k",
        {"q": _tsquery(terms, " & " if all_terms else " | "), "k": PIN_CANDIDATES, "ranked": RANKED},
    )
    return [(int(p), float(s)) for p, s in rows]


def _pg_boards(
    conn: Connection, terms: Sequence[str], all_terms: bool, viewer_id: int | None
) -> list[tuple[int, str, float]]:
    rows = _rows(
        conn,
        "WITH q AS (SELECT to_tsquery('english', :q) AS q), "
        "m AS (SELECT b.id, b.name, s.name AS document "
        "FROM board_search s JOIN boards b ON b.id = s.board_id, q "
        f"WHERE s.name @@ q.q AND {_visible(viewer_id)} ORDER BY b.id DESC LIMIT :ranked) "
        "SELECT m.id, m.name, ts_rank(m.document, q.q) AS score FROM m, q "
        "ORDER BY score DESC, m.id LIMIT :k",
        {
            "q": _tsquery(terms, " & " if all_terms else " | "),
            "k": BOARD_CANDIDATES,
            "viewer": viewer_id,
            "ranked": RANKED,
        },
    )
    return [(int(b), str(n), float(s)) for b, n, s in rows]


def field_matches(
    conn: Connection, query: SearchQuery, hits: Iterable[TextHit]
) -> dict[int, list[FieldMatch]]:
    """For the Pins shown: which of their fields the search matched and the words it matched there, marked
    by the engine's own highlighter (FTS5 `highlight`, PostgreSQL `ts_headline`) with any-word semantics;
    plus the matching board's name for a Pin found through one."""
    shown = list(hits)
    out: dict[int, list[FieldMatch]] = {h.pin_id: [] for h in shown}
    if not shown:
        return out
    ids = [h.pin_id for h in shown]
    if conn.dialect.name == "postgresql":
        marked = _pg_marked(conn, query.terms, ids)
    else:
        marked = _sqlite_marked(conn, query.terms, ids)
    for pin_id, texts in marked.items():
        for name, value in zip(PIN_FIELDS, texts, strict=True):
            words = _marked_words(value)
            if words:
                out[pin_id].append(FieldMatch(name, words))
    boards = {h.board_id: h.board_name for h in shown if h.board_id is not None and h.board_name}
    board_words = _board_marked(conn, query.terms, boards)
    for h in shown:
        if h.board_id is not None and h.board_id in board_words:
            out[h.pin_id].append(FieldMatch("board", board_words[h.board_id], h.board_id, h.board_name))
    return out


def _marked_words(value: str | None) -> tuple[str, ...]:
    return tuple(dict.fromkeys(m.strip() for m in _MARK.findall(value or "") if m.strip()))


_SQLITE_MARKED = (
    "SELECT rowid, highlight(pin_search, 0, char(1), char(2)), "
    "highlight(pin_search, 1, char(1), char(2)), highlight(pin_search, 2, char(1), char(2)) "
    "FROM pin_search WHERE pin_search MATCH :q AND rowid IN :ids"
)


def _sqlite_marked(conn: Connection, terms: Sequence[str], ids: list[int]) -> dict[int, tuple[str, ...]]:
    # One statement for every Pin shown (0.3 ms for 25 Pins of a query matching 11,000 on the demo
    # world; one statement a Pin cost 2-3 ms in all, mostly each statement's own overhead).
    rows = _rows(conn, _SQLITE_MARKED, {"q": _fts5(terms, " OR "), "ids": ids})
    return {int(r[0]): (r[1], r[2], r[3]) for r in rows}


_PG_MARKS = "StartSel=\x01, StopSel=\x02, HighlightAll=true"


def _pg_marked(conn: Connection, terms: Sequence[str], ids: list[int]) -> dict[int, tuple[str, ...]]:
    # Only Pins whose document matches: ts_headline alone would mark nothing but cost a parse each.
    rows = conn.execute(
        text(
            "SELECT p.id, ts_headline('english', p.title, q, :marks), "
            "ts_headline('english', p.description, q, :marks), "
            "ts_headline('english', COALESCE((SELECT string_agg(t.name, ' ') FROM pin_topics pt "
            "JOIN topics t ON t.id = pt.topic_id WHERE pt.pin_id = p.id), ''), q, :marks) "
            "FROM pins p JOIN pin_search s ON s.pin_id = p.id, to_tsquery('english', :q) q "
            "WHERE p.id IN :ids AND s.document @@ q"
        ).bindparams(bindparam("ids", expanding=True)),
        {"q": _tsquery(terms, " | "), "ids": ids, "marks": _PG_MARKS},
    )
    return {int(r[0]): (r[1], r[2], r[3]) for r in rows}


def _board_marked(
    conn: Connection, terms: Sequence[str], boards: dict[int, str]
) -> dict[int, tuple[str, ...]]:
    if not boards:
        return {}
    if conn.dialect.name == "postgresql":
        stmt = text(
            "SELECT s.board_id, ts_headline('english', b.name, q, :marks) FROM board_search s "
            "JOIN boards b ON b.id = s.board_id, to_tsquery('english', :q) q "
            "WHERE s.board_id IN :ids AND s.name @@ q"
        )
        params = {"q": _tsquery(terms, " | "), "marks": _PG_MARKS}
        found = conn.execute(
            stmt.bindparams(bindparam("ids", expanding=True)), {**params, "ids": list(boards)}
        )
        return {int(b): w for b, value in found if (w := _marked_words(value))}
    rows = _rows(
        conn,
        "SELECT rowid, highlight(board_search, 0, char(1), char(2)) FROM board_search "
        "WHERE board_search MATCH :q AND rowid IN :ids",
        {"q": _fts5(terms, " OR "), "ids": list(boards)},
    )
    return {int(b): w for b, value in rows if (w := _marked_words(value))}


def optimize_indexes(conn: Connection) -> None:
    """Merge the full-text indexes' segments into one (FTS5 `optimize`; PostgreSQL's GIN needs nothing
    here, VACUUM does it). For loaders, after many rows went in one by one through the triggers: a
    query then reads one b-tree per term instead of hundreds of small segments."""
    if conn.dialect.name != "sqlite":
        return
    # A schema made from the metadata alone (create_all, some unit tests) has no indexes to merge.
    made = conn.exec_driver_sql(
        "SELECT name FROM sqlite_master WHERE name IN ('pin_search', 'board_search')"
    ).scalars()
    for name in sorted(made):
        conn.exec_driver_sql(f"INSERT INTO {name} ({name}) VALUES ('optimize')")
