"""Boards, saving, profiles and following through the API (issue 14), on SQLite and PostgreSQL: the
happy paths, idempotency, bad input that changes nothing, someone else's board and secret boards."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tastegraph.bootstrap import System
from tastegraph.catalog.tables import board_follows, board_pins, boards, user_follows
from tastegraph.collect.tables import engagement_events
from tastegraph.kernel import FrozenClock
from tests.helpers import mini_world, sign_up_in


def _other(client: TestClient, email: str) -> tuple[TestClient, int]:
    other = TestClient(client.app, base_url=str(client.base_url))
    return other, sign_up_in(other, email)


def _pins(system: System) -> list[int]:
    world = mini_world(system)
    return [p for ids in world.pins_by_domain.values() for p in ids]


def _counts(system: System) -> dict[str, int]:
    with system.read() as conn:
        return {
            t.name: int(conn.execute(select(func.count()).select_from(t)).scalar_one())
            for t in (boards, board_pins, board_follows, user_follows, engagement_events)
        }


def _save_count(client: TestClient, pin_id: int) -> int:
    return int(client.get(f"/v1/pins/{pin_id}").json()["save_count"])


def test_create_save_page_unsave_delete(client: TestClient, system: System, clock: FrozenClock) -> None:
    pins = _pins(system)
    me = sign_up_in(client)
    r = client.post("/v1/boards", json={"name": "  Tents  ", "description": "for the hills"})
    assert r.status_code == 201, r.text
    board = r.json()
    assert board["name"] == "Tents" and board["secret"] is False and board["is_owner"] is True
    assert board["owner"]["id"] == me and board["pin_count"] == 0
    bid = board["id"]

    # Save: 201, then the same save again is 200 and changes nothing.
    r = client.put(f"/v1/boards/{bid}/pins/{pins[0]}")
    assert r.status_code == 201, r.text
    assert r.json() == {"board_id": bid, "pin_id": pins[0], "saved": True}
    before = _counts(system)
    assert client.put(f"/v1/boards/{bid}/pins/{pins[0]}").status_code == 200
    assert _counts(system) == before
    assert _save_count(client, pins[0]) == 1

    # Paged, newest saves first.
    for p in pins[1:5]:
        clock.advance(timedelta(seconds=1))
        assert client.put(f"/v1/boards/{bid}/pins/{p}").status_code == 201
    seen: list[int] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = client.get(f"/v1/boards/{bid}/pins", params=params).json()
        seen += [i["pin_id"] for i in page["items"]]
        assert all(i["pin"]["id"] == i["pin_id"] for i in page["items"])
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [pins[4], pins[3], pins[2], pins[1], pins[0]]
    assert pages == 3
    assert client.get(f"/v1/boards/{bid}").json()["pin_count"] == 5

    # Rename, describe, make secret.
    r = client.patch(f"/v1/boards/{bid}", json={"name": "Camping", "secret": True})
    assert r.status_code == 200, r.text
    assert r.json()["name"] == "Camping" and r.json()["secret"] is True
    assert r.json()["description"] == "for the hills"

    # Unsave: 204, twice; the save count goes back down once.
    assert client.delete(f"/v1/boards/{bid}/pins/{pins[0]}").status_code == 204
    assert _save_count(client, pins[0]) == 0
    before = _counts(system)
    assert client.delete(f"/v1/boards/{bid}/pins/{pins[0]}").status_code == 204
    assert _counts(system) == before
    assert _save_count(client, pins[0]) == 0

    # The export shows the board with its secret flag and the changes as engagement.
    export = client.get("/v1/me/export").json()
    exported = [b for b in export["catalog"]["boards"] if b["id"] == bid]
    assert exported and exported[0]["secret"] is True
    kinds = [e["kind"] for e in export["engagement_events"]]
    assert kinds.count("save") == 5 and kinds.count("unsave") == 1

    # Delete: the Pins stay, each saved once less; the board is gone.
    assert client.delete(f"/v1/boards/{bid}").status_code == 204
    assert all(_save_count(client, p) == 0 for p in pins[1:5])
    assert client.get(f"/v1/boards/{bid}").status_code == 404
    assert client.get("/v1/me/boards").json()["items"] == []
    kinds = [e["kind"] for e in client.get("/v1/me/export").json()["engagement_events"]]
    assert "delete_board" in kinds


def test_bad_input_changes_nothing(client: TestClient, system: System) -> None:
    pins = _pins(system)
    sign_up_in(client)
    bid = client.post("/v1/boards", json={"name": "Soups"}).json()["id"]
    client.put(f"/v1/boards/{bid}/pins/{pins[0]}")
    before = _counts(system)
    bad: list[tuple[str, str, dict[str, Any] | None, int]] = [
        ("POST", "/v1/boards", {"name": "x" * 121}, 422),
        ("POST", "/v1/boards", {"name": "   "}, 422),
        ("POST", "/v1/boards", {"name": ""}, 422),
        ("POST", "/v1/boards", {"name": "ok", "description": "d" * 501}, 422),
        ("POST", "/v1/boards", {"name": "ok", "secret": "yes"}, 422),
        ("POST", "/v1/boards", {"name": "ok", "owner_id": 5}, 422),
        ("PATCH", f"/v1/boards/{bid}", {"name": "y" * 121}, 422),
        ("PATCH", f"/v1/boards/{bid}", {"name": " "}, 422),
        ("PATCH", "/v1/boards/999999", {"name": "fine"}, 404),
        ("DELETE", "/v1/boards/999999", None, 404),
        ("PUT", f"/v1/boards/{bid}/pins/999999", None, 404),
        ("PUT", f"/v1/boards/999999/pins/{pins[1]}", None, 404),
        ("DELETE", f"/v1/boards/{bid}/pins/999999", None, 404),
        ("GET", f"/v1/boards/{bid}/pins?cursor=nonsense", None, 422),
        ("GET", f"/v1/boards/{bid}/pins?limit=101", None, 422),
        ("PUT", "/v1/me/following/users/999999", None, 404),
        ("PUT", "/v1/me/following/boards/999999", None, 404),
        ("PUT", f"/v1/me/following/boards/{bid}", None, 422),  # one's own board
    ]
    for method, path, body, status in bad:
        r = client.request(method, path, json=body)
        assert r.status_code == status, (method, path, r.status_code, r.text)
        assert "error" in r.json()
    assert _counts(system) == before
    assert client.get(f"/v1/boards/{bid}").json()["name"] == "Soups"
    me = client.get("/v1/me").json()["id"]
    r = client.put(f"/v1/me/following/users/{me}")
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_input"
    assert _counts(system) == before
    # Signed out: nothing to write with.
    anon = TestClient(client.app, base_url=str(client.base_url))
    assert anon.post("/v1/boards", json={"name": "x"}).status_code == 401
    assert anon.put(f"/v1/boards/{bid}/pins/{pins[1]}").status_code == 401
    assert _counts(system) == before


def test_someone_elses_board(client: TestClient, system: System) -> None:
    pins = _pins(system)
    sign_up_in(client)
    public = client.post("/v1/boards", json={"name": "Public"}).json()["id"]
    secret = client.post("/v1/boards", json={"name": "Hidden", "secret": True}).json()["id"]
    for b in (public, secret):
        client.put(f"/v1/boards/{b}/pins/{pins[0]}")
    other, _ = _other(client, "bob@example.com")
    before = _counts(system)
    # A public board: visible, not changeable (403).
    assert other.get(f"/v1/boards/{public}").status_code == 200
    assert other.get(f"/v1/boards/{public}").json()["is_owner"] is False
    for method, path in [
        ("PATCH", f"/v1/boards/{public}"),
        ("DELETE", f"/v1/boards/{public}"),
        ("PUT", f"/v1/boards/{public}/pins/{pins[1]}"),
        ("DELETE", f"/v1/boards/{public}/pins/{pins[0]}"),
    ]:
        r = other.request(method, path, json={"name": "mine now"} if method == "PATCH" else None)
        assert r.status_code == 403, (method, path, r.text)
    # Through the engagement API too.
    r = other.post(
        "/v1/engagement", json={"events": [{"kind": "save", "pin_id": pins[1], "board_id": public}]}
    )
    assert r.status_code == 403
    # A secret board: 404 for everything, exactly as for no board at all.
    missing = 999_999
    for b in (secret, missing):
        for method, path in [
            ("GET", f"/v1/boards/{b}"),
            ("GET", f"/v1/boards/{b}/pins"),
            ("PATCH", f"/v1/boards/{b}"),
            ("DELETE", f"/v1/boards/{b}"),
            ("PUT", f"/v1/boards/{b}/pins/{pins[1]}"),
            ("DELETE", f"/v1/boards/{b}/pins/{pins[0]}"),
            ("PUT", f"/v1/me/following/boards/{b}"),
            ("DELETE", f"/v1/me/following/boards/{b}"),
        ]:
            r = other.request(method, path, json={"name": "x"} if method == "PATCH" else None)
            assert r.status_code == 404, (method, path, r.text)
            assert r.json()["error"]["message"] == f"no board with id {b}"
    for kind in ("save", "follow_board"):
        event: dict[str, Any] = {"kind": kind, "board_id": secret}
        if kind == "save":
            event["pin_id"] = pins[1]
        r = other.post("/v1/engagement", json={"events": [event]})
        assert r.status_code == 404, r.text
    # Signed out, too.
    anon = TestClient(client.app, base_url=str(client.base_url))
    assert anon.get(f"/v1/boards/{secret}").status_code == 404
    assert anon.get(f"/v1/boards/{public}").status_code == 200
    assert _counts(system) == before


def test_secret_boards_never_show_to_others(client: TestClient, system: System) -> None:
    pins = _pins(system)
    owner = sign_up_in(client)
    public = client.post("/v1/boards", json={"name": "Public"}).json()["id"]
    secret = client.post("/v1/boards", json={"name": "Hidden", "secret": True}).json()["id"]
    client.put(f"/v1/boards/{secret}/pins/{pins[0]}")
    # The owner sees both, secret marked.
    mine = client.get(f"/v1/users/{owner}/boards").json()["items"]
    assert [(b["id"], b["secret"]) for b in mine] == [(public, False), (secret, True)]
    assert client.get(f"/v1/users/{owner}").json()["board_count"] == 2
    assert {b["id"] for b in client.get("/v1/me/boards").json()["items"]} == {public, secret}
    # Others (signed in or not) see only the public one.
    other, _ = _other(client, "bob@example.com")
    anon = TestClient(client.app, base_url=str(client.base_url))
    for viewer in (other, anon):
        listed = viewer.get(f"/v1/users/{owner}/boards").json()["items"]
        assert [b["id"] for b in listed] == [public]
        assert viewer.get(f"/v1/users/{owner}").json()["board_count"] == 1
    # Following a board that then turns secret: the follow goes, and it is not counted.
    assert other.put(f"/v1/me/following/boards/{public}").status_code == 201
    assert other.put(f"/v1/me/following/boards/{public}").status_code == 200
    assert client.get(f"/v1/boards/{public}").json()["follower_count"] == 1
    me_other = other.get("/v1/me").json()["id"]
    assert other.get(f"/v1/users/{me_other}").json()["following_boards_count"] == 1
    assert client.patch(f"/v1/boards/{public}", json={"secret": True}).status_code == 200
    assert other.get(f"/v1/boards/{public}").status_code == 404
    assert other.get(f"/v1/users/{me_other}").json()["following_boards_count"] == 0
    assert client.get(f"/v1/boards/{public}").json()["follower_count"] == 0


def test_following_people(client: TestClient, system: System) -> None:
    sign_up_in(client)
    other, bob = _other(client, "bob@example.com")
    r = client.put(f"/v1/me/following/users/{bob}")
    assert r.status_code == 201 and r.json() == {"following": True}
    before = _counts(system)
    assert client.put(f"/v1/me/following/users/{bob}").status_code == 200
    assert _counts(system) == before
    profile = client.get(f"/v1/users/{bob}").json()
    assert profile["follower_count"] == 1 and profile["following"] is True and profile["is_self"] is False
    assert other.get(f"/v1/users/{bob}").json()["is_self"] is True
    assert client.delete(f"/v1/me/following/users/{bob}").status_code == 204
    assert client.delete(f"/v1/me/following/users/{bob}").status_code == 204
    assert client.get(f"/v1/users/{bob}").json()["follower_count"] == 0
    kinds = [e["kind"] for e in client.get("/v1/me/export").json()["engagement_events"]]
    assert sorted(kinds) == ["follow_user", "unfollow_user"]
    assert client.get("/v1/users/999999").status_code == 404
    assert client.get("/v1/users/999999/boards").status_code == 404
