"""Saving and boards in a real Chromium with its default cookie settings (third-party cookies blocked):
signed out, Save leads to sign-in; signed in, save a Pin from the feed to a board created in place, see
"Saved to", open the board, unsave, then follow another person's board and profile."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from tastegraph.catalog.tables import board_pins, boards, users
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, World, shot, sign_up_and_in, watch

pytestmark = pytest.mark.e2e


@pytest.fixture
def default_browser(playwright_instance: Any, tmp_path: Path) -> Iterator[Any]:
    """A persistent profile with Chromium's own defaults (no cookie preferences written)."""
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


def _someone_elses_board(world: World) -> tuple[int, int, str]:
    """(board, owner, owner's name) of a demo person's public board with Pins on it."""
    with world.system.read() as conn:
        row = conn.execute(
            select(boards.c.id, boards.c.owner_id, users.c.display_name)
            .join(users, users.c.id == boards.c.owner_id)
            .join(board_pins, board_pins.c.board_id == boards.c.id)
            .where(boards.c.secret.is_(False))
            .group_by(boards.c.id, boards.c.owner_id, users.c.display_name)
            .having(func.count() >= 3)
            .order_by(boards.c.id)
            .limit(1)
        ).one()
    return int(row[0]), int(row[1]), str(row[2])


def test_save_to_a_new_board_unsave_and_follow(default_browser: Any, world: World, screenshots: Path) -> None:
    page = default_browser.new_page()
    errors: list[str] = []
    watch(page, errors)

    # Signed out: a card's Save leads to sign-in.
    page.goto(world.platform + "/")
    save_link = page.locator("li.card a.btn-save").first
    assert save_link.get_attribute("href") == "/signin?next=/"

    sign_up_and_in(page, world, "pat@example.com", "a long enough password", "Pat")
    page.goto(world.platform + "/")
    card = page.locator("li.card").first
    pin_id = card.get_attribute("data-pin-id")
    title = card.locator(".card-title").inner_text()
    card.locator(".save-picker summary").click()
    card.locator("input[name=new_board]").fill("Weekend hikes")
    shot(page, screenshots, "20-save-picker", full_page=False)
    card.locator(".save-new button[type=submit]").click()
    saved = card.locator(".saved-to")
    saved.wait_for()
    assert saved.inner_text() == "Saved to Weekend hikes"
    assert page.url.rstrip("/") == world.platform  # saved in place, no reload
    shot(page, screenshots, "21-saved-in-feed", full_page=False)

    # The board page: the Pin is there; the owner can edit it.
    saved.locator("a").click()
    page.wait_for_url(re.compile(r".*/boards/\d+$"))
    board_url = page.url
    assert page.locator("h1").inner_text() == "Weekend hikes"
    on_board = page.locator(f"li.card[data-pin-id='{pin_id}']")
    assert on_board.locator(".card-title").inner_text() == title
    assert on_board.locator(".saved-to").inner_text() == "Saved to Weekend hikes"
    assert page.locator(".board-edit").count() == 1
    shot(page, screenshots, "22-board-page")

    # The Pin's page: saved there too, with related Pins and their reasons, each with a Save button.
    on_board.locator(".card-title").click()
    page.wait_for_url(re.compile(rf".*/pins/{pin_id}$"))
    assert page.locator(".pin-info .saved-to").inner_text() == "Saved to Weekend hikes"
    related = page.locator(".related li.card")
    assert related.count() >= 1
    assert related.first.locator(".btn-save").count() == 1
    shot(page, screenshots, "26-pin-page-related")
    page.goto(board_url)
    on_board = page.locator(f"li.card[data-pin-id='{pin_id}']")

    # Unsave from the board page: the button goes back to Save; after a reload the board is empty.
    on_board.locator(".btn-unsave").click()
    on_board.locator(".btn-save").wait_for()
    page.goto(board_url)
    assert page.locator("li.card").count() == 0
    assert "No Pins yet" in page.locator(".empty").inner_text()

    # Someone else's board: follow it.
    board_id, owner_id, owner_name = _someone_elses_board(world)
    page.goto(f"{world.platform}/boards/{board_id}")
    followers = page.locator("[data-followers]").inner_text()
    page.locator("[data-follow-board]").click()
    page.wait_for_url(re.compile(rf".*/boards/{board_id}$"))
    assert page.locator("[data-follow-board]").inner_text() == "Following"
    assert int(page.locator("[data-followers]").inner_text().split()[0]) == int(followers.split()[0]) + 1
    assert page.locator(".board-edit").count() == 0
    shot(page, screenshots, "23-someone-elses-board")

    # Their profile: follow them.
    page.locator(".board-owner").click()
    page.wait_for_url(re.compile(rf".*/users/{owner_id}$"))
    assert page.locator("h1").inner_text() == owner_name
    followers = page.locator("[data-count=followers] strong").inner_text()
    page.locator("[data-follow-user]").click()
    page.wait_for_url(re.compile(rf".*/users/{owner_id}$"))
    assert page.locator("[data-follow-user]").inner_text() == "Following"
    assert int(page.locator("[data-count=followers] strong").inner_text()) == int(followers) + 1
    assert page.locator(".board-card").count() >= 1
    shot(page, screenshots, "24-profile-page")

    # My own profile lists the new board.
    page.locator("a", has_text="Your boards").click()
    assert "Weekend hikes" in page.locator(".board-grid").inner_text()
    shot(page, screenshots, "25-my-profile")
    assert errors == []
