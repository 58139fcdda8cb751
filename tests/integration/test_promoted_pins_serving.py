"""Promoted Pins served end to end over HTTP: an interest-targeted CPM ad in the home feed at its slot,
labelled and explained; its impression charged once; a forged, expired or someone else's token refused
and charging nothing; the click redirecting with a click id; hiding and undoing; signed-out browsers
getting contextual ads only; GPC removing audience targeting at serving time."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient

from tastegraph.ads import ad_log, spend
from tastegraph.bootstrap import System
from tastegraph.kernel import FrozenClock
from tests.helpers import csrf_token, mini_world, sign_up_in
from tests.integration.ads_support import Acct, ad_account
from tests.integration.test_promoted_pins_objects import BASE, make_campaign, make_group, make_pin

DAILY = 5_000_000


def feed(client: TestClient, **headers: str) -> list[dict[str, Any]]:
    r = client.get("/v1/feed/home", params={"limit": 12}, headers=headers)
    assert r.status_code == 200, r.text
    return list(r.json()["items"])


def ads_in(items: list[dict[str, Any]]) -> list[tuple[int, dict[str, Any]]]:
    return [(i, item) for i, item in enumerate(items) if item.get("promoted")]


@pytest.fixture
def world(system: System) -> dict[str, Any]:
    return {"world": mini_world(system, pins_per_site=8)}


def promote(client: TestClient, acct: Acct, **group: Any) -> dict[str, Any]:
    # No topic of its own: a Pin in "outdoors" would also be recommended organically to the people
    # these tests target, and an ad never repeats an organic item of its page.
    pin = make_pin(client, acct, topics=[], link="https://trailpeak-gear.com/promo")
    campaign = make_campaign(client, acct)
    body = {
        "billable_event": "impression",
        "bid_in_micro": 4_000_000,  # 4.00 per 1,000 impressions
        "budget_in_micro": DAILY,
        "budget_type": "daily",
        # Standard pacing starts cautious (5 % of requests until it has seen spend): these tests
        # want every eligible request served; pacing has its own tests and simulation.
        "pacing_delivery_type": "accelerated",
        "targeting_spec": {"interests": ["outdoors"]},
        **group,
    }
    made = make_group(client, acct, campaign["id"], **body)
    r = client.post(
        f"{BASE}/{acct.id}/ads", json={"ad_group_id": made["id"], "pin_id": pin["id"]}, headers=acct.auth
    )
    assert r.status_code == 201, r.text
    return {"pin": pin, "group": made, "ad": r.json(), "campaign": campaign}


def interested(client: TestClient, world: dict[str, Any]) -> int:
    user = sign_up_in(client)
    pins = world["world"].pins_by_domain["summitcamp.shop"][:4]
    events = [{"kind": "click", "pin_id": p} for p in pins]
    r = client.post("/v1/engagement", json={"events": events})
    assert r.status_code == 200, r.text
    return user


def test_an_interest_ad_is_served_labelled_explained_and_charged_once(
    client: TestClient, system: System, world: dict[str, Any]
) -> None:
    acct = ad_account(system, "Trailpeak", website="trailpeak-gear.com")
    made = promote(TestClient(client.app), acct)
    interested(client, world)
    items = feed(client)
    found = ads_in(items)
    assert len(found) == 1, items
    position, item = found[0]
    assert position == 2  # the third item: TASTEGRAPH_AD_SLOTS starts at 3
    promoted = item["promoted"]
    assert promoted["ad_id"] == made["ad"]["id"] and promoted["advertiser_name"] == "Trailpeak"
    kinds = [r["kind"] for r in item["reasons"]]
    assert kinds == ["ad_interest"] and item["reasons"][0]["topic"] == "outdoors"
    assert item["reasons"][0]["text"]
    # Never one of the organic items again.
    assert [i["pin_id"] for i in items].count(made["pin"]["id"]) == 1

    token = promoted["token"]
    r = client.post("/v1/ads/impressions", json={"tokens": [token, token]})
    assert r.status_code == 200, r.text
    assert [x["status"] for x in r.json()["results"]] == ["recorded", "duplicate"]
    key = spend.day_key("ag", made["group"]["id"], system.clock.now().date())
    spent = system.ad_spend.spent([key])[key]
    # Alone in its auction it pays the reserve (0.10 per 1,000 impressions = 100 micro each), once.
    assert spent.spent == 100

    forged = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    stranger = TestClient(client.app)
    r = stranger.post("/v1/ads/impressions", json={"tokens": [forged, token]})
    assert [(x["status"], x.get("reason")) for x in r.json()["results"]] == [
        ("refused", "forged"),
        ("refused", "not_yours"),
    ]
    assert system.ad_spend.spent([key])[key].spent == 100


def test_the_click_redirects_with_a_click_id_and_counts_once(
    client: TestClient, system: System, clock: FrozenClock, world: dict[str, Any]
) -> None:
    acct = ad_account(system, "Trailpeak", website="trailpeak-gear.com")
    made = promote(TestClient(client.app), acct, billable_event="click", bid_in_micro=500_000)
    interested(client, world)
    ((_, item),) = ads_in(feed(client))
    token = item["promoted"]["token"]
    r = client.get(f"/v1/ads/click/{token}", follow_redirects=False)
    assert r.status_code == 302 and r.headers["cache-control"] == "no-store"
    target = urlsplit(r.headers["location"])
    assert target.netloc == "trailpeak-gear.com" and target.path == "/promo"
    click_id = parse_qs(target.query)["tg_click"][0]
    assert len(click_id) >= 20
    again = client.get(f"/v1/ads/click/{token}", follow_redirects=False)
    assert parse_qs(urlsplit(again.headers["location"]).query)["tg_click"] == [click_id]
    key = spend.day_key("ag", made["group"]["id"], clock.now().date())
    charged = system.ad_spend.spent([key])[key].spent
    assert 0 < charged <= 500_000
    # Someone else following the link goes there too, without a click id, and charges nothing.
    other = TestClient(client.app).get(f"/v1/ads/click/{token}", follow_redirects=False)
    assert other.status_code == 302 and "tg_click" not in other.headers["location"]
    assert system.ad_spend.spent([key])[key].spent == charged
    # An expired token is refused for counting.
    clock.advance(timedelta(hours=2))
    r = client.post("/v1/ads/impressions", json={"tokens": [token]})
    assert r.json()["results"] == [{"status": "refused", "reason": "expired"}]
    assert TestClient(client.app).get("/v1/ads/click/not-a-token", follow_redirects=False).status_code == 404


def test_hiding_an_ad_and_undoing_it(client: TestClient, system: System, world: dict[str, Any]) -> None:
    acct = ad_account(system, "Trailpeak", website="trailpeak-gear.com")
    promote(TestClient(client.app), acct)
    interested(client, world)
    ((_, item),) = ads_in(feed(client))
    token = item["promoted"]["token"]
    assert TestClient(client.app).post("/v1/ads/hide", json={"token": token}).status_code == 403
    r = client.post("/v1/ads/hide", json={"token": token, "scope": "advertiser"})
    assert r.status_code == 201, r.text
    hide_id = r.json()["id"]
    assert ads_in(feed(client)) == []
    listed = client.get("/v1/me/ad-hides").json()["hidden"]
    assert [(h["id"], h["scope"], h["advertiser"]) for h in listed] == [(hide_id, "advertiser", "Trailpeak")]
    assert TestClient(client.app).delete(f"/v1/me/ad-hides/{hide_id}").status_code == 404
    assert client.delete(f"/v1/me/ad-hides/{hide_id}").status_code == 204
    assert len(ads_in(feed(client))) == 1
    export = client.get("/v1/me/export").json()
    assert "ad_activity" in export


def test_signed_out_gets_contextual_ads_only(
    client: TestClient, system: System, world: dict[str, Any]
) -> None:
    acct = ad_account(system, "Trailpeak", website="trailpeak-gear.com")
    promote(TestClient(client.app), acct)
    visitor = TestClient(client.app)
    assert ads_in(feed(visitor)) == []  # interest targeting needs a signed-in person's interests
    pin = world["world"].pins_by_domain["summitcamp.shop"][0]
    r = visitor.get(f"/v1/pins/{pin}/related", params={"limit": 12})
    assert r.status_code == 200, r.text
    found = ads_in(r.json()["items"])
    assert len(found) == 1 and found[0][1]["reasons"][0]["kind"] == "ad_contextual"


def test_a_small_budget_stops_serving_when_spent(
    client: TestClient, system: System, world: dict[str, Any]
) -> None:
    """A budget of three impressions at the reserve price: after three charged ones it stops serving."""
    acct = ad_account(system, "Trailpeak", website="trailpeak-gear.com")
    made = promote(TestClient(client.app), acct, budget_in_micro=300)
    interested(client, world)
    shown = 0
    for _ in range(8):
        found = ads_in(feed(client))
        if not found:
            continue
        r = client.post("/v1/ads/impressions", json={"tokens": [found[0][1]["promoted"]["token"]]})
        shown += r.json()["results"][0]["status"] == "recorded"
    key = spend.day_key("ag", made["group"]["id"], system.clock.now().date())
    total = system.ad_spend.spent([key])[key]
    assert shown == 3 and total.spent == 300 and total.spent + total.reserved <= 303


def test_search_results_carry_a_keyword_ad_labelled_on_the_page(
    client: TestClient, system: System, world: dict[str, Any]
) -> None:
    """A keyword ad placed in search: served to a signed-out searcher whose words match it (contextual:
    no setting needed), at the third position, explained by the search; never on another search, and
    never in the home feed (placement "search")."""
    acct = ad_account(system, "Trailpeak", website="trailpeak-gear.com")
    made = promote(
        TestClient(client.app), acct, placement="search", targeting_spec={"keywords": ["outdoors idea"]}
    )
    visitor = TestClient(client.app)
    r = visitor.get("/v1/search/pins", params={"q": "outdoors idea"})
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    found = ads_in(items)
    assert len(found) == 1, items
    position, item = found[0]
    assert position == 2 and item["promoted"]["ad_id"] == made["ad"]["id"]
    assert item["matches"] == [] and [x["kind"] for x in item["reasons"]] == ["ad_keyword"]
    assert all(not i.get("promoted") for i in items if i is not item)
    other = visitor.get("/v1/search/pins", params={"q": "cooking idea"}).json()["items"]
    assert len(other) >= 3 and ads_in(other) == []
    assert ads_in(feed(visitor)) == []
    page = visitor.get("/search", params={"q": "outdoors idea"})
    assert page.status_code == 200
    assert "Promoted by <strong>Trailpeak</strong>" in page.text
    assert f"/v1/ads/click/{item['promoted']['token']}" not in page.text  # a new token per request
    assert 'rel="sponsored noopener"' in page.text and "Why am I seeing this ad?" in page.text


def test_the_privacy_center_lists_hidden_ads_and_shows_them_again(
    client: TestClient, system: System, world: dict[str, Any]
) -> None:
    acct = ad_account(system, "Trailpeak", website="trailpeak-gear.com")
    made = promote(TestClient(client.app), acct)
    interested(client, world)
    ((_, item),) = ads_in(feed(client))
    r = client.post("/v1/ads/hide", json={"token": item["promoted"]["token"], "scope": "ad"})
    assert r.status_code == 201, r.text
    hide_id = r.json()["id"]
    page = client.get("/privacy")
    assert page.status_code == 200 and 'id="hidden-ads"' in page.text
    assert f"<strong>{made['pin']['title']}</strong> from Trailpeak" in page.text
    assert f"/privacy/hidden-ads/{hide_id}/remove" in page.text
    # Someone else's browser cannot undo it (and without a CSRF token nobody can).
    other = TestClient(client.app)
    token = csrf_token(other, "/privacy")
    r = other.post(
        f"/privacy/hidden-ads/{hide_id}/remove", data={"csrf_token": token}, follow_redirects=False
    )
    assert r.status_code == 303 and "hide_gone" in r.headers["location"]
    r = client.post(f"/privacy/hidden-ads/{hide_id}/remove", data={}, follow_redirects=False)
    assert r.status_code == 403
    assert ads_in(feed(client)) == []
    token = csrf_token(client, "/privacy")
    r = client.post(
        f"/privacy/hidden-ads/{hide_id}/remove", data={"csrf_token": token}, follow_redirects=False
    )
    assert r.status_code == 303 and "hide_removed" in r.headers["location"]
    assert client.get("/v1/me/ad-hides").json()["hidden"] == []
    assert len(ads_in(feed(client))) == 1
    assert "You have not hidden any ads" in client.get("/privacy").text


def test_the_sweep_frees_the_budget_of_ads_never_seen(
    client: TestClient, system: System, clock: FrozenClock, world: dict[str, Any]
) -> None:
    acct = ad_account(system, "Trailpeak", website="trailpeak-gear.com")
    made = promote(TestClient(client.app), acct)
    interested(client, world)
    assert len(ads_in(feed(client))) == 1  # served, never reported in view
    key = spend.day_key("ag", made["group"]["id"], clock.now().date())
    held = system.ad_spend.spent([key])[key]
    assert held.spent == 0 and held.reserved > 0
    assert system.sweep()["ad_reservations_released"] == 0  # the token is still valid: kept
    clock.advance(timedelta(hours=2))
    assert system.sweep()["ad_reservations_released"] == 1
    freed = system.ad_spend.spent([key])[key]
    assert freed.spent == 0 and freed.reserved == 0


def test_delivery_counts_are_summed_across_flushes(
    client: TestClient, system: System, world: dict[str, Any]
) -> None:
    from tastegraph.ads import delivery_stats

    acct = ad_account(system, "Trailpeak", website="trailpeak-gear.com")
    made = promote(TestClient(client.app), acct)
    interested(client, world)
    tally = system.ad_serving.tally
    day = system.clock.now().date()
    for expected in (1, 2):
        assert len(ads_in(feed(client))) == 1
        tally.flush(system.engine)
        with system.read() as conn:
            got = delivery_stats.counts(conn, made["group"]["id"], day, "UTC", "browse")
        assert got["served"] == expected and got["eligible"] >= expected and got["requests"] >= expected
    tally.flush(system.engine)  # nothing new: nothing changes
    with system.read() as conn:
        assert delivery_stats.counts(conn, made["group"]["id"], day, "UTC", "browse")["served"] == 2


def test_engagement_with_a_promoted_pin_counts_once_per_kind_for_whom_it_was_served(
    client: TestClient, system: System, clock: FrozenClock, world: dict[str, Any]
) -> None:
    acct = ad_account(system, "Trailpeak", website="trailpeak-gear.com")
    promote(TestClient(client.app), acct)
    user = interested(client, world)
    ((_, item),) = ads_in(feed(client))
    token = item["promoted"]["token"]
    post = lambda who, kind, t=token: who.post(  # noqa: E731
        "/v1/ads/engagement", json={"token": t, "kind": kind}
    )
    assert post(client, "save").json() == {"status": "recorded"}
    assert post(client, "save").json() == {"status": "duplicate"}
    assert post(client, "closeup").json() == {"status": "recorded"}
    # Someone else, or a forged token, counts nothing.
    assert post(TestClient(client.app), "save").json() == {"status": "refused", "reason": "not_yours"}
    forged = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    assert post(client, "save", forged).json() == {"status": "refused", "reason": "forged"}
    assert post(client, "like").status_code == 422
    # The person's export shows the two, and erasure removes them.
    with system.read() as conn:
        mine = ad_log.export(conn, user)["engagements"]
    assert sorted(e["kind"] for e in mine) == ["closeup", "save"]
    with system.write() as conn:
        assert ad_log.erase(conn, user) >= 2
        assert ad_log.export(conn, user)["engagements"] == []
    clock.advance(timedelta(hours=2))
    assert post(client, "save").json() == {"status": "refused", "reason": "expired"}
