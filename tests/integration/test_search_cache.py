"""Search by words, kept fast (issue 14): the per-query result cache (recommend.search) is used only
under the index versions it was made with (migration 0015), so every change to the catalogue shows in
the next search; its entries are person-independent except a secret board's owner's; hidden Pins and
the searcher's topics are applied per request. Searches kept as engagement are queued and written in
batches (collect.search_history): written at shutdown, exported, and erased with the person."""

from __future__ import annotations

import random
import time

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, select, update

from tastegraph.bootstrap import System
from tastegraph.catalog import content
from tastegraph.catalog import search as text_search
from tastegraph.catalog.tables import pins
from tastegraph.collect.search_history import SearchHistory
from tastegraph.collect.tables import engagement_events
from tastegraph.recommend import search as rank
from tastegraph.server import compose
from tests.helpers import PASSWORD, sign_up_in
from tests.integration.test_search import _board, _ids, _pin, _search


def _hits(system: System) -> int:
    return rank.results_cache(system.engine).hits


def _stored_searches(system: System, user_id: int | None = None) -> list[str]:
    with system.read() as conn:
        q = select(engagement_events.c.query).where(engagement_events.c.kind == "search")
        if user_id is not None:
            q = q.where(engagement_events.c.user_id == user_id)
        return sorted(str(v) for (v,) in conn.execute(q))


def test_repeated_search_is_served_from_the_cache(client: TestClient, system: System) -> None:
    pin = _pin(system, "Copper lantern")
    first = _search(client, "lantern")
    before = _hits(system)
    again = _search(client, "lantern")
    assert _hits(system) == before + 1  # the second search used the entry the first made
    assert again["items"] == first["items"] and _ids(again) == [pin]


def test_a_pin_added_edited_or_deleted_shows_in_the_next_search(client: TestClient, system: System) -> None:
    old = _pin(system, "Copper lantern")
    assert _ids(_search(client, "lantern")) == [old]
    assert _ids(_search(client, "lantern")) == [old]  # cached now
    new = _pin(system, "Paper lantern")
    assert sorted(_ids(_search(client, "lantern"))) == sorted([old, new])
    with system.write() as conn:  # edited: the title no longer says "lantern"
        conn.execute(update(pins).where(pins.c.id == new).values(title="Paper kite"))
    assert _ids(_search(client, "lantern")) == [old]
    assert _ids(_search(client, "kite")) == [new]
    # Matched words are the new title's, not a cached highlight of the old one.
    item = _search(client, "copper")["items"][0]
    assert item["matches"][0]["terms"] == ["Copper"]
    with system.write() as conn:
        conn.execute(update(pins).where(pins.c.id == old).values(title="Brass lantern"))
    assert _search(client, "copper")["items"] == []
    assert _ids(_search(client, "brass")) == [old]
    with system.write() as conn:  # deleted
        conn.execute(delete(pins).where(pins.c.id == old))
    assert _search(client, "lantern")["items"] == []


def test_a_board_made_secret_leaves_everyones_cached_results(client: TestClient, system: System) -> None:
    owner = sign_up_in(client, "owner@example.com")
    pin = _pin(system, "Plain notebook")
    board = _board(system, owner, "Quokka corner", [pin])
    anon = TestClient(client.app, base_url=str(client.base_url))
    other = TestClient(client.app, base_url=str(client.base_url))
    sign_up_in(other, "other@example.com")
    for c in (anon, other, anon, other):  # the second round from the cache
        assert _ids(_search(c, "quokka")) == [pin]
    r = client.patch(f"/v1/boards/{board}", json={"secret": True})
    assert r.status_code == 200, r.text
    for c in (anon, other):
        body = _search(c, "quokka")
        assert body["items"] == [] and "Quokka" not in str(body)
    assert _ids(_search(client, "quokka")) == [pin]  # still its owner's
    # The owner's own entry (their secret board's name) is never anyone else's, in either order.
    for c in (other, client, other):
        assert _ids(_search(c, "quokka")) == ([pin] if c is client else [])


