"""Off-site visits in Chromium with its default cookie settings (third-party cookies blocked), issue 14:
the partitioned cookie and the popup's ticket, the Storage Access API, and the outbound click id.

The platform is http://127.0.0.1:PORT and the demo sites http://localhost:PORT2: different sites, so
the save button's frame is a third-party frame and Chromium keeps no unpartitioned cookie for it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tastegraph.catalog import content
from tastegraph.usecases import offsite
from tastegraph.usecases.callers import Caller, RequestSignals
from tests.e2e.conftest import World, grant_storage_access, shot, sign_up_and_in, watch

pytestmark = pytest.mark.e2e

PASSWORD = "a long enough password"
SHOP_PAGE = "/trailpeak-gear/tents/ultralight-2p"
OTHER_SHOP_PAGE = "/trailpeak-gear/tents/basecamp-4"


def _visit(page: Any, url: str) -> tuple[dict[str, Any], dict[str, Any], Any]:
    """Open a third-party page; the frame's visit report (what was sent, the answer, the response)."""
    with page.expect_response(
        lambda r: r.url.endswith("/v1/offsite/visits") and r.request.method == "POST"
    ) as rinfo:
        page.goto(url)
    response = rinfo.value
    return json.loads(response.request.post_data or "{}"), response.json(), response


def _offsite_domains(page: Any, world: World) -> list[str]:
    page.goto(world.platform + "/")
    texts: list[str] = page.eval_on_selector_all(
        ".why-list li", "items => items.map(li => li.textContent.trim())"
    )
    return [t for t in texts if t.startswith("You visited ")]


def _user_id(world: World, page: Any) -> int:
    cookie = next(c for c in page.context.cookies(world.platform) if c["name"] == "tg_session")
    with world.system.read() as conn:
        uid = world.system.identity.user_for_session(conn, cookie["value"], world.system.clock.now())
    assert uid is not None
    return uid


def test_partitioned_visit_and_the_popup_ticket(
    browser_context: Any, world: World, screenshots: Path
) -> None:
    page = browser_context.new_page()
    errors: list[str] = []
    watch(page, errors)
    sign_up_and_in(page, world, "pat-partition@example.com", PASSWORD, "Pat")

    sent, body, response = _visit(page, world.sites + SHOP_PAGE)
    # No cookie of the platform's travels: the visit is kept under this site's partition, tied to nobody.
    assert sent["partitioned"] is True and sent["embedder"] == world.sites
    assert sent["url"] == world.sites + SHOP_PAGE and sent["site"] == "trailpeak-gear.com"
    assert response.status == 201, body
    assert body["stored"] is True and body["linked"] is False and body["via"] == "partition", body
    token = body["partition_token"]
    assert token
    set_cookie = response.header_value("set-cookie") or ""
    assert "tg_pid=" in set_cookie and "Partitioned" in set_cookie and "Secure" in set_cookie

    # The frame offers storage access next to the Save button.
    frame = page.frame_locator("iframe.tastegraph-frame")
    frame.locator("#tg-access").wait_for(state="visible")
    shot(page, screenshots, "30-shop-cookies-blocked-frame", full_page=False)

    # A second page of the same site: the same partition (the cookie came back), a fresh ticket.
    _sent2, body2, _ = _visit(page, world.sites + OTHER_SHOP_PAGE)
    assert body2["via"] == "partition" and body2["partition_token"] not in (None, token)

    # Nothing reached the feed: the visits are nobody's yet.
    assert _offsite_domains(page, world) == []

    # The Save button opens the popup with the latest ticket in its URL.
    page.goto(world.sites + SHOP_PAGE)
    page.wait_for_function("document.querySelector('iframe.tastegraph-frame') !== null")
    page.wait_for_timeout(500)  # the frame's answer arrives by postMessage
    with browser_context.expect_page() as popup_info:
        page.locator(".tastegraph-save-button").first.click()
    popup = popup_info.value
    popup.wait_for_load_state()
    popup_token = parse_qs(urlsplit(popup.url).query)["partition"][0]
    assert popup_token
    # Saving in the popup (first-party on the platform, signed in there) ties the partition's visits.
    popup.wait_for_selector(".pinit-image")
    popup.fill("#new_board", "Trips")
    popup.click(".pinit-form button[type=submit]")
    popup.wait_for_selector("text=Saved to Trips")
    assert popup.locator("text=recent visits to").count() == 1
    popup.close()

    # The ticket is used up: the same one again ties nothing.
    user_id = _user_id(world, page)
    caller = Caller(user_id, None, None, RequestSignals())
    assert offsite.link_partitioned_visits(world.system, caller, popup_token, world.sites + SHOP_PAGE) == 0
    reasons = _offsite_domains(page, world)
    assert any("trailpeak-gear.com" in r for r in reasons), reasons
    assert errors == []


