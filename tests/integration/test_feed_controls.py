"""Feed controls: hiding Pins with a reason (and undoing it), hides toning the feed down, "Tune your home
feed" and each of its removals counting at once and touching only the caller's rows."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tastegraph.bootstrap import System
from tastegraph.catalog import content
from tastegraph.collect.tables import engagement_events, offsite_visits
from tests.helpers import MiniWorld, csrf_token, mini_world, page_sign_up, sign_up_in, trained_model


def _feed(client: TestClient, limit: int = 40) -> dict[str, Any]:
    r = client.get("/v1/feed/home", params={"limit": limit})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def _ids(feed: dict[str, Any]) -> list[int]:
    return [int(i["pin_id"]) for i in feed["items"]]


def _other(client: TestClient, email: str) -> tuple[TestClient, int]:
    other = TestClient(client.app, base_url=str(client.base_url))
    return other, sign_up_in(other, email)


def _events(client: TestClient, *events: dict[str, Any]) -> Any:
    return client.post("/v1/engagement", json={"events": list(events)})


def _visit(client: TestClient, url: str) -> None:
    r = client.post("/v1/offsite/visits", json={"url": url})
    assert r.status_code in (200, 201) and r.json()["stored"], r.text


def _hide_rows(system: System, user_id: int) -> int:
    with system.read() as conn:
        return len(content.export(conn, user_id)["hidden_pins"])


def _tuner(client: TestClient) -> dict[str, Any]:
    r = client.get("/v1/me/feed-tuner")
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


# --- hiding ---------------------------------------------------------------------------------------------


def test_hide_with_a_reason_and_bad_reasons(client: TestClient, system: System) -> None:
    world = mini_world(system)
    user_id = sign_up_in(client)
    pins = world.pins_by_domain["simmerandsage.com"]
    assert pins[0] in _ids(_feed(client))

    # An unknown reason, a reason on another kind, a hide without a Pin: 422, nothing written at all
    # (not even the good event in the same batch).
    for bad in (
        [{"kind": "hide", "pin_id": pins[0], "reason": "boring"}],
        [{"kind": "hide", "pin_id": pins[1]}, {"kind": "save", "pin_id": pins[0], "reason": "seen_it"}],
        [{"kind": "hide", "reason": "seen_it"}],
    ):
        r = _events(client, *bad)
        assert r.status_code == 422, r.text
        assert r.json()["error"]["field"], r.text
    assert _events(client, {"kind": "hide", "pin_id": 10**9, "reason": "seen_it"}).status_code == 404
    assert _hide_rows(system, user_id) == 0
    with system.read() as conn:
        assert conn.execute(select(func.count()).select_from(engagement_events)).scalar_one() == 0

    r = _events(client, {"kind": "hide", "pin_id": pins[0], "reason": "offensive"})
    assert r.status_code == 200 and r.json()["events"][0]["status"] == "stored", r.text
    r = _events(client, {"kind": "hide", "pin_id": pins[1]})  # the reason is optional
    assert r.status_code == 200
    assert pins[0] not in _ids(_feed(client)) and pins[1] not in _ids(_feed(client))
    hidden = {h["pin_id"]: h for h in client.get("/v1/me/export").json()["catalog"]["hidden_pins"]}
    assert hidden[pins[0]]["reason"] == "offensive" and hidden[pins[1]]["reason"] is None
    listed = {h["pin_id"]: h["reason"] for h in _tuner(client)["hidden"]}
    assert listed == {pins[0]: "offensive", pins[1]: None}
    # Hiding again takes the newest reason; the Pin stays hidden once.
    assert _events(client, {"kind": "hide", "pin_id": pins[1], "reason": "seen_it"}).status_code == 200
    assert {h["pin_id"]: h["reason"] for h in _tuner(client)["hidden"]}[pins[1]] == "seen_it"
    assert _hide_rows(system, user_id) == 2
    # The hidden Pin never returns, not even as a related Pin or on a later page of the feed.
    assert pins[0] not in _ids(_feed(client, 100))
    related = client.get(f"/v1/pins/{pins[2]}/related").json()
    assert pins[0] not in [int(i["pin_id"]) for i in related["items"]]


def test_undo_brings_the_pin_back(client: TestClient, system: System) -> None:
    world = mini_world(system)
    user_id = sign_up_in(client)
    pin = world.pins_by_domain["loomandlinen.com"][0]
    assert _events(client, {"kind": "hide", "pin_id": pin, "reason": "not_interested"}).status_code == 200
    assert pin not in _ids(_feed(client))
    other, _ = _other(client, "bo@example.com")
    assert other.delete(f"/v1/me/hides/{pin}").status_code == 404  # not theirs to undo
    assert client.delete(f"/v1/me/hides/{pin}").status_code == 204
    assert pin in _ids(_feed(client))
    assert _hide_rows(system, user_id) == 0
    assert not [e for e in client.get("/v1/me/export").json()["engagement_events"] if e["kind"] == "hide"]
    assert _tuner(client)["toned_down"] == []
    assert client.delete(f"/v1/me/hides/{pin}").status_code == 404  # nothing left to undo
    assert client.delete("/v1/me/hides/0").status_code == 422
    assert TestClient(client.app).delete(f"/v1/me/hides/{pin}").status_code == 401


def _share(feed: dict[str, Any], world: MiniWorld, *domains: str) -> int:
    wanted = {p for d in domains for p in world.pins_by_domain[d]}
    return sum(1 for p in _ids(feed) if p in wanted)


def test_hides_show_fewer_of_that_site_and_topic(client: TestClient, system: System) -> None:
    world = mini_world(system, pins_per_site=10)
    sign_up_in(client)
    # Interest in the outdoors: visits to one outdoor shop.
    for i in range(3):
        _visit(client, f"https://trailpeak-gear.com/tent-{i}")
    outdoors = ("trailpeak-gear.com", "summitcamp.shop")
    before = _feed(client, 10)
    assert _share(before, world, *outdoors) >= 6, before
    hidden = [p for p in _ids(before) if p in world.pins_by_domain["trailpeak-gear.com"]][:3]
    for p in hidden:
        assert _events(client, {"kind": "hide", "pin_id": p, "reason": "not_interested"}).status_code == 200
    after = _feed(client, 10)
    assert not set(hidden) & set(_ids(after))
    assert _share(after, world, *outdoors) <= _share(before, world, *outdoors) - 3, (before, after)
    assert _share(after, world, "trailpeak-gear.com") < _share(before, world, "trailpeak-gear.com") - len(
        hidden
    )
    # The reason is visible: the feed and the tuner say what is toned down, and by how much.
    down = {(d["kind"], d["value"]): d for d in after["toned_down"]}
    assert down[("site", "trailpeak-gear.com")]["hides"] == 3
    assert down[("site", "trailpeak-gear.com")]["factor"] == 8.0
    assert down[("topic", "outdoors")]["hides"] == 3
    assert _tuner(client)["toned_down"] == after["toned_down"]


def test_seen_it_hides_only_that_pin(client: TestClient, system: System) -> None:
    world = mini_world(system)
    sign_up_in(client)
    pins = world.pins_by_domain["simmerandsage.com"]
    before = _feed(client, 40)
    assert _events(client, {"kind": "hide", "pin_id": pins[0], "reason": "seen_it"}).status_code == 200
    after = _feed(client, 40)
    assert after["toned_down"] == []
    assert _ids(after) == [p for p in _ids(before) if p != pins[0]][: len(_ids(after))]


# --- the tuner ------------------------------------------------------------------------------------------


def test_tuner_lists_what_shapes_the_feed(client: TestClient, system: System) -> None:
    world = mini_world(system)
    user_id = sign_up_in(client)
    author, author_id = _other(client, "cy@example.com")
    board = author.get("/v1/me/boards")  # makes nothing: the author saves, which makes their board
    assert (
        _events(author, {"kind": "save", "pin_id": world.pins_by_domain["loomandlinen.com"][0]}).status_code
        == 200
    )
    board = author.get("/v1/me/boards").json()["items"][0]
    cooking = world.pins_by_domain["simmerandsage.com"]
    _visit(client, "https://trailpeak-gear.com/a")
    _visit(client, "https://trailpeak-gear.com/b")
    _visit(client, "https://www.loomandlinen.com/rugs")
    r = _events(
        client,
        {"kind": "save", "pin_id": cooking[0]},
        {"kind": "click", "pin_id": cooking[1]},
        {"kind": "follow_board", "board_id": board["id"]},
        {"kind": "follow_user", "target_user_id": author_id},
        {"kind": "search", "query": "soup"},
        {"kind": "search", "query": "tents"},
    )
    assert r.status_code == 200, r.text
    t = _tuner(client)
    assert set(t) >= {"sites", "topics", "boards", "people", "searches"}
    sites = {s["domain"]: s for s in t["sites"]}
    assert set(sites) == {"trailpeak-gear.com", "loomandlinen.com"}
    assert sites["trailpeak-gear.com"]["visits"] == 2
    assert sites["trailpeak-gear.com"]["last_visited_at"] == system.clock.now().isoformat()
    assert t["sites_used"] is True and t["sites_note"] is None
    topics = {x["topic"]: x for x in t["topics"]}
    assert topics["cooking"]["engagements"] == 2
    assert topics["outdoors"]["sites"] == ["trailpeak-gear.com"]
    assert [b["board_id"] for b in t["boards"]] == [board["id"]]
    assert [p["user_id"] for p in t["people"]] == [author_id]
    assert sorted(s["query"] for s in t["searches"]) == ["soup", "tents"]
    # Only the caller's own data: the author's tuner has none of it.
    a = _tuner(author)
    assert a["sites"] == [] and a["searches"] == [] and a["people"] == [] and a["boards"] == []
    assert TestClient(client.app).get("/v1/me/feed-tuner").status_code == 401
    assert user_id != author_id


def test_tuner_honours_consent(client: TestClient, system: System) -> None:
    mini_world(system)
    sign_up_in(client)
    _visit(client, "https://trailpeak-gear.com/a")
    assert [s["domain"] for s in _tuner(client)["sites"]] == ["trailpeak-gear.com"]
    # This request says GPC: no off-site data is used for it, and the tuner says why.
    r = client.get("/v1/me/feed-tuner", headers={"Sec-GPC": "1"})
    assert r.status_code == 200
    assert r.json()["sites"] == [] and r.json()["sites_used"] is False and r.json()["sites_note"]
    # Personalization off: none listed, and the reason.
    assert client.patch("/v1/me/settings", json={"personalization": False}).status_code == 200
    t = _tuner(client)
    assert t["sites"] == [] and t["sites_used"] is False and t["sites_note"]


def test_removing_a_site_deletes_only_my_visits_and_counts_at_once(
    client: TestClient, system: System
) -> None:
    world = mini_world(system)
    user_id = sign_up_in(client)
    other, other_id = _other(client, "di@example.com")
    for c in (client, other):
        _visit(c, "https://trailpeak-gear.com/tent")
        _visit(c, "https://trailpeak-gear.com/stove")
    _visit(client, "https://simmerandsage.com/soup")
    # Someone saves, so a model can be trained on the graph and the visits (within the window).
    saver, _ = _other(client, "ed@example.com")
    for p in world.pins_by_domain["trailpeak-gear.com"][:3] + world.pins_by_domain["simmerandsage.com"][:2]:
        assert _events(saver, {"kind": "save", "pin_id": p}).status_code == 200
    model = trained_model(system)
    assert "trailpeak-gear.com" in model.domains
    assert any("trailpeak-gear.com" in row["domains"] for row in client.get("/v1/me/export").json()["models"])

    def offsite_domains(feed: dict[str, Any]) -> set[str]:
        return {r["domain"] for i in feed["items"] for r in i["reasons"] if r["kind"] == "offsite_visit"}

    assert "trailpeak-gear.com" in offsite_domains(_feed(client))
    assert client.delete("/v1/me/feed-tuner/sites/not a domain").status_code == 422
    assert client.delete("/v1/me/feed-tuner/sites/loomandlinen.com").status_code == 404  # none from it
    assert client.delete("/v1/me/feed-tuner/sites/TrailPeak-Gear.com").status_code == 204
    # Stops counting at once: the next feed, the tuner and the export know nothing of it, and the model
    # fitted on those visits is gone (live sources serve until the next training).
    assert "trailpeak-gear.com" not in offsite_domains(_feed(client))
    assert [s["domain"] for s in _tuner(client)["sites"]] == ["simmerandsage.com"]
    export = client.get("/v1/me/export").json()
    assert {v["domain"] for v in export["offsite_visits"]} == {"simmerandsage.com"}
    assert export["models"] == []
    assert system.models.current(system.clock.now()) is None
    # The other person's visits to the same site survive.
    with system.read() as conn:
        left = conn.execute(
            select(offsite_visits.c.user_id, func.count()).group_by(offsite_visits.c.user_id)
        ).all()
    assert dict(left) == {user_id: 1, other_id: 2}
    assert [s["visits"] for s in _tuner(other)["sites"]] == [2]
    assert "trailpeak-gear.com" in offsite_domains(_feed(other))
    assert client.delete("/v1/me/feed-tuner/sites/trailpeak-gear.com").status_code == 404  # already gone


def test_removing_a_topic_stops_it_counting(client: TestClient, system: System) -> None:
    world = mini_world(system, pins_per_site=10)
    sign_up_in(client)
    outdoor = world.pins_by_domain["summitcamp.shop"]
    for p in outdoor[:3]:
        assert _events(client, {"kind": "click", "pin_id": p}).status_code == 200
    _visit(client, "https://trailpeak-gear.com/tent")
    outdoors = ("trailpeak-gear.com", "summitcamp.shop")

    def topic_reasons(feed: dict[str, Any]) -> list[dict[str, Any]]:
        return [r for i in feed["items"] for r in i["reasons"] if r.get("topic") == "outdoors"]

    before = _feed(client, 10)
    assert topic_reasons(before)
    assert "outdoors" in {t["topic"] for t in _tuner(client)["topics"]}
    assert client.delete("/v1/me/feed-tuner/topics/no-such-topic").status_code == 404
    assert client.delete("/v1/me/feed-tuner/topics/outdoors").status_code == 204
    assert client.delete("/v1/me/feed-tuner/topics/outdoors").status_code == 204  # idempotent
    after = _feed(client, 10)
    assert topic_reasons(after) == []
    assert _share(after, world, *outdoors) < _share(before, world, *outdoors), (before, after)
    t = _tuner(client)
    assert "outdoors" not in {x["topic"] for x in t["topics"]}
    assert [x["topic"] for x in t["removed_topics"]] == ["outdoors"]
    assert client.get("/v1/me/export").json()["feed_removed_topics"][0]["topic"] == "outdoors"
    # Another person's feed is untouched.
    other, _ = _other(client, "fa@example.com")
    assert _tuner(other)["removed_topics"] == []
    # Letting it count again.
    assert client.put("/v1/me/feed-tuner/topics/outdoors").status_code == 204
    assert topic_reasons(_feed(client, 10))
    assert client.put("/v1/me/feed-tuner/topics/outdoors").status_code == 404


def test_clearing_searches(client: TestClient, system: System) -> None:
    mini_world(system)
    sign_up_in(client)
    other, _ = _other(client, "gus@example.com")
    assert (
        _events(client, {"kind": "search", "query": "soup"}, {"kind": "search", "query": "rugs"}).status_code
        == 200
    )
    assert _events(other, {"kind": "search", "query": "tents"}).status_code == 200
    assert len(_tuner(client)["searches"]) == 2
    r = client.delete("/v1/me/searches")
    assert r.status_code == 200 and r.json() == {"deleted": 2}
    assert _tuner(client)["searches"] == []
    assert [s["query"] for s in _tuner(other)["searches"]] == ["tents"]
    assert client.delete("/v1/me/searches").json() == {"deleted": 0}


def test_unfollowing_from_the_tuner(client: TestClient, system: System) -> None:
    world = mini_world(system)
    sign_up_in(client)
    author, author_id = _other(client, "hal@example.com")
    pin = world.pins_by_domain["loomandlinen.com"][0]
    assert _events(author, {"kind": "save", "pin_id": pin}).status_code == 200
    board_id = author.get("/v1/me/boards").json()["items"][0]["id"]
    assert (
        _events(
            client,
            {"kind": "follow_board", "board_id": board_id},
            {"kind": "follow_user", "target_user_id": author_id},
        ).status_code
        == 200
    )
    reasons = {r["kind"] for i in _feed(client)["items"] for r in i["reasons"] if i["pin_id"] == pin}
    assert {"followed_board", "followed_person"} <= reasons
    assert client.delete(f"/v1/me/feed-tuner/boards/{board_id}").status_code == 204
    assert client.delete(f"/v1/me/feed-tuner/people/{author_id}").status_code == 204
    t = _tuner(client)
    assert t["boards"] == [] and t["people"] == []
    reasons = {r["kind"] for i in _feed(client)["items"] for r in i["reasons"] if i["pin_id"] == pin}
    assert not {"followed_board", "followed_person"} & reasons
    assert client.delete(f"/v1/me/feed-tuner/boards/{board_id}").status_code == 404
    assert client.delete(f"/v1/me/feed-tuner/people/{author_id}").status_code == 404


# --- the pages ------------------------------------------------------------------------------------------


def test_pages_hide_undo_and_tune(client: TestClient, system: System) -> None:
    world = mini_world(system)
    page_sign_up(client)
    pin = world.pins_by_domain["simmerandsage.com"][0]
    home = client.get("/")
    assert f'action="/pins/{pin}/hide"' in home.text and 'href="/feed-tuner"' in home.text
    token = csrf_token(client, "/")
    # Without the CSRF token: refused, nothing hidden.
    r = client.post(f"/pins/{pin}/hide", data={"reason": "seen_it"}, follow_redirects=False)
    assert r.status_code == 403
    assert _tuner(client)["hidden"] == []
    # A reason the page never offers: 422, nothing hidden.
    r = client.post(
        f"/pins/{pin}/hide", data={"reason": "boring", "csrf_token": token}, follow_redirects=False
    )
    assert r.status_code == 422
    assert _tuner(client)["hidden"] == []
    r = client.post(
        f"/pins/{pin}/hide",
        data={"reason": "not_interested", "csrf_token": token, "next": "/"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/?notice=pin_hidden"
    assert f'data-pin-id="{pin}"' not in client.get("/").text
    # The page script's background request gets 204.
    r = client.post(f"/pins/{pin}/unhide", data={"csrf_token": token}, headers={"Accept": "application/json"})
    assert r.status_code == 204
    assert f'data-pin-id="{pin}"' in client.get("/").text

    _visit(client, "https://trailpeak-gear.com/tent")
    page = client.get("/feed-tuner")
    assert page.status_code == 200 and "trailpeak-gear.com" in page.text
    assert "Content-Security-Policy" in page.headers and "<script>" not in page.text
    r = client.post(
        "/feed-tuner/sites/remove",
        data={"domain": "trailpeak-gear.com", "csrf_token": token},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/feed-tuner?notice=site_removed#sites"
    assert 'data-domain="trailpeak-gear.com"' not in client.get("/feed-tuner").text
    r = client.post(
        "/feed-tuner/topics/remove", data={"topic": "cooking", "csrf_token": token}, follow_redirects=False
    )
    assert r.status_code == 303
    assert 'data-removed-topic="cooking"' in client.get("/feed-tuner").text
    assert (
        client.post("/feed-tuner/boards/remove", data={"board_id": "x", "csrf_token": token}).status_code
        == 404
    )
    # Signed out: sent to sign in.
    anon = TestClient(client.app, base_url=str(client.base_url))
    r = anon.get("/feed-tuner", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/signin")
