"""The advertiser's Promoted Pins objects over HTTP: Pins with uploaded images, campaigns, ad groups and
ads — creating, reading, paging, changing only what is sent, archiving for good, and bad input that
names its field and changes nothing. Another account's objects look like no objects at all."""

from __future__ import annotations

import base64
import io
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from tastegraph.bootstrap import System
from tastegraph.catalog import content
from tests.integration.ads_support import Acct, ad_account, row_counts

BASE = "/v1/ad_accounts"


def png(width: int = 40, height: int = 30, color: tuple[int, int, int] = (200, 40, 40)) -> str:
    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, format="PNG")
    return base64.b64encode(out.getvalue()).decode()


def setup_topics(system: System, *slugs: str) -> None:
    with system.write() as conn:
        for slug in slugs:
            content.ensure_topic(conn, slug, slug.title())


def make_pin(client: TestClient, acct: Acct, **over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "title": "Trail shoe",
        "description": "Light and grippy",
        "link": "https://trailpeak.example/shoes/1",
        "topics": ["hiking"],
        "media_source": {"source_type": "image_base64", "content_type": "image/png", "data": png()},
    }
    body.update(over)
    r = client.post(f"{BASE}/{acct.id}/pins", json=body, headers=acct.auth)
    assert r.status_code == 201, r.text
    return dict(r.json())


def make_campaign(client: TestClient, acct: Acct, **over: Any) -> dict[str, Any]:
    body = {"name": "Autumn", "objective": "consideration", **over}
    r = client.post(f"{BASE}/{acct.id}/campaigns", json=body, headers=acct.auth)
    assert r.status_code == 201, r.text
    return dict(r.json())


def group_body(campaign: int, **over: Any) -> dict[str, Any]:
    return {
        "campaign_id": campaign,
        "name": "Hikers",
        "billable_event": "click",
        "bid_in_micro": 1_500_000,
        "budget_in_micro": 50_000_000,
        "budget_type": "daily",
        "targeting_spec": {"interests": ["hiking"], "keywords": ["Trail  Shoes"]},
        **over,
    }


def make_group(client: TestClient, acct: Acct, campaign_id: int, **over: Any) -> dict[str, Any]:
    r = client.post(f"{BASE}/{acct.id}/ad_groups", json=group_body(campaign_id, **over), headers=acct.auth)
    assert r.status_code == 201, r.text
    return dict(r.json())


@pytest.fixture
def acct(system: System) -> Acct:
    setup_topics(system, "hiking", "camping")
    return ad_account(system, website="trailpeak.example")


def test_the_whole_chain_pin_campaign_group_ad(client: TestClient, system: System, acct: Acct) -> None:
    pin = make_pin(client, acct)
    assert pin["image_url"].startswith("/media/") and pin["topics"] == ["hiking"]
    image = client.get(pin["image_url"])
    assert image.status_code == 200 and image.headers["content-type"] in ("image/jpeg", "image/png")
    # An ordinary Pin as well: the catalogue knows it.
    with system.read() as conn:
        assert content.get_pin(conn, pin["id"])["title"] == "Trail shoe"

    campaign = make_campaign(client, acct, daily_spend_cap=10_000_000)
    assert campaign["status"] == "active" and campaign["daily_spend_cap"] == 10_000_000
    assert campaign["created_at"] and campaign["updated_at"]

    group = make_group(client, acct, campaign["id"], frequency_cap={"impressions": 3, "days": 7})
    assert group["targeting_spec"] == {
        "interests": ["hiking"],
        "keywords": ["trail shoes"],
        "audience_include": [],
        "audience_exclude": [],
        "expanded": False,
    }
    assert group["pacing_delivery_type"] == "standard" and group["placement"] == "all"
    assert group["frequency_cap"] == {"impressions": 3, "days": 7}
    assert group["serving"] is False and group["not_serving_reasons"] == ["no_active_ads"]

    r = client.post(
        f"{BASE}/{acct.id}/ads", json={"ad_group_id": group["id"], "pin_id": pin["id"]}, headers=acct.auth
    )
    assert r.status_code == 201, r.text
    ad = r.json()
    assert ad["destination_url"] == pin["link"] and ad["name"] == "Trail shoe" and ad["status"] == "active"
    got = client.get(f"{BASE}/{acct.id}/ad_groups/{group['id']}", headers=acct.auth).json()
    assert got["serving"] is True and got["not_serving_reasons"] == []

    assert client.get(f"{BASE}/{acct.id}/ads/{ad['id']}", headers=acct.auth).json() == ad
    listed = client.get(f"{BASE}/{acct.id}/ads", params={"ad_group_id": group["id"]}, headers=acct.auth)
    assert [a["id"] for a in listed.json()["items"]] == [ad["id"]]