def test_the_personal_part_is_not_shared(client: TestClient, system: System) -> None:
    cook = sign_up_in(client, "cook@example.com")
    other = TestClient(client.app, base_url=str(client.base_url))
    traveller = sign_up_in(other, "traveller@example.com")
    travel = _pin(system, "Enamel mug", topic="travel")
    cooking = _pin(system, "Enamel mug", topic="cooking")
    _board(system, cook, "Recipes", [_pin(system, "Soup pot", topic="cooking")])
    _board(system, traveller, "Trips", [_pin(system, "Backpack", topic="travel")])
    # Equal text and saves: each searcher's own topic decides, whoever searched first.
    for _ in range(2):
        mine = _search(client, "enamel mug")
        theirs = _search(other, "enamel mug")
        assert _ids(mine)[0] == cooking and _ids(theirs)[0] == travel
        assert [r["topic"] for r in mine["items"][0]["reasons"] if r["kind"] == "search_topic"] == ["cooking"]
        assert [r["topic"] for r in theirs["items"][0]["reasons"] if r["kind"] == "search_topic"] == [
            "travel"
        ]
        assert all(r["kind"] != "search_topic" for r in mine["items"][1]["reasons"])
    # A Pin one person hid is gone for them only, from the same cached entry.
    r = client.post("/v1/engagement", json={"events": [{"kind": "hide", "pin_id": travel}]})
    assert r.status_code == 200, r.text
    assert _ids(_search(client, "enamel mug")) == [cooking]
    assert sorted(_ids(_search(other, "enamel mug"))) == sorted([travel, cooking])
    anon = TestClient(client.app, base_url=str(client.base_url))
    assert all(
        r["kind"] != "search_topic" for i in _search(anon, "enamel mug")["items"] for r in i["reasons"]
    )


def test_saves_and_unsaves_show_in_the_next_search(client: TestClient, system: System) -> None:
    owner = sign_up_in(client, "owner@example.com")
    pin = _pin(system, "Plain basket")
    board = _board(system, owner, "Gondola ideas", [])
    assert _search(client, "gondola")["items"] == []
    assert _search(client, "gondola")["items"] == []  # cached
    with system.write() as conn:
        content.save_pin(conn, owner, pin, board, system.clock.now())
    assert _ids(_search(client, "gondola")) == [pin]
    r = client.post("/v1/engagement", json={"events": [{"kind": "unsave", "pin_id": pin, "board_id": board}]})
    assert r.status_code == 200, r.text
    assert _search(client, "gondola")["items"] == []


def test_the_counters_move_in_the_writing_transaction(system: System) -> None:
    with system.read() as conn:
        start = text_search.index_versions(conn)
    assert start is not None
    with system.write() as conn:
        pin = _pin_in(conn, system, "Counted")
        inside = text_search.index_versions(conn)
        assert inside is not None and inside.text > start.text
    with system.write() as conn:
        conn.execute(update(pins).where(pins.c.id == pin).values(save_count=3))
    with system.read() as conn:
        after = text_search.index_versions(conn)
    assert after is not None and after.saves > inside.saves


def _pin_in(conn: object, system: System, title: str) -> int:
    from sqlalchemy import Connection

    assert isinstance(conn, Connection)
    return content.create_pin(
        conn,
        title=title,
        description="",
        link_url="https://shop.example/counted",
        image_url="/static/demo-img/outdoors/1.svg",
        now=system.clock.now(),
        topic_ids=[],
    )


def test_ranking_from_the_entry_equals_scoring_every_candidate() -> None:
    rng = random.Random(14)
    slugs = ["cooking", "travel", "garden", "diy", "style"]
    for _ in range(300):
        n = rng.randint(1, 80)
        cands: list[rank._Candidate] = [
            (
                pid,
                rng.random() < 0.5,
                round(rng.random(), 2),
                None,
                None,
                rng.choice([0, 0, 1, 2, 5, 40]),
                tuple(sorted(rng.sample(slugs, rng.randint(0, 2)))),
            )
            for pid in rng.sample(range(1, 500), n)
        ]
        mine = {s: (s.title(), 1) for s in rng.sample(slugs, rng.randint(0, 3))}
        limit = rng.randint(1, 30)
        entry = rank._Entry(None, cands, {})
        fast = rank._top(entry, mine, limit)
        slow = rank._score_all(cands, mine)[:limit]
        assert [(round(s, 9), p, b) for s, p, _, b in fast] == [(round(s, 9), p, b) for s, p, _, b in slow]


