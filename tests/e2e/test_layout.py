"""Pages that work on a phone and on a desktop: every page at 390 px and 1280 px wide, in Chromium with
its default cookie settings, with a screenshot each (screenshots/layout-<width>-<page>.png) and checks
that nothing overflows sideways and every header control is on screen, uncovered and usable.

The header must also hold what the other features add (a search form and five or six links): the
capacity test fills it that way and checks again. (At 1280 px six long links, the search box and a
name take one row and a bit: the account then wraps to a second row, right-aligned.)"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, World, shot, watch

pytestmark = pytest.mark.e2e

WIDTHS = {390: 844, 1280: 900}
PASSWORD = "a long enough password"

# Returns the problems found on the page as sentences (empty: the layout holds).
LAYOUT_PROBLEMS = """() => {
  const problems = [];
  const width = window.innerWidth;
  const doc = document.documentElement;
  if (doc.scrollWidth > width) problems.push(`page is ${doc.scrollWidth}px wide in a ${width}px window`);
  const header = document.querySelector("header.topbar");
  const controls = [...header.querySelectorAll("a, button, input:not([type=hidden]), select, summary")];
  const boxes = [];
  for (const el of controls) {
    const r = el.getBoundingClientRect();
    const name = (el.textContent || el.getAttribute("aria-label") || el.name || el.tagName).trim();
    if (r.width < 1 || r.height < 1 || getComputedStyle(el).visibility === "hidden") {
      problems.push(`header control "${name}" is hidden`);
      continue;
    }
    if (r.left < 0 || r.right > width + 0.5) problems.push(`header control "${name}" is off screen`);
    if (r.height < 24) problems.push(`header control "${name}" is ${r.height}px tall: too small to tap`);
    const x = Math.min(Math.max(r.left + r.width / 2, 0), width - 1);
    const y = r.top + r.height / 2;
    const hit = document.elementFromPoint(x, y);
    if (hit !== null && hit !== el && !el.contains(hit) && !hit.contains(el)) {
      problems.push(`header control "${name}" is covered by ${hit.tagName}.${hit.className}`);
    }
    boxes.push([name, r]);
  }
  for (let i = 0; i < boxes.length; i++) {
    for (let j = i + 1; j < boxes.length; j++) {
      const [a, p] = boxes[i], [b, q] = boxes[j];
      const overlap = Math.min(p.right, q.right) - Math.max(p.left, q.left) > 1
        && Math.min(p.bottom, q.bottom) - Math.max(p.top, q.top) > 1;
      if (overlap) problems.push(`header controls "${a}" and "${b}" overlap`);
    }
  }
  return problems;
}"""

# What the other features put in the header, where they have not yet: a search form in the marked slot,
# and links up to six.
FILL_HEADER = """() => {
  const nav = document.querySelector("header.topbar .nav");
  if (!nav.querySelector("form[role=search]")) {
    const slot = [...nav.childNodes].find(n => n.nodeType === Node.COMMENT_NODE && n.data.includes("search"));
    const form = document.createElement("form");
    form.className = "nav-search";
    form.setAttribute("role", "search");
    form.innerHTML = '<label class="visually-hidden" for="q">Search</label>' +
      '<input id="q" name="q" type="search" placeholder="Search ideas">';
    nav.insertBefore(form, slot ? slot.nextSibling : nav.querySelector(".nav-account"));
  }
  const links = nav.querySelector(".nav-links");
  const have = [...links.querySelectorAll("a")].map(a => a.textContent.trim());
  const names = ["Your boards", "Your profile", "Tune your feed", "Saved searches", "Following"]
    .filter(name => !have.includes(name));
  for (let i = 0; links.querySelectorAll("a").length < 6; i++) {
    const li = document.createElement("li");
    li.innerHTML = `<a href="/">${names[i]}</a>`;
    links.insertBefore(li, links.children[1]);
  }
}"""


@pytest.fixture
def default_browser(playwright_instance: Any, tmp_path: Path) -> Iterator[Any]:
    """Chromium as installed: its default cookie settings (third-party cookies blocked)."""
    context = playwright_instance.chromium.launch_persistent_context(
        str(tmp_path / "profile"), executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
    )
    try:
        yield context
    finally:
        context.close()


def check(page: Any, screenshots: Path, width: int, name: str) -> None:
    page.wait_for_load_state("load")
    shot(page, screenshots, f"layout-{width}-{name}")
    problems = page.evaluate(LAYOUT_PROBLEMS)
    assert problems == [], f"{name} at {width}px: {problems}"


@pytest.mark.parametrize("width", list(WIDTHS))
def test_every_page_fits_the_screen(
    default_browser: Any, world: World, screenshots: Path, width: int
) -> None:
    page = default_browser.new_page()
    page.set_default_timeout(90_000)  # full-page shots wait for every lazy image on a busy machine
    page.set_viewport_size({"width": width, "height": WIDTHS[width]})
    errors: list[str] = []
    watch(page, errors)
    base = world.platform

    page.goto(base + "/")
    check(page, screenshots, width, "home-signed-out")
    home_link = page.locator("header .nav-links a", has_text="Home")
    assert home_link.is_visible(), "Home is in the header at every width"
    page.goto(base + "/privacy")
    check(page, screenshots, width, "privacy-signed-out")
    page.goto(base + "/signup")
    check(page, screenshots, width, "signup")
    page.fill("#email", f"layout{width}@example.com")
    page.fill("#display_name", "Alexandria Quinn-Montgomery")  # a long name must not push the header out
    page.fill("#password", PASSWORD)
    page.click("form.form button[type=submit]")
    page.wait_for_url(re.compile(r".*/\?notice=welcome$"))
    check(page, screenshots, width, "home-signed-in")
    # The header's links are reachable by keyboard, in order, from the skip link on.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent.trim()") == "Home"
    page.keyboard.press("Enter")
    page.wait_for_url(base + "/")

    page.locator("li.card a.card-title").first.click()
    page.wait_for_url(re.compile(r".*/pins/\d+$"))
    check(page, screenshots, width, "pin")
    page.goto(base + "/settings")
    check(page, screenshots, width, "privacy-center")
    page.goto(base + "/advertisers")
    page.fill("#adv-name", "Trailpeak Outdoor Gear and Camping Supplies")
    page.fill("#adv-site", "trailpeak-gear.com")
    page.click("text=Create advertiser and first token")
    page.wait_for_selector("code.token")
    check(page, screenshots, width, "advertisers")
    page.goto(base + "/no/such/page")
    check(page, screenshots, width, "not-found")
    assert errors == ["Failed to load resource: the server responded with a status of 404 (Not Found)"]
    errors.clear()

    page.goto(base + "/")
    page.click("text=Sign out")
    page.wait_for_url(re.compile(r".*/\?notice=signed_out$"))
    page.goto(base + "/signin")
    check(page, screenshots, width, "signin")
    assert errors == []


@pytest.mark.parametrize("width", list(WIDTHS))
def test_header_holds_a_search_form_and_six_links(
    default_browser: Any, world: World, screenshots: Path, width: int
) -> None:
    page = default_browser.new_page()
    page.set_default_timeout(90_000)  # full-page shots wait for every lazy image on a busy machine
    page.set_viewport_size({"width": width, "height": WIDTHS[width]})
    page.goto(world.platform + "/signup")
    page.fill("#email", f"header{width}@example.com")
    page.fill("#display_name", "Sam")
    page.fill("#password", PASSWORD)
    page.click("form.form button[type=submit]")
    page.wait_for_url(re.compile(r".*/\?notice=welcome$"))
    page.evaluate(FILL_HEADER)
    assert page.locator("header .nav-links a").count() == 6
    check(page, screenshots, width, "header-full")
    search = page.locator("header form[role=search] input:not([type=hidden])").first
    box = search.bounding_box()
    # Room for "Search ideas" and a few words at 1280 px with six long links beside it.
    assert box is not None and box["width"] >= 140, f"the search box is usable: {box}"
    # A link past the search box still works.
    page.locator("header .nav-links a", has_text="Privacy center").click()
    page.wait_for_url(world.platform + "/settings")
