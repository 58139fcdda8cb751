"""Real-browser fixtures: the platform and the demo third-party sites served by uvicorn on free ports,
and Debian's chromium driven by Playwright (never a downloaded browser).

Skipped unless TASTEGRAPH_TEST_BROWSER=1 and /usr/bin/chromium exists.
"""

from __future__ import annotations

import json
import os
import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tastegraph.bootstrap import System, build
from tastegraph.config import Settings
from tastegraph.db import make_engine, upgrade

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "screenshots"
WORLD_SEED = 7

# Never let Playwright fetch a browser of its own.
os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")


def browser_tests_enabled() -> bool:
    return os.environ.get("TASTEGRAPH_TEST_BROWSER") == "1" and CHROMIUM.exists()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if browser_tests_enabled():
        return
    skip = pytest.mark.skip(reason="browser tests need TASTEGRAPH_TEST_BROWSER=1 and /usr/bin/chromium")
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(skip)


@dataclass
class LiveServer:
    url: str
    thread: threading.Thread
    server: Any

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def _serve(app: Any) -> LiveServer:
    """Serve an ASGI app with uvicorn on a free port of 127.0.0.1, in a background thread."""
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    return LiveServer(f"http://127.0.0.1:{port}", thread, server)


def _load_demo_world(system: System) -> None:
    """A small seeded demo world; falls back to a handful of Pins if the demo package is unavailable."""
    now = system.clock.now()
    try:
        from tastegraph.demo import WorldSize, load_world
    except ImportError:  # pragma: no cover - only while the demo package is being written
        load_world = None  # type: ignore[assignment]
    from tastegraph.catalog import content
    from tastegraph.demo import ensure_demo_advertiser

    with system.write() as conn:
        if load_world is not None:
            load_world(conn, WORLD_SEED, now, WorldSize(pins=600, users=60))
        ensure_demo_advertiser(conn, now)  # the shop on the demo sites carries its tag
        outdoors = content.ensure_topic(conn, "outdoors", "Outdoors")
        cooking = content.ensure_topic(conn, "cooking", "Cooking")
        # Make sure both demo sites have Pins of their own, whatever the seed drew.
        for domain, topic, slug, titles in (
            ("trailpeak-gear.com", outdoors, "outdoors", ["Ultralight two-person tent", "Pocket camp stove"]),
            ("simmerandsage.com", cooking, "cooking", ["One-pan lemon orzo", "Braised white beans"]),
        ):
            for i, title in enumerate(titles):
                content.create_pin(
                    conn,
                    title=title,
                    link_url=f"https://{domain}/e2e-{i}",
                    image_url=f"/static/demo-img/{slug}/{i + 5}.svg",
                    now=now,
                    topic_ids=[topic],
                )


@dataclass
class World:
    platform: str
    sites: str  # the demo sites, on http://localhost:PORT: another site than the platform
    system: System


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    from tastegraph.server import compose
    from tastegraph.web.demo_sites import create_demo_sites_app

    db = tmp_path_factory.mktemp("e2e") / "tastegraph.db"
    url = f"sqlite:///{db}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    # The platform's origin is only known once its port is; Settings reads it per request.
    settings = Settings(
        database_url=url,
        env="test",
        test_clock=True,  # as TASTEGRAPH_TEST_CLOCK=1
        ikea_dir=None,
        rate_limit_enabled=False,
        media_dir=tmp_path_factory.mktemp("media"),  # Pin It's image copies
    )
    system = build(settings)
    _load_demo_world(system)
    platform = _serve(compose(system, run_sweeper=False))
    settings.public_origin = platform.url
    sites = _serve(create_demo_sites_app(platform.url))
    sites_url = sites.url.replace("127.0.0.1", "localhost")
    # Pin It: the platform may fetch pictures from the demo sites (on loopback), as in `make demo`.
    settings.media_fetch_allow_hosts = sites_url.split("//", 1)[1]
    try:
        yield World(platform.url, sites_url, system)
    finally:
        sites.stop()
        platform.stop()
        system.dispose()


# Module scope: Playwright's sync API keeps an event loop running on the main thread while it is open,
# which would break later tests that start their own loop (asyncio.run) if it lived for the session.
@pytest.fixture(scope="module")
def playwright_instance() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        yield p


