"""Secret boards are their owner's alone: never in others' board lists, board pages, follow suggestions,
related Pins' reasons, the follow sources of a feed or a trained model. Each test runs once with the
board public (the control: the board or its owner shows) and once secret (it must not), so it fails
if the exclusion is missing."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tastegraph.bootstrap import System
from tests.helpers import csrf_token, mini_world, sign_up_in, trained_model

NAME = "Hushhush camping plans"


def _other(client: TestClient, email: str) -> tuple[TestClient, int]:
    other = TestClient(client.app, base_url=str(client.base_url))
    return other, sign_up_in(other, email)


def _board_ids(body: Any) -> set[int]:
    """Every board id named anywhere in a JSON answer (reasons, cards)."""
    found: set[int] = set()
    if isinstance(body, dict):
        for key, value in body.items():
            if key == "board_id" and isinstance(value, int):
                found.add(value)
            found |= _board_ids(value)
    elif isinstance(body, list):
        for value in body:
            found |= _board_ids(value)
    return found


def _world(client: TestClient, system: System, secret: bool) -> dict[str, Any]:
    """Ann keeps four outdoor Pins on one board (secret or not); Bob saved two of them to his own board."""
    world = mini_world(system)
    pins = world.pins_by_domain["trailpeak-gear.com"]
    ann = sign_up_in(client, "ann@example.com")
    board = client.post("/v1/boards", json={"name": NAME, "secret": secret}).json()["id"]
    for p in pins[:4]:
        assert client.put(f"/v1/boards/{board}/pins/{p}").status_code == 201
    bob_client, bob = _other(client, "bob@example.com")
    bobs = bob_client.post("/v1/boards", json={"name": "Bob's gear"}).json()["id"]
    for p in pins[:2]:
        assert bob_client.put(f"/v1/boards/{bobs}/pins/{p}").status_code == 201
    return {"pins": pins, "ann": ann, "board": board, "bob": bob_client, "bob_id": bob}


@pytest.mark.parametrize("secret", [False, True])
def test_board_suggestions(client: TestClient, system: System, secret: bool) -> None:
    w = _world(client, system, secret)
    body = w["bob"].get("/v1/recommendations/boards").json()
    suggested = {s["board_id"] for s in body["items"]}
    assert (w["board"] in suggested) is not secret
    assert (NAME in str(body)) is not secret


@pytest.mark.parametrize("secret", [False, True])
def test_people_suggestions(client: TestClient, system: System, secret: bool) -> None:
    w = _world(client, system, secret)
    body = w["bob"].get("/v1/recommendations/people").json()
    assert (w["ann"] in {s["user_id"] for s in body["items"]}) is not secret


@pytest.mark.parametrize("secret", [False, True])
def test_related_pins_reasons(client: TestClient, system: System, secret: bool) -> None:
    w = _world(client, system, secret)
    anon = TestClient(client.app, base_url=str(client.base_url))
    # Pins 2 and 3 are on Ann's board only: related to Pin 2 by that board alone.
    body = anon.get(f"/v1/pins/{w['pins'][2]}/related").json()
    assert (w["board"] in _board_ids(body)) is not secret
    assert (NAME in str(body)) is not secret


@pytest.mark.parametrize("secret", [False, True])
def test_related_pins_reasons_with_a_model(client: TestClient, system: System, secret: bool) -> None:
    w = _world(client, system, secret)
    model = trained_model(system)
    assert (w["board"] in set(model.board_ids.tolist())) is not secret
    anon = TestClient(client.app, base_url=str(client.base_url))
    body = anon.get(f"/v1/pins/{w['pins'][2]}/related").json()
    assert (w["board"] in _board_ids(body)) is not secret
    # Bob's suggestions ranked by the model never reach the secret board or its owner either.
    boards = w["bob"].get("/v1/recommendations/boards").json()
    assert (w["board"] in {s["board_id"] for s in boards["items"]}) is not secret
    people = w["bob"].get("/v1/recommendations/people").json()
    assert (w["ann"] in {s["user_id"] for s in people["items"]}) is not secret


@pytest.mark.parametrize("secret", [False, True])
def test_followed_persons_secret_saves_stay_out_of_the_feed(
    client: TestClient, system: System, secret: bool
) -> None:
    w = _world(client, system, secret)
    assert w["bob"].put(f"/v1/me/following/users/{w['ann']}").status_code == 201
    feed = w["bob"].get("/v1/feed/home", params={"limit": 50}).json()
    by_ann = [
        item["pin_id"]
        for item in feed["items"]
        for r in item["reasons"]
        if r["kind"] == "followed_person" and r.get("user_id") == w["ann"]
    ]
    assert bool(by_ann) is not secret
    # The owner's own feed may still use their secret saves: they are never shown again to her, and
    # her feed is not empty of outdoor ideas.
    own = client.get("/v1/feed/home", params={"limit": 50}).json()
    assert not {i["pin_id"] for i in own["items"]} & set(w["pins"][:4])


@pytest.mark.parametrize("secret", [False, True])
def test_pages(client: TestClient, system: System, secret: bool) -> None:
    w = _world(client, system, secret)
    bob: TestClient = w["bob"]
    anon = TestClient(client.app, base_url=str(client.base_url))
    for viewer in (bob, anon):
        board_page = viewer.get(f"/boards/{w['board']}")
        assert board_page.status_code == (404 if secret else 200)
        assert (NAME in board_page.text) is not secret
        profile = viewer.get(f"/users/{w['ann']}")
        assert profile.status_code == 200
        assert (NAME in profile.text) is not secret
        pin_page = viewer.get(f"/pins/{w['pins'][2]}")
        assert pin_page.status_code == 200
        assert (NAME in pin_page.text) is not secret
    # Its owner sees it everywhere, marked secret.
    own = client.get(f"/boards/{w['board']}")
    assert own.status_code == 200 and NAME in own.text
    assert ("Secret" in own.text) is secret
    assert NAME in client.get(f"/users/{w['ann']}").text
    # A form posted to someone else's secret board finds nothing.
    token = csrf_token(bob, "/")
    r = bob.post(
        f"/pins/{w['pins'][5]}/save",
        data={"csrf_token": token, "board_id": str(w["board"])},
        follow_redirects=False,
    )
    assert r.status_code == (404 if secret else 403)