def test_kept_searches_are_queued_then_written(client: TestClient, system: System) -> None:
    me = sign_up_in(client)
    _pin(system, "Chair")
    assert _search(client, "chair")["recorded"] is True
    assert len(system.search_history) == 1  # not written by the request itself
    assert system.search_history.flush() == 1
    assert _stored_searches(system, me) == ["chair"]
    assert len(system.search_history) == 0


def test_the_background_writer_writes_within_seconds(client: TestClient, system: System) -> None:
    uid = sign_up_in(client, "bg@example.com")
    history = SearchHistory(system.engine, interval=0.05)
    history.add(uid, "wicker", system.clock.now())
    deadline = time.monotonic() + 10
    while not _stored_searches(system, uid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _stored_searches(system, uid) == ["wicker"]
    history.close()


def test_queued_searches_are_written_at_shutdown(system: System) -> None:
    app = compose(system, run_sweeper=False)
    with TestClient(app, base_url="http://127.0.0.1:8000") as c:
        me = sign_up_in(c, "late@example.com")
        _pin(system, "Rattan")
        assert _search(c, "rattan")["recorded"] is True
    # The lifespan's end wrote it (whether or not the background writer had).
    assert len(system.search_history) == 0
    assert _stored_searches(system, me) == ["rattan"]


def test_queued_searches_are_exported(client: TestClient, system: System) -> None:
    sign_up_in(client)
    assert _search(client, "folding chair")["recorded"] is True
    assert len(system.search_history) == 1
    export = client.get("/v1/me/export").json()
    kept = [e["query"] for e in export["engagement_events"] if e["kind"] == "search"]
    assert kept == ["folding chair"]
    assert export["search_history_queued"] == []


def test_queued_searches_are_exported_even_when_the_write_fails(
    client: TestClient, system: System, monkeypatch: pytest.MonkeyPatch
) -> None:
    sign_up_in(client)
    assert _search(client, "folding chair")["recorded"] is True

    def failing() -> int:
        raise RuntimeError("database away")

    monkeypatch.setattr(system.search_history, "flush", failing)
    export = client.get("/v1/me/export").json()
    assert [e["query"] for e in export["search_history_queued"]] == ["folding chair"]


def test_erasure_removes_queued_searches(client: TestClient, system: System) -> None:
    me = sign_up_in(client)
    keep = TestClient(client.app, base_url=str(client.base_url))
    other = sign_up_in(keep, "stays@example.com")
    for c, q in ((client, "chair"), (client, "lamp"), (keep, "rug")):
        assert _search(c, q)["recorded"] is True
    assert len(system.search_history) == 3
    assert client.request("DELETE", "/v1/me", json={"password": PASSWORD}).status_code in (200, 204)
    assert len(system.search_history) == 1  # the other person's
    system.search_history.flush()
    assert _stored_searches(system, me) == []
    assert _stored_searches(system, other) == ["rug"]


def test_a_search_queued_elsewhere_for_an_erased_person_is_dropped(
    client: TestClient, system: System
) -> None:
    """Another server process's queue (its own SearchHistory) holds a search of someone erased here."""
    me = sign_up_in(client)
    elsewhere = SearchHistory(system.engine, background=False)
    elsewhere.add(me, "lantern", system.clock.now())
    assert client.request("DELETE", "/v1/me", json={"password": PASSWORD}).status_code in (200, 204)
    assert elsewhere.flush() == 0
    assert elsewhere.dropped == 1 and len(elsewhere) == 0
    assert _stored_searches(system) == []


def test_the_feed_tuner_lists_queued_searches_and_clearing_drops_them(
    client: TestClient, system: System
) -> None:
    me = sign_up_in(client)
    assert _search(client, "chair")["recorded"] is True
    assert system.search_history.flush() == 1
    assert _search(client, "lamp")["recorded"] is True  # queued, not written
    tuner = client.get("/v1/me/feed-tuner").json()
    assert sorted(s["query"] for s in tuner["searches"]) == ["chair", "lamp"]
    assert _search(client, "rug")["recorded"] is True
    assert len(system.search_history) == 1
    r = client.delete("/v1/me/searches")
    assert r.status_code == 200 and r.json() == {"deleted": 3}
    assert len(system.search_history) == 0
    system.search_history.flush()
    assert _stored_searches(system, me) == []
