"""The serving shortcuts answer what the slow paths answer: the model's per-request scoring against the
graph filter itself, the co-saves kept at training against counting them live in SQL, and the cached
per-site and per-topic lists against the tables."""

from __future__ import annotations

import gc
import threading
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from fastapi import Response
from fastapi.testclient import TestClient
from sqlalchemy import event, func, select

from tastegraph.api.context import run_hot_read
from tastegraph.bootstrap import System, build
from tastegraph.catalog import content
from tastegraph.catalog.tables import board_pins, pin_topics, pins
from tastegraph.demo import WorldSize, load_world
from tastegraph.kernel.cache import ManualMonotonic
from tastegraph.recommend import Model, model_store, train
from tastegraph.recommend import sources as src
from tastegraph.recommend.model import feed_memo
from tastegraph.recommend.training import top_co_saved
from tastegraph.server import compose
from tests.conftest import make_settings

SEED = 5


@dataclass(frozen=True)
class _JsonCandidate:
    pin_id: int
    reason: dict[str, Any]


def _as_json(candidates: list[src.Candidate]) -> list[_JsonCandidate]:
    """Candidates with their reasons as the API gives them (reasons are typed: recommend.reasons)."""
    return [_JsonCandidate(c.pin_id, c.reason.to_json()) for c in candidates]


def _trained_world(system: System) -> Model:
    with system.write() as conn:
        load_world(conn, SEED, system.clock.now(), WorldSize(pins=400, users=60))
    with system.read() as conn:
        artifact = train(conn, system.consent, system.clock.now())
    model_store.save(system.models.model_dir, artifact)
    model = system.models.reload()
    assert model is not None and model.co_saved_top is not None
    return model


def test_model_scoring_matches_the_graph_filter(system: System) -> None:
    model = _trained_world(system)
    rng = np.random.default_rng(0)
    cols = [int(c) for c in rng.choice(model.n_pins, 12, replace=False)] + [3, 3]  # a repeat adds up
    weights = [float(w) for w in rng.uniform(0.2, 1.0, len(cols))]
    per_item = model.score_rows(cols, weights)  # the filter's own product, one history item per row
    total = model.score(cols, weights)
    np.testing.assert_allclose(total, per_item.sum(axis=0), rtol=1e-4, atol=1e-5)
    targets = np.argsort(-total)[:20]
    np.testing.assert_allclose(
        model.contributions(cols, weights, targets), per_item[:, targets], rtol=1e-4, atol=1e-5
    )


def test_co_saved_top_lists_count_boards_in_common(system: System) -> None:
    model = _trained_world(system)
    co = (model.pin_boards @ model.board_pins).toarray()
    np.fill_diagonal(co, 0)
    top = top_co_saved(model.board_pins, k=5).toarray()
    for p in range(model.n_pins):
        kept = np.flatnonzero(top[p])
        assert len(kept) == min(5, np.count_nonzero(co[p]))
        assert (top[p, kept] == co[p, kept]).all()  # the true counts
        if len(kept):  # and nothing left out beats what was kept
            assert co[p][np.setdiff1d(np.arange(model.n_pins), kept)].max(initial=0) <= top[p, kept].min()


def test_saved_alongside_from_the_model_matches_live_sql(system: System) -> None:
    model = _trained_world(system)
    with system.read() as conn:
        for user in range(1, 30):
            profile = src.load_profile(conn, user, [])
            live = _as_json(src.saved_alongside(conn, profile, 30))
            fast = _as_json(src.saved_alongside(conn, profile, 30, model=model))
            # SQL keeps the best 90 (Pin, seed) pairs before keeping one per Pin, so it may find fewer.
            assert len(fast) >= len(live)
            fast = fast[: len(live)]
            assert [c.reason["boards_in_common"] for c in fast] == [
                c.reason["boards_in_common"] for c in live
            ]
            cut = min((c.reason["boards_in_common"] for c in live), default=0)
            assert {c.pin_id for c in fast if c.reason["boards_in_common"] > cut} == {
                c.pin_id for c in live if c.reason["boards_in_common"] > cut
            }
            for c in fast:  # the named seed really shares that many boards with the Pin
                seed_boards = select(board_pins.c.board_id).where(board_pins.c.pin_id == c.reason["pin_id"])
                n = conn.execute(
                    select(func.count())
                    .select_from(board_pins)
                    .where(board_pins.c.pin_id == c.pin_id, board_pins.c.board_id.in_(seed_boards))
                ).scalar_one()
                assert n == c.reason["boards_in_common"] and c.pin_id not in dict(profile.saved[:20])


