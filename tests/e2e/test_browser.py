"""The whole loop in a real browser: sign up and sign in through the pages, visit a third-party page that
embeds the save button, see why a Pin from that site is in the feed, turn Personalization off, and see
every off-site reason go.

The platform runs on http://127.0.0.1:PORT and the demo sites on http://localhost:PORT2, so to Chromium
the widget's frame and its request are cross-site,
exactly as on a real shop. The session cookie is SameSite=Lax and is
not sent with it; the visit is tied to the account by the `tg_bid` browser cookie (SameSite=None; Secure),
linked at sign-in. Chromium keeps Secure cookies from http://127.0.0.1 (a potentially trustworthy origin).
Chromium blocks third-party cookies by default; this loop test uses a profile that allows them
(`browser_context_third_party_cookies`); the other tests use the defaults.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import World, shot, sign_up_and_in, watch

pytestmark = pytest.mark.e2e

EMAIL = "robin@example.com"
PASSWORD = "a long enough password"


def offsite_reason_texts(page: Any) -> list[str]:
    """The texts of every off-site reason on the home feed."""
    texts: list[str] = page.eval_on_selector_all(
        ".why-list li", "items => items.map(li => li.textContent.trim())"
    )
    return [t for t in texts if t.startswith("You visited ")]


def test_offsite_loop_in_a_real_browser(
    browser_context_third_party_cookies: Any, world: World, screenshots: Path
) -> None:
    """The one loop test with third-party cookies allowed (the browser's cookie still travels); the
    default settings are tested in test_offsite_without_third_party_cookies.py."""
    page = browser_context_third_party_cookies.new_page()
    errors: list[str] = []
    watch(page, errors)

    sign_up_and_in(page, world, EMAIL, PASSWORD, "Robin", screenshots)

    # A third-party shop page: the widget draws its Save buttons and reports the visit.
    with page.expect_response(
        lambda r: r.url.endswith("/v1/offsite/visits") and r.request.method == "POST"
    ) as rinfo:
        page.goto(world.sites + "/trailpeak-gear/tents/ultralight-2p")
    response = rinfo.value
    body = response.json()
    sent = json.loads(response.request.post_data or "{}")
    assert sent["url"] == world.sites + "/trailpeak-gear/tents/ultralight-2p"
    assert sent["site"] == "trailpeak-gear.com"
    assert re.fullmatch(r"[0-9a-f]{32}", sent["event_id"])
    assert response.status == 201, body
    assert body["stored"] is True, body
    assert body["linked"] is True and body["via"] == "browser", body
    page.wait_for_selector(".tastegraph-save-button")
    shot(page, screenshots, "04-third-party-shop")

    # The home feed now has Pins from that site, each saying why.
    page.goto(world.platform + "/")
    cards = page.locator("li.card-offsite", has=page.locator(".card-domain", has_text="trailpeak-gear.com"))
    assert cards.count() >= 1
    first = cards.first
    first.locator(".why summary").click()
    why_text = first.locator(".why-list").inner_text()
    assert "You visited trailpeak-gear.com" in why_text
    assert page.locator(".banner").count() == 0
    first.scroll_into_view_if_needed()
    shot(page, screenshots, "05-feed-with-offsite-reason")
    assert any("trailpeak-gear.com" in t for t in offsite_reason_texts(page))

    # The Pin page says the same.
    first.locator("a.card-title").click()
    page.wait_for_url(re.compile(r".*/pins/\d+$"))
    assert "You visited trailpeak-gear.com" in page.locator(".pin-info .why-list").inner_text()
    shot(page, screenshots, "06-pin-page")

    # Turn Personalization off in the privacy center.
    page.goto(world.platform + "/settings")
    toggle = page.locator("#personalization")
    assert toggle.is_checked()
    shot(page, screenshots, "07-settings-on")
    page.click("label.toggle")  # the form saves itself on change
    page.wait_for_url(re.compile(r".*/settings\?notice=settings_saved$"))
    assert not page.locator("#personalization").is_checked()
    first_row = page.locator("table.history tbody tr").first.inner_text()
    assert "Use sites you visit to improve recommendations" in first_row
    assert "Privacy center" in first_row
    shot(page, screenshots, "08-settings-off")

    # No off-site reason anywhere in the feed, and the banner says why.
    page.goto(world.platform + "/")
    assert offsite_reason_texts(page) == []
    banner = page.locator(".banner").inner_text()
    assert "Personalization using sites you visit is turned off in your settings." in banner
    shot(page, screenshots, "09-feed-personalization-off")

    # Delete the account, with its confirmation.
    page.goto(world.platform + "/settings")
    page.click("text=Delete my account…")
    page.check("input[name=confirm]")
    page.locator("#delete").scroll_into_view_if_needed()
    shot(page, screenshots, "09b-delete-account", full_page=False)
    page.click("form.delete-form button[type=submit]")
    page.wait_for_url(re.compile(r".*/\?notice=deleted$"))
    assert "has been deleted" in page.locator(".notice").inner_text()
    assert "Sign in" in page.locator(".nav-account").inner_text()

    assert errors == []


def test_other_pages_look_right(browser_context: Any, world: World, screenshots: Path) -> None:
    """Not a behaviour test: renders the remaining pages so their screenshots can be looked at."""
    page = browser_context.new_page()
    errors: list[str] = []
    watch(page, errors)
    page.goto(world.platform + "/")
    shot(page, screenshots, "10-home-signed-out")
    page.goto(world.platform + "/privacy")
    shot(page, screenshots, "11-privacy-signed-out")
    page.click("label.toggle")
    page.wait_for_url(re.compile(r".*/privacy\?notice=browser_saved$"))
    assert not page.locator("#allow").is_checked()
    shot(page, screenshots, "12-privacy-opted-out")
    page.goto(world.platform + "/no/such/page")
    shot(page, screenshots, "13-not-found")
    assert errors == ["Failed to load resource: the server responded with a status of 404 (Not Found)"]
    errors.clear()  # that 404 was the point
    page.goto(world.sites + "/simmerandsage/")
    page.wait_for_selector(".tastegraph-save-button")
    shot(page, screenshots, "14-third-party-blog")
    page.goto(world.sites + "/trailpeak-gear/")
    page.wait_for_selector(".tastegraph-save-button")
    shot(page, screenshots, "15-third-party-shop-home")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(world.platform + "/")
    shot(page, screenshots, "16-home-phone", full_page=False)
    page.locator("li.card .why summary").first.click()
    shot(page, screenshots, "17-home-phone-why", full_page=False)
    assert errors == []
