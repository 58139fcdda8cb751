"""Search by words (GET /v1/search/pins, /search): the full-text indexes of migration 0011 on SQLite (FTS5)
and PostgreSQL (tsvector + GIN), kept in sync whatever writes the catalogue; ranking by text, saves and
the searcher's topics with reasons; secret boards; query syntax never reaching the engines; consent."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, func, select, update

from tastegraph.bootstrap import System
from tastegraph.catalog import bulk, content
from tastegraph.catalog.tables import board_pins, boards, pins, topics
from tastegraph.collect.tables import engagement_events
from tests.helpers import sign_up_in


def _pin(system: System, title: str, description: str = "", topic: str | None = None) -> int:
    with system.write() as conn:
        tids = [content.ensure_topic(conn, topic, topic.replace("-", " ").title())] if topic else []
        return content.create_pin(
            conn,
            title=title,
            description=description,
            link_url=f"https://shop.example/{abs(hash(title))}",
            image_url="/static/demo-img/outdoors/1.svg",
            now=system.clock.now(),
            topic_ids=tids,
        )


def _board(system: System, owner: int, name: str, pin_ids: list[int], *, secret: bool = False) -> int:
    with system.write() as conn:
        board_id = content.create_board(conn, owner, name, system.clock.now())
        if secret:
            conn.execute(update(boards).where(boards.c.id == board_id).values(secret=True))
        for p in pin_ids:
            content.save_pin(conn, owner, p, board_id, system.clock.now())
    return board_id


def _search(client: TestClient, q: str, **params: Any) -> dict[str, Any]:
    r = client.get("/v1/search/pins", params={"q": q, **params})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def _ids(body: dict[str, Any]) -> list[int]:
    return [i["pin_id"] for i in body["items"]]


def _fields(body: dict[str, Any], pin_id: int) -> dict[str, list[str]]:
    item = next(i for i in body["items"] if i["pin_id"] == pin_id)
    return {m["field"]: m["terms"] for m in item["matches"]}


def _searches(system: System) -> list[str]:
    system.search_history.flush()  # searches are queued, written within a second (collect.search_history)
    with system.read() as conn:
        rows = conn.execute(select(engagement_events.c.query).where(engagement_events.c.kind == "search"))
        return [str(q) for (q,) in rows]


def test_matches_title_description_topic_and_board_name(client: TestClient, system: System) -> None:
    owner = sign_up_in(client, "owner@example.com")
    by_title = _pin(system, "Quokka lantern")
    by_description = _pin(system, "A lamp", description="Perfect for a quokka campsite")
    by_topic = _pin(system, "Sturdy pot", topic="quokkaware")
    on_board = _pin(system, "Plain mug")
    other = _pin(system, "Nothing alike")
    board = _board(system, owner, "Quokka evenings", [on_board])

    body = _search(client, "quokka")
    assert set(_ids(body)) == {by_title, by_description, by_topic, on_board}
    assert other not in _ids(body)
    assert _fields(body, by_title) == {"title": ["Quokka"]}
    assert _fields(body, by_description) == {"description": ["quokka"]}
    assert _fields(body, by_topic) == {"topics": ["Quokkaware"]}
    board_match = next(i for i in body["items"] if i["pin_id"] == on_board)["matches"]
    assert board_match == [
        {
            "field": "board",
            "terms": ["Quokka"],
            "board_id": board,
            "board_name": "Quokka evenings",
            "text": "Saved to the board “Quokka evenings”, which matches “Quokka”.",
        }
    ]
    # Unsaved, a match in the title outranks one in the topics, which outranks the description (bm25
    # or ts_rank weights); the Pin on the board has a save, which ranks it up.
    order = [p for p in _ids(body) if p != on_board]
    assert order == [by_title, by_topic, by_description]
    item = next(i for i in body["items"] if i["pin_id"] == by_title)
    assert item["pin"]["title"] == "Quokka lantern"


def test_prefixes_and_stems(client: TestClient, system: System) -> None:
    chair = _pin(system, "Folding camping chairs")
    assert _ids(_search(client, "cha")) == [chair]  # a prefix
    assert _ids(_search(client, "chair")) == [chair]  # a stem: chairs = chair
    assert _ids(_search(client, "Camp")) == [chair]  # case and stems: camping
    assert _ids(_search(client, "CHAIRS folding")) == [chair]
    assert _search(client, "chairz")["items"] == []  # no edit-distance matching (catalog.search)


def test_every_word_first_then_any_word(client: TestClient, system: System) -> None:
    both = _pin(system, "Copper kettle")
    one = _pin(system, "Copper bowl")
    body = _search(client, "copper kettle")
    assert _ids(body) == [both, one]
    assert _fields(body, one) == {"title": ["Copper"]}


def test_more_saved_outranks_an_equal_text_match(client: TestClient, system: System) -> None:
    saver = sign_up_in(client, "saver@example.com")
    less = _pin(system, "Walnut spoon")
    more = _pin(system, "Walnut spoon")
    _board(system, saver, "Kitchen", [more])
    anon = TestClient(client.app, base_url=str(client.base_url))
    body = _search(anon, "walnut spoon")
    assert _ids(body) == [more, less]
    top = body["items"][0]["reasons"]
    assert top == [{"kind": "search_saves", "saves": 1, "text": "Saved once: more saved Pins rank higher."}]
    assert body["items"][1]["reasons"] == []


def test_the_searchers_topic_moves_a_result_and_says_so(client: TestClient, system: System) -> None:
    cook = sign_up_in(client, "cook@example.com")
    other = TestClient(client.app, base_url=str(client.base_url))
    fan = sign_up_in(other, "fan@example.com")
    travel = _pin(system, "Enamel mug", topic="travel")
    cooking = _pin(system, "Enamel mug", topic="cooking")
    # The travel mug is the more saved (2 saves to 1).
    _board(system, fan, "Trips", [travel, cooking])
    _board(system, fan, "More trips", [travel])
    # The searcher's own saves are in cooking.
    _board(system, cook, "Recipes", [_pin(system, "Soup pot", topic="cooking")])

    body = _search(client, "enamel mug")
    assert body["personalized"] is True
    assert _ids(body) == [cooking, travel]
    reasons = body["items"][0]["reasons"]
    assert [r["kind"] for r in reasons] == ["search_saves", "search_topic"]
    assert {k: v for k, v in reasons[1].items() if k != "text"} == {
        "kind": "search_topic",
        "topic": "cooking",
        "topic_name": "Cooking",
        "engagements": 1,
    }
    assert reasons[1]["text"] == "In Cooking, a topic you engage with, so it ranks higher for you."
    assert [r["kind"] for r in body["items"][1]["reasons"]] == ["search_saves"]

    # Signed out, or with Personalization off: the same ranking for everyone, no topic reason.
    anon = TestClient(client.app, base_url=str(client.base_url))
    assert _ids(_search(anon, "enamel mug")) == [travel, cooking]
    assert client.patch("/v1/me/settings", json={"personalization": False}).status_code == 200
    off = _search(client, "enamel mug")
    assert off["personalized"] is False
    assert "Personalization is off" in off["personalization_note"]
    assert _ids(off) == [travel, cooking]
    assert all(r["kind"] != "search_topic" for i in off["items"] for r in i["reasons"])
    # ...and a browser signal does the same for that request.
    assert client.patch("/v1/me/settings", json={"personalization": True}).status_code == 200
    dnt = client.get("/v1/search/pins", params={"q": "enamel mug"}, headers={"DNT": "1"}).json()
    assert dnt["personalized"] is False and _ids(dnt) == [travel, cooking]


def test_secret_board_names_match_only_for_their_owner(client: TestClient, system: System) -> None:
    owner = sign_up_in(client, "owner@example.com")
    pin = _pin(system, "Plain notebook")
    board = _board(system, owner, "Zanzibar surprise", [pin], secret=True)
    assert _ids(_search(client, "zanzibar")) == [pin]
    assert _fields(_search(client, "zanzibar"), pin) == {"board": ["Zanzibar"]}

    other = TestClient(client.app, base_url=str(client.base_url))
    assert _search(other, "zanzibar")["items"] == []  # signed out
    sign_up_in(other, "other@example.com")
    body = _search(other, "zanzibar surprise")
    assert body["items"] == []
    assert "Zanzibar" not in str(body)
    # The Pin itself is found by its own words, without the secret board's name.
    found = _search(other, "notebook")
    assert _ids(found) == [pin] and "Zanzibar" not in str(found)
    page = other.get("/search", params={"q": "notebook"})
    assert page.status_code == 200 and "Zanzibar" not in page.text

    # Made public, it matches for everyone; secret again, not.
    with system.write() as conn:
        conn.execute(update(boards).where(boards.c.id == board).values(secret=False))
    assert _ids(_search(other, "zanzibar")) == [pin]
    with system.write() as conn:
        conn.execute(update(boards).where(boards.c.id == board).values(secret=True))
    assert _search(other, "zanzibar")["items"] == []


def test_the_index_follows_every_write(client: TestClient, system: System) -> None:
    """Triggers keep the indexes in sync whatever code path writes: renames, unsaves, deletions of boards
    and Pins, topic changes, and the bulk loaders."""
    owner = sign_up_in(client, "owner@example.com")
    pin = _pin(system, "Plain basket")
    board = _board(system, owner, "Gondola ideas", [pin])
    assert _ids(_search(client, "gondola")) == [pin]
    with system.write() as conn:  # rename
        conn.execute(update(boards).where(boards.c.id == board).values(name="Marimba ideas"))
    assert _search(client, "gondola")["items"] == []
    assert _ids(_search(client, "marimba")) == [pin]
    with system.write() as conn:  # unsave
        conn.execute(delete(board_pins).where(board_pins.c.board_id == board))
    assert _search(client, "marimba")["items"] == []
    with system.write() as conn:  # save again, then delete the board
        content.save_pin(conn, owner, pin, board, system.clock.now())
    assert _ids(_search(client, "marimba")) == [pin]
    with system.write() as conn:
        conn.execute(delete(boards).where(boards.c.id == board))
    assert _search(client, "marimba")["items"] == []

    tagged = _pin(system, "Wicker thing", topic="picnics")
    assert _ids(_search(client, "picnic")) == [tagged]
    with system.write() as conn:  # a topic renamed
        conn.execute(update(topics).where(topics.c.slug == "picnics").values(name="Xylophones"))
    assert _search(client, "picnic")["items"] == []
    assert _ids(_search(client, "xylophone")) == [tagged]
    with system.write() as conn:  # a Pin deleted
        conn.execute(delete(pins).where(pins.c.id == tagged))
    assert _search(client, "xylophone")["items"] == []

    now = system.clock.now()
    with system.write() as conn:  # the bulk loaders (demo world, benchmark catalogues)
        start = bulk.max_ids(conn)
        topic_ids, _ = bulk.ensure_topics(conn, [("ocarinas", "Ocarinas")])
        pid, bid = start["pins"] + 1, start["boards"] + 1
        bulk.add_pins(
            conn,
            [
                {
                    "id": pid,
                    "title": "Bulk loaded",
                    "description": "From the loader",
                    "image_url": "/x.svg",
                    "link_url": "https://bulk.example/1",
                    "domain": "bulk.example",
                    "creator_id": None,
                    "save_count": 1,
                    "created_at": now,
                }
            ],
        )
        bulk.tag_pins(conn, [{"pin_id": pid, "topic_id": topic_ids["ocarinas"]}])
        bulk.add_boards(
            conn, [{"id": bid, "owner_id": owner, "name": "Harmonium", "description": "", "created_at": now}]
        )
        bulk.add_saves(conn, [{"board_id": bid, "pin_id": pid, "saved_by": owner, "saved_at": now}])
    for q in ("ocarina", "harmonium", "loader", "bulk"):
        assert _ids(_search(client, q)) == [pid], q


INJECTIONS = [
    '"',
    '""',
    '"chair',
    "*",
    "chair*",
    "NEAR",
    "NEAR(chair lantern)",
    "chair AND",
    "AND OR NOT",
    "-chair",
    "chair -lantern",
    ":",
    "title:chair",
    "{title}: chair",
    "chair:*",
    "!chair & | lantern",
    "chair')--",
    "^chair",
    "chair + lantern",
    "(chair",
]


@pytest.mark.parametrize("q", INJECTIONS)
def test_query_syntax_is_only_words(client: TestClient, system: System, q: str) -> None:
    chair = _pin(system, "Chair lantern near the door")
    r = client.get("/v1/search/pins", params={"q": q})
    assert r.status_code in (200, 422), r.text
    if r.status_code == 422:
        assert r.json()["error"] == {
            "code": "invalid_input",
            "message": "a search needs at least one letter or digit",
            "field": "q",
        }
        return
    body = r.json()
    words = body["terms"]
    assert all(w.isalnum() for w in words)
    if "chair" in words:
        assert chair in _ids(body)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({}, "type something to search for"),
        ({"q": ""}, "type something to search for"),
        ({"q": "   "}, "type something to search for"),
        ({"q": "?!…"}, "a search needs at least one letter or digit"),
        ({"q": "x" * 201}, "a search has at most 200 characters"),
        ({"q": "a b c d e f g h i"}, "a search has at most 8 different words"),
    ],
)
def test_bad_queries_are_422_and_store_nothing(
    client: TestClient, system: System, params: dict[str, str], message: str
) -> None:
    sign_up_in(client)
    r = client.get("/v1/search/pins", params=params)
    assert r.status_code == 422
    assert r.json()["error"] == {"code": "invalid_input", "message": message, "field": "q"}
    assert _searches(system) == []


@pytest.mark.parametrize("limit", ["0", "51", "-1", "many"])
def test_limit_bounds(client: TestClient, limit: str) -> None:
    r = client.get("/v1/search/pins", params={"q": "chair", "limit": limit})
    assert r.status_code == 422
    assert r.json()["error"]["field"] == "limit"


def test_limit_cuts(client: TestClient, system: System) -> None:
    for i in range(5):
        _pin(system, f"Lantern {i}")
    assert len(_search(client, "lantern", limit=3)["items"]) == 3
    assert len(_search(client, "lantern", limit=50)["items"]) == 5


def test_searches_are_engagement_only_when_allowed(client: TestClient, system: System) -> None:
    _pin(system, "Chair")
    anon = TestClient(client.app, base_url=str(client.base_url))
    assert _search(anon, "chair")["recorded"] is False  # signed out: nobody to keep it for
    sign_up_in(client)
    assert _search(client, "chair")["recorded"] is True
    assert _searches(system) == ["chair"]
    for headers in ({"DNT": "1"}, {"Sec-GPC": "1"}):
        r = client.get("/v1/search/pins", params={"q": "lantern"}, headers=headers)
        assert r.json()["recorded"] is False
    assert client.patch("/v1/me/settings", json={"personalization": False}).status_code == 200
    assert _search(client, "rug")["recorded"] is False
    assert _searches(system) == ["chair"]
    assert client.patch("/v1/me/settings", json={"personalization": True}).status_code == 200
    # The results page records the same way.
    assert client.get("/search", params={"q": "Table lamps"}).status_code == 200
    assert sorted(_searches(system)) == ["Table lamps", "chair"]

    export = client.get("/v1/me/export").json()
    kept = [(e["kind"], e["query"]) for e in export["engagement_events"] if e["kind"] == "search"]
    assert sorted(kept) == [("search", "Table lamps"), ("search", "chair")]
    assert client.request("DELETE", "/v1/me", json={"password": "correct horse"}).status_code in (200, 204)
    with system.read() as conn:
        left = conn.execute(select(func.count()).select_from(engagement_events)).scalar_one()
    assert left == 0


def test_hidden_pins_are_not_results(client: TestClient, system: System) -> None:
    sign_up_in(client)
    hidden = _pin(system, "Velvet cushion")
    shown = _pin(system, "Velvet throw")
    r = client.post("/v1/engagement", json={"events": [{"kind": "hide", "pin_id": hidden}]})
    assert r.status_code == 200, r.text
    assert _ids(_search(client, "velvet")) == [shown]


def test_results_page(client: TestClient, system: System) -> None:
    owner = sign_up_in(client)
    pin = _pin(system, "Linen napkins <set>", topic="home-decor")
    _board(system, owner, "Dinner party", [pin])
    home = client.get("/")
    assert 'action="/search"' in home.text and 'name="q"' in home.text  # the header's box
    page = client.get("/search", params={"q": "napkin"})
    assert page.status_code == 200
    assert "Linen napkins &lt;set&gt;" in page.text
    assert "Matches “napkins” in the title." in page.text
    assert 'value="napkin"' in page.text  # the header's box keeps the query
    empty = client.get("/search")
    assert empty.status_code == 200 and "Search Pins by the words" in empty.text
    bad = client.get("/search", params={"q": "x" * 300})
    assert bad.status_code == 422 and "At most 200 characters" not in bad.text
    assert "A search has at most 200 characters." in bad.text
    none = client.get("/search", params={"q": "nothingmatcheshere"})
    assert none.status_code == 200 and "No Pins match" in none.text