def test_storage_access_ties_visits_to_the_person(
    browser_context: Any, world: World, screenshots: Path
) -> None:
    page = browser_context.new_page()
    errors: list[str] = []
    watch(page, errors)
    sign_up_and_in(page, world, "sal@example.com", PASSWORD, "Sal")

    _, body, _ = _visit(page, world.sites + SHOP_PAGE)
    assert body["via"] == "partition" and body["linked"] is False
    frame_button = page.frame_locator("iframe.tastegraph-frame").locator("#tg-access")
    frame_button.wait_for(state="visible")

    # Without a grant, the click is refused at once (headless Chromium cannot show the prompt).
    frame = next(f for f in page.frames if "/widget/frame" in f.url)
    refused = frame.evaluate("document.requestStorageAccess().then(() => 'granted', e => e.name)")
    assert refused == "NotAllowedError"

    # The person's "Allow" on the prompt, then their click on the frame's button.
    devtools = grant_storage_access(browser_context, page, world.sites, world.platform)
    frame_button.click()
    frame_button.wait_for(state="hidden")
    assert frame.evaluate("document.hasStorageAccess()") is True

    # From now on the frame takes the access up by itself: its visits travel with the browser cookie.
    sent, body, _ = _visit(page, world.sites + OTHER_SHOP_PAGE)
    assert "partitioned" not in sent
    assert body["stored"] is True and body["linked"] is True and body["via"] == "browser", body
    shot(page, screenshots, "31-shop-storage-access-granted", full_page=False)
    reasons = _offsite_domains(page, world)
    assert any("trailpeak-gear.com" in r for r in reasons), reasons
    devtools.detach()
    assert errors == ["requestStorageAccess: Permission denied."]  # the refusal above, logged by Chromium


def test_outbound_click_id_ties_landing_visits(browser_context: Any, world: World, screenshots: Path) -> None:
    page = browser_context.new_page()
    errors: list[str] = []
    watch(page, errors)
    sign_up_and_in(page, world, "cleo@example.com", PASSWORD, "Cleo")
    with world.system.write() as conn:
        pin_id = content.create_pin(
            conn,
            title="Basecamp 4 family tent",
            link_url=world.sites + OTHER_SHOP_PAGE,
            image_url="/static/demo-img/outdoors/3.svg",
            now=world.system.clock.now(),
            topic_ids=[],
        )

    # The Pin's "Visit site" goes through the platform, which adds a click id to the site's URL.
    page.goto(f"{world.platform}/pins/{pin_id}")
    visit = page.locator(".pin-page-actions a:has-text('Visit site')")
    assert visit.get_attribute("href") == f"/pins/{pin_id}/visit"
    with page.expect_response(
        lambda r: r.url.endswith("/v1/offsite/visits") and r.request.method == "POST"
    ) as rinfo:
        page.goto(f"{world.platform}/pins/{pin_id}/visit")
    landed = urlsplit(page.url)
    click_id = parse_qs(landed.query)["tg_click"][0]
    assert re.fullmatch(r"[A-Za-z0-9_-]{32}", click_id)
    sent = json.loads(rinfo.value.request.post_data or "{}")
    body = rinfo.value.json()
    assert sent["click_id"] == click_id
    assert body["linked"] is True and body["via"] == "click", body

    # The landing site keeps the click id first-party: the next page carries it without the URL.
    sent2, body2, _ = _visit(page, world.sites + SHOP_PAGE)
    assert sent2["click_id"] == click_id and "tg_click" not in page.url
    assert body2["linked"] is True and body2["via"] == "click", body2
    shot(page, screenshots, "32-shop-after-outbound-click", full_page=False)
    reasons = _offsite_domains(page, world)
    assert any("trailpeak-gear.com" in r for r in reasons), reasons
    assert errors == []


def test_third_party_cookies_allowed_needs_no_partition(
    browser_context_third_party_cookies: Any, world: World
) -> None:
    page = browser_context_third_party_cookies.new_page()
    sign_up_and_in(page, world, "tess@example.com", PASSWORD, "Tess")
    sent, body, _ = _visit(page, world.sites + SHOP_PAGE)
    assert "partitioned" not in sent
    assert body["linked"] is True and body["via"] == "browser" and body["partition_token"] is None
    assert page.frame_locator("iframe.tastegraph-frame").locator("#tg-access").is_hidden()
