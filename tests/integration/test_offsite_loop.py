"""The off-site loop through the real API and database: a visit shapes the feed, within consent and
the retention window, always with its reason."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient

from tastegraph.bootstrap import System
from tastegraph.kernel import FrozenClock
from tests.helpers import mini_world, offsite_reasons, sign_in, sign_up_in


def _visit(client: TestClient, url: str, **headers: str) -> dict[str, object]:
    r = client.post("/v1/offsite/visits", json={"url": url}, headers=headers)
    assert r.status_code in (200, 201), r.text
    return dict(r.json())


def test_visit_shapes_signed_in_feed_with_reasons(client: TestClient, system: System) -> None:
    world = mini_world(system)
    sign_up_in(client)
    out = _visit(client, "https://www.trailpeak-gear.com/tents/ultralight")
    assert out["stored"] is True
    feed = client.get("/v1/feed/home?limit=30").json()
    reasons = offsite_reasons(feed)
    assert reasons, feed
    assert {r["domain"] for r in reasons} == {"trailpeak-gear.com"}
    assert all(r["at"] and r["text"] for r in reasons)
    site_pins = set(world.pins_by_domain["trailpeak-gear.com"])
    fed = {i["pin_id"] for i in feed["items"] if any(r["kind"] == "offsite_visit" for r in i["reasons"])}
    assert fed & site_pins, "pins linking to the visited site are in the feed"
    # Topic expansion reaches other outdoors sites ("other stuff people add from those websites").
    assert fed & set(world.pins_by_domain["summitcamp.shop"])
    assert not fed & set(world.pins_by_domain["simmerandsage.com"])
    # The why endpoint gives the same reasons.
    pin_id = next(iter(fed & site_pins))
    why = client.get(f"/v1/pins/{pin_id}/why").json()
    assert any(r["kind"] == "offsite_visit" and r["domain"] == "trailpeak-gear.com" for r in why["reasons"])


def test_personalization_off_deletes_and_stops(client: TestClient, system: System) -> None:
    mini_world(system)
    sign_up_in(client)
    _visit(client, "https://trailpeak-gear.com/a")
    assert offsite_reasons(client.get("/v1/feed/home").json())
    r = client.patch("/v1/me/settings", json={"personalization": False})
    assert r.status_code == 200 and r.json()["personalization"] is False
    assert offsite_reasons(client.get("/v1/feed/home").json()) == []
    assert client.get("/v1/me/export").json()["offsite_visits"] == []
    out = _visit(client, "https://trailpeak-gear.com/b")
    assert out == {
        "event_id": out["event_id"],
        "stored": False,
        "linked": False,
        "duplicate": False,
        "reason": "personalization_off",
        "via": None,
        "partition_token": None,
    }
    assert client.get("/v1/me/export").json()["offsite_visits"] == []
    history = client.get("/v1/me/consent-history").json()["items"]
    assert history[0]["setting"] == "personalization"
    assert (history[0]["old_value"], history[0]["new_value"], history[0]["source"]) == (
        "true",
        "false",
        "api",
    )
    # Turning it back on does not bring deleted data back.
    client.patch("/v1/me/settings", json={"personalization": True})
    assert offsite_reasons(client.get("/v1/feed/home").json()) == []


def test_dnt_and_gpc_visits_not_stored_and_feed_ignores_offsite(client: TestClient, system: System) -> None:
    mini_world(system)
    sign_up_in(client)
    assert _visit(client, "https://trailpeak-gear.com/a", DNT="1")["reason"] == "do_not_track"
    assert _visit(client, "https://trailpeak-gear.com/b", **{"Sec-GPC": "1"})["reason"] == (
        "global_privacy_control"
    )
    assert client.get("/v1/me/export").json()["offsite_visits"] == []
    _visit(client, "https://trailpeak-gear.com/c")
    assert offsite_reasons(client.get("/v1/feed/home").json())
    for headers in ({"DNT": "1"}, {"Sec-GPC": "1"}):
        feed = client.get("/v1/feed/home", headers=headers).json()
        assert offsite_reasons(feed) == []
        assert feed["offsite_data_used"] is False


def test_retention_30_days_without_and_with_sweep(
    client: TestClient, system: System, clock: FrozenClock
) -> None:
    mini_world(system)
    sign_up_in(client)
    _visit(client, "https://trailpeak-gear.com/a")
    clock.advance(timedelta(days=29, hours=23))
    assert offsite_reasons(client.get("/v1/feed/home").json())
    clock.advance(timedelta(hours=2))
    # Older than 30 days: never used, even before any sweep.
    assert offsite_reasons(client.get("/v1/feed/home").json()) == []
    # The 30-day session has expired too; sign in again to look at the export.
    assert client.get("/v1/me/export").status_code == 401
    sign_in(client)
    assert len(client.get("/v1/me/export").json()["offsite_visits"]) == 1
    r = client.post("/v1/test/sweep")
    assert r.status_code == 200 and r.json()["deleted"]["offsite_visits"] == 1
    assert client.get("/v1/me/export").json()["offsite_visits"] == []


def test_test_clock_route_moves_server_clock(client: TestClient, system: System) -> None:
    r = client.post("/v1/test/clock", json={"now": "2026-08-01T00:00:00Z"})
    assert r.status_code == 200
    assert system.clock.now().isoformat().startswith("2026-08-01")


def test_signed_out_browser_visits_feed_and_link_on_sign_in(client: TestClient, system: System) -> None:
    mini_world(system)
    out = _visit(client, "https://simmerandsage.com/recipes/soup")
    assert out["stored"] is True
    assert client.cookies.get("tg_bid_local")
    feed = client.get("/v1/feed/home").json()
    assert {r["domain"] for r in offsite_reasons(feed)} == {"simmerandsage.com"}
    # Signing in on this browser links its visits to the account.
    sign_up_in(client)
    visits = client.get("/v1/me/export").json()["offsite_visits"]
    assert [v["domain"] for v in visits] == ["simmerandsage.com"]


def test_signed_out_opt_out_cookie(client: TestClient, system: System) -> None:
    mini_world(system)
    _visit(client, "https://simmerandsage.com/a")
    r = client.put("/v1/browser/personalization", json={"allow": False})
    assert r.status_code == 200 and r.json() == {"allow": False}
    set_cookie = ",".join(r.headers.get_list("set-cookie"))
    assert "tg_optout=1" in set_cookie and "SameSite=none" in set_cookie and "Secure" in set_cookie
    assert client.get("/v1/browser/personalization").json() == {"allow": False}
    assert _visit(client, "https://simmerandsage.com/b")["reason"] == "browser_opted_out"
    assert offsite_reasons(client.get("/v1/feed/home").json()) == []
    # The earlier visit was deleted with the opt-out: allowing again shows nothing old.
    client.put("/v1/browser/personalization", json={"allow": True})
    assert offsite_reasons(client.get("/v1/feed/home").json()) == []


def test_visits_are_idempotent_by_event_id(client: TestClient, system: System) -> None:
    mini_world(system)
    sign_up_in(client)
    body = {"url": "https://trailpeak-gear.com/a", "event_id": "evt-0000000001"}
    first = client.post("/v1/offsite/visits", json=body)
    again = client.post("/v1/offsite/visits", json=body)
    assert first.status_code == 201 and again.status_code == 200
    assert again.json()["duplicate"] is True
    batch = client.post(
        "/v1/offsite/visits/batch",
        json={"visits": [body, {"url": "https://trailpeak-gear.com/b", "event_id": "evt-0000000002"}]},
    )
    assert [v["duplicate"] for v in batch.json()["results"]] == [True, False]
    assert len(client.get("/v1/me/export").json()["offsite_visits"]) == 2


def test_widget_cors_and_origin_check(client: TestClient, system: System) -> None:
    pre = client.options(
        "/v1/offsite/visits",
        headers={"Origin": "https://trailpeak-gear.com", "Access-Control-Request-Method": "POST"},
    )
    assert pre.status_code == 204
    assert pre.headers["access-control-allow-origin"] == "https://trailpeak-gear.com"
    assert pre.headers["access-control-allow-credentials"] == "true"
    ok = client.post(
        "/v1/offsite/visits",
        json={"url": "https://trailpeak-gear.com/x"},
        headers={"Origin": "https://trailpeak-gear.com"},
    )
    assert ok.status_code == 201
    assert ok.headers["access-control-allow-origin"] == "https://trailpeak-gear.com"
    forged = client.post(
        "/v1/offsite/visits",
        json={"url": "https://simmerandsage.com/x"},
        headers={"Origin": "https://trailpeak-gear.com"},
    )
    assert forged.status_code == 422 and forged.json()["error"]["field"] == "url"
    # Other routes never grant cross-origin reads.
    me = client.get("/v1/me/settings", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in me.headers


def test_site_override_only_from_loopback_pages(client: TestClient, system: System) -> None:
    mini_world(system)
    sign_up_in(client)
    ok = client.post(
        "/v1/offsite/visits",
        json={"url": "http://localhost:8001/trailpeak-gear/", "site": "trailpeak-gear.com"},
        headers={"Origin": "http://localhost:8001"},
    )
    assert ok.status_code == 201, ok.text
    assert {r["domain"] for r in offsite_reasons(client.get("/v1/feed/home").json())} == {
        "trailpeak-gear.com"
    }
    bad = client.post("/v1/offsite/visits", json={"url": "https://a.example/", "site": "trailpeak-gear.com"})
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "site"