def allow_third_party_cookies(profile: Path) -> None:
    """Chromium here blocks third-party cookies by default, even in a persistent (non-incognito) profile,
    and Playwright has no switch for it. For the one test about browsers that allow them, start the
    profile with "allow third-party cookies" (cookie_controls_mode 0)."""
    (profile / "Default").mkdir(parents=True, exist_ok=True)
    prefs = {"profile": {"cookie_controls_mode": 0}}
    (profile / "Default" / "Preferences").write_text(json.dumps(prefs))


def _persistent_context(playwright_instance: Any, profile: Path) -> Any:
    return playwright_instance.chromium.launch_persistent_context(
        str(profile),
        executable_path=str(CHROMIUM),
        args=CHROMIUM_ARGS,
        headless=True,
        viewport={"width": 1280, "height": 900},
    )


@pytest.fixture
def browser_context(playwright_instance: Any, tmp_path: Path) -> Iterator[Any]:
    """A persistent Chromium profile with the browser's default cookie settings: third-party cookies
    blocked, as in Chromium here (and Safari, Firefox's strict mode, private windows)."""
    context = _persistent_context(playwright_instance, tmp_path / "profile")
    try:
        yield context
    finally:
        context.close()


@pytest.fixture
def browser_context_third_party_cookies(playwright_instance: Any, tmp_path: Path) -> Iterator[Any]:
    """A persistent profile that allows third-party cookies (see `allow_third_party_cookies`): only for
    the tests about browsers set that way."""
    profile = tmp_path / "profile-3pc"
    allow_third_party_cookies(profile)
    context = _persistent_context(playwright_instance, profile)
    try:
        yield context
    finally:
        context.close()


def grant_storage_access(context: Any, page: Any, top_level_origin: str, embedded_origin: str) -> Any:
    """Grant the Storage Access API's permission for frames of `embedded_origin` inside pages of
    `top_level_origin`, as the person's "Allow" on Chromium's prompt would. Headless Chromium cannot
    answer the prompt, and Playwright's `grant_permissions(["storage-access"])` has no effect; the
    DevTools call `Browser.setPermission` with `origin` = the top-level site, `embeddedOrigin` = the
    frame's, and the context's `browserContextId` does (without the id it lands in another context).
    The grant lasts as long as the DevTools session that made it: the session is returned, keep it."""
    cdp = context.new_cdp_session(page)
    target = cdp.send("Target.getTargetInfo")["targetInfo"]
    cdp.send(
        "Browser.setPermission",
        {
            "permission": {"name": "storage-access"},
            "setting": "granted",
            "origin": top_level_origin,
            "embeddedOrigin": embedded_origin,
            "browserContextId": target["browserContextId"],
        },
    )
    return cdp


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(exist_ok=True)
    return SCREENSHOTS


# --- helpers for the browser tests -------------------------------------------------------------------


def shot(page: Any, folder: Path, name: str, full_page: bool = True) -> None:
    if full_page:  # let lazy images below the fold load, so the picture shows the whole page
        page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
        page.wait_for_load_state("networkidle")
        page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(folder / f"{name}.png"), full_page=full_page)


def watch(page: Any, errors: list[str]) -> None:
    """Collect script errors and console errors (CSP violations among them), except missing favicons."""
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    def console(msg: Any) -> None:
        if msg.type == "error" and "favicon" not in (msg.location or {}).get("url", ""):
            errors.append(msg.text)

    page.on("console", console)


def sign_up_and_in(
    page: Any, world: World, email: str, password: str, name: str, screenshots: Path | None = None
) -> None:
    """Sign up through the pages, sign out, and sign in again through the sign-in page (the browser
    tests' one way of signing someone in); with `screenshots`, pictures of the three pages."""
    page.goto(world.platform + "/signup")
    if screenshots is not None:
        shot(page, screenshots, "01-signup")
    page.fill("#email", email)
    page.fill("#display_name", name)
    page.fill("#password", password)
    page.click("form.form button[type=submit]")
    page.wait_for_url(re.compile(r".*/\?notice=welcome$"))
    assert page.locator(".notice").inner_text().startswith("Welcome to Tastegraph!")
    if screenshots is not None:
        shot(page, screenshots, "02-home-after-signup")

    page.click("text=Sign out")
    page.wait_for_url(re.compile(r".*/\?notice=signed_out$"))
    page.click("a.btn:has-text('Sign in')")
    page.wait_for_url(re.compile(r".*/signin$"))
    page.fill("#email", email)
    page.fill("#password", password)
    if screenshots is not None:
        shot(page, screenshots, "03-signin")
    page.click("form.form button[type=submit]")
    page.wait_for_url(re.compile(r".*/\?notice=signed_in$"))
    assert name in page.locator(".nav-account").inner_text()