def test_cached_site_and_topic_lists_match_the_tables(system: System) -> None:
    _trained_world(system)
    with system.read() as conn:
        domains = Counter(conn.execute(select(pins.c.domain)).scalars()).most_common(3)
        for domain, _ in domains:
            want = [
                int(p)
                for p in conn.execute(
                    select(pins.c.id)
                    .where(pins.c.domain == domain)
                    .order_by(pins.c.save_count.desc(), pins.c.id)
                    .limit(7)
                ).scalars()
            ]
            assert src.popular_from_domain(conn, domain, 7) == want
            assert src.popular_from_domain(conn, domain, 7) == want  # from the cache
            ids = conn.execute(select(pins.c.id).where(pins.c.domain == domain).limit(200)).scalars().all()
            topics = Counter(
                conn.execute(select(pin_topics.c.topic_id).where(pin_topics.c.pin_id.in_(ids))).scalars()
            )
            found = src.domain_topics(conn, domain)
            assert found[0][3] == topics.most_common(1)[0][1] and topics[found[0][0]] == found[0][3]
        top = [
            (int(p), int(n))
            for p, n in conn.execute(
                select(pins.c.id, pins.c.save_count).order_by(pins.c.save_count.desc(), pins.c.id).limit(40)
            )
        ]
        assert [(c.pin_id, c.reason["saves"]) for c in _as_json(src.popular(conn, 40))] == top


def test_pin_facts_are_read_once_even_soon_after_boot(system: System, cache_clock: ManualMonotonic) -> None:
    """The in-memory Pin facts must be kept from the first read on, whatever the monotonic clock reads
    (it starts near zero at boot: a cache dated from 0 looked expired and was never kept)."""
    with system.write() as conn:
        load_world(conn, SEED, system.clock.now(), WorldSize(pins=50, users=5))
    with system.read() as conn:
        ids = [int(p) for p in conn.execute(select(pins.c.id).limit(10)).scalars()]
    statements: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *rest: Any) -> None:
        statements.append(statement)

    cache_clock.now = 5.0  # five seconds after boot
    event.listen(system.engine, "before_cursor_execute", seen)
    try:
        for _ in range(3):
            with system.read() as conn:
                assert set(content.pin_facts(conn, ids)) == set(ids)
    finally:
        event.remove(system.engine, "before_cursor_execute", seen)
    assert sum("FROM pins" in s for s in statements) == 1, statements


def _profile_of_a_saver(system: System) -> src.Profile:
    with system.read() as conn:
        user_id = int(
            conn.execute(
                select(board_pins.c.saved_by).group_by(board_pins.c.saved_by).order_by(func.count().desc())
            ).first()[0]  # type: ignore[index]
        )
        return src.load_profile(conn, user_id, [])


def _model_candidates(system: System, model: Model, profile: src.Profile) -> list[list[src.Candidate]]:
    with system.read() as conn:
        return [
            src.similar_taste(conn, profile, model, 30),
            src.saved_alongside(conn, profile, 30, model=model),
        ]


def test_the_feed_memo_answers_what_scoring_answers(system: System) -> None:
    model = _trained_world(system)
    profile = _profile_of_a_saver(system)
    model.memo = feed_memo(0)  # off: every call scores
    fresh = _model_candidates(system, model, profile)
    assert fresh[0] and fresh[1]
    model.memo = feed_memo(100)
    first = _model_candidates(system, model, profile)
    assert (model.memo.hits, model.memo.misses) == (0, 2)
    again = _model_candidates(system, model, profile)
    assert (model.memo.hits, model.memo.misses) == (2, 2)
    assert fresh == first == again
    # A Pin hidden since is a different input: scored again, and left out.
    hidden = fresh[0][0].pin_id
    profile.excluded = profile.excluded | {hidden}
    after = _model_candidates(system, model, profile)
    assert model.memo.misses == 3  # similar_taste again; saved_alongside leaves exclusion to the blend
    assert hidden not in {c.pin_id for c in after[0]}
    model.memo = feed_memo(0)
    assert _model_candidates(system, model, profile) == after


def test_memo_entries_hold_only_untracked_values(system: System) -> None:
    model = _trained_world(system)
    profile = _profile_of_a_saver(system)
    _model_candidates(system, model, profile)
    for _ in range(6):  # a tuple is untracked in the pass after its items are: keys nest five deep
        gc.collect()
    entries = model.memo.items()
    assert len(entries) == 2

    def tracked(x: object) -> list[object]:
        found = [x] if gc.is_tracked(x) else []
        for item in x if isinstance(x, tuple) else ():
            found += tracked(item)
        return found

    assert not [tracked(key) + tracked(value) for key, value in entries if tracked(key) + tracked(value)]


