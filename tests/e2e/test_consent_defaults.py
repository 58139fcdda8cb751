"""Consent defaults in a real Chromium with its default cookie settings, once per mode: the signed-out
choice page and feed banner, the sign-up page's two settings (unticked under opt_in, ticked under
opt_out), and the account starting with what the person ticked, as the privacy center and its consent
history show."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tastegraph.bootstrap import build
from tastegraph.config import Settings
from tastegraph.db import make_engine, upgrade
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, World, _load_demo_world, _serve, shot, watch

pytestmark = pytest.mark.e2e

PASSWORD = "a long enough password"


@pytest.fixture(scope="module")
def opt_in_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """The platform as deployed where consent law requires opt-in (TASTEGRAPH_CONSENT_DEFAULTS=opt_in)."""
    from tastegraph.server import compose

    url = f"sqlite:///{tmp_path_factory.mktemp('e2e-opt-in') / 'tastegraph.db'}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    settings = Settings(
        database_url=url,
        env="test",
        test_clock=True,
        ikea_dir=None,
        rate_limit_enabled=False,
        consent_defaults="opt_in",
    )
    system = build(settings)
    _load_demo_world(system)
    platform = _serve(compose(system, run_sweeper=False))
    settings.public_origin = platform.url
    try:
        yield World(platform.url, "", system)
    finally:
        platform.stop()
        system.dispose()


@pytest.fixture
def default_browser(playwright_instance: Any, tmp_path: Path) -> Iterator[Any]:
    """Chromium as installed: its default cookie settings (third-party cookies blocked)."""
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


def _choice_cookie(context: Any) -> str | None:
    values = {c["name"]: c["value"] for c in context.cookies()}
    return values.get("tg_optout_local", values.get("tg_optout"))


@pytest.mark.parametrize("mode", ["opt_out", "opt_in"])
def test_consent_defaults_in_the_browser(
    request: pytest.FixtureRequest, default_browser: Any, screenshots: Path, mode: str
) -> None:
    world: World = request.getfixturevalue("opt_in_world" if mode == "opt_in" else "world")
    opt_in = mode == "opt_in"
    page = default_browser.new_page()
    errors: list[str] = []
    watch(page, errors)
    base = world.platform

    # Signed out: the choice page and the feed say where this browser stands.
    page.goto(base + "/privacy")
    assert page.locator("#allow").is_checked() is (not opt_in)
    shot(page, screenshots, f"consent-{mode}-privacy-signed-out")
    page.goto(base + "/")
    banner = page.locator("aside.banner")
    if opt_in:
        assert "has not said yes" in banner.inner_text()
        # Saying yes on the choice page is remembered in the choice cookie ("0"), and the feed's note
        # no longer says the browser has not said yes.
        page.goto(base + "/privacy")
        page.click("label.toggle")
        page.wait_for_url(re.compile(r".*/privacy\?notice=browser_saved$"))
        assert page.locator("#allow").is_checked()
        assert _choice_cookie(default_browser) == "0"
        page.goto(base + "/")
        assert "has not said yes" not in page.locator("main").inner_text()
    else:
        assert _choice_cookie(default_browser) is None

    # Sign-up offers both settings, ticked only where the defaults are opt-out.
    page.goto(base + "/signup")
    personalization, advertiser = page.locator("#personalization"), page.locator("#ads_advertiser_data")
    assert personalization.is_checked() is (not opt_in)
    assert advertiser.is_checked() is (not opt_in)
    shot(page, screenshots, f"consent-{mode}-signup")
    page.fill("#email", f"consent-{mode}@example.com")
    page.fill("#display_name", "Noor")
    page.fill("#password", PASSWORD)
    if opt_in:
        page.check("#personalization")  # yes to personalization, advertisers' data stays off
    else:
        page.uncheck("#ads_advertiser_data")  # keep personalization, refuse advertisers' data
    page.click("form.form button[type=submit]")
    page.wait_for_url(re.compile(r".*/\?notice=welcome$"))

    settings = page.request.get(base + "/v1/me/settings").json()
    assert settings == {"personalization": True, "ads_advertiser_data": False}
    page.goto(base + "/settings")
    assert page.locator("#personalization").is_checked()
    assert not page.locator("#ads_advertiser_data").is_checked()
    history = page.locator("table.history-log").inner_text()
    assert history.count("Chosen when you signed up") == 2, history
    shot(page, screenshots, f"consent-{mode}-privacy-center")
    assert errors == []