def test_patch_changes_only_what_is_sent_and_archived_stays(
    client: TestClient, system: System, clock: Any, acct: Acct
) -> None:
    campaign = make_campaign(client, acct, lifetime_spend_cap=90_000_000)
    clock.advance(timedelta(minutes=5))
    url = f"{BASE}/{acct.id}/campaigns/{campaign['id']}"
    r = client.patch(url, json={"name": "Winter"}, headers=acct.auth)
    assert r.status_code == 200, r.text
    changed = r.json()
    assert changed["name"] == "Winter" and changed["lifetime_spend_cap"] == 90_000_000
    assert changed["objective"] == campaign["objective"] and changed["updated_at"] > campaign["updated_at"]
    r = client.patch(url, json={"lifetime_spend_cap": None}, headers=acct.auth)
    assert r.json()["lifetime_spend_cap"] is None
    assert client.patch(url, json={"name": None}, headers=acct.auth).status_code == 422

    assert client.patch(url, json={"status": "archived"}, headers=acct.auth).json()["status"] == "archived"
    r = client.patch(url, json={"status": "active"}, headers=acct.auth)
    assert r.status_code == 422 and r.json()["error"]["field"] == "status"
    # An archived campaign takes no new ad groups, and its ad groups do not serve.
    r = client.post(f"{BASE}/{acct.id}/ad_groups", json=group_body(campaign["id"]), headers=acct.auth)
    assert r.status_code == 422 and r.json()["error"]["field"] == "campaign_id"


def test_ad_group_rules_name_their_field(client: TestClient, system: System, acct: Acct) -> None:
    campaign = make_campaign(client, acct)
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({"bid_in_micro": 0}, 422, "bid_in_micro"),
        ({"bid_in_micro": 10**12}, 422, "bid_in_micro"),  # over the ceiling
        ({"budget_in_micro": -5}, 422, "budget_in_micro"),
        ({"budget_type": "lifetime"}, 422, "end_time"),  # a lifetime budget needs an end
        (
            {"start_time": "2026-07-02T00:00:00Z", "end_time": "2026-07-01T00:00:00Z"},
            422,
            "end_time",
        ),
        ({"targeting_spec": {"interests": ["hiking", "knitting"]}}, 422, "targeting_spec.interests[1]"),
        ({"targeting_spec": {"audience_include": [999]}}, 404, "targeting_spec.audience_include[0]"),
        ({"frequency_cap": {"impressions": 3, "days": 5}}, 422, "frequency_cap.days"),
        ({"campaign_id": 10_000}, 404, "campaign_id"),
        ({"pacing_delivery_type": "turbo"}, 422, "pacing_delivery_type"),
    ]
    before = row_counts(system)
    for over, status, field in cases:
        r = client.post(
            f"{BASE}/{acct.id}/ad_groups", json=group_body(campaign["id"], **over), headers=acct.auth
        )
        assert r.status_code == status, (over, r.text)
        assert field in (r.json()["error"].get("field") or ""), (over, r.text)
    assert row_counts(system) == before


def test_a_small_audience_is_allowed_but_the_group_says_it_cannot_serve(
    client: TestClient, system: System, acct: Acct
) -> None:
    r = client.post(
        f"{BASE}/{acct.id}/audiences", json={"kind": "visitor", "retention_days": 30}, headers=acct.auth
    )
    audience = r.json()
    assert audience["usable"] is False
    campaign = make_campaign(client, acct)
    group = make_group(client, acct, campaign["id"], targeting_spec={"audience_include": [audience["id"]]})
    assert f"unusable_audience:{audience['id']}" in group["not_serving_reasons"]


