"""Ranking search results: the engine's text match (catalog.search) blended with how often each Pin was
saved and, when the consent decision allows, the searcher's topics. Every result carries what matched
(`matches`) and the reasons that moved it (`because`), built from the same values that scored it.

score = every-word tier (1.0 when every word matched, in the Pin's own fields or in one board's name)
      + text match (the engine's bm25 or ts_rank, divided by the best of this search; 0 to 1)
      + SAVES_WEIGHT x log(1 + saves) / log(1 + most saves among the matches)
      + TOPIC_WEIGHT when the Pin is in one of the searcher's top topics (personalized only)

so the text decides first, and saves and interests reorder matches of about equal text.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar, Literal

from sqlalchemy import Connection

from tastegraph.catalog import content, graph_reads
from tastegraph.catalog import search as text_search
from tastegraph.catalog.content import Pin
from tastegraph.catalog.search import Field, FieldMatch, SearchQuery
from tastegraph.kernel.cache import Memo, PerDatabase
from tastegraph.recommend.reasons import ReasonJson
from tastegraph.recommend.sources import load_profile, viewer_topics

MAX_LIMIT = 50
EVERY_WORD = 1.0
SAVES_WEIGHT = 0.35
TOPIC_WEIGHT = 0.3
# A factor that adds less than this to a result's score is not named as one of its reasons.
NAMED_AT = 0.05

MatchJson = dict[str, object]

_FIELD_NAMES: dict[Field, str] = {
    "title": "the title",
    "description": "the description",
    "topics": "its topics",
    "board": "a board it is on",
}


def _quoted(words: tuple[str, ...]) -> str:
    return ", ".join(f"“{w}”" for w in words)


@dataclass(frozen=True, slots=True)
class Match:
    """The words of one field of the Pin (or of a board's name) that the search matched."""

    field: Field
    words: tuple[str, ...]
    board_id: int | None = None
    board_name: str | None = None

    def text(self) -> str:
        if self.field == "board":
            return f"Saved to the board “{self.board_name}”, which matches {_quoted(self.words)}."
        return f"Matches {_quoted(self.words)} in {_FIELD_NAMES[self.field]}."

    def to_json(self) -> MatchJson:
        out: MatchJson = {"field": self.field, "terms": list(self.words)}
        if self.field == "board":
            out["board_id"] = self.board_id
            out["board_name"] = self.board_name
        out["text"] = self.text()
        return out


@dataclass(frozen=True, slots=True)
class SavedOften:
    """Ranked up for its `saves` (SAVES_WEIGHT's share of the score)."""

    kind: ClassVar[Literal["search_saves"]] = "search_saves"
    saves: int

    def text(self) -> str:
        times = "once" if self.saves == 1 else f"{self.saves:,} times"
        return f"Saved {times}: more saved Pins rank higher."

    def to_json(self) -> ReasonJson:
        return {"kind": self.kind, "saves": self.saves, "text": self.text()}


@dataclass(frozen=True, slots=True)
class YourTopic:
    """Ranked up for the searcher: the Pin is in one of their top topics (`engagements`: their saves,
    clicks and close-ups of Pins in it), the feed's own measure (recommend.sources.viewer_topics)."""

    kind: ClassVar[Literal["search_topic"]] = "search_topic"
    topic: str
    topic_name: str
    engagements: int

    def text(self) -> str:
        return f"In {self.topic_name}, a topic you engage with, so it ranks higher for you."

    def to_json(self) -> ReasonJson:
        return {
            "kind": self.kind,
            "topic": self.topic,
            "topic_name": self.topic_name,
            "engagements": self.engagements,
            "text": self.text(),
        }


SearchReason = SavedOften | YourTopic


@dataclass(frozen=True)
class SearchResult:
    pin_id: int
    pin: Pin
    score: float
    all_terms: bool
    matches: tuple[Match, ...]
    because: tuple[SearchReason, ...]

    @property
    def matches_json(self) -> list[MatchJson]:
        return [m.to_json() for m in self.matches]

    @property
    def reasons(self) -> list[ReasonJson]:
        return [r.to_json() for r in self.because]


# A search's person-independent part, kept per process for the same words (and result count): the
# engine's candidates with their text scores, save counts and topics, and the matched words of those
# shown so far. Each entry carries the index versions (catalog.search.index_versions) it was made under
# and is used only while the database reports the same ones: any change to a Pin, a topic, a board's
# name, secrecy or owner, a save or an unsave moves them, so a new Pin is found by the next search and a
# deleted Pin or a board made secret is gone from it. Someone who owns a secret board has entries of
# their own (their searches also match its name); everyone else shares entries. Hidden Pins, the
# searcher's topics and the cut to `limit` are applied per request, after the cache.
RESULTS_CACHED = 2048

_Candidate = tuple[int, bool, float, int | None, str | None, int, tuple[str, ...]]
# (Pin id, every word matched, text score, board id, board name, saves, topic slugs): plain values only,
# so the collector stops tracking cached entries (see kernel.cache).
_Marked = tuple[tuple[Field, tuple[str, ...], int | None, str | None], ...]
_Key = tuple[tuple[str, ...], int, int | None]


@dataclass
class _Entry:
    versions: text_search.IndexVersions | None
    candidates: list[_Candidate]
    marked: dict[int, _Marked]
    # Made on first use (`_ranked`): every candidate's score before the searcher's topics, best first,
    # as (score, Pin id, position in `candidates`, saves named as a reason); and positions by topic.
    ranked: tuple[list[tuple[float, int, int, bool]], dict[str, list[int]]] | None = None


_results: PerDatabase[Memo[_Key, _Entry]] = PerDatabase(lambda: Memo("search results", RESULTS_CACHED))
# Owners of secret boards, per database, as of one text version.
_owners: PerDatabase[dict[int, frozenset[int]]] = PerDatabase(dict)


def results_cache(engine: object) -> Memo[_Key, _Entry]:
    """This database's cached search results (for tests and metrics)."""
    return _results.of(engine)


def _scope(conn: Connection, viewer_id: int | None, versions: text_search.IndexVersions) -> int | None:
    """Whose entries the viewer uses: their own if they own a secret board, else everyone's (None)."""
    if viewer_id is None:
        return None
    known = _owners.of(conn.engine)
    owners = known.get(versions.text)
    if owners is None:
        owners = text_search.secret_board_owners(conn)
        known.clear()
        known[versions.text] = owners
    return viewer_id if viewer_id in owners else None


def _candidates(
    conn: Connection,
    query: SearchQuery,
    viewer_id: int | None,
    limit: int,
    versions: text_search.IndexVersions | None,
) -> _Entry:
    hits = text_search.search_pins(conn, query, viewer_id, limit)
    pins = content.get_pins(conn, [h.pin_id for h in hits])
    return _Entry(
        versions,
        [
            (
                h.pin_id,
                h.all_terms,
                h.text_score,
                h.board_id,
                h.board_name,
                pins[h.pin_id]["save_count"],
                tuple(pins[h.pin_id]["topics"]),
            )
            for h in hits
            if h.pin_id in pins  # deleted since the index was read
        ],
        {},
    )


def _entry(conn: Connection, query: SearchQuery, viewer_id: int | None, limit: int) -> _Entry:
    versions = text_search.index_versions(conn)
    if versions is None:  # no counters (a schema without migration 0015): nothing is kept
        return _candidates(conn, query, viewer_id, limit, None)
    cache = _results.of(conn.engine)
    key = (query.terms, limit, _scope(conn, viewer_id, versions))
    found = cache.get(key)
    if found is not None and found.versions == versions:
        return found
    made = _candidates(conn, query, viewer_id, limit, versions)
    cache.put(key, made)
    return made


def search(
    conn: Connection, query: SearchQuery, viewer_id: int | None, personalize: bool, limit: int
) -> list[SearchResult]:
    """The best `limit` Pins for the query. `viewer_id` sees their own secret boards' names (and never
    their hidden Pins); `personalize` (the caller's consent decision) lets their topics rank."""
    limit = max(1, min(limit, MAX_LIMIT))
    entry = _entry(conn, query, viewer_id, limit)
    candidates = entry.candidates
    hidden: set[int] = set()
    if viewer_id is not None and candidates:
        hidden = graph_reads.hidden_pins(conn, viewer_id)
        if hidden:
            candidates = [c for c in candidates if c[0] not in hidden]
    if not candidates:
        return []
    mine: dict[str, tuple[str, int]] = {}  # the searcher's top topics: slug -> (name, engagements)
    if personalize and viewer_id is not None:
        mine = {
            slug: (name, n) for _, slug, name, n in viewer_topics(conn, load_profile(conn, viewer_id, []))
        }
    if len(candidates) == len(entry.candidates):  # none hidden: from the entry's own ranking
        scored = _top(entry, mine, limit)
    else:
        scored = _score_all(candidates, mine)
    shown = scored[:limit]
    marked = entry.marked
    unmarked = [
        text_search.TextHit(c[0], all_terms=c[1], board_id=c[3], board_name=c[4])
        for _, pin_id, c, _ in shown
        if pin_id not in marked
    ]
    if unmarked:
        found = text_search.field_matches(conn, query, unmarked)
        for h in unmarked:
            marked[h.pin_id] = tuple(
                (m.field, m.words, m.board_id, m.board_name) for m in found.get(h.pin_id, [])
            )
    pins = content.get_pins(conn, [pin_id for _, pin_id, _, _ in shown])
    return [
        SearchResult(
            pin_id,
            pins[pin_id],
            round(score, 4),
            c[1],
            tuple(Match(*m) for m in marked.get(pin_id, ())),
            tuple(because),
        )
        for score, pin_id, c, because in shown
        if pin_id in pins
    ]


def _score(c: _Candidate, most: int) -> tuple[float, bool]:
    """A candidate's score before the searcher's topics, and whether its saves are named as a reason."""
    _, all_terms, text_score, _, _, saves, _ = c
    score = (EVERY_WORD if all_terms else 0.0) + text_score
    if most > 0 and saves > 0:
        boost = SAVES_WEIGHT * math.log1p(saves) / math.log1p(most)
        return score + boost, boost >= NAMED_AT
    return score, False


def _reasons(c: _Candidate, named: bool, mine: dict[str, tuple[str, int]]) -> list[SearchReason]:
    because: list[SearchReason] = [SavedOften(c[5])] if named else []
    topic = next((t for t in c[6] if t in mine), None) if mine else None
    if topic is not None:
        because.append(YourTopic(topic, mine[topic][0], mine[topic][1]))
    return because


_Scored = list[tuple[float, int, _Candidate, list[SearchReason]]]


def _score_all(candidates: list[_Candidate], mine: dict[str, tuple[str, int]]) -> _Scored:
    """Every candidate scored, best first (ties by the newer Pin, a stable order for the same data)."""
    most = max(c[5] for c in candidates)
    scored: _Scored = []
    for c in candidates:
        score, named = _score(c, most)
        because = _reasons(c, named, mine)
        if len(because) > int(named):  # in one of the searcher's topics
            score += TOPIC_WEIGHT
        scored.append((score, c[0], c, because))
    scored.sort(key=lambda s: (-s[0], -s[1]))
    return scored


def _ranked(entry: _Entry) -> tuple[list[tuple[float, int, int, bool]], dict[str, list[int]]]:
    if entry.ranked is None:
        cands = entry.candidates
        most = max(c[5] for c in cands)
        base = [(*_score(c, most), c[0], i) for i, c in enumerate(cands)]
        order = [(score, pin_id, i, named) for score, named, pin_id, i in base]
        order.sort(key=lambda s: (-s[0], -s[1]))
        by_topic: dict[str, list[int]] = {}
        for i, c in enumerate(cands):
            for t in c[6]:
                by_topic.setdefault(t, []).append(i)
        entry.ranked = (order, by_topic)
    return entry.ranked


def _top(entry: _Entry, mine: dict[str, tuple[str, int]], limit: int) -> _Scored:
    """The best `limit` of the entry's candidates for a searcher with topics `mine` (as `_score_all`
    would rank them: a topic adds the same TOPIC_WEIGHT to every Pin it lifts, so the best are among
    the lifted ones and the first `limit` of the others)."""
    order, by_topic = _ranked(entry)
    lifted = {i for slug in mine for i in by_topic.get(slug, ())}
    pool: list[tuple[float, int, int, bool]] = []
    others = 0
    for score, pin_id, i, named in order:
        if i in lifted:
            pool.append((score + TOPIC_WEIGHT, pin_id, i, named))
        elif others < limit:
            others += 1
            pool.append((score, pin_id, i, named))
        elif len(pool) >= limit + len(lifted):
            break
    pool.sort(key=lambda s: (-s[0], -s[1]))
    cands = entry.candidates
    return [
        (score, pin_id, cands[i], _reasons(cands[i], named, mine)) for score, pin_id, i, named in pool[:limit]
    ]


def _matches(found: list[FieldMatch]) -> tuple[Match, ...]:
    return tuple(Match(m.field, m.words, m.board_id, m.board_name) for m in found)
