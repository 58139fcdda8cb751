"""The Promoted Pins pages: the owner of an ad account creates a campaign, an ad group, uploads a Pin
image and makes an ad, sees them listed with status and delivery figures, edits them; bad input is shown
next to its field and changes nothing; nobody else can see or change the account's objects."""

from __future__ import annotations

import base64
import re
from typing import Any

from fastapi.testclient import TestClient

from tastegraph.bootstrap import System
from tests.helpers import csrf_token, page_sign_up
from tests.integration.ads_support import row_counts
from tests.integration.test_promoted_pins_objects import png, setup_topics


def _advertiser(client: TestClient, email: str, website: str) -> tuple[int, str]:
    page_sign_up(client, email=email)
    token = csrf_token(client, "/advertisers")
    r = client.post("/advertisers", data={"name": "Fern & Co", "website": website, "csrf_token": token})
    assert r.status_code == 200, r.text
    account_id = int(re.findall(r'id="account-(\d+)"', r.text)[-1])
    return account_id, token


def _group_form(token: str, **over: Any) -> dict[str, Any]:
    return {
        "csrf_token": token,
        "name": "Hikers",
        "status": "active",
        "billable_event": "impression",
        "bid": "4.00",
        "budget": "20",
        "pacing_delivery_type": "accelerated",
        "placement": "all",
        "frequency_cap_impressions": "3",
        "frequency_cap_days": "7",
        "interests": "hiking",
        "keywords": "trail shoes, boots",
        **over,
    }


def _field_error(html: str, form: str, field: str) -> str:
    match = re.search(rf'id="{form}-{field}-error"[^>]*>([^<]+)<', html)
    assert match, f"no error next to {field} on {form}"
    return match.group(1)


