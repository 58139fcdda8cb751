"""The advertiser's tag in a real browser: a person signed in on the platform views a product on the demo
shop (another site) and buys it; both events arrive, matched to them by the platform's browser cookie,
with the product data; the privacy center lists the shop; turning it off there takes them out of its
audience."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from tastegraph.ads import accounts, audiences
from tastegraph.ads.audiences import AudienceKind
from tastegraph.collect.tables import advertiser_events
from tastegraph.demo import DEMO_SHOP_TAG_ID
from tastegraph.identity import IdentifierKind, plain_hash
from tests.e2e.conftest import World, shot, sign_up_and_in, watch

pytestmark = pytest.mark.e2e

EMAIL = "sam.shopper@example.com"
PASSWORD = "another long password"


def _events_of(world: World, user_id: int) -> list[Any]:
    with world.system.read() as conn:
        account = accounts.account_for_tag(conn, DEMO_SHOP_TAG_ID)
        return list(
            conn.execute(
                select(advertiser_events)
                .where(advertiser_events.c.ad_account_id == account, advertiser_events.c.user_id == user_id)
                .order_by(advertiser_events.c.id)
            )
        )


def test_tag_reports_a_product_view_and_a_purchase(
    browser_context_third_party_cookies: Any, world: World, screenshots: Path
) -> None:
    # The tag matches the buyer by the platform's cookie, which travels only where third-party cookies
    # are allowed (the save button's frame does not serve the tag).
    page = browser_context_third_party_cookies.new_page()
    errors: list[str] = []
    watch(page, errors)
    sign_up_and_in(page, world, EMAIL, PASSWORD, "Sam")
    digest = plain_hash(IdentifierKind.EMAIL, EMAIL)
    with world.system.read() as conn:
        user_id = world.system.identity.match_hashes(conn, IdentifierKind.EMAIL, [digest])[digest]

    page.goto(world.sites + "/trailpeak-gear/tents/ultralight-2p")
    page.wait_for_load_state("networkidle")
    shot(page, screenshots, "20-shop-product-with-tag")
    page.click("a.buy")
    page.wait_for_url(re.compile(r".*/checkout/tents/ultralight-2p$"))
    page.wait_for_load_state("networkidle")
    shot(page, screenshots, "21-shop-order-confirmed")

    events = _events_of(world, user_id)
    names = [e.event_name for e in events]
    assert names == ["page_visit", "checkout"], names
    view, purchase = events
    assert view.matched_by == "cookie" and view.source == "tag"
    assert view.line_items[0]["product_id"] == "ultralight-2p"
    assert str(purchase.value).startswith("389") and purchase.currency == "USD"
    assert purchase.order_id.startswith("TP-") and purchase.event_id == purchase.order_id
    assert purchase.page_url.endswith("/trailpeak-gear/checkout/tents/ultralight-2p")

    # A visitor audience of buyers holds them; the privacy center names the shop; turning it off there
    # takes them out at once.
    with world.system.write() as conn:
        account = accounts.account_for_tag(conn, DEMO_SHOP_TAG_ID)
        assert account is not None
        spec = audiences.visitor_spec(["checkout"], 30)
        buyers = audiences.create(
            conn, world.system.consent, None, account, AudienceKind.VISITOR, "Buyers", spec,
            world.system.clock.now(),
        )  # fmt: skip
    with world.system.read() as conn:
        assert user_id in audiences.members(conn, buyers.id)
    page.goto(world.platform + "/settings#ads")
    row = page.locator(".advertiser", has_text="TrailPeak Gear")
    assert "2 events" in row.inner_text()
    shot(page, screenshots, "22-privacy-center-advertisers")
    row.locator("button:has-text('Turn off')").click()
    page.wait_for_url(re.compile(r".*/settings\?notice=settings_saved#ads$"))
    with world.system.read() as conn:
        assert user_id not in audiences.members(conn, buyers.id)
    assert "Turn back on" in page.locator(".advertiser", has_text="TrailPeak Gear").inner_text()
    shot(page, screenshots, "23-privacy-center-advertiser-off")
    assert not errors, errors
