"""Delivery insights over HTTP: serve an ad group's ads in the home feed, report impressions and a
click, and read back the day's and the lifetime figures in the ad account's time zone, with why it did
not serve (frequency cap, targeting not matched, an unusable audience). Another account's ad group is a
404; a bad date a 422 naming `date`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tastegraph.ads import accounts, spend
from tastegraph.bootstrap import System
from tastegraph.kernel import FrozenClock
from tests.helpers import mini_world, sign_up_in
from tests.integration.ads_support import Acct, ad_account
from tests.integration.test_promoted_pins_objects import BASE, make_group, make_pin
from tests.integration.test_promoted_pins_serving import ads_in, feed, interested, promote


@pytest.fixture
def world(system: System) -> dict[str, Any]:
    return {"world": mini_world(system, pins_per_site=8)}


def _account(system: System, name: str, timezone: str) -> Acct:
    with system.write() as conn:
        account, token = accounts.create_account(
            conn, name, system.clock.now(), website="trailpeak-gear.com", timezone=timezone, currency="EUR"
        )
    return Acct(account.id, token.token, account.tag_id)


def delivery(client: TestClient, acct: Acct, group_id: int, **params: str) -> Any:
    return client.get(f"{BASE}/{acct.id}/ad_groups/{group_id}/delivery", params=params, headers=acct.auth)


def test_delivery_figures_for_a_day_and_the_lifetime(
    client: TestClient, system: System, clock: FrozenClock, world: dict[str, Any]
) -> None:
    # 03:00 UTC on 2 June is still 1 June in Los Angeles: the account's day is 1 June.
    clock.set(datetime(2026, 6, 2, 3, 0, tzinfo=UTC))
    acct = _account(system, "Trailpeak", "America/Los_Angeles")
    advertiser = TestClient(client.app)
    made = promote(advertiser, acct, frequency_cap={"impressions": 2, "days": 1})
    group = made["group"]["id"]
    # A second ad group that cannot serve: its included audience has no members yet.
    r = advertiser.post(
        f"{BASE}/{acct.id}/audiences", json={"kind": "visitor", "retention_days": 30}, headers=acct.auth
    )
    assert r.status_code == 201, r.text
    pin = make_pin(advertiser, acct, topics=[], link="https://trailpeak-gear.com/other")
    stuck = make_group(
        advertiser,
        acct,
        made["campaign"]["id"],
        billable_event="impression",
        bid_in_micro=4_000_000,
        budget_in_micro=5_000_000,
        placement="browse",
        targeting_spec={"audience_include": [r.json()["id"]]},
    )
    r = advertiser.post(
        f"{BASE}/{acct.id}/ads", json={"ad_group_id": stuck["id"], "pin_id": pin["id"]}, headers=acct.auth
    )
    assert r.status_code == 201, r.text

    interested(client, world)
    tokens = []
    for _ in range(3):
        tokens += [item["promoted"]["token"] for _, item in ads_in(feed(client))]
    assert len(tokens) == 2  # the third page is over the cap of two a day
    r = client.post("/v1/ads/impressions", json={"tokens": tokens})
    assert [x["status"] for x in r.json()["results"]] == ["recorded", "recorded"]
    assert client.get(f"/v1/ads/click/{tokens[0]}", follow_redirects=False).status_code == 302
    # Someone without the interest: a request the ad group's targeting does not match.
    other = TestClient(client.app)
    sign_up_in(other, email="bob@example.com")
    assert ads_in(feed(other)) == []
    system.ad_serving.tally.flush(system.engine)

    r = delivery(client, acct, group)
    assert r.status_code == 200, r.text
    body = r.json()
    day = {"impressions": 2, "clicks": 1, "spend_in_micro": 200}  # CPM at the 0.10 reserve, clicks free
    assert body == {
        "ad_group_id": group,
        "date": "2026-06-01",
        "timezone": "America/Los_Angeles",
        "currency": "EUR",
        **day,
        "total": day,
        "not_served": {
            "eligible": 3,
            "lost_to_pacing": 0,
            "lost_to_frequency_cap": 1,
            "lost_in_auction": 0,
            "not_matched": 1,
            "unusable_audience": 0,
        },
    }
    # The spend is the one the budget counted, on the account's day.
    key = spend.day_key("ag", group, datetime(2026, 6, 1).date())
    assert system.ad_spend.spent([key])[key].spent == body["spend_in_micro"]
    assert delivery(client, acct, group, date="2026-06-01").json() == body
    # 2 June (the UTC date) is not the account's day of these events.
    later = delivery(client, acct, group, date="2026-06-02").json()
    assert (later["impressions"], later["clicks"], later["spend_in_micro"]) == (0, 0, 0)
    assert later["total"] == day and later["not_served"]["eligible"] == 0

    blocked = delivery(client, acct, stuck["id"]).json()
    assert blocked["not_served"] == {
        "eligible": 0,
        "lost_to_pacing": 0,
        "lost_to_frequency_cap": 0,
        "lost_in_auction": 0,
        "not_matched": 0,
        "unusable_audience": 4,  # every browse request of the day
    }
    assert (blocked["impressions"], blocked["total"]["impressions"]) == (0, 0)

    # A day later (account time): today is 2 June there, the lifetime figures stay.
    clock.advance(timedelta(days=1))
    today = delivery(client, acct, group).json()
    assert today["date"] == "2026-06-02" and today["impressions"] == 0 and today["total"] == day


def test_another_accounts_ad_group_and_bad_dates(
    client: TestClient, system: System, world: dict[str, Any]
) -> None:
    acct = _account(system, "Trailpeak", "Europe/Berlin")
    made = promote(TestClient(client.app), acct)
    group = made["group"]["id"]
    other = ad_account(system, "Other")
    r = delivery(client, other, group)
    assert r.status_code == 404 and r.json()["error"]["field"] == "ad_group_id", r.text
    missing = client.get(f"{BASE}/{acct.id}/ad_groups/{group + 1000}/delivery", headers=acct.auth)
    assert missing.status_code == 404
    # The other account's token on this account's path is refused before anything is read.
    r = client.get(f"{BASE}/{acct.id}/ad_groups/{group}/delivery", headers=other.auth)
    assert r.status_code == 403
    assert client.get(f"{BASE}/{acct.id}/ad_groups/{group}/delivery").status_code == 401
    for bad in ("2026-13-01", "2026-6-1", "yesterday", "1999-12-31", "2026-06-01T00:00", "", "x" * 40):
        r = delivery(client, acct, group, date=bad)
        assert r.status_code == 422, (bad, r.text)
        assert r.json()["error"]["field"] == "date", (bad, r.text)
    assert delivery(client, acct, group, date="2026-06-01").status_code == 200
