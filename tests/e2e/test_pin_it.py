"""Pin It in a real Chromium with its default cookie settings (third-party cookies blocked): the Save
button on a demo shop opens the popup on the platform's origin, the person signs in inside it, picks
a board and saves; the Pin shows the platform's copy of the picture, and neither the popup nor the Pin
page ever loads anything from the shop's host."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tastegraph.catalog import accounts, content
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, World, shot, watch

pytestmark = pytest.mark.e2e

EMAIL = "pia@example.com"
PASSWORD = "a long enough password"


@pytest.fixture
def default_browser(playwright_instance: Any, tmp_path: Path) -> Iterator[Any]:
    """A persistent profile left as Chromium sets it up: third-party cookies blocked."""
    context = playwright_instance.chromium.launch_persistent_context(
        str(tmp_path / "profile"),
        executable_path=str(CHROMIUM),
        args=CHROMIUM_ARGS,
        headless=True,
        viewport={"width": 1280, "height": 900},
    )
    try:
        yield context
    finally:
        context.close()


def test_save_from_a_demo_shop(default_browser: Any, world: World, screenshots: Path) -> None:
    system = world.system
    with system.write() as conn:
        now = system.clock.now()
        user_id = accounts.create_user(conn, EMAIL, PASSWORD, now, "Pia")
        system.consent.initialize(conn, user_id, now)
        camping = content.create_board(conn, user_id, "Camping trips", now)
        content.create_board(conn, user_id, "Kitchen", now)

    shop = default_browser.new_page()
    errors: list[str] = []
    watch(shop, errors)
    shop.goto(world.sites + "/trailpeak-gear/stoves/pocket-stove")
    shop.wait_for_selector(".tastegraph-save-button")
    with default_browser.expect_page() as opened:
        shop.click(".tastegraph-save-button")
    popup = opened.value
    watch(popup, errors)
    loaded: list[str] = []
    popup.on("request", lambda req: loaded.append(req.url))
    popup.wait_for_load_state()
    assert popup.url.startswith(world.platform + "/save?")
    assert "media=" in popup.url  # the picture the page chose (data-pin-media)
    popup.set_viewport_size({"width": 560, "height": 720})
    shot(popup, screenshots, "pinit-01-popup-signed-out", full_page=False)

    popup.fill("#email", EMAIL)
    popup.fill("#password", PASSWORD)
    popup.click("#pinit-signin button[type=submit]")
    popup.wait_for_selector(".pinit-image")
    src = popup.get_attribute(".pinit-image", "src")
    assert src is not None and re.fullmatch(r"/media/[0-9a-f]{64}\.(jpg|png)", src)
    assert popup.eval_on_selector(".pinit-image", "img => img.complete && img.naturalWidth") == 600
    assert popup.input_value("#title") == "Pocket canister stove"
    shot(popup, screenshots, "pinit-02-popup-pick-board", full_page=False)

    popup.select_option("#board_id", str(camping))
    popup.fill("#title", "Pocket stove for the lake")
    popup.click(".pinit-form button[type=submit]")
    popup.wait_for_selector("text=Saved to Camping trips")
    shot(popup, screenshots, "pinit-03-popup-saved", full_page=False)
    pin_href = popup.get_attribute("a:has-text('See the Pin')", "href")
    assert pin_href is not None
    pin_id = int(pin_href.rsplit("/", 1)[1])

    with system.read() as conn:
        pin = content.get_pin(conn, pin_id)
        on_board = [b for b in content.boards_of(conn, user_id) if b["id"] == camping]
    assert pin["title"] == "Pocket stove for the lake" and pin["image_url"] == src
    assert pin["link"] == "https://trailpeak-gear.com/stoves/pocket-stove"
    assert on_board[0]["pin_count"] == 1

    page = default_browser.new_page()
    watch(page, errors)
    page_loads: list[str] = []
    page.on("request", lambda req: page_loads.append(req.url))
    page.goto(world.platform + pin_href)
    image = page.locator(f"img[src='{src}']").first
    image.wait_for()
    assert image.evaluate("img => img.complete && img.naturalWidth") == 600
    shot(page, screenshots, "pinit-04-pin-page")
    # Nothing the platform showed came from the shop's host.
    assert not [u for u in loaded + page_loads if u.startswith(world.sites)], loaded + page_loads
    assert errors == []


def test_the_popup_gets_the_pages_og_image_or_a_chosen_picture(default_browser: Any, world: World) -> None:
    """The recipe page names no data-pin-media: its og:image goes to the popup. Without either, the
    person picks among the page's large pictures in a chooser drawn on the page itself."""
    page = default_browser.new_page()
    page.goto(world.sites + "/simmerandsage/recipes/ginger-miso-noodles")
    og = page.get_attribute('meta[property="og:image"]', "content")
    assert og is not None and og.startswith(world.sites + "/assets/img/cooking/")
    page.wait_for_selector(".tastegraph-save-button")
    with default_browser.expect_page() as opened:
        page.click(".tastegraph-save-button")
    popup = opened.value
    popup.wait_for_load_state()
    assert parse_qs(urlsplit(popup.url).query)["media"] == [og]
    assert popup.locator("#pinit-signin").count() == 1  # signed out: sign in first, nothing fetched
    popup.close()

    # A page that names no picture and shows two large ones: the chooser, then the popup.
    page.evaluate(
        """() => {
            document.querySelector('meta[property="og:image"]').remove();
            const extra = new Image(); extra.src = '/assets/img/cooking/9.png'; extra.alt = 'Another dish';
            document.querySelector('figure').appendChild(extra);
            return new Promise(done => extra.complete ? done() : (extra.onload = done));
        }"""
    )
    page.click(".tastegraph-save-button")
    page.wait_for_selector(".tastegraph-chooser .tastegraph-choice")
    assert page.locator(".tastegraph-choice").count() == 2
    with default_browser.expect_page() as opened:
        page.click(".tastegraph-choice[aria-label='Save this picture: Another dish']")
    popup = opened.value
    popup.wait_for_load_state()
    assert parse_qs(urlsplit(popup.url).query)["media"] == [world.sites + "/assets/img/cooking/9.png"]
    assert page.locator(".tastegraph-chooser").count() == 0
