"""Consent defaults for the place of deployment, end to end through the real API, pages and database:
TASTEGRAPH_CONSENT_DEFAULTS=opt_in (settings off until turned on, nothing signed out until the choice
page says yes) and opt_out (today's behaviour), with what sign-up chose recorded in the ledger."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tastegraph.bootstrap import System, build
from tastegraph.kernel import FrozenClock
from tastegraph.server import compose
from tests.conftest import make_settings
from tests.helpers import PASSWORD, csrf_token, mini_world, offsite_reasons, sign_in


@pytest.fixture
def opt_in(database_url: str, clock: FrozenClock, tmp_path: Path) -> Iterator[tuple[TestClient, System]]:
    settings = make_settings(database_url, model_dir=tmp_path / "models", consent_defaults="opt_in")
    system = build(settings, clock=clock)
    with TestClient(compose(system, run_sweeper=False), base_url="http://127.0.0.1:8000") as client:
        yield client, system
    system.dispose()


def _sign_up(client: TestClient, email: str = "ann@example.com", **choices: bool) -> int:
    r = client.post("/v1/users", json={"email": email, "password": PASSWORD, **choices})
    assert r.status_code == 201, r.text
    return sign_in(client, email)


def _first_entries(client: TestClient) -> dict[str, tuple[str | None, str, str]]:
    items = client.get("/v1/me/consent-history").json()["items"]
    return {i["setting"]: (i["old_value"], i["new_value"], i["source"]) for i in items}


def _visit(client: TestClient, url: str) -> dict[str, object]:
    r = client.post("/v1/offsite/visits", json={"url": url})
    assert r.status_code in (200, 201), r.text
    return dict(r.json())


def test_opt_in_sign_up_without_choices_starts_with_everything_off(opt_in: tuple[TestClient, System]) -> None:
    client, system = opt_in
    mini_world(system)
    _sign_up(client)
    assert client.get("/v1/me/settings").json() == {"personalization": False, "ads_advertiser_data": False}
    assert _first_entries(client) == {
        "personalization": (None, "false", "sign-up"),
        "ads_advertiser_data": (None, "false", "sign-up"),
    }
    out = _visit(client, "https://trailpeak-gear.com/tents")
    assert (out["stored"], out["reason"]) == (False, "personalization_off")
    assert client.get("/v1/me/export").json()["offsite_visits"] == []
    assert offsite_reasons(client.get("/v1/feed/home").json()) == []
    # Turning it on is the person's own act, logged; from then on visits count.
    assert client.patch("/v1/me/settings", json={"personalization": True}).json()["personalization"] is True
    assert _visit(client, "https://trailpeak-gear.com/tents")["stored"] is True
    assert {r["domain"] for r in offsite_reasons(client.get("/v1/feed/home").json())} == {
        "trailpeak-gear.com"
    }


def test_opt_in_sign_up_records_what_the_person_ticked(opt_in: tuple[TestClient, System]) -> None:
    client, system = opt_in
    mini_world(system)
    _sign_up(client, personalization=True, ads_advertiser_data=False)
    assert client.get("/v1/me/settings").json() == {"personalization": True, "ads_advertiser_data": False}
    assert _first_entries(client) == {
        "personalization": (None, "true", "sign-up-choice"),
        "ads_advertiser_data": (None, "false", "sign-up-choice"),
    }
    assert _visit(client, "https://trailpeak-gear.com/a")["stored"] is True
    export = client.get("/v1/me/export").json()
    assert export["consent"]["settings"] == {"personalization": True, "ads_advertiser_data": False}
    assert {e["source"] for e in export["consent"]["consent_history"]} == {"sign-up-choice"}


def test_opt_out_sign_up_defaults_on_and_choices_kept(client: TestClient, system: System) -> None:
    _sign_up(client)
    assert client.get("/v1/me/settings").json() == {"personalization": True, "ads_advertiser_data": True}
    assert _first_entries(client) == {
        "personalization": (None, "true", "sign-up"),
        "ads_advertiser_data": (None, "true", "sign-up"),
    }
    other = TestClient(client.app, base_url=str(client.base_url))
    _sign_up(other, "bo@example.com", ads_advertiser_data=False)
    assert other.get("/v1/me/settings").json() == {"personalization": True, "ads_advertiser_data": False}
    assert _first_entries(other) == {
        "personalization": (None, "true", "sign-up"),
        "ads_advertiser_data": (None, "false", "sign-up-choice"),
    }


@pytest.mark.parametrize("bad", [{"personalization": "yes"}, {"ads_advertiser_data": 1}, {"tracking": True}])
def test_bad_sign_up_choices_are_refused_and_create_nothing(
    opt_in: tuple[TestClient, System], bad: dict[str, object]
) -> None:
    client, _system = opt_in
    r = client.post("/v1/users", json={"email": "cy@example.com", "password": PASSWORD, **bad})
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"]
    assert (
        client.post("/v1/sessions", json={"email": "cy@example.com", "password": PASSWORD}).status_code == 401
    )
    # The address was not taken by the refused request.
    assert client.post("/v1/users", json={"email": "cy@example.com", "password": PASSWORD}).status_code == 201


def test_opt_in_signed_out_needs_the_choice_page_yes(opt_in: tuple[TestClient, System]) -> None:
    client, system = opt_in
    mini_world(system)
    assert client.get("/v1/browser/personalization").json() == {"allow": False}
    out = _visit(client, "https://simmerandsage.com/soup")
    assert (out["stored"], out["reason"]) == (False, "browser_not_opted_in")
    assert not any(c.startswith("tg_bid") for c in client.cookies), "no id for a refused visit"
    assert offsite_reasons(client.get("/v1/feed/home").json()) == []
    # Saying yes sets the choice cookie to "0" (remembered: under opt-in no cookie means no).
    r = client.put("/v1/browser/personalization", json={"allow": True})
    assert r.status_code == 200 and r.json() == {"allow": True}
    set_cookie = ",".join(r.headers.get_list("set-cookie"))
    assert "tg_optout=0" in set_cookie and "SameSite=none" in set_cookie, set_cookie
    assert client.get("/v1/browser/personalization").json() == {"allow": True}
    assert _visit(client, "https://simmerandsage.com/soup")["stored"] is True
    assert {r["domain"] for r in offsite_reasons(client.get("/v1/feed/home").json())} == {"simmerandsage.com"}
    # Saying no again refuses and deletes what this browser reported.
    r = client.put("/v1/browser/personalization", json={"allow": False})
    assert "tg_optout=1" in ",".join(r.headers.get_list("set-cookie"))
    assert offsite_reasons(client.get("/v1/feed/home").json()) == []
    assert _visit(client, "https://simmerandsage.com/b")["reason"] == "browser_opted_out"


def test_opt_out_signed_out_yes_clears_the_cookie_as_before(client: TestClient, system: System) -> None:
    assert client.get("/v1/browser/personalization").json() == {"allow": True}
    client.put("/v1/browser/personalization", json={"allow": False})
    r = client.put("/v1/browser/personalization", json={"allow": True})
    set_cookie = ",".join(r.headers.get_list("set-cookie"))
    assert "tg_optout=0" not in set_cookie and 'tg_optout=""' in set_cookie, set_cookie
    assert _visit(client, "https://simmerandsage.com/a")["stored"] is True


def _page_sign_up(client: TestClient, email: str, **ticked: str) -> None:
    token = csrf_token(client, "/signup")
    data = {"email": email, "password": PASSWORD, "csrf_token": token, "consent_choices": "1", **ticked}
    r = client.post("/signup", data=data, follow_redirects=False)
    assert r.status_code == 303, r.text


def _box(html: str, name: str) -> str:
    start = html.index(f'id="{name}" name="{name}"')
    return html[start : html.index(">", start)]


def test_sign_up_page_offers_the_settings_per_mode(
    opt_in: tuple[TestClient, System], client: TestClient
) -> None:
    strict, _system = opt_in
    page = strict.get("/signup").text
    assert "checked" not in _box(page, "personalization") and "checked" not in _box(
        page, "ads_advertiser_data"
    )
    assert "Personalization using sites you visit" in page and "Use info from advertisers" in page
    lax = client.get("/signup").text
    assert "checked" in _box(lax, "personalization") and "checked" in _box(lax, "ads_advertiser_data")
    # The form's choices are what the account starts with, and the ledger says they were chosen.
    _page_sign_up(strict, "di@example.com", personalization="on")
    assert strict.get("/v1/me/settings").json() == {"personalization": True, "ads_advertiser_data": False}
    assert _first_entries(strict)["ads_advertiser_data"] == (None, "false", "sign-up-choice")
    _page_sign_up(client, "ed@example.com", ads_advertiser_data="on")  # unticked Personalization
    assert client.get("/v1/me/settings").json() == {"personalization": False, "ads_advertiser_data": True}
    history = client.get("/settings").text
    assert "Chosen when you signed up" in history


def test_opt_in_privacy_page_explains_nothing_is_used_yet(opt_in: tuple[TestClient, System]) -> None:
    client, _system = opt_in
    page = client.get("/privacy").text
    assert "checked" not in _box(page, "allow")
    assert "until you turn this on" in page
    token = csrf_token(client, "/privacy")
    r = client.post("/privacy", data={"allow": "on", "csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303
    assert "checked" in _box(client.get("/privacy").text, "allow")


def test_the_save_popups_sign_up_offers_and_records_the_settings(opt_in: tuple[TestClient, System]) -> None:
    """The Pin It popup has its own sign-up form: it offers the same two choices, unticked in opt_in,
    and the account starts with what was ticked there."""
    strict, _system = opt_in
    popup = "/save?url=https%3A%2F%2Ftrailpeak-gear.com%2Ftents&title=Tent"
    page = strict.get(popup).text
    for name in ("personalization", "ads_advertiser_data"):
        start = page.index(f'id="su-{name}" name="{name}"')
        assert "checked" not in page[start : page.index(">", start)]
    data = {
        "email": "fa@example.com",
        "password": PASSWORD,
        "csrf_token": csrf_token(strict, popup),
        "consent_choices": "1",
        "personalization": "on",
        "url": "https://trailpeak-gear.com/tents",
        "title": "Tent",
    }
    r = strict.post("/save/signup", data=data, follow_redirects=False)
    assert r.status_code == 303, r.text
    assert strict.get("/v1/me/settings").json() == {"personalization": True, "ads_advertiser_data": False}
    assert _first_entries(strict)["personalization"] == (None, "true", "sign-up-choice")
