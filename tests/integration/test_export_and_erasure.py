"""Download my data covers everything; Delete my account leaves no row about the person in any table."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from tastegraph.bootstrap import System
from tastegraph.db.schema import full_metadata
from tastegraph.kernel import PERSONAL, SUBJECT
from tests.helpers import mini_world, sign_up_in


def _busy_person(client: TestClient, system: System) -> tuple[int, str, dict[str, Any]]:
    """A person who did a bit of everything; plus a second person who follows them."""
    world = mini_world(system)
    client.post("/v1/offsite/visits", json={"url": "https://trailpeak-gear.com/signed-out"})
    user_id = sign_up_in(client, "zed@example.com")
    browser_id = client.cookies.get("tg_bid_local")
    assert browser_id
    pins = world.pins_by_domain["trailpeak-gear.com"]
    client.post("/v1/offsite/visits", json={"url": "https://simmerandsage.com/soup"})
    r = client.post(
        "/v1/engagement",
        json={
            "events": [
                {"kind": "save", "pin_id": pins[0], "event_id": "zed-save-0001"},
                {"kind": "click", "pin_id": pins[1]},
                {"kind": "closeup", "pin_id": pins[2]},
                {"kind": "hide", "pin_id": pins[3]},
                {"kind": "search", "query": "tents"},
            ]
        },
    )
    assert r.status_code == 200, r.text
    client.patch("/v1/me/settings", json={"personalization": False})
    client.patch("/v1/me/settings", json={"personalization": True})
    client.post("/v1/offsite/visits", json={"url": "https://loomandlinen.com/rugs"})
    board = client.get("/v1/me/boards").json()["items"][0]
    # Someone else follows this person and their board, and saves to their own board.
    other = TestClient(client.app, base_url=str(client.base_url))
    sign_up_in(other, "amy@example.com")
    r = other.post(
        "/v1/engagement",
        json={
            "events": [
                {"kind": "follow_user", "target_user_id": user_id},
                {"kind": "follow_board", "board_id": board["id"]},
                {"kind": "save", "pin_id": pins[0]},
            ]
        },
    )
    assert r.status_code == 200, r.text
    return user_id, browser_id, {"pins": pins, "board": board}


def test_export_has_everything(client: TestClient, system: System) -> None:
    user_id, _, ctx = _busy_person(client, system)
    r = client.get("/v1/me/export")
    assert r.status_code == 200
    assert "attachment" in r.headers["content-disposition"]
    data = r.json()
    assert data["user_id"] == user_id
    assert data["catalog"]["account"]["email"] == "zed@example.com"
    visits = data["offsite_visits"]
    # Visits before Personalization was turned off were deleted then; the later one remains.
    assert {v["domain"] for v in visits} == {"loomandlinen.com"}
    assert all(v["url"].startswith("https://") and v["visited_at"] for v in visits)
    kinds = sorted(e["kind"] for e in data["engagement_events"])
    assert kinds == ["click", "closeup", "hide", "save", "search"]
    ledger = data["consent"]["consent_history"]
    assert [(e["setting"], e["new_value"]) for e in ledger][:2] == [
        ("personalization", "true"),
        ("personalization", "false"),
    ]
    assert data["consent"]["settings"]["personalization"] is True
    assert data["catalog"]["saves"][0]["pin_id"] == ctx["pins"][0]
    assert data["catalog"]["hidden_pins"][0]["pin_id"] == ctx["pins"][3]
    assert data["identity"]["linked_browsers"]


def _rows_naming(
    system: System, user_id: int, browser_id: str, email: str
) -> list[tuple[str, dict[str, Any]]]:
    """Every row, in every table, whose subject column names the person, or whose values contain their
    email or browser id."""
    found = []
    with system.read() as conn:
        for table in full_metadata().sorted_tables:
            subject_cols = [c for c in table.columns if c.info.get(SUBJECT)]
            for row in conn.execute(select(table)).mappings():
                values = dict(row)
                if any(values[c.name] in (user_id, browser_id) for c in subject_cols) or any(
                    isinstance(v, str) and (email in v or browser_id in v) for v in values.values()
                ):
                    found.append((table.name, values))
    return found


def test_every_table_is_classified() -> None:
    for table in full_metadata().sorted_tables:
        assert PERSONAL in table.info, f"{table.name} must say whether it holds personal data"
        if table.info[PERSONAL]:
            assert any(c.info.get(SUBJECT) for c in table.columns), f"{table.name} names no subject column"


def test_delete_account_leaves_nothing(client: TestClient, system: System) -> None:
    user_id, browser_id, ctx = _busy_person(client, system)
    assert _rows_naming(system, user_id, browser_id, "zed@example.com")
    r = client.delete("/v1/me")
    assert r.status_code == 204
    assert _rows_naming(system, user_id, browser_id, "zed@example.com") == []
    assert client.get("/v1/me/settings").status_code == 401
    assert (
        client.post(
            "/v1/sessions", json={"email": "zed@example.com", "password": "correct horse"}
        ).status_code
        == 401
    )
    # The other person's own data is intact, and the Pin's save count only counts them.
    pin = client.get(f"/v1/pins/{ctx['pins'][0]}").json()
    assert pin["save_count"] == 1
