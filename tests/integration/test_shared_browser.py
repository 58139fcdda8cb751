"""A shared browser: what one person did there is never shown to, tied to or deleted by the next; and a
privacy signal changes stored settings only for the person the request authenticates."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tastegraph.bootstrap import System
from tastegraph.identity import BROWSER_COOKIE
from tests.helpers import sign_in, sign_up_in
from tests.integration.ads_support import ad_account, sha

CLINIC = "https://clinic.example/appointments/oncology"


def _visit(client: TestClient, url: str) -> None:
    origin = "https://" + url.split("/")[2]
    r = client.post("/v1/offsite/visits", json={"url": url}, headers={"Origin": origin})
    assert r.status_code == 201, r.text


def _buy(client: TestClient, tag_id: str, order_id: str) -> None:
    r = client.get(f"/v1/tag/{tag_id}/event", params={"event": "checkout", "order_id": order_id})
    assert r.status_code == 200, r.text


def _browser(client: TestClient) -> str | None:
    return client.cookies.get(BROWSER_COOKIE + "_local")


def _export(client: TestClient) -> dict[str, object]:
    r = client.get("/v1/me/export")
    assert r.status_code == 200, r.text
    data: dict[str, object] = r.json()
    return data


def test_next_person_on_a_browser_neither_sees_nor_deletes_the_last_ones_data(
    client: TestClient, system: System
) -> None:
    shop = ad_account(system, "Camping shop")
    y = sign_up_in(client, "y@example.com")
    y_browser = _browser(client)
    _visit(client, CLINIC)
    _buy(client, shop.tag_id, "order-of-y")
    assert client.delete("/v1/sessions").status_code == 204
    assert _browser(client) is None  # signing out forgets the browser id

    x = sign_up_in(client, "x@example.com")
    assert x != y
    assert _browser(client) not in (None, y_browser)  # the browser gets a new id for X
    exported = str(_export(client))
    assert "clinic.example" not in exported and "order-of-y" not in exported

    assert client.delete("/v1/me").status_code == 204  # X deletes their account
    client.cookies.clear()
    sign_in(client, "y@example.com")
    mine = _export(client)
    assert [v["url"] for v in mine["offsite_visits"]] == [CLINIC]  # type: ignore[index]
    assert [e["order_id"] for e in mine["advertiser_events"]] == ["order-of-y"]  # type: ignore[index]


def test_a_browser_keeps_no_tie_to_someone_who_signed_out_there(client: TestClient, system: System) -> None:
    """After Y signs out, what the browser reports is nobody's: not Y's (Y left), and not the next
    person's either unless they sign in."""
    shop = ad_account(system, "Camping shop")
    sign_up_in(client, "y@example.com")
    assert client.delete("/v1/sessions").status_code == 204
    _visit(client, "https://trailpeak-gear.com/tents")  # signed out: a new browser id, tied to no one
    _buy(client, shop.tag_id, "anonymous-order")
    sign_in(client, "y@example.com")
    exported = str(_export(client))
    # Signing in ties a browser's signed-out data to the person who signs in on it (the documented rule)
    assert "trailpeak-gear.com" in exported and "anonymous-order" in exported


def test_a_browser_id_replayed_after_sign_out_is_not_reused(client: TestClient, system: System) -> None:
    y = sign_up_in(client, "y@example.com")
    old = _browser(client)
    assert old is not None
    client.delete("/v1/sessions")
    # The old id comes back (a copied cookie):
    client.cookies.set(BROWSER_COOKIE + "_local", old, domain="127.0.0.1")
    _visit(client, "https://clinic.example/after")
    sign_up_in(client, "x@example.com")
    assert _browser(client) != old
    assert "clinic.example/after" not in str(_export(client))
    with system.read() as conn:
        assert system.identity.user_for_browser(conn, old) is None
        assert system.identity.browsers_of(conn, y) == []


def test_gpc_with_only_a_hashed_email_changes_nobodys_settings(client: TestClient, system: System) -> None:
    shop = ad_account(system, "Camping shop")
    sign_up_in(client, "victim@example.com")
    victim = TestClient(client.app, base_url="http://127.0.0.1:8000")
    victim.cookies.update(client.cookies)
    attacker = TestClient(client.app, base_url="http://127.0.0.1:8000")
    r = attacker.get(
        f"/v1/tag/{shop.tag_id}/event",
        params={"event": "page_visit", "em": sha("victim@example.com")},
        headers={"Sec-GPC": "1"},
    )
    assert r.status_code == 200
    assert victim.get("/v1/me/settings").json()["ads_advertiser_data"] is True
    history = victim.get("/v1/me/consent-history").json()["items"]
    assert all(e["source"] != "global_privacy_control" for e in history)
    assert victim.get("/v1/me/advertisers").json()["advertisers"] == []
    summary = attacker.get(f"/v1/ad_accounts/{shop.id}/events/summary", headers=shop.auth)
    assert summary.status_code == 200
    assert sum(row["events"] for row in summary.json()["events"]) == 1  # still counted, tied to nobody


def test_gpc_from_the_persons_own_browser_turns_advertiser_data_off(
    client: TestClient, system: System
) -> None:
    shop = ad_account(system, "Camping shop")
    sign_up_in(client, "me@example.com")
    # The pixel is a third-party request: no session cookie, only the browser id tied to me.
    session = client.cookies.get("tg_session")
    client.cookies.delete("tg_session")
    r = client.get(f"/v1/tag/{shop.tag_id}/event", params={"event": "page_visit"}, headers={"Sec-GPC": "1"})
    assert r.status_code == 200
    assert session is not None
    client.cookies.set("tg_session", session, domain="127.0.0.1")
    assert client.get("/v1/me/settings").json()["ads_advertiser_data"] is False
    history = client.get("/v1/me/consent-history").json()["items"]
    assert history[0]["source"] == "global_privacy_control"
