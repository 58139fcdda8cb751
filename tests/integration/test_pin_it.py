"""Saving from other sites (usecases.pin_it and the popup's pages), on SQLite and PostgreSQL: a new Pin
with the platform's copy of the picture, the existing Pin of the same page, boards that are not the
person's, bad URLs and non-images, the per-person fetch limit; the popup's sign-in, CSRF and Origin
checks; the copy as it is served; and the export."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tastegraph.bootstrap import MEDIA_GRACE_SECONDS, System
from tastegraph.catalog import accounts, content
from tastegraph.catalog.tables import board_pins, boards, pins
from tastegraph.collect.tables import engagement_events
from tastegraph.kernel import InvalidInput, NotFound, RateLimited, UnsupportedMediaType
from tastegraph.usecases import pin_it
from tests.helpers import PASSWORD, csrf_token, sign_up_in
from tests.image_server import ImageServer, image_server, png_bytes

PAGE = "https://trailpeak-gear.com/tents/ridgeline-ul2"


@pytest.fixture
def site(system: System) -> Iterator[ImageServer]:
    """The other site's picture server, which the platform may fetch from (as the demo's sites)."""
    with image_server() as server:
        server.image("/ul2.png")
        server.image("/page.html", b"<html></html>", content_type="text/html")
        server.image("/fake.png", b"<html>not a picture</html>", content_type="image/png")
        system.settings.media_fetch_allow_hosts = server.host
        yield server


def person(system: System, email: str) -> int:
    with system.write() as conn:
        now = system.clock.now()
        user_id = accounts.create_user(conn, email, "a good password", now)
        system.consent.initialize(conn, user_id, now)
        return user_id


def board(system: System, owner: int, name: str, secret: bool = False) -> int:
    with system.write() as conn:
        board_id = content.create_board(conn, owner, name, system.clock.now())
        if secret:
            conn.execute(boards.update().where(boards.c.id == board_id).values(secret=True))
        return board_id


def counts(system: System) -> dict[str, int]:
    with system.read() as conn:
        return {
            t.name: int(conn.execute(select(func.count()).select_from(t)).scalar_one())
            for t in (pins, boards, board_pins, engagement_events)
        }


def test_new_pin_with_the_platforms_copy(system: System, site: ImageServer, client: TestClient) -> None:
    ann = person(system, "ann@example.com")
    camping = board(system, ann, "Camping")
    shown = pin_it.popup(
        system, ann, PAGE + "?utm_source=x#top", "  Ridgeline   UL2 ", f"{site.origin}/ul2.png"
    )
    assert shown.existing_pin_id is None and shown.title == "Ridgeline UL2"
    assert shown.page_url == PAGE and shown.image is not None and shown.image.startswith("/media/")
    assert [b["name"] for b in shown.boards] == ["Camping"]
    saved = pin_it.save(
        system,
        ann,
        pin_it.PinItRequest(
            page_url=PAGE,
            title="Ridgeline UL2",
            media_url=f"{site.origin}/ul2.png",
            media_key=shown.media_key,
            board_id=camping,
        ),
    )
    assert saved.created_pin and saved.board_id == camping and saved.board_name == "Camping"
    assert site.paths() == ["/ul2.png"]  # fetched once: the save used the popup's copy
    with system.read() as conn:
        pin = content.get_pin(conn, saved.pin_id)
        assert pin["image_url"] == shown.image and pin["link"] == PAGE and pin["creator_id"] == ann
        assert pin["save_count"] == 1 and pin["domain"] == "trailpeak-gear.com"
        kinds = conn.execute(
            select(engagement_events.c.kind, engagement_events.c.board_id).where(
                engagement_events.c.user_id == ann
            )
        ).all()
    assert [(k, b) for k, b in kinds] == [("save", camping)]
    # The copy is served by the platform, strictly typed.
    r = client.get(shown.image)
    assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert "max-age=31536000" in r.headers["cache-control"]
    assert client.get("/media/" + "0" * 64 + ".jpg").status_code == 404
    assert client.get("/media/..%2F..%2Fetc%2Fpasswd").status_code == 404


def test_existing_pin_by_normalized_link(system: System, site: ImageServer) -> None:
    ann, bea = person(system, "ann@example.com"), person(system, "bea@example.com")
    with system.write() as conn:
        first = content.create_pin(
            conn,
            title="UL2",
            link_url="http://www.TrailPeak-Gear.com/tents/ridgeline-ul2/",
            image_url="/static/demo-img/outdoors/1.svg",
            now=system.clock.now(),
            creator_id=bea,
        )
    shown = pin_it.popup(system, ann, PAGE + "?utm_campaign=z", "UL2", f"{site.origin}/ul2.png")
    assert shown.existing_pin_id == first and shown.image == "/static/demo-img/outdoors/1.svg"
    assert shown.media_key is None
    saved = pin_it.save(
        system,
        ann,
        pin_it.PinItRequest(PAGE + "#reviews", "UL2", f"{site.origin}/ul2.png", None, None, "Tents"),
    )
    assert saved.pin_id == first and not saved.created_pin and saved.board_name == "Tents"
    assert site.requests == []  # the page's Pin has its picture: nothing fetched
    with system.read() as conn:
        assert content.get_pin(conn, first)["save_count"] == 1
        assert [b["name"] for b in content.boards_of(conn, ann)] == ["Tents"]


@pytest.mark.parametrize("secret", [False, True])
def test_someone_elses_board_is_not_found_and_nothing_is_written(
    system: System, site: ImageServer, secret: bool
) -> None:
    ann, bea = person(system, "ann@example.com"), person(system, "bea@example.com")
    beas = board(system, bea, "Bea's ideas", secret=secret)
    before = counts(system)
    for target in (beas, 999_999):
        with pytest.raises(NotFound) as caught:
            pin_it.save(system, ann, pin_it.PinItRequest(PAGE, "UL2", f"{site.origin}/ul2.png", None, target))
        # The same answer for a secret board, a public one and none: nothing about it leaks.
        assert caught.value.message == f"no board with id {target}" and caught.value.field == "board_id"
    assert counts(system) == before
    assert site.requests == []  # refused before any fetch


@pytest.mark.parametrize(
    ("page", "media", "error"),
    [
        (PAGE, "javascript:alert(1)", InvalidInput),
        (PAGE, "data:image/png;base64,iVBORw0KGgo=", InvalidInput),
        (PAGE, "file:///etc/passwd", InvalidInput),
        ("javascript:alert(1)", "/ul2.png", InvalidInput),
        (PAGE, "http://169.254.169.254/latest/meta-data/", InvalidInput),
        (PAGE, "/page.html", UnsupportedMediaType),
        (PAGE, "/fake.png", InvalidInput),  # says image/png, is not one: 422
        (PAGE, "", InvalidInput),
    ],
)
def test_bad_urls_and_non_images_write_nothing(
    system: System, site: ImageServer, page: str, media: str, error: type[Exception]
) -> None:
    ann = person(system, "ann@example.com")
    camping = board(system, ann, "Camping")
    media_url = site.origin + media if media.startswith("/") else media
    before = counts(system)
    with pytest.raises(error):
        pin_it.save(system, ann, pin_it.PinItRequest(page, "UL2", media_url or None, None, camping))
    with pytest.raises(error):
        pin_it.save(system, ann, pin_it.PinItRequest(page, "UL2", media_url or None, None, None, "New"))
    assert counts(system) == before


def test_fetches_are_limited_per_person(system: System, site: ImageServer) -> None:
    system.settings.media_fetches_per_hour = 2
    ann, bea = person(system, "ann@example.com"), person(system, "bea@example.com")
    for i in range(2):
        pin_it.popup(system, ann, f"{PAGE}-{i}", "UL2", f"{site.origin}/ul2.png?v={i}")
    # Reopening a popup shows the copy it fetched: no new fetch, nothing counted.
    again = pin_it.popup(system, ann, f"{PAGE}-0", "UL2", f"{site.origin}/ul2.png?v=0")
    assert again.media_key is not None and len(site.requests) == 2
    with pytest.raises(RateLimited):
        pin_it.popup(system, ann, f"{PAGE}-3", "UL2", f"{site.origin}/ul2.png?v=3")
    assert len(site.requests) == 2
    pin_it.popup(system, bea, f"{PAGE}-3", "UL2", f"{site.origin}/ul2.png?v=3")  # someone else's own limit


_FIELD = re.compile(r'name="(\w+)" value="([^"]*)"')


def fields(html: str, form_action: str) -> dict[str, str]:
    start = html.index(f'action="{form_action}"')
    form = html[start : html.index("</form>", start)]
    return {k: v.replace("&amp;", "&") for k, v in _FIELD.findall(form)}


def test_the_popup_signs_in_and_saves(system: System, site: ImageServer, client: TestClient) -> None:
    sign_up_in(client, "ann@example.com")
    client.cookies.clear()
    query = {
        "url": PAGE,
        "title": "Ridgeline UL2",
        "media": f"{site.origin}/ul2.png",
        "partition": "pv_abc-123",
    }
    r = client.get("/save", params=query)
    assert r.status_code == 200 and 'action="/save/signin"' in r.text
    assert site.requests == []  # nothing fetched for a signed-out visitor
    form = fields(r.text, "/save/signin")
    assert form["partition"] == "pv_abc-123" and form["media"] == query["media"]
    r = client.post(
        "/save/signin",
        data={**form, "email": "ann@example.com", "password": PASSWORD},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    assert r.headers["location"].startswith("/save?") and "partition=pv_abc-123" in r.headers["location"]
    r = client.get(r.headers["location"])
    assert r.status_code == 200 and 'class="pinit-image" src="/media/' in r.text
    assert f"{site.origin}" not in re.sub(r'value="[^"]*"', "", r.text)  # the page never loads their host
    form = fields(r.text, "/save")
    assert form["partition"] == "pv_abc-123" and form["media_key"].endswith(".jpg")
    data = {**form, "title": "My tent", "board_id": "", "new_board": "Camping"}
    # Another site's form (its Origin), and one without the CSRF token, are refused.
    r = client.post("/save", data=data, headers={"Origin": "http://localhost:8001"})
    assert r.status_code == 403
    r = client.post("/save", data={**data, "csrf_token": ""})
    assert r.status_code == 403
    assert counts(system)["pins"] == 0
    r = client.post("/save", data=data, headers={"Origin": "http://127.0.0.1:8000"})
    assert r.status_code == 200 and "Saved to Camping" in r.text, r.text
    export = client.get("/v1/me/export").json()
    catalog: dict[str, Any] = export["catalog"] if "catalog" in export else export["stores"]["catalog"]
    assert [p["title"] for p in catalog["created_pins"]] == ["My tent"]
    assert len(catalog["saves"]) == 1 and catalog["boards"][0]["name"] == "Camping"


def test_popup_errors_are_clear(system: System, site: ImageServer, client: TestClient) -> None:
    sign_up_in(client, "ann@example.com")
    r = client.get("/save", params={"url": PAGE, "title": "x", "media": "javascript:alert(1)"})
    assert r.status_code == 422 and "http" in r.text and 'action="/save"' not in r.text
    r = client.get("/save", params={"url": PAGE, "title": "x", "media": f"{site.origin}/page.html"})
    assert r.status_code == 415
    token = csrf_token(client, "/save")
    r = client.post(
        "/save",
        data={
            "csrf_token": token,
            "url": PAGE,
            "title": "x",
            "media": f"{site.origin}/ul2.png",
            "board_id": "77",
        },
    )
    assert r.status_code == 404 and "No board with id 77" in r.text
    assert counts(system)["pins"] == 0


def test_the_sweep_deletes_copies_no_pin_shows(system: System, site: ImageServer) -> None:
    ann = person(system, "ann@example.com")
    site.image("/other.png", png_bytes(colour=(1, 200, 3)))
    kept = pin_it.save(
        system, ann, pin_it.PinItRequest(PAGE, "UL2", f"{site.origin}/ul2.png", None, None, "Tents")
    )
    unsaved = pin_it.popup(system, ann, PAGE + "-2", "Other", f"{site.origin}/other.png")
    with system.read() as conn:
        kept_key = content.get_pin(conn, kept.pin_id)["image_url"].removeprefix("/media/")
    assert unsaved.media_key is not None and unsaved.media_key != kept_key
    assert system.sweep()["media_unused"] == 0  # a fresh copy waits a day for its save
    day_ago = time.time() - MEDIA_GRACE_SECONDS - 60
    root = system.settings.media_dir
    for key in (kept_key, unsaved.media_key):
        os.utime(root / key[:2] / key[2:4] / key, (day_ago, day_ago))
    assert system.sweep()["media_unused"] == 1
    assert system.media.exists(kept_key) and not system.media.exists(unsaved.media_key)