def _hot_read_thread(database_url: str, model_dir: Path, at_once: int) -> str:
    """The thread a hot read runs on, in a served app with `hot_read_concurrency` = at_once."""
    system = build(make_settings(database_url, model_dir=model_dir, hot_read_concurrency=at_once))
    threads: list[str] = []

    def work() -> Response:
        threads.append(threading.current_thread().name)
        return Response("{}", media_type="application/json")

    async def call() -> Response:
        return await run_hot_read(system, work)

    try:
        with TestClient(compose(system, run_sweeper=False)) as client:
            client.portal.call(call)  # type: ignore[union-attr]
            assert client.get("/v1/feed/home").status_code == 200
    finally:
        system.dispose()
    return threads[0]


def test_hot_reads_run_where_the_setting_says(database_url: str, tmp_path: Path) -> None:
    assert make_settings("sqlite:///x.db").hot_reads_at_once == 0
    assert make_settings("postgresql+psycopg://u@h/db").hot_reads_at_once == 2
    assert make_settings("sqlite:///x.db", hot_read_concurrency=3).hot_reads_at_once == 3
    assert "AnyIO worker thread" not in _hot_read_thread(database_url, tmp_path / "m", 0)
    assert "AnyIO worker thread" in _hot_read_thread(database_url, tmp_path / "m", 2)


def test_pin_facts_expire_one_by_one_and_are_dropped(system: System, cache_clock: ManualMonotonic) -> None:
    """Each entry is read again after at most PIN_FACTS_SECONDS (not the whole cache at once), and
    expired entries leave memory at the next purge."""
    with system.write() as conn:
        load_world(conn, SEED, system.clock.now(), WorldSize(pins=50, users=5))
    with system.read() as conn:
        ids = [int(p) for p in conn.execute(select(pins.c.id).order_by(pins.c.id).limit(10)).scalars()]
    with system.read() as conn:
        first = content.pin_facts(conn, ids[:5])
        cache_clock.advance(content.PIN_FACTS_SECONDS / 2)
        both = content.pin_facts(conn, iter(ids))  # any iterable, read once
        assert list(both) == ids and all(both[p] is first[p] for p in ids[:5])
        cache_clock.advance(content.PIN_FACTS_SECONDS * 0.6)  # the first five expired, the others not yet
        again = content.pin_facts(conn, ids)
        assert all(again[p] is not first[p] for p in ids[:5]) and all(again[p] is both[p] for p in ids[5:])
        cache_clock.advance(content.PIN_FACTS_SECONDS * 1.01)  # everything expired; the purge drops it
        content.pin_facts(conn, [])
        assert content.pin_facts_cache(system.engine).entries == {}
        assert content.pin_facts_cache(system.engine).expires == {}


def test_cached_pin_facts_leave_the_collectors_full_passes(system: System) -> None:
    """Every cached entry holds only plain values, so the cycle collector stops tracking it after a
    full pass (a tuple holding a dict would stay tracked for good and be walked on every pass)."""
    with system.write() as conn:
        load_world(conn, SEED, system.clock.now(), WorldSize(pins=50, users=5))
    with system.read() as conn:
        ids = [int(p) for p in conn.execute(select(pins.c.id)).scalars()]
        content.get_pins(conn, ids)
    cache = content.pin_facts_cache(system.engine)
    assert len(cache.entries) == len(ids) == 50
    gc.collect()
    gc.collect()
    assert not any(gc.is_tracked(v) for v in cache.entries.values())
    assert not gc.is_tracked(cache.expires)  # (the dict of dicts itself stays tracked: one object)


def test_a_deleted_pin_leaves_the_facts_cache_when_seen_gone(system: System) -> None:
    with system.write() as conn:
        load_world(conn, SEED, system.clock.now(), WorldSize(pins=50, users=5))
    with system.read() as conn:
        doomed = int(conn.execute(select(pins.c.id).order_by(pins.c.id).limit(1)).scalar_one())
        assert doomed in content.get_pins(conn, [doomed])
    assert doomed in content.pin_facts_cache(system.engine).entries
    with system.write() as conn:
        conn.execute(pins.delete().where(pins.c.id == doomed))
    with system.read() as conn:
        assert content.get_pins(conn, [doomed]) == {}
    assert doomed not in content.pin_facts_cache(system.engine).entries
