"""Browser measurement mode in a real Chromium: a Promoted Pin's third-party URLs are called by the page
after the platform counted its impression, engagement and click, once each, without cookies or a
referrer (what the third party does see is the browser's own address and user agent: docs/privacy.md)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import World, shot, sign_up_and_in, watch
from tests.e2e.test_promoted_card_browser import default_browser  # noqa: F401
from tests.integration.ads_support import ad_account
from tests.integration.pixel_receiver import Receiver
from tests.integration.test_promoted_pins_objects import BASE, make_campaign, make_pin

pytestmark = pytest.mark.e2e


@pytest.fixture
def browser_mode(world: World) -> Iterator[Receiver]:
    receiver = Receiver().start()
    settings = world.system.settings
    before = (settings.measurement_pixels, settings.measurement_insecure_hosts)
    settings.measurement_pixels = "browser"
    settings.measurement_insecure_hosts = receiver.host
    try:
        yield receiver
    finally:
        settings.measurement_pixels, settings.measurement_insecure_hosts = before
        receiver.stop()


def _wait_for(check: Any, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "not called in time"
        time.sleep(0.1)


def test_the_page_calls_the_ads_urls_after_each_counted_event_without_cookies_or_referrer(
    default_browser: Any,  # noqa: F811
    world: World,
    browser_mode: Receiver,
    screenshots: Any,
) -> None:
    receiver = browser_mode
    acct = ad_account(world.system, "Beamwise", website="beamwise.example")
    urls = {
        "impression": [receiver.url("/imp?ad={ad_id}&cb={cachebuster}")],
        "click": [receiver.url("/clk?ad={ad_id}")],
        "engagement": [receiver.url("/eng?ad={ad_id}&cb={cachebuster}")],
    }
    with httpx.Client(base_url=world.platform) as api:
        pin = make_pin(api, acct, title="Beamwise headlamp", topics=[], link="https://beamwise.example/h")  # type: ignore[arg-type]
        campaign = make_campaign(api, acct)  # type: ignore[arg-type]
        group = api.post(
            f"{BASE}/{acct.id}/ad_groups",
            headers=acct.auth,
            json={
                "campaign_id": campaign["id"],
                "name": "Headlamp searches",
                "billable_event": "impression",
                "bid_in_micro": 40_000_000,  # outbids any other ad on the word
                "budget_in_micro": 500_000_000,
                "budget_type": "daily",
                "pacing_delivery_type": "accelerated",
                "placement": "search",
                "targeting_spec": {"keywords": ["tent"]},
            },
        )
        assert group.status_code == 201, group.text
        body = {"ad_group_id": group.json()["id"], "pin_id": pin["id"], "tracking_urls": urls}
        made = api.post(f"{BASE}/{acct.id}/ads", headers=acct.auth, json=body)
        assert made.status_code == 201, made.text
        ad_id = made.json()["id"]
    ours = f"li.card-promoted[data-pin-id='{pin['id']}']"
    _wait_until_served(world, pin["id"])
    try:
        page = default_browser.new_page()
        errors: list[str] = []
        watch(page, errors)
        sign_up_and_in(page, world, "pixels@example.com", "a long enough password", "Pia")
        page.goto(world.platform + "/search?q=tent")
        card = page.locator(ours)
        assert card.get_attribute("data-ad-pixels")
        _wait_for(lambda: any(h.path.startswith("/imp") for h in receiver.hits))
        shot(page, screenshots, "measurement-pixels-browser-01-search", full_page=False)
        assert errors == []

        card.locator("[data-ad-closeup]").click()
        _wait_for(lambda: any(h.path.startswith("/eng") for h in receiver.hits))
        page.goto(world.platform + "/search?q=tent")
        page.locator(ours + " a.card-title").click()
        _wait_for(lambda: any(h.path.startswith("/clk") for h in receiver.hits))
        time.sleep(0.5)

        paths = [h.path.split("?")[0] for h in receiver.hits]
        # The second visit to the search page is a new serving (a new token): its impression counts too.
        assert paths.count("/clk") == 1 and paths.count("/eng") == 1 and 1 <= paths.count("/imp") <= 2
        assert all(f"ad={ad_id}" in h.path for h in receiver.hits)
        for hit in receiver.hits:
            assert "cookie" not in hit.headers, hit.headers
            assert "referer" not in hit.headers, hit.headers
    finally:
        _stop_serving(world, acct, group.json()["id"], pin["id"])


def _wait_until_served(world: World, pin_id: int) -> None:
    """The serving index reloads every few seconds: wait until a search shows the new ad."""
    with httpx.Client(base_url=world.platform) as api:
        deadline = time.monotonic() + 30
        while f'data-pin-id="{pin_id}"' not in api.get("/search", params={"q": "tent"}).text:
            assert time.monotonic() < deadline, "the new ad is not served"
            time.sleep(1)


def _stop_serving(world: World, acct: Any, group_id: int, pin_id: int) -> None:
    """Pause the ad group, and wait until searches no longer show it (the serving index reloads every
    few seconds): the other browser tests share this world and its searches for "tent"."""
    with httpx.Client(base_url=world.platform) as api:
        r = api.patch(f"{BASE}/{acct.id}/ad_groups/{group_id}", headers=acct.auth, json={"status": "paused"})
        assert r.status_code == 200, r.text
        deadline = time.monotonic() + 30
        while f'data-pin-id="{pin_id}"' in api.get("/search", params={"q": "tent"}).text:
            assert time.monotonic() < deadline, "the paused ad still serves"
            time.sleep(1)
