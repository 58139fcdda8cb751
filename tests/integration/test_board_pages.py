"""The boards' pages and the Save button's forms, without a browser: CSRF, the no-script redirects, the
fragment app.js swaps in, bad input that changes nothing, and signed-out visitors sent to sign in."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tastegraph.bootstrap import System
from tastegraph.catalog.tables import board_follows, board_pins, boards, user_follows
from tests.helpers import csrf_token, mini_world, sign_up_in

FETCH = {"X-Requested-With": "fetch"}


def _counts(system: System) -> tuple[int, ...]:
    with system.read() as conn:
        return tuple(
            int(conn.execute(select(func.count()).select_from(t)).scalar_one())
            for t in (boards, board_pins, board_follows, user_follows)
        )


def test_save_button_forms(client: TestClient, system: System) -> None:
    pins = [p for ids in mini_world(system).pins_by_domain.values() for p in ids]
    sign_up_in(client)
    token = csrf_token(client, "/")
    home = client.get("/").text
    assert 'class="save-picker"' in home and "Create a board" in home

    # Create a board in place and save, as app.js does: the answer is the button's new state.
    r = client.post(
        f"/pins/{pins[0]}/save",
        data={"csrf_token": token, "create": "1", "new_board": "Tents", "next": "/"},
        headers=FETCH,
    )
    assert r.status_code == 200, r.text
    assert r.text.lstrip().startswith('<div class="save-button"')
    assert "Saved to" in r.text and ">Tents</a>" in r.text and "Unsave" in r.text
    bid = client.get("/v1/me/boards").json()["items"][0]["id"]

    # Without script: save to the board by its button, redirected to the Pin's page that says so.
    r = client.post(
        f"/pins/{pins[1]}/save", data={"csrf_token": token, "board_id": str(bid)}, follow_redirects=False
    )
    assert r.status_code == 303 and r.headers["location"] == f"/pins/{pins[1]}"
    page = client.get(f"/pins/{pins[1]}").text
    assert "Saved to" in page and f'href="/boards/{bid}"' in page
    # The board page shows both, each saved there.
    board_page = client.get(f"/boards/{bid}").text
    assert board_page.count("Saved to") == 2 and "Edit board" in board_page

    # Bad input changes nothing: an over-long new board, no board, someone's made-up id, no CSRF token.
    before = _counts(system)
    for data, status in [
        ({"csrf_token": token, "create": "1", "new_board": "x" * 121}, 422),
        ({"csrf_token": token, "create": "1", "new_board": "  "}, 422),
        ({"csrf_token": token}, 422),
        ({"csrf_token": token, "board_id": "abc"}, 422),
        ({"csrf_token": token, "board_id": "999999"}, 404),
        ({"board_id": str(bid)}, 403),
        ({"csrf_token": "0" * 64, "board_id": str(bid)}, 403),
    ]:
        r = client.post(f"/pins/{pins[2]}/save", data=data, follow_redirects=False)
        assert r.status_code == status, (data, r.status_code)
    r = client.post(
        f"/pins/{pins[2]}/save",
        data={"csrf_token": token, "create": "1", "new_board": "y" * 121},
        headers=FETCH,
    )
    assert r.status_code == 422 and "120 characters" in r.text and 'class="save-picker"' in r.text
    assert _counts(system) == before

    # Unsave, as app.js does: back to a Save button.
    r = client.post(
        f"/pins/{pins[0]}/unsave", data={"csrf_token": token, "board_id": str(bid)}, headers=FETCH
    )
    assert r.status_code == 200 and 'class="save-picker"' in r.text and "Saved to" not in r.text
    assert client.get(f"/v1/pins/{pins[0]}").json()["save_count"] == 0


def test_board_and_profile_forms(client: TestClient, system: System) -> None:
    mini_world(system)
    me = sign_up_in(client)
    token = csrf_token(client, "/boards/new")
    before = _counts(system)
    r = client.post("/boards", data={"csrf_token": token, "name": "n" * 121})
    assert r.status_code == 422 and "120 characters" in r.text
    assert _counts(system) == before
    r = client.post(
        "/boards", data={"csrf_token": token, "name": "Soups", "secret": "1"}, follow_redirects=False
    )
    assert r.status_code == 303
    bid = int(r.headers["location"].rsplit("/", 1)[1])
    page = client.get(f"/boards/{bid}").text
    assert "Soups" in page and "Secret" in page
    r = client.post(
        f"/boards/{bid}/edit",
        data={"csrf_token": token, "name": "Stews", "description": "slow ones"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    shown = client.get(f"/v1/boards/{bid}").json()
    assert (shown["name"], shown["description"], shown["secret"]) == ("Stews", "slow ones", False)
    profile = client.get(f"/users/{me}").text
    assert "Stews" in profile and "Create a board" in profile

    # Someone else follows the board and the person, then unfollows.
    other = TestClient(client.app, base_url=str(client.base_url))
    sign_up_in(other, "bob@example.com")
    other_token = csrf_token(other, f"/boards/{bid}")
    assert "data-follow-board" in other.get(f"/boards/{bid}").text
    assert "Edit board" not in other.get(f"/boards/{bid}").text
    assert other.post(f"/boards/{bid}/follow", data={"csrf_token": other_token}).status_code == 200
    assert "1 follower" in other.get(f"/boards/{bid}").text
    assert other.post(f"/users/{me}/follow", data={"csrf_token": other_token}).status_code == 200
    assert ">Following<" in other.get(f"/users/{me}").text
    # Not theirs to change: 403, nothing changes.
    assert other.post(f"/boards/{bid}/edit", data={"csrf_token": other_token, "name": "x"}).status_code == 403
    assert other.post(f"/boards/{bid}/delete", data={"csrf_token": other_token}).status_code == 403
    assert client.get(f"/v1/boards/{bid}").json()["name"] == "Stews"
    assert other.post(f"/users/{me}/unfollow", data={"csrf_token": other_token}).status_code == 200
    assert client.get(f"/v1/users/{me}").json()["follower_count"] == 0

    # The owner deletes it.
    r = client.post(f"/boards/{bid}/delete", data={"csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/users/{me}"
    assert client.get(f"/boards/{bid}").status_code == 404


def test_signed_out(client: TestClient, system: System) -> None:
    pins = [p for ids in mini_world(system).pins_by_domain.values() for p in ids]
    home = client.get("/").text
    assert 'href="/signin?next=/"' in home and 'class="save-picker"' not in home
    r = client.get("/boards/new", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/signin?next=/boards/new"
    token = csrf_token(client, "/signin")
    r = client.post(
        f"/pins/{pins[0]}/save", data={"csrf_token": token, "board_id": "1"}, follow_redirects=False
    )
    assert r.status_code == 303 and r.headers["location"].startswith("/signin?next=")
    pin_page = client.get(f"/pins/{pins[0]}").text
    assert f'href="/signin?next=/pins/{pins[0]}"' in pin_page
    assert client.get("/users/999999").status_code == 404