def test_pins_must_link_to_the_website_and_be_images(client: TestClient, system: System, acct: Acct) -> None:
    before = row_counts(system)
    not_image = base64.b64encode(b"<svg onload=alert(1)>").decode()
    jpeg_says_png = {"source_type": "image_base64", "content_type": "image/jpeg", "data": png()}
    cases: list[tuple[dict[str, Any], str]] = [
        ({"link": "https://elsewhere.example/x"}, "link"),
        ({"link": "javascript:alert(1)"}, "link"),
        ({"topics": ["knitting"]}, "topics[0]"),
        ({"title": "   "}, "title"),
        (
            {"media_source": {"source_type": "image_base64", "content_type": "image/png", "data": not_image}},
            "media_source.data",
        ),
        (
            {"media_source": {"source_type": "image_base64", "content_type": "image/png", "data": "%%%"}},
            "media_source.data",
        ),
        ({"media_source": jpeg_says_png}, "media_source.data"),
        (
            {"media_source": {"source_type": "image_url", "content_type": "image/png", "data": png()}},
            "source_type",
        ),
    ]
    for over, field in cases:
        body = {
            "title": "Tent",
            "link": "https://shop.trailpeak.example/tent",
            "media_source": {"source_type": "image_base64", "content_type": "image/png", "data": png()},
            **over,
        }
        r = client.post(f"{BASE}/{acct.id}/pins", json=body, headers=acct.auth)
        assert r.status_code == 422, (over, r.text)
        assert field in (r.json()["error"].get("field") or ""), (over, r.text)
    assert row_counts(system) == before
    # A sub-domain of the website is the website.
    assert make_pin(client, acct, link="https://shop.trailpeak.example/tent")["link"].startswith(
        "https://shop."
    )


def test_an_image_over_8000_pixels_a_side_is_refused(client: TestClient, acct: Acct) -> None:
    body = {
        "title": "Panorama",
        "link": "https://trailpeak.example/p",
        "media_source": {"source_type": "image_base64", "content_type": "image/png", "data": png(8001, 2)},
    }
    r = client.post(f"{BASE}/{acct.id}/pins", json=body, headers=acct.auth)
    assert r.status_code == 422 and "8000" in r.json()["error"]["message"]


def test_another_accounts_objects_do_not_exist(client: TestClient, system: System, acct: Acct) -> None:
    other = ad_account(system, "Rival", website="rival.example")
    pin = make_pin(client, acct)
    campaign = make_campaign(client, acct)
    group = make_group(client, acct, campaign["id"])
    # The rival's token on the rival's account, naming our ids.
    for path in (f"campaigns/{campaign['id']}", f"ad_groups/{group['id']}"):
        assert client.get(f"{BASE}/{other.id}/{path}", headers=other.auth).status_code == 404
        r = client.patch(f"{BASE}/{other.id}/{path}", json={"status": "paused"}, headers=other.auth)
        assert r.status_code == 404
    rival_campaign = make_campaign(client, other)
    r = client.post(f"{BASE}/{other.id}/ad_groups", json=group_body(campaign["id"]), headers=other.auth)
    assert r.status_code == 404 and r.json()["error"]["field"] == "campaign_id"
    rival_group = make_group(client, other, rival_campaign["id"], targeting_spec={})
    r = client.post(
        f"{BASE}/{other.id}/ads",
        json={"ad_group_id": rival_group["id"], "pin_id": pin["id"]},
        headers=other.auth,
    )
    assert r.status_code == 404 and r.json()["error"]["field"] == "pin_id"
    assert client.get(f"{BASE}/{other.id}/campaigns", headers=other.auth).json()["items"] == [rival_campaign]
    # Our token on their account: 403 as for every advertiser route.
    assert client.get(f"{BASE}/{other.id}/campaigns", headers=acct.auth).status_code == 403
    # Our objects are untouched.
    assert client.get(f"{BASE}/{acct.id}/campaigns/{campaign['id']}", headers=acct.auth).json() == campaign


