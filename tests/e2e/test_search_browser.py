"""Search by words in a real Chromium with its default cookie settings (third-party cookies blocked):
type in the header's search box on any page, see results with what matched and why; signed out too."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, World, shot, sign_up_and_in, watch

pytestmark = pytest.mark.e2e


@pytest.fixture
def default_browser(playwright_instance: Any, tmp_path: Path) -> Iterator[Any]:
    """A fresh persistent profile with Chromium's own defaults (no preference file written)."""
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


def _search_from_header(page: Any, words: str) -> None:
    box = page.locator("header form[role=search] input[name=q]")
    box.fill(words)
    box.press("Enter")
    page.wait_for_url(re.compile(r".*/search\?q=.*"))


def test_search_from_the_header(default_browser: Any, world: World, screenshots: Path) -> None:
    page = default_browser.new_page()
    errors: list[str] = []
    watch(page, errors)

    page.goto(world.platform + "/privacy")  # any page has the box
    _search_from_header(page, "ultralight ten")  # the last word still being typed
    titles = page.locator("li.card .card-title").all_inner_texts()
    assert "Ultralight two-person tent" in titles
    assert page.locator("header input[name=q]").input_value() == "ultralight ten"
    shot(page, screenshots, "search-01-signed-out")

    sign_up_and_in(page, world, "searcher@example.com", "a long enough password", "Sam")
    _search_from_header(page, "lemon orzo")
    card = page.locator("li.card", has_text="One-pan lemon orzo").first
    card.locator("details.why summary").click()
    why = card.locator(".why-list li").all_inner_texts()
    assert "Matches “lemon”, “orzo” in the title." in why
    assert page.locator("h1").inner_text() == "Results for “lemon orzo”"
    shot(page, screenshots, "search-02-results")

    _search_from_header(page, "qqzzxxnothing")
    assert "No Pins match" in page.locator("main").inner_text()

    page.set_viewport_size({"width": 390, "height": 844})
    _search_from_header(page, "tent")
    assert page.locator("li.card").count() >= 1
    shot(page, screenshots, "search-03-phone", full_page=False)
    assert errors == []
