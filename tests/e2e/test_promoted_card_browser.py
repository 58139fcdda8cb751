"""A Promoted Pin in a real Chromium (default cookie settings): searching for its keyword shows it
labelled, its impression is counted once it has been in view for a second, and saving it to a board made
in place and opening it up close are each counted once as engagement with the ad."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, World, shot, sign_up_and_in, watch
from tests.integration.ads_support import ad_account
from tests.integration.test_promoted_pins_objects import BASE, make_campaign, make_pin

pytestmark = pytest.mark.e2e


@pytest.fixture
def default_browser(playwright_instance: Any, tmp_path: Path) -> Iterator[Any]:
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


def _keyword_ad(world: World) -> int:
    """An accelerated CPM ad shown only in searches for "tent" (its own Pin does not match the word: an ad
    never repeats an organic result); its ad id."""
    acct = ad_account(world.system, "Glowtrail", website="glowtrail.example")
    with httpx.Client(base_url=world.platform) as api:
        pin = make_pin(api, acct, title="Glowtrail lantern", topics=[], link="https://glowtrail.example/l")  # type: ignore[arg-type]
        campaign = make_campaign(api, acct)  # type: ignore[arg-type]
        group = api.post(
            f"{BASE}/{acct.id}/ad_groups",
            headers=acct.auth,
            json={
                "campaign_id": campaign["id"],
                "name": "Lantern searches",
                "billable_event": "impression",
                "bid_in_micro": 5_000_000,
                "budget_in_micro": 50_000_000,
                "budget_type": "daily",
                "pacing_delivery_type": "accelerated",
                "placement": "search",
                "targeting_spec": {"keywords": ["tent"]},
            },
        )
        assert group.status_code == 201, group.text
        ad = api.post(
            f"{BASE}/{acct.id}/ads",
            headers=acct.auth,
            json={"ad_group_id": group.json()["id"], "pin_id": pin["id"]},
        )
        assert ad.status_code == 201, ad.text
        return int(ad.json()["id"])


def _counted(world: World, table: str, ad_id: int) -> list[Any]:
    with world.system.read() as conn:
        return list(conn.execute(text(f"SELECT * FROM {table} WHERE ad_id = :a"), {"a": ad_id}))


def _wait_for(check: Any, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "not counted in time"
        time.sleep(0.1)


def test_a_promoted_pin_counts_its_impression_save_and_closeup(
    default_browser: Any, world: World, screenshots: Path
) -> None:
    ad_id = _keyword_ad(world)
    page = default_browser.new_page()
    errors: list[str] = []
    watch(page, errors)
    sign_up_and_in(page, world, "lantern@example.com", "a long enough password", "Lee")
    page.goto(world.platform + "/search?q=tent")
    card = page.locator("li.card-promoted").first
    assert "Promoted by Glowtrail" in card.inner_text()
    _wait_for(lambda: len(_counted(world, "ad_impressions", ad_id)) == 1)

    card.locator("summary.btn-save").click()
    card.locator("input[name=new_board]").fill("Night camping")
    card.get_by_role("button", name="Create and save").click()
    page.locator("li.card-promoted .saved-to").first.wait_for()
    _wait_for(lambda: [r.kind for r in _counted(world, "ad_engagements", ad_id)] == ["save"])
    shot(page, screenshots, "promoted-card-01-saved", full_page=False)

    page.locator("li.card-promoted [data-ad-closeup]").first.click()
    page.wait_for_url(re.compile(r".*/pins/\d+$"))
    _wait_for(lambda: sorted(r.kind for r in _counted(world, "ad_engagements", ad_id)) == ["closeup", "save"])
    assert len(_counted(world, "ad_impressions", ad_id)) == 1
    assert errors == []
