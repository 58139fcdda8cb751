"""Download my data covers everything; Delete my account leaves no row about the person in any table."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tastegraph.ads import accounts
from tastegraph.bootstrap import System
from tastegraph.collect.tables import advertiser_events
from tastegraph.db.schema import full_metadata
from tastegraph.kernel import PERSONAL, SUBJECT
from tests.helpers import mini_world, sign_up_in
from tests.integration.ads_support import Acct, event, sha


def _busy_person(client: TestClient, system: System) -> tuple[int, str, dict[str, Any]]:
    """A person who did a bit of everything; plus a second person who follows them."""
    world = mini_world(system)
    client.post("/v1/offsite/visits", json={"url": "https://trailpeak-gear.com/signed-out"})
    # The browser sees an advertiser's tag before signing in here: an event about the browser only.
    shop = _shop(system, "Signed-out shop")
    assert client.get(f"/v1/tag/{shop.tag_id}/event", params={"event": "page_visit"}).status_code == 200
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
                {"kind": "hide", "pin_id": pins[3], "reason": "offensive"},
                {"kind": "search", "query": "tents"},
            ]
        },
    )
    assert r.status_code == 200, r.text
    # Feed controls: a topic removed from the feed (a store of its own).
    assert client.delete("/v1/me/feed-tuner/topics/cooking").status_code == 204
    _advertiser_data(client, system, user_id)
    system.prepare_psi()  # their identifiers blinded for private set intersection
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


def _shop(system: System, name: str, owner: int | None = None) -> Acct:
    with system.write() as conn:
        account, token = accounts.create_account(conn, name, system.clock.now(), owner_user_id=owner)
    return Acct(account.id, token.token, account.tag_id)


def _advertiser_data(client: TestClient, system: System, user_id: int) -> None:
    """Advertisers' data about the person: tag and API events, a customer-list audience, a phone hash,
    an advertiser turned off, and an advertiser the person manages."""
    with system.write() as conn:
        system.identity.set_identifiers(conn, user_id, system.clock.now(), phone="+1 650 555 0199")
    shop = _shop(system, "Zed's shop", owner=user_id)
    r = client.get(f"/v1/tag/{shop.tag_id}/event", params={"event": "checkout", "fp": "zed-on-shop-1"})
    assert r.status_code == 200
    r = client.post(
        f"/v1/ad_accounts/{shop.id}/events",
        json={
            "data": [
                event(
                    system, "zed-order-1", user_data={"em": [sha("zed@example.com")], "click_id": "click-zed"}
                )
            ]
        },
        headers=shop.auth,
    )
    assert r.json()["events"][0]["status"] == "processed", r.text
    r = client.post(
        f"/v1/ad_accounts/{shop.id}/customer_lists",
        json={"kind": "phone", "hashed": False, "records": ["+1 (650) 555-0199"]},
        headers=shop.auth,
    )
    assert r.status_code == 201 and r.json()["matched"] == 1, r.text
    other = _shop(system, "Other shop")
    assert client.put(f"/v1/me/advertisers/{other.id}", json={"allow": False}).status_code == 200


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
    assert data["catalog"]["hidden_pins"][0]["reason"] == "offensive"
    assert [t["topic"] for t in data["feed_removed_topics"]] == ["cooking"]
    assert data["identity"]["linked_browsers"]
    assert sorted(e["event_name"] for e in data["advertiser_events"]) == [
        "checkout",
        "checkout",
        "page_visit",
    ]
    assert [m["kind"] for m in data["audiences"]] == ["customer_list"]
    assert [a["name"] for a in data["advertisers_managed"]] == ["Zed's shop"]
    assert sorted(i["kind"] for i in data["identity"]["hashed_identifiers"]) == ["email", "phone"]
    assert len(data["consent"]["advertisers_turned_off"]) == 1


# Other things that name the person: their id on the advertiser's site, an ad click of theirs, the hashes
# of their email and phone (see _advertiser_data).
OTHER_NAMES = (
    "zed-on-shop-1",
    "click-zed",
    sha("zed@example.com"),
    sha("16505550199"),
)


def _rows_naming(
    system: System, user_id: int, browser_id: str, email: str
) -> list[tuple[str, dict[str, Any]]]:
    """Every row, in every table, whose subject column names the person, or whose values contain their
    email, browser id or another identifier of theirs."""
    found = []
    names = (email, browser_id, *OTHER_NAMES)
    with system.read() as conn:
        for table in full_metadata().sorted_tables:
            subject_cols = [c for c in table.columns if c.info.get(SUBJECT)]
            for row in conn.execute(select(table)).mappings():
                values = dict(row)
                if any(values[c.name] in (user_id, browser_id) for c in subject_cols) or any(
                    isinstance(v, str) and any(n in v for n in names) for v in values.values()
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
    before = _rows_naming(system, user_id, browser_id, "zed@example.com")
    flat = str(before)
    assert all(n in flat for n in OTHER_NAMES), "the walk would see each identifier"
    tables = {t for t, _ in before}
    new_tables = {
        "advertiser_events",
        "audience_members",
        "customer_list_matches",
        "person_identifiers",
        "psi_points",
        "advertiser_data_blocks",
        "topic_exclusions",
    }
    assert tables >= new_tables | {"advertisers"}
    shop_events = sum(1 for t, row in before if t == "advertiser_events")
    r = client.delete("/v1/me")
    assert r.status_code == 204
    assert _rows_naming(system, user_id, browser_id, "zed@example.com") == []
    # The advertisers' events stay, anonymous, in their aggregate counts.
    with system.read() as conn:
        assert conn.execute(select(func.count()).select_from(advertiser_events)).scalar_one() == shop_events
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
