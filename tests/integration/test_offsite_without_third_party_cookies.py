"""Off-site visits without third-party cookies (issue 14), through the service: the save button's frame
reporting under a partitioned cookie, `link_partitioned_visits` (the Pin It popup's Save), outbound
click ids, and an attacker replaying someone else's ticket or click id.

The frame is a client with no cookie jar of its own: it sends what Chromium would send from a
third-party frame with cookies blocked, i.e. only the partitioned `tg_pid`, as a header."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

from fastapi.testclient import TestClient
from sqlalchemy import select

from tastegraph.bootstrap import System
from tastegraph.collect.tables import offsite_click_ids, offsite_link_tickets, offsite_visits
from tastegraph.kernel import FrozenClock
from tastegraph.usecases import offsite
from tastegraph.usecases.callers import Caller, RequestSignals
from tests.helpers import mini_world, offsite_reasons, sign_up_in

PLATFORM = "http://127.0.0.1:8000"
SHOP = "https://trailpeak-gear.com"


def frame_visit(
    client: TestClient,
    url: str = SHOP + "/a",
    *,
    partition: str | None = None,
    click_id: str | None = None,
    headers: dict[str, str] | None = None,
    embedder: str | None = None,
) -> tuple[dict[str, Any], str | None]:
    """What the frame sends from a page of `url`'s site; the answer and the partition cookie it set."""
    body: dict[str, Any] = {"url": url, "embedder": embedder or _origin(url), "partitioned": True}
    if click_id:
        body["click_id"] = click_id
    sent = {"origin": PLATFORM, **(headers or {})}
    if partition:
        sent["cookie"] = f"tg_pid={partition}"
    client.cookies.clear()
    r = client.post("/v1/offsite/visits", json=body, headers=sent)
    assert r.status_code in (200, 201), r.text
    cookie = r.headers.get("set-cookie", "")
    pid = cookie.split("tg_pid=", 1)[1].split(";", 1)[0] if "tg_pid=" in cookie else None
    if pid is not None:
        assert "Partitioned" in cookie and "Secure" in cookie and "SameSite=None" in cookie
    return r.json(), pid


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def caller(user_id: int | None, **signals: bool) -> Caller:
    return Caller(user_id, None, None, RequestSignals(**signals))


def visits_of(system: System, user_id: int) -> list[Any]:
    with system.read() as conn:
        return list(conn.execute(select(offsite_visits).where(offsite_visits.c.user_id == user_id)))


def test_partitioned_visits_are_nobodys_until_the_person_acts(client: TestClient, system: System) -> None:
    mini_world(system)
    ann = sign_up_in(client)
    with TestClient(client.app, base_url=PLATFORM) as frame:
        first, pid = frame_visit(frame)
        assert first["stored"] is True and first["linked"] is False and first["via"] == "partition"
        assert pid is not None and first["partition_token"]
        second, again = frame_visit(frame, SHOP + "/b", partition=pid)
        assert again is None  # the same partition: no new cookie
        assert second["via"] == "partition" and second["partition_token"] != first["partition_token"]
    with system.read() as conn:
        rows = list(conn.execute(select(offsite_visits)))
    assert {(r.partition_id, r.user_id, r.browser_id) for r in rows} == {(pid, None, None)}
    assert offsite_reasons(client.get("/v1/feed/home").json()) == []

    # The Save in the popup the frame opened: the two visits become Ann's, and the feed shows them.
    linked = offsite.link_partitioned_visits(system, caller(ann), second["partition_token"], SHOP + "/b")
    assert linked == 2
    assert any(
        r["domain"] == "trailpeak-gear.com" for r in offsite_reasons(client.get("/v1/feed/home").json())
    )
    export = client.get("/v1/me/export").json()
    assert sorted(v["tied_by"] for v in export["offsite_visits"]) == ["partition", "partition"]
    assert export["offsite_identifiers"]["partitions_linked"][0]["site"] == "trailpeak-gear.com"
    assert pid not in str(export)  # the identifiers themselves are never handed out

    # A ticket is single use.
    assert offsite.link_partitioned_visits(system, caller(ann), second["partition_token"], SHOP) == 0


