"""The server-rendered pages, their CSRF protection, the widget script and the generated images."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tastegraph.bootstrap import System
from tastegraph.catalog import content
from tastegraph.consent import OPT_OUT_COOKIE
from tastegraph.web.csrf import CSRF_COOKIE
from tests.helpers import csrf_token, mini_world, page_sign_up, sign_in, sign_up_in

# --- pages render ---------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/signup", "/signin", "/privacy", "/save?url=https://example.com/x"])
def test_pages_render_signed_out(client: TestClient, path: str) -> None:
    r = client.get(path)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert "<nav" in r.text and 'href="/static/app.css"' in r.text


def test_home_feed_shows_pins_with_reasons(client: TestClient, system: System) -> None:
    mini_world(system)
    r = client.get("/")
    assert r.status_code == 200
    assert r.text.count('class="card') >= 6
    assert "Why am I seeing this?" in r.text
    assert "Popular on Tastegraph right now." in r.text
    assert "trailpeak-gear.com" in r.text
    assert '<img src="/static/demo-img/' in r.text
    # A fresh browser: off-site data is not used, and the banner says so with the consent layer's words.
    assert "Sites you visit aren't shaping this feed." in r.text


def test_pin_page_and_friendly_404s(client: TestClient, system: System) -> None:
    world = mini_world(system)
    pin_id = world.pins_by_domain["simmerandsage.com"][0]
    r = client.get(f"/pins/{pin_id}")
    assert r.status_code == 200
    assert "simmerandsage.com" in r.text and "Why am I seeing this?" in r.text
    for path in ("/pins/999999", "/pins/not-a-number", "/no/such/page"):
        r = client.get(path)
        assert r.status_code == 404, path
        assert r.headers["content-type"].startswith("text/html")
        assert "We couldn" in r.text and 'href="/"' in r.text
    # The API keeps its JSON errors.
    r = client.get("/v1/pins/999999")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"


def test_settings_signed_out_redirects_to_sign_in(client: TestClient) -> None:
    r = client.get("/settings", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/signin?next=/settings"


# --- CSRF ------------------------------------------------------------------------------------------


def test_form_post_without_or_with_wrong_token_is_refused(client: TestClient) -> None:
    csrf_token(client, "/signup")  # sets the signed-out CSRF cookie
    data = {"email": "eve@example.com", "password": "long enough pw"}
    for extra in ({}, {"csrf_token": "0" * 64}, {"csrf_token": "not hex ✓"}):
        r = client.post("/signup", data={**data, **extra}, follow_redirects=False)
        assert r.status_code == 403, extra
        assert r.headers["content-type"].startswith("text/html")
        assert "That form had expired" in r.text
    # Nothing was created: signing in with those details fails.
    r = client.post("/v1/sessions", json={"email": "eve@example.com", "password": "long enough pw"})
    assert r.status_code == 401


def test_token_is_bound_to_the_browser(client: TestClient, system: System) -> None:
    token = csrf_token(client, "/signup")
    # Another browser (a different CSRF cookie) cannot use this token.
    client.cookies.set(CSRF_COOKIE, "f" * 32)
    r = client.post(
        "/signup",
        data={"email": "x@example.com", "password": "long enough", "csrf_token": token},
        follow_redirects=False,
    )
    assert r.status_code == 403


def test_signed_in_token_is_bound_to_the_session(client: TestClient) -> None:
    page_sign_up(client)
    token = csrf_token(client, "/settings")
    old_session = client.cookies.get("tg_session")
    client.post("/signout", data={"csrf_token": token}, follow_redirects=False)
    # A token from the ended session does not work with a new one.
    sign_in(client, "bea@example.com", "a good password")
    assert client.cookies.get("tg_session") != old_session
    r = client.post("/settings", data={"csrf_token": token}, follow_redirects=False)
    assert r.status_code == 403


# --- sign-up, sign-in, sign-out ----------------------------------------------------------------------


def test_sign_up_sign_out_sign_in_through_the_pages(client: TestClient) -> None:
    page_sign_up(client)
    r = client.get("/?notice=welcome")
    assert "Welcome to Tastegraph!" in r.text and "Bea" in r.text and "Sign out" in r.text

    token = csrf_token(client, "/")
    r = client.post("/signout", data={"csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/?notice=signed_out"
    assert "Sign in" in client.get("/").text
    assert client.get("/settings", follow_redirects=False).status_code == 303

    token = csrf_token(client, "/signin")
    r = client.post(
        "/signin",
        data={"email": "bea@example.com", "password": "wrong password", "csrf_token": token},
        follow_redirects=False,
    )
    assert r.status_code == 401
    assert "The email or password is not right." in r.text

    r = client.post(
        "/signin",
        data={
            "email": "BEA@example.com",
            "password": "a good password",
            "next": "/settings",
            "csrf_token": token,
        },
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/settings"
    assert client.get("/settings").status_code == 200


def test_sign_in_never_redirects_off_site(client: TestClient) -> None:
    sign_up_in(client)
    token = csrf_token(client, "/")
    client.post("/signout", data={"csrf_token": token})
    token = csrf_token(client, "/signin")
    r = client.post(
        "/signin",
        data={
            "email": "ann@example.com",
            "password": "correct horse",
            "next": "//evil.example/",
            "csrf_token": token,
        },
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"].startswith("/?")


def test_sign_up_errors_are_shown_on_the_form(client: TestClient) -> None:
    token = csrf_token(client, "/signup")
    r = client.post("/signup", data={"email": "nope", "password": "long enough pw", "csrf_token": token})
    assert r.status_code == 422
    assert "Enter an email address like name@example.com." in r.text
    assert 'value="nope"' in r.text
    r = client.post("/signup", data={"email": "a@example.com", "password": "short", "csrf_token": token})
    assert r.status_code == 422 and "at least 8 characters" in r.text
    page_sign_up(client, "dup@example.com")
    csrf = csrf_token(client, "/")
    client.post("/signout", data={"csrf_token": csrf})
    token = csrf_token(client, "/signup")
    r = client.post(
        "/signup", data={"email": "dup@example.com", "password": "long enough pw", "csrf_token": token}
    )
    assert r.status_code == 409 and "already exists" in r.text


# --- privacy center ---------------------------------------------------------------------------------


def test_settings_toggle_writes_a_ledger_entry(client: TestClient) -> None:
    page_sign_up(client)
    r = client.get("/settings")
    assert "Use sites you visit to improve recommendations" in r.text
    assert 'role="switch"\n               checked' in r.text or "checked>" in r.text
    assert 'href="/v1/me/export"' in r.text and "Download my data" in r.text
    assert "Account created (default)" in r.text

    token = csrf_token(client, "/settings")
    r = client.post("/settings", data={"csrf_token": token}, follow_redirects=False)  # unchecked box
    assert r.status_code == 303 and r.headers["location"] == "/settings?notice=settings_saved"
    assert client.get("/v1/me/settings").json()["personalization"] is False
    items = client.get("/v1/me/consent-history").json()["items"]
    assert items[0]["setting"] == "personalization"
    assert (items[0]["old_value"], items[0]["new_value"], items[0]["source"]) == (
        "true",
        "false",
        "privacy-center",
    )
    page = client.get("/settings?notice=settings_saved").text
    assert "Your setting is saved." in page and "Privacy center" in page

    r = client.post("/settings", data={"personalization": "on", "csrf_token": token}, follow_redirects=False)
    assert client.get("/v1/me/settings").json()["personalization"] is True
    # sign-up logs both defaults (personalization, advertiser data), then the two changes
    assert len(client.get("/v1/me/consent-history").json()["items"]) == 4


def test_feed_banner_when_personalization_is_off(client: TestClient, system: System) -> None:
    mini_world(system)
    page_sign_up(client)
    token = csrf_token(client, "/settings")
    client.post("/settings", data={"csrf_token": token})
    r = client.get("/")
    assert "Personalization using sites you visit is turned off in your settings." in r.text


def test_delete_account_needs_confirmation(client: TestClient) -> None:
    page_sign_up(client)
    token = csrf_token(client, "/settings")
    r = client.post("/settings/delete", data={"csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303 and "confirm=missing" in r.headers["location"]
    assert client.get("/v1/me").status_code == 200
    assert "Tick the box" in client.get("/settings?confirm=missing").text

    r = client.post("/settings/delete", data={"csrf_token": token, "confirm": "yes"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/?notice=deleted"
    assert client.get("/v1/me").status_code == 401
    r = client.post("/v1/sessions", json={"email": "bea@example.com", "password": "a good password"})
    assert r.status_code == 401


def test_export_link_downloads_json(client: TestClient) -> None:
    page_sign_up(client)
    r = client.get("/v1/me/export")
    assert r.status_code == 200 and "attachment" in r.headers["content-disposition"]
    assert r.json()["consent"]["settings"]["personalization"] is True


# --- signed-out browser choice ------------------------------------------------------------------------


def test_privacy_checkbox_sets_and_clears_the_opt_out_cookie(client: TestClient) -> None:
    r = client.get("/privacy")
    assert "Allow personalization using sites I visit" in r.text
    assert re.search(r'id="allow"[^>]*checked', r.text)

    token = csrf_token(client, "/privacy")
    r = client.post("/privacy", data={"csrf_token": token}, follow_redirects=False)  # unchecked
    assert r.status_code == 303 and r.headers["location"] == "/privacy?notice=browser_saved"
    set_cookies = r.headers.get_list("set-cookie")
    assert any(c.startswith(f"{OPT_OUT_COOKIE}=1") for c in set_cookies), set_cookies
    assert client.get("/v1/browser/personalization").json() == {"allow": False}
    page = client.get("/privacy?notice=browser_saved").text
    assert "Your choice for this browser is saved." in page
    assert not re.search(r'id="allow"[^>]*checked', page)
    assert "Sites you visit aren't shaping this feed." in client.get("/").text

    r = client.post("/privacy", data={"allow": "on", "csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303
    assert client.get("/v1/browser/personalization").json() == {"allow": True}


# --- assets ----------------------------------------------------------------------------------------


def test_widget_js_is_served_as_javascript(client: TestClient) -> None:
    r = client.get("/widget.js")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/javascript")
    assert "max-age" in r.headers["cache-control"]
    assert "x-frame-options" not in r.headers
    body = r.text
    # The visit goes through the save button's frame on our origin (issue 14), which posts it.
    assert "/widget/frame?" in body
    frame_js = client.get("/static/widget-frame.js").text
    assert "/v1/offsite/visits" in frame_js and 'credentials: "include"' in frame_js
    frame = client.get("/widget/frame")
    assert "frame-ancestors http: https:" in frame.headers["content-security-policy"]
    assert "x-frame-options" not in frame.headers
    assert "document.currentScript" in body and "tastegraph:site" in body
    assert "http://" not in body.replace("http://www.w3.org/2000/svg", "")  # no hard-coded origin


def test_svg_placeholders(client: TestClient) -> None:
    r = client.get("/static/demo-img/outdoors/3.svg")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("image/svg+xml")
    assert "public" in r.headers["cache-control"]
    assert r.text.startswith("<svg") and "Outdoors" in r.text
    assert client.get("/static/demo-img/some-new-topic/0.svg").status_code == 200
    for bad in (
        "/static/demo-img/Out%3Cdoors/1.svg",
        "/static/demo-img/outdoors/x.svg",
        "/static/demo-img/outdoors/123456.svg",
    ):
        assert client.get(bad).status_code == 404, bad
    assert client.get("/static/app.css").headers["content-type"].startswith("text/css")


def test_a_placeholder_is_labelled_with_the_topics_name(client: TestClient) -> None:
    """The demo world's name of a topic; a slug made readable for another (no database read per picture)."""
    assert "DIY and crafts" in client.get("/static/demo-img/diy-crafts/2.svg").text
    assert "Some new topic" in client.get("/static/demo-img/some-new-topic/0.svg").text


