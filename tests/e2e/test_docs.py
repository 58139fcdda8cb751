"""The API docs in a real browser: /docs (Swagger UI) and /redoc render the operations under the pages'
Content-Security-Policy, with no violation and no request to any other host."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.e2e.conftest import World, watch

pytestmark = pytest.mark.e2e


def _open(browser_context: Any, url: str) -> tuple[Any, list[str], list[str]]:
    """A page on `url`, with its errors and the address of every request it made."""
    page = browser_context.new_page()
    errors: list[str] = []
    requests: list[str] = []
    watch(page, errors)
    page.on("request", lambda r: requests.append(r.url))
    page.goto(url)
    return page, errors, requests


def _own_host_only(world: World, requests: list[str]) -> None:
    ours = urlsplit(world.platform).netloc
    others = [u for u in requests if urlsplit(u).scheme != "data" and urlsplit(u).netloc != ours]
    assert requests and not others, others


def test_swagger_ui_renders_under_the_csp(browser_context: Any, world: World, screenshots: Path) -> None:
    page, errors, requests = _open(browser_context, world.platform + "/docs")
    page.wait_for_selector(".opblock", timeout=20_000)
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(screenshots / "20-api-docs.png"))
    operations = page.locator(".opblock").count()
    assert operations > 20, operations
    assert page.locator(".opblock-summary-path", has_text="/v1/feed/home").count() == 1
    # Open one operation: its details render too (parameters, responses).
    page.locator(".opblock-summary", has_text="/v1/feed/home").first.click()
    page.wait_for_selector(".opblock.is-open .responses-wrapper")
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(screenshots / "21-api-docs-operation.png"))
    assert not errors, errors
    _own_host_only(world, requests)
    page.close()


def test_redoc_renders_under_the_csp(browser_context: Any, world: World, screenshots: Path) -> None:
    page, errors, requests = _open(browser_context, world.platform + "/redoc")
    page.wait_for_selector("[data-section-id^='tag/']", timeout=30_000)
    page.wait_for_load_state("networkidle")
    assert page.get_by_text("The home feed, every item with its reasons").count() >= 1
    page.screenshot(path=str(screenshots / "22-api-redoc.png"))
    assert not errors, errors
    _own_host_only(world, requests)
    page.close()