def test_replayed_tickets_tie_nothing_to_the_attacker(client: TestClient, system: System) -> None:
    mini_world(system)
    ann = sign_up_in(client)
    with TestClient(client.app, base_url=PLATFORM) as other:
        mallory = sign_up_in(other, "mallory@example.com")
    with TestClient(client.app, base_url=PLATFORM) as frame:
        first, pid = frame_visit(frame)
        second, _ = frame_visit(frame, SHOP + "/b", partition=pid)
    # Ann acts first; Mallory then replays the other ticket of Ann's partition (seen in a URL).
    assert offsite.link_partitioned_visits(system, caller(ann), second["partition_token"], SHOP) == 2
    assert offsite.link_partitioned_visits(system, caller(mallory), first["partition_token"], SHOP) == 0
    assert visits_of(system, mallory) == []
    assert len(visits_of(system, ann)) == 2
    # Made-up, wrong-site, signed-out and expired tickets tie nothing either.
    with TestClient(client.app, base_url=PLATFORM) as frame:
        third, _pid2 = frame_visit(frame, SHOP + "/c")
    token = third["partition_token"]
    assert offsite.link_partitioned_visits(system, caller(mallory), "A" * 32, SHOP) == 0
    assert offsite.link_partitioned_visits(system, caller(mallory), token, "https://simmerandsage.com/") == 0
    assert offsite.link_partitioned_visits(system, caller(None), token, SHOP) == 0
    clock = system.clock
    assert isinstance(clock, FrozenClock)
    clock.advance(timedelta(minutes=31))
    assert offsite.link_partitioned_visits(system, caller(mallory), token, SHOP) == 0
    assert visits_of(system, mallory) == []


def test_linking_asks_consent_and_drops_what_it_refuses(client: TestClient, system: System) -> None:
    mini_world(system)
    ann = sign_up_in(client)
    for signals in ({"global_privacy_control": True}, {"do_not_track": True}, {"browser_opted_out": True}):
        with TestClient(client.app, base_url=PLATFORM) as frame:
            answer, pid = frame_visit(frame)
        assert (
            offsite.link_partitioned_visits(system, caller(ann, **signals), answer["partition_token"], SHOP)
            == 0
        )
        with system.read() as conn:
            left = conn.execute(select(offsite_visits).where(offsite_visits.c.partition_id == pid)).all()
        assert left == []  # the one person who could claim them said no
    client.patch("/v1/me/settings", json={"personalization": False})
    with TestClient(client.app, base_url=PLATFORM) as frame:
        answer, _ = frame_visit(frame)
    assert offsite.link_partitioned_visits(system, caller(ann), answer["partition_token"], SHOP) == 0
    assert visits_of(system, ann) == []


def test_partitioned_visits_hear_the_request_signals(client: TestClient, system: System) -> None:
    with TestClient(client.app, base_url=PLATFORM) as frame:
        for headers, reason in (({"Sec-GPC": "1"}, "global_privacy_control"), ({"DNT": "1"}, "do_not_track")):
            answer, pid = frame_visit(frame, headers=headers)
            assert answer["stored"] is False and answer["reason"] == reason and pid is None
            assert answer["partition_token"] is None
        answer, pid = frame_visit(frame, headers={"cookie": "tg_optout=1"})
        assert answer["stored"] is False and answer["reason"] == "browser_opted_out"
    with system.read() as conn:
        assert conn.execute(select(offsite_visits)).all() == []
        assert conn.execute(select(offsite_link_tickets)).all() == []


def test_only_the_frame_may_name_its_embedder(client: TestClient, system: System) -> None:
    # A page cannot claim to be another (the Origin is its own), nor the frame report a foreign page.
    r = client.post(
        "/v1/offsite/visits",
        json={"url": SHOP + "/a", "embedder": SHOP, "partitioned": True},
        headers={"origin": "https://evil.example"},
    )
    assert r.status_code == 422 and r.json()["error"]["field"] == "embedder"
    r = client.post(
        "/v1/offsite/visits",
        json={"url": SHOP + "/a", "embedder": "https://evil.example", "partitioned": True},
        headers={"origin": PLATFORM},
    )
    assert r.status_code == 422 and r.json()["error"]["field"] == "url"
    with system.read() as conn:
        assert conn.execute(select(offsite_visits)).all() == []


def _click(client: TestClient, pin_id: int, headers: dict[str, str] | None = None) -> str:
    r = client.get(f"/pins/{pin_id}/visit", headers=headers or {}, follow_redirects=False)
    assert r.status_code == 303, r.text
    return str(r.headers["location"])