def test_lists_page_with_bookmarks(client: TestClient, system: System, acct: Acct) -> None:
    made = [make_campaign(client, acct, name=f"C{i}")["id"] for i in range(7)]
    seen: list[int] = []
    bookmark = None
    pages = 0
    while True:
        params: dict[str, Any] = {"page_size": 3}
        if bookmark:
            params["bookmark"] = bookmark
        page = client.get(f"{BASE}/{acct.id}/campaigns", params=params, headers=acct.auth).json()
        seen += [c["id"] for c in page["items"]]
        pages += 1
        bookmark = page["bookmark"]
        if bookmark is None:
            break
    assert seen == sorted(made, reverse=True) and pages == 3
    r = client.get(f"{BASE}/{acct.id}/campaigns", params={"bookmark": "bm90LW91cnM"}, headers=acct.auth)
    assert r.status_code == 422 and r.json()["error"]["field"] == "bookmark"
    r = client.get(f"{BASE}/{acct.id}/campaigns", params={"page_size": 251}, headers=acct.auth)
    assert r.status_code == 422
    paused = client.get(f"{BASE}/{acct.id}/campaigns", params={"status": "paused"}, headers=acct.auth)
    assert paused.json() == {"items": [], "bookmark": None}


def test_ad_account_currency_and_timezone(client: TestClient, system: System) -> None:
    from tastegraph.ads import accounts
    from tastegraph.kernel import InvalidInput

    acct = ad_account(system)
    got = client.get(f"{BASE}/{acct.id}", headers=acct.auth).json()
    assert got["currency"] == "USD" and got["timezone"] == "UTC"
    with system.write() as conn:
        account, _ = accounts.create_account(
            conn, "Berlin shop", system.clock.now(), currency="eur", timezone="Europe/Berlin"
        )
    assert (account.currency, account.timezone) == ("EUR", "Europe/Berlin")
    for kwargs, field in (({"currency": "XYZ"}, "currency"), ({"timezone": "Mars/Olympus"}, "timezone")):
        with pytest.raises(InvalidInput) as caught, system.write() as conn:
            accounts.create_account(conn, "Bad", system.clock.now(), **kwargs)
        assert caught.value.field == field


def test_attribution_windows_and_report_privacy_are_the_accounts_to_change(
    client: TestClient, system: System
) -> None:
    acct = ad_account(system, "Trailpeak", website="trailpeak.example")
    other = ad_account(system, "Rival", website="rival.example")
    shown = client.get(f"{BASE}/{acct.id}", headers=acct.auth).json()
    assert shown["attribution"] == {"click_days": 30, "engagement_days": 30, "view_days": 1}
    assert shown["privacy"] == "threshold"
    r = client.patch(f"{BASE}/{acct.id}", json={"attribution": {"view_days": 7}}, headers=acct.auth)
    assert r.status_code == 200, r.text
    assert r.json()["attribution"] == {"click_days": 30, "engagement_days": 30, "view_days": 7}
    r = client.patch(f"{BASE}/{acct.id}", json={"privacy": "dp"}, headers=acct.auth)
    assert r.json()["privacy"] == "dp" and r.json()["attribution"]["view_days"] == 7
    # Refused, changing nothing: a window not offered, an unknown field, another account's token.
    for bad in (
        {"attribution": {"click_days": 3}},
        {"attribution": {"hours": 1}},
        {"privacy": "none"},
        {"name": "x"},
    ):
        r = client.patch(f"{BASE}/{acct.id}", json=bad, headers=acct.auth)
        assert r.status_code == 422, (bad, r.text)
    assert client.patch(
        f"{BASE}/{acct.id}", json={"privacy": "threshold"}, headers=other.auth
    ).status_code in (
        401,
        403,
        404,
    )
    assert client.patch(f"{BASE}/{acct.id}", content=b"privacy=dp", headers=acct.auth).status_code == 415
    final = client.get(f"{BASE}/{acct.id}", headers=acct.auth).json()
    assert final["privacy"] == "dp" and final["attribution"]["view_days"] == 7
    assert client.get(f"{BASE}/{other.id}", headers=other.auth).json()["privacy"] == "threshold"