def test_the_owner_runs_promoted_pins_from_the_pages(client: TestClient, system: System) -> None:
    setup_topics(system, "hiking")
    account_id, token = _advertiser(client, "fern@example.com", "fern.example")
    page = f"/advertisers/{account_id}/promoted"
    assert f'href="{page}"' in client.get("/advertisers").text
    r = client.get(page)
    assert r.status_code == 200 and "No campaigns yet" in r.text

    r = client.post(
        f"{page}/campaigns", data={"csrf_token": token, "name": "Autumn", "objective": "awareness"}
    )
    assert r.status_code == 200 and "The campaign is saved" in r.text, r.text  # followed the 303
    campaign_id = int(re.search(r'id="campaign-(\d+)"', r.text).group(1))  # type: ignore[union-attr]

    before = row_counts(system)
    r = client.post(f"{page}/ad_groups", data={**_group_form(token, budget="-3"), "campaign_id": campaign_id})
    assert r.status_code == 422, r.text[-3000:]
    assert "more than 0" in _field_error(r.text, "new-group", "budget")
    assert 'value="-3"' in r.text  # what was typed stays in the form
    r = client.post(
        f"{page}/ad_groups",
        data={**_group_form(token, interests="hiking, knitting"), "campaign_id": campaign_id},
    )
    assert r.status_code == 422 and "no such topic" in _field_error(r.text, "new-group", "interests").lower()
    assert row_counts(system) == before

    r = client.post(f"{page}/ad_groups", data={**_group_form(token), "campaign_id": campaign_id})
    assert r.status_code == 200 and "The ad group is saved" in r.text
    group_id = int(re.search(r'id="group-(\d+)"', r.text).group(1))  # type: ignore[union-attr]
    group = client.get(f"{page}").text
    assert "bid 4.00 USD per 1,000 impressions" in group and "at most 3 per person in 7 days" in group

    image = base64.b64decode(png())
    r = client.post(
        f"{page}/pins",
        data={"csrf_token": token, "title": "Trail shoe", "link": "https://fern.example/shoe"},
        files={"image": ("shoe.png", b"not an image", "image/png")},
    )
    assert r.status_code == 422 and _field_error(r.text, "new-pin", "image")
    r = client.post(
        f"{page}/pins",
        data={"csrf_token": token, "title": "Trail shoe", "link": "https://elsewhere.example/shoe"},
        files={"image": ("shoe.png", image, "image/png")},
    )
    assert r.status_code == 422 and _field_error(r.text, "new-pin", "link")
    assert row_counts(system) == before | {"ad_groups": before["ad_groups"] + 1}
    r = client.post(
        f"{page}/pins",
        data={
            "csrf_token": token,
            "title": "Trail shoe",
            "link": "https://fern.example/shoe",
            "topics": "hiking",
        },
        files={"image": ("shoe.png", image, "image/png")},
    )
    assert r.status_code == 200 and "The Pin is uploaded" in r.text
    pin_id = int(re.search(r'id="pin-(\d+)"', r.text).group(1))  # type: ignore[union-attr]
    assert re.search(r'<img src="/media/[^"]+"', r.text)

    r = client.post(f"{page}/ads", data={"csrf_token": token, "ad_group_id": group_id, "pin_id": pin_id})
    assert r.status_code == 200 and "The ad is saved" in r.text
    ad_id = int(re.search(r'id="ad-(\d+)"', r.text).group(1))  # type: ignore[union-attr]
    assert 'data-figure="impressions">0<' in r.text and 'data-reason="eligible">0<' in r.text
    assert "can serve" in r.text

    # Edit: pause the ad group (name and targeting kept), rename the ad, drop the frequency cap.
    r = client.post(
        f"{page}/ad_groups/{group_id}",
        data=_group_form(token, status="paused", frequency_cap_impressions="", name="Hikers EU"),
    )
    assert r.status_code == 200 and "Hikers EU" in r.text and "not serving: paused" in r.text, r.text[-500:]
    r = client.post(f"{page}/ads/{ad_id}", data={"csrf_token": token, "name": "Shoe ad", "status": "paused"})
    assert r.status_code == 200 and "Shoe ad" in r.text
    r = client.post(
        f"{page}/campaigns/{campaign_id}", data={"csrf_token": token, "name": "Autumn", "status": "nope"}
    )
    assert r.status_code == 422 and _field_error(r.text, f"campaign-{campaign_id}", "status")

    # Without the CSRF token nothing changes.
    r = client.post(f"{page}/ads/{ad_id}", data={"name": "Hijacked", "status": "active"})
    assert r.status_code == 403
    assert "Hijacked" not in client.get(page).text

    # Someone else, signed in with an ad account of their own, sees and changes nothing of this one.
    other = TestClient(client.app)
    other_id, other_token = _advertiser(other, "mallory@example.com", "mallory.example")
    assert other.get(page).status_code == 404
    before = row_counts(system)
    attempts = [
        (f"{page}/campaigns", {"name": "X", "objective": "awareness"}),
        (f"{page}/campaigns/{campaign_id}", {"name": "X", "status": "archived"}),
        (f"{page}/ad_groups/{group_id}", _group_form(other_token, status="archived")),
        (f"{page}/ads/{ad_id}", {"name": "X", "status": "archived"}),
        (f"{page}/ads", {"ad_group_id": group_id, "pin_id": pin_id}),
        # Through their own account's pages, naming this account's objects: as if they did not exist.
        (f"/advertisers/{other_id}/promoted/campaigns/{campaign_id}", {"name": "X", "status": "archived"}),
        (
            f"/advertisers/{other_id}/promoted/ad_groups/{group_id}",
            _group_form(other_token, status="archived"),
        ),
        (f"/advertisers/{other_id}/promoted/ads/{ad_id}", {"name": "X", "status": "archived"}),
    ]
    for path, data in attempts:
        r = other.post(path, data={**data, "csrf_token": other_token})
        assert r.status_code == 404, (path, r.status_code)
    r = other.post(
        f"{page}/pins",
        data={"csrf_token": other_token, "title": "X", "link": "https://fern.example/x"},
        files={"image": ("x.png", image, "image/png")},
    )
    assert r.status_code == 404
    r = other.post(
        f"/advertisers/{other_id}/promoted/ads",
        data={"csrf_token": other_token, "ad_group_id": group_id, "pin_id": pin_id},
    )
    assert r.status_code == 404
    assert row_counts(system) == before
    mine = client.get(page).text
    assert "Hikers EU" in mine and "Shoe ad" in mine
    assert 'class="status status-archived"' not in mine and "Autumn" in mine
    theirs = other.get(f"/advertisers/{other_id}/promoted").text
    assert "Hikers EU" not in theirs and "Trail shoe" not in theirs