def test_outbound_click_ids(client: TestClient, system: System) -> None:
    world = mini_world(system)
    ann = sign_up_in(client)
    pin = world.pins_by_domain["trailpeak-gear.com"][0]
    target = _click(client, pin)
    click_id = parse_qs(urlsplit(target).query)["tg_click"][0]
    assert target.startswith(SHOP + "/item-0?tg_click=") and len(click_id) >= 32
    with system.read() as conn:
        stored = conn.execute(select(offsite_click_ids)).one()
    assert click_id not in str(tuple(stored))  # only its hash is kept
    assert stored.expires_at - stored.created_at <= timedelta(days=1)

    # The landing page's frame sends it: the visit is Ann's, though no cookie of hers travelled.
    with TestClient(client.app, base_url=PLATFORM) as frame:
        answer, pid = frame_visit(frame, SHOP + "/item-0", click_id=click_id)
        assert answer["linked"] is True and answer["via"] == "click" and answer["partition_token"] is None
        again, _ = frame_visit(frame, SHOP + "/item-1", partition=pid, click_id=click_id)
        assert again["linked"] is True
        # Another browser that got the URL (shared, copied): its visit is not Ann's.
        copied, _ = frame_visit(frame, SHOP + "/item-2", click_id=click_id)
        assert copied["linked"] is False and copied["via"] == "partition"
        # Another site than the Pin's: nothing.
        elsewhere, _ = frame_visit(frame, "https://simmerandsage.com/x", partition=pid, click_id=click_id)
        assert elsewhere["linked"] is False
    assert [v.tied_by for v in visits_of(system, ann)] == ["click", "click"]
    export = client.get("/v1/me/export").json()
    assert export["offsite_identifiers"]["click_ids"][0]["host"] == "trailpeak-gear.com"
    assert click_id not in str(export)

    # A day later it ties nothing.
    clock = system.clock
    assert isinstance(clock, FrozenClock)
    clock.advance(timedelta(hours=25))
    with TestClient(client.app, base_url=PLATFORM) as frame:
        late, _ = frame_visit(frame, SHOP + "/item-3", partition=pid, click_id=click_id)
    assert late["linked"] is False
    assert client.post("/v1/test/sweep").status_code == 200
    with system.read() as conn:
        assert conn.execute(select(offsite_click_ids)).all() == []


def test_click_ids_only_when_allowed(client: TestClient, system: System) -> None:
    world = mini_world(system)
    pin = world.pins_by_domain["trailpeak-gear.com"][0]
    assert _click(client, pin) == SHOP + "/item-0"  # signed out: the plain link
    sign_up_in(client)
    assert _click(client, pin, {"DNT": "1"}) == SHOP + "/item-0"
    client.cookies.set("tg_optout_local", "1")
    assert _click(client, pin) == SHOP + "/item-0"
    client.cookies.delete("tg_optout_local")
    client.patch("/v1/me/settings", json={"personalization": False})
    assert _click(client, pin) == SHOP + "/item-0"
    with system.read() as conn:
        assert conn.execute(select(offsite_click_ids)).all() == []
    assert client.get("/pins/999999/visit", follow_redirects=False).status_code == 404


def test_a_click_id_asks_the_clickers_settings_when_used(client: TestClient, system: System) -> None:
    world = mini_world(system)
    ann = sign_up_in(client)
    click_id = parse_qs(urlsplit(_click(client, world.pins_by_domain["trailpeak-gear.com"][0])).query)[
        "tg_click"
    ][0]
    # Turning Personalization off withdraws: the click id goes, and nothing is tied to Ann any more.
    client.patch("/v1/me/settings", json={"personalization": False})
    with TestClient(client.app, base_url=PLATFORM) as frame:
        answer, _ = frame_visit(frame, SHOP + "/item-0", click_id=click_id)
    assert answer["linked"] is False
    assert visits_of(system, ann) == []


def test_erasure_takes_click_ids_and_partition_links(client: TestClient, system: System) -> None:
    world = mini_world(system)
    ann = sign_up_in(client)
    _click(client, world.pins_by_domain["trailpeak-gear.com"][0])
    with TestClient(client.app, base_url=PLATFORM) as frame:
        answer, _ = frame_visit(frame)
    assert offsite.link_partitioned_visits(system, caller(ann), answer["partition_token"], SHOP) == 1
    r = client.delete("/v1/me")
    assert r.status_code in (200, 204), r.text
    with system.read() as conn:
        assert conn.execute(select(offsite_click_ids)).all() == []
        assert conn.execute(select(offsite_visits)).all() == []


def test_the_popups_save_ties_the_partition_it_was_opened_from(client: TestClient, system: System) -> None:
    """End to end through the Pin It popup: the frame's ticket travels in `partition=` to the Save,
    which ties that partition's visits on the page's site to the person who saved (and only then)."""
    mini_world(system)
    ann = sign_up_in(client)
    with TestClient(client.app, base_url=PLATFORM) as frame:
        _first, pid = frame_visit(frame, SHOP + "/item-1")
        answer, _ = frame_visit(frame, SHOP + "/item-2", partition=pid)
    assert visits_of(system, ann) == []
    board = client.post("/v1/boards", json={"name": "Camping"}).json()["id"]
    popup = {"url": SHOP + "/item-2", "title": "Tent", "partition": answer["partition_token"]}
    page = client.get("/save", params=popup)
    assert page.status_code == 200 and 'name="partition"' in page.text
    token = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    r = client.post("/save", data={**popup, "csrf_token": token, "board_id": str(board)})
    assert r.status_code == 200, r.text
    assert "2 recent visits to trailpeak-gear.com" in r.text
    assert sorted(v.url for v in visits_of(system, ann)) == [SHOP + "/item-1", SHOP + "/item-2"]
    # The same ticket again (a reload of the popup, or someone who saw the URL) ties nothing more.
    r = client.post("/save", data={**popup, "csrf_token": token, "board_id": str(board)})
    assert r.status_code == 200 and "recent visit" not in r.text