def test_ikea_images_only_from_the_configured_folder(
    client: TestClient, system: System, tmp_path: Path
) -> None:
    assert client.get("/ikea-images/images/a.jpg").status_code == 404  # not configured
    folder = tmp_path / "ikea"
    (folder / "images").mkdir(parents=True)
    (folder / "images" / "a.jpg").write_bytes(b"\xff\xd8\xff fake jpeg")
    (tmp_path / "secret.jpg").write_bytes(b"secret")
    system.settings.ikea_dir = folder
    r = client.get("/ikea-images/images/a.jpg")
    assert r.status_code == 200 and r.content.startswith(b"\xff\xd8")
    for bad in (
        "/ikea-images/../secret.jpg",
        "/ikea-images/images/%2e%2e/%2e%2e/secret.jpg",
        "/ikea-images/images/missing.jpg",
        "/ikea-images/images",
    ):
        assert client.get(bad).status_code == 404, bad


_EXTERNAL_ASSET = re.compile(
    r"""<(?:script|link|img|iframe|source)\b[^>]*(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", re.I
)
_CSS_IMPORT = re.compile(r"""(?:@import|url\()\s*["']?\s*(?:https?:)?//""", re.I)


def test_no_page_loads_anything_from_another_origin(client: TestClient, system: System) -> None:
    world = mini_world(system)
    pages = [
        "/",
        "/signup",
        "/signin",
        "/privacy",
        "/save",
        f"/pins/{world.pins_by_domain['trailpeak-gear.com'][0]}",
        "/missing",
    ]
    for path in pages:
        assert not _EXTERNAL_ASSET.search(client.get(path).text), path
    page_sign_up(client)
    for path in ["/", "/settings"]:
        assert not _EXTERNAL_ASSET.search(client.get(path).text), path
    csp = client.get("/").headers["content-security-policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    css = client.get("/static/app.css").text
    assert not _CSS_IMPORT.search(css) and "@font-face" not in css
    js = client.get("/static/app.js").text
    assert "http" not in js


def test_external_pin_images_are_replaced_by_a_local_picture(client: TestClient, system: System) -> None:
    with system.write() as conn:
        topic = content.ensure_topic(conn, "travel", "Travel")
        pin_id = content.create_pin(
            conn,
            title="Far away",
            link_url="https://far.example/x",
            image_url="https://cdn.example/p.jpg",
            now=system.clock.now(),
            topic_ids=[topic],
        )
    page = client.get(f"/pins/{pin_id}").text
    assert "cdn.example" not in page
    assert "/static/demo-img/travel/" in page
