"""Feed controls in a real Chromium with its default cookie settings (third-party cookies blocked; this
flow is first-party only): hide a card with a reason and undo it, then tune the feed (remove a topic and
a site) and see the feed change."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tastegraph.collect import VisitIn, visits
from tastegraph.consent import RequestSignals
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, World, shot, sign_up_and_in, watch

EMAIL = "tuner@example.com"
PASSWORD = "a long enough password"


@pytest.fixture
def default_context(playwright_instance: Any, tmp_path: Path) -> Any:
    """A fresh persistent profile with Chromium's own defaults (no preference file written)."""
    context = playwright_instance.chromium.launch_persistent_context(
        str(tmp_path / "profile"),
        executable_path=str(CHROMIUM),
        args=CHROMIUM_ARGS,
        headless=True,
        viewport={"width": 1280, "height": 900},
    )
    yield context
    context.close()


def _visits_of_me(page: Any, world: World, urls: list[str]) -> None:
    """Visits tied to the signed-in person, stored directly: how they get tied in a browser that blocks
    third-party cookies is the off-site loop's business (tests/e2e/test_browser.py), not this test's."""
    me = page.evaluate("async () => (await (await fetch('/v1/me')).json()).id")
    system = world.system
    with system.write() as conn:
        outcomes = visits.record_visits(
            conn,
            system.consent,
            int(me),
            None,
            RequestSignals(),
            [VisitIn(u) for u in urls],
            system.clock.now(),
        )
    assert all(o.stored for o in outcomes)


def _card_ids(page: Any) -> list[str]:
    ids: list[str] = page.eval_on_selector_all(
        ".grid .card:not([hidden])", "cards => cards.map(c => c.dataset.pinId)"
    )
    return ids


def _reasons_text(page: Any) -> str:
    text: str = page.eval_on_selector_all(
        ".grid .card:not([hidden]) .why-list", "lists => lists.map(l => l.textContent).join(' | ')"
    )
    return text


def test_hide_undo_and_tune_the_feed(default_context: Any, world: World, screenshots: Path) -> None:
    page = default_context.new_page()
    errors: list[str] = []
    watch(page, errors)
    sign_up_and_in(page, world, EMAIL, PASSWORD, "Tess")
    _visits_of_me(page, world, [f"https://trailpeak-gear.com/{p}" for p in ("tent", "stove", "trail-shoes")])
    page.goto(world.platform + "/")
    assert "trailpeak-gear.com" in _reasons_text(page)

    # Hide a card with a reason: it disappears at once; Undo brings it back.
    first = _card_ids(page)[0]
    card = page.locator(f'.grid .card[data-pin-id="{first}"]')
    card.locator("summary.hide-toggle").click()
    shot(page, screenshots, "feed-controls-01-hide-menu", full_page=False)
    card.locator("button.hide-reason[value=not_interested]").click()
    toast = page.locator(".hide-toast")
    toast.wait_for()
    assert "fewer ideas like it" in toast.inner_text()
    assert not card.is_visible()
    assert first not in _card_ids(page)
    shot(page, screenshots, "feed-controls-02-hidden-with-undo", full_page=False)
    toast.locator("button", has_text="Undo").click()
    page.locator(".hide-toast", has_text="It's back").wait_for()
    assert card.is_visible()
    page.reload()
    assert first in _card_ids(page)  # the undo reached the server, not only the page

    # A hide that stays: gone after a reload too.
    card.locator("summary.hide-toggle").click()
    card.locator("button.hide-reason[value=seen_it]").click()
    page.locator(".hide-toast").wait_for()
    page.reload()
    assert first not in _card_ids(page)
    before = _card_ids(page)

    # The tuner, from the header: the site with its visits and date, and its topic.
    page.click("nav a[href='/feed-tuner']")
    page.wait_for_url(re.compile(r".*/feed-tuner$"))
    site = page.locator('.tuner-item[data-domain="trailpeak-gear.com"]')
    assert "3 visits" in site.inner_text() and "UTC" in site.inner_text()
    topic = page.locator('.tuner-item[data-topic="outdoors"]')
    assert "trailpeak-gear.com" in topic.inner_text()
    shot(page, screenshots, "feed-controls-03-tuner")

    topic.locator("button", has_text="Remove").click()
    page.wait_for_url(re.compile(r".*/feed-tuner\?notice=topic_removed#topics$"))
    assert page.locator('.tuner-item[data-removed-topic="outdoors"]').is_visible()
    page.locator('.tuner-item[data-domain="trailpeak-gear.com"] button', has_text="Remove").click()
    page.wait_for_url(re.compile(r".*/feed-tuner\?notice=site_removed#sites$"))
    assert page.locator('.tuner-item[data-domain="trailpeak-gear.com"]').count() == 0
    assert "no longer shape your feed" in page.locator(".notice").inner_text()
    shot(page, screenshots, "feed-controls-04-tuner-after-removing")

    # The feed changed at once: nothing from the site's visits, and the topic no longer counts.
    page.goto(world.platform + "/")
    after = _card_ids(page)
    assert after != before
    reasons = _reasons_text(page)
    assert "trailpeak-gear.com" not in reasons and "Outdoors" not in reasons
    assert page.locator(".banner-tuned").is_visible()
    shot(page, screenshots, "feed-controls-05-feed-after-tuning")

    # On a Pin's own page: Hide (no reason), Undo.
    pin_id = after[0]
    page.goto(f"{world.platform}/pins/{pin_id}")
    page.locator(".pin summary.hide-toggle").click()
    shot(page, screenshots, "feed-controls-06-pin-page-hide", full_page=False)
    page.locator(".pin button.hide-reason", has_text="Just hide it").click()
    page.locator(".hide-toast").wait_for()
    assert "pin-hidden" in (page.locator("article.pin").get_attribute("class") or "")
    page.locator(".hide-toast button", has_text="Undo").click()
    page.locator(".hide-toast", has_text="It's back").wait_for()
    page.goto(world.platform + "/")
    assert pin_id in _card_ids(page)

    # The tuner on a phone.
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(world.platform + "/feed-tuner")
    shot(page, screenshots, "feed-controls-07-tuner-phone")
    assert errors == []
