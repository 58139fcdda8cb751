"""Third-party measurement pixels end to end, against a local receiver that counts what reaches it:
every counted impression and click reaches each of its ad's URLs exactly once (also through a receiver
outage and 503 answers); nothing of the person (cookie, address, user agent, referrer) travels with it;
duplicates and refused tokens produce nothing; bad tracking URLs are refused and change nothing;
another account cannot set them; browser and off modes; the server's background task; leases."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tastegraph.ads.tables import ads as ads_table
from tastegraph.bootstrap import System, build
from tastegraph.kernel import FrozenClock
from tastegraph.measure import pixels
from tastegraph.measure.pixel_tables import pixel_outbox
from tastegraph.server import compose
from tastegraph.usecases import measurement_pixels
from tests.conftest import make_settings
from tests.helpers import mini_world
from tests.integration.ads_support import ad_account
from tests.integration.pixel_receiver import Receiver
from tests.integration.test_promoted_pins_objects import BASE
from tests.integration.test_promoted_pins_serving import ads_in, feed, interested, promote

PERSON_UA = "PersonsBrowser/9.9 (unique-agent-string)"
PERSON_IP = "203.0.113.77"
PERSON_REFERER = "http://127.0.0.1:8000/some/page?secret=1"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver().start()
    yield r
    r.stop()


def _system(database_url: str, clock: FrozenClock, tmp_path: Path, receiver: Receiver, **over: Any) -> System:
    settings = make_settings(
        database_url, model_dir=tmp_path / "models", measurement_insecure_hosts=receiver.host, **over
    )
    return build(settings, clock=clock)


@pytest.fixture
def psystem(
    database_url: str, clock: FrozenClock, tmp_path: Path, receiver: Receiver, request: pytest.FixtureRequest
) -> Iterator[System]:
    mode = getattr(request, "param", "server")
    sys = _system(database_url, clock, tmp_path, receiver, measurement_pixels=mode)
    yield sys
    sys.dispose()


@pytest.fixture
def pclient(psystem: System) -> Iterator[TestClient]:
    with TestClient(compose(psystem, run_sweeper=False), base_url="http://127.0.0.1:8000") as c:
        yield c


def tracked(receiver: Receiver) -> dict[str, list[str]]:
    return {
        "impression": [
            receiver.url("/imp/a?ad={ad_id}&g={ad_group_id}&c={campaign_id}&cb={cachebuster}&t={timestamp}"),
            receiver.url("/imp/b/{ad_id}"),
        ],
        "click": [receiver.url("/clk?ad={ad_id}")],
        "engagement": [receiver.url("/eng?ad={ad_id}&cb={cachebuster}")],
    }


def served_ad(
    client: TestClient, system: System, receiver: Receiver, **group: Any
) -> tuple[dict[str, Any], str]:
    """An ad with tracking URLs, served to a signed-in person on `client`: (the ad, its token)."""
    mini_world_ = {"world": mini_world(system, pins_per_site=8)}
    acct = ad_account(system, "Trailpeak", website="trailpeak-gear.com")
    advertiser = TestClient(client.app)
    made = promote(advertiser, acct, **group)
    r = advertiser.patch(
        f"{BASE}/{acct.id}/ads/{made['ad']['id']}",
        json={"tracking_urls": tracked(receiver)},
        headers=acct.auth,
    )
    assert r.status_code == 200, r.text
    assert r.json()["tracking_urls"] == tracked(receiver)
    interested(client, mini_world_)
    ((_, item),) = ads_in(feed(client))
    return made, item["promoted"]["token"]


def outbox(system: System) -> list[dict[str, Any]]:
    with system.read() as conn:
        return [dict(r) for r in conn.execute(select(pixel_outbox).order_by(pixel_outbox.c.id)).mappings()]


PERSON_HEADERS = {
    "User-Agent": PERSON_UA,
    "X-Forwarded-For": PERSON_IP,
    "X-Real-IP": PERSON_IP,
    "Forwarded": f"for={PERSON_IP}",
    "Referer": PERSON_REFERER,
}


def test_each_counted_event_reaches_each_url_once_with_nothing_of_the_person(
    pclient: TestClient, psystem: System, receiver: Receiver, clock: FrozenClock
) -> None:
    made, token = served_ad(pclient, psystem, receiver, billable_event="click", bid_in_micro=500_000)
    ad = made["ad"]
    r = pclient.post("/v1/ads/impressions", json={"tokens": [token, token]}, headers=PERSON_HEADERS)
    assert [x["status"] for x in r.json()["results"]] == ["recorded", "duplicate"]
    # Someone else reporting the same token, and a forged one: refused, queue nothing.
    stranger = TestClient(pclient.app)
    r = stranger.post("/v1/ads/impressions", json={"tokens": [token, token[:-2] + "xx"]})
    assert [x["status"] for x in r.json()["results"]] == ["refused", "refused"]
    for _ in range(2):
        r = pclient.get(f"/v1/ads/click/{token}", headers=PERSON_HEADERS, follow_redirects=False)
        assert r.status_code == 302
    assert stranger.get(f"/v1/ads/click/{token}", follow_redirects=False).status_code == 302
    # A save and a close-up: two engagements, each once; repeats and strangers count nothing.
    for kind in ("save", "save", "closeup", "closeup"):
        r = pclient.post("/v1/ads/engagement", json={"token": token, "kind": kind}, headers=PERSON_HEADERS)
        assert r.status_code == 200, r.text
    assert (
        stranger.post("/v1/ads/engagement", json={"token": token, "kind": "save"}).json()["status"]
        == "refused"
    )
    rows = outbox(psystem)
    assert sorted((r["event"], r["url_index"]) for r in rows) == [
        ("click", 0),
        ("engagement", 0),
        ("engagement", 0),
        ("impression", 0),
        ("impression", 1),
    ]
    assert receiver.count() == 0  # queued, not yet sent (no background task in this client)

    sent = measurement_pixels.drain(psystem)
    assert sent["sent"] == 5 and sent["pending"] == 0
    paths = receiver.paths()
    assert len(paths) == 5
    assert len([p for p in paths if p.startswith(f"/eng?ad={ad['id']}&cb=")]) == 2
    imp_a = next(p for p in paths if p.startswith("/imp/a"))
    query = {k: v[0] for k, v in parse_qs(urlsplit(imp_a).query).items()}
    assert query["ad"] == str(ad["id"]) and query["g"] == str(ad["ad_group_id"])
    assert query["c"] == str(made["campaign"]["id"])
    assert query["cb"].isdigit()
    assert int(query["t"]) % 60 == 0 and abs(int(query["t"]) - clock.now().timestamp()) < 60
    assert f"/imp/b/{ad['id']}" in paths and f"/clk?ad={ad['id']}" in paths
    for hit in receiver.hits:
        assert "cookie" not in hit.headers and "referer" not in hit.headers
        for name in ("x-forwarded-for", "x-real-ip", "forwarded", "authorization"):
            assert name not in hit.headers
        assert hit.headers["user-agent"] == pixels.USER_AGENT
        assert hit.headers["host"] == receiver.host
        assert not any(PERSON_IP in v or PERSON_UA in v or "secret" in v for v in hit.headers.values())
    # Sending again sends nothing more: each event and URL once.
    clock.advance(timedelta(hours=1))
    assert measurement_pixels.drain(psystem)["claimed"] == 0
    assert receiver.count() == 5
    assert {r["outcome"] for r in outbox(psystem)} == {"sent"}
    # Done rows go three days after.
    clock.advance(pixels.DONE_KEPT)
    assert psystem.sweep()["pixel_outbox_done"] == 5
    assert outbox(psystem) == []


def test_a_receiver_outage_then_errors_still_gets_each_call_exactly_once(
    pclient: TestClient, psystem: System, receiver: Receiver, clock: FrozenClock
) -> None:
    _, token = served_ad(pclient, psystem, receiver)
    receiver.stop()  # down: connections refused
    assert (
        pclient.post("/v1/ads/impressions", json={"tokens": [token]}).json()["results"][0]["status"]
        == "recorded"
    )
    first = measurement_pixels.drain(psystem)
    assert first["retried"] + first["deferred"] == 2 and first["sent"] == 0 and first["pending"] == 2
    clock.advance(timedelta(seconds=5))
    measurement_pixels.drain(psystem)  # still down
    assert all(r["done_at"] is None and r["attempts"] >= 1 for r in outbox(psystem))
    # Up again, but answering 503: retried later with backoff.
    receiver.start()
    receiver.status = 503
    clock.advance(timedelta(minutes=1))
    measurement_pixels.drain(psystem)
    errors = receiver.count()
    assert errors >= 1 and all(r["done_at"] is None for r in outbox(psystem))
    receiver.status = 200
    for _ in range(12):  # the backoff after a few failures is at most minutes
        clock.advance(timedelta(minutes=1))
        measurement_pixels.drain(psystem)
        if all(r["done_at"] is not None for r in outbox(psystem)):
            break
    ok = [h for h in receiver.hits[errors:]]
    assert sorted(h.path.split("?")[0].split("/")[2] for h in ok) == ["a", "b"]  # each URL once
    assert {r["outcome"] for r in outbox(psystem)} == {"sent"}
    clock.advance(timedelta(hours=2))
    measurement_pixels.drain(psystem)
    assert receiver.count() == errors + 2


def test_a_receiver_that_never_comes_back_is_given_up_after_a_day(
    pclient: TestClient, psystem: System, receiver: Receiver, clock: FrozenClock
) -> None:
    _, token = served_ad(pclient, psystem, receiver)
    receiver.stop()
    pclient.post("/v1/ads/impressions", json={"tokens": [token]})
    measurement_pixels.drain(psystem)
    clock.advance(pixels.GIVE_UP_AFTER + timedelta(minutes=1))
    measurement_pixels.drain(psystem)
    assert {r["outcome"] for r in outbox(psystem)} == {"gave_up"}
    receiver.start()
    clock.advance(timedelta(hours=1))
    measurement_pixels.drain(psystem)
    assert receiver.count() == 0


def test_expired_tokens_and_refused_reports_queue_nothing(
    pclient: TestClient, psystem: System, receiver: Receiver, clock: FrozenClock
) -> None:
    _, token = served_ad(pclient, psystem, receiver)
    clock.advance(timedelta(hours=2))  # tokens live an hour
    r = pclient.post("/v1/ads/impressions", json={"tokens": [token]})
    assert r.json()["results"][0] == {"status": "refused", "reason": "expired"}
    pclient.get(f"/v1/ads/click/{token}", follow_redirects=False)
    assert outbox(psystem) == []
    measurement_pixels.drain(psystem)
    assert receiver.count() == 0


BAD_URLS = [
    ("https://t.example.com/p?x={user}", "unknown macro"),
    ("http://t.example.com/p", "https"),
    ("https://t.example.com/p?e=ann%40example.com", "email"),
    ("https://t.example.com/p?uid=42", "uid"),
    ("https://t.example.com/p?User_ID=42", "User_ID"),
    ("https://t.example.com/p?idfa=abc", "idfa"),
    ("https://t.example.com/p?ip=1", "ip"),
    ("https://t.example.com/" + "ab" * 32, "hash"),
    ("https://t.example.com/p?h=5f4dcc3b5aa765d61d8327deb882cf99", "hash"),
    ("https://t.example.com/p?u=123e4567-e89b-12d3-a456-426614174000", "UUID"),
    ("https://t.example.com/p?n=%2B14155550123", "phone"),
    ("https://10.0.0.5/pixel", "IP address"),
    ("https://127.0.0.1:8000/pixel", "own host"),
    ("https://localhost/pixel", "public host"),
    ("https://printer.local/pixel", "public host"),
    ("https://t.example.com/p?x=%%CACHEBUSTER%%", "macro syntax"),
    ("https://t.example.com/p?x={ad_id", "unclosed"),
    ("https://{ad_id}.example.com/p", "host"),
    ("https://user:pw@t.example.com/p", "user name"),
    ("https://t.example.com/" + "a" * 2001, "2000"),
]


@pytest.mark.parametrize("psystem", ["server"], indirect=True)
def test_bad_tracking_urls_are_refused_naming_the_field_and_change_nothing(
    pclient: TestClient, psystem: System, receiver: Receiver
) -> None:
    mini_world(psystem, pins_per_site=2)
    acct = ad_account(psystem, "Trailpeak", website="trailpeak-gear.com")
    made = promote(pclient, acct)
    ad = made["ad"]
    url = f"{BASE}/{acct.id}/ads/{ad['id']}"
    good = "https://t.example.com/p?ad={ad_id}"
    with psystem.read() as conn:
        before = conn.execute(select(func.count()).select_from(ads_table)).scalar_one()
    for bad, words in BAD_URLS:
        body = {"tracking_urls": {"impression": [good], "click": [good, bad]}}
        r = pclient.patch(url, json=body, headers=acct.auth)
        assert r.status_code == 422, (bad, r.text)
        error = r.json()["error"]
        assert error["field"] == "tracking_urls.click[1]", (bad, error)
        assert words.lower() in error["message"].lower(), (bad, error)
        create = {"ad_group_id": ad["ad_group_id"], "pin_id": ad["pin_id"], **body}
        r = pclient.post(f"{BASE}/{acct.id}/ads", json=create, headers=acct.auth)
        assert r.status_code == 422 and r.json()["error"]["field"] == "tracking_urls.click[1]", (bad, r.text)
    # The platform's own host, four URLs, an unknown event type.
    r = pclient.patch(url, json={"tracking_urls": {"click": ["https://127.0.0.1:8000/x"]}}, headers=acct.auth)
    assert r.status_code == 422
    r = pclient.patch(url, json={"tracking_urls": {"click": [good] * 4}}, headers=acct.auth)
    assert r.status_code == 422 and r.json()["error"]["field"].startswith("tracking_urls.click")
    r = pclient.patch(url, json={"tracking_urls": {"view": [good]}}, headers=acct.auth)
    assert r.status_code == 422 and r.json()["error"]["field"].startswith("tracking_urls")
    r = pclient.patch(url, json={"tracking_urls": {"click": [good, good]}}, headers=acct.auth)
    assert r.status_code == 422
    after = pclient.get(url, headers=acct.auth).json()
    assert after["tracking_urls"] == {"impression": [], "click": [], "engagement": []}
    assert after["updated_at"] == ad["updated_at"]
    with psystem.read() as conn:
        assert conn.execute(select(func.count()).select_from(ads_table)).scalar_one() == before
    # Good ones are kept; null removes them.
    r = pclient.patch(url, json={"tracking_urls": {"click": [good]}}, headers=acct.auth)
    assert r.status_code == 200 and r.json()["tracking_urls"]["click"] == [good]
    r = pclient.patch(url, json={"tracking_urls": None}, headers=acct.auth)
    assert r.status_code == 200 and r.json()["tracking_urls"]["click"] == []


def test_another_account_cannot_set_tracking_urls_on_an_ad_not_its_own(
    pclient: TestClient, psystem: System, receiver: Receiver
) -> None:
    mini_world(psystem, pins_per_site=2)
    owner = ad_account(psystem, "Trailpeak", website="trailpeak-gear.com")
    other = ad_account(psystem, "Rival", website="rival.example")
    ad = promote(pclient, owner)["ad"]
    body = {"tracking_urls": {"impression": ["https://t.rival.example/p?ad={ad_id}"]}}
    # Its own account path with the other's ad id: no such ad there.
    r = pclient.patch(f"{BASE}/{other.id}/ads/{ad['id']}", json=body, headers=other.auth)
    assert r.status_code == 404
    # The owner's path with the other's token: not its account.
    r = pclient.patch(f"{BASE}/{owner.id}/ads/{ad['id']}", json=body, headers=other.auth)
    assert r.status_code in (401, 403, 404)
    got = pclient.get(f"{BASE}/{owner.id}/ads/{ad['id']}", headers=owner.auth).json()
    assert got["tracking_urls"]["impression"] == []


@pytest.mark.parametrize("psystem", ["off"], indirect=True)
def test_off_mode_queues_and_shows_nothing(pclient: TestClient, psystem: System, receiver: Receiver) -> None:
    _, token = served_ad(pclient, psystem, receiver)
    assert (
        pclient.post("/v1/ads/impressions", json={"tokens": [token]}).json()["results"][0]["status"]
        == "recorded"
    )
    assert outbox(psystem) == []
    assert all(item["promoted"].get("pixels") is None for _, item in ads_in(feed(pclient)))


@pytest.mark.parametrize("psystem", ["browser"], indirect=True)
def test_browser_mode_gives_the_page_the_urls_only_when_consent_allows(
    pclient: TestClient, psystem: System, receiver: Receiver
) -> None:
    made, token = served_ad(pclient, psystem, receiver)
    ((_, item),) = ads_in(feed(pclient))
    shown = item["promoted"]["pixels"]
    assert shown["click"] == [receiver.url(f"/clk?ad={made['ad']['id']}")]
    assert len(shown["impression"]) == 2 and "{" not in "".join(shown["impression"])
    # Global Privacy Control on this request: the page gets no third-party URLs.
    gpc = ads_in(feed(pclient, **{"Sec-GPC": "1"}))
    assert gpc and all(i["promoted"].get("pixels") is None for _, i in gpc)
    # The person turns "use info from advertisers" off: none either.
    r = pclient.patch("/v1/me/settings", json={"ads_advertiser_data": False})
    assert r.status_code == 200, r.text
    later = ads_in(feed(pclient))
    assert later and all(i["promoted"].get("pixels") is None for _, i in later)
    # Browser mode queues nothing on the server.
    pclient.post("/v1/ads/impressions", json={"tokens": [token]})
    assert outbox(psystem) == []


def test_the_server_sends_the_outbox_in_the_background(
    database_url: str, clock: FrozenClock, tmp_path: Path, receiver: Receiver
) -> None:
    system = _system(database_url, clock, tmp_path, receiver)
    try:
        with TestClient(compose(system, run_sweeper=True), base_url="http://127.0.0.1:8000") as client:
            _, token = served_ad(client, system, receiver)
            client.post("/v1/ads/impressions", json={"tokens": [token]})
            deadline = time.monotonic() + 10
            while receiver.count() < 2 and time.monotonic() < deadline:
                time.sleep(0.1)
            assert receiver.count() == 2
    finally:
        system.dispose()


def test_two_senders_never_claim_the_same_rows(psystem: System) -> None:
    """Leases: rows one sender holds are not claimed by another until the lease ends."""
    mini_world(psystem, pins_per_site=2)
    acct = ad_account(psystem, "Trailpeak", website="trailpeak-gear.com")
    with TestClient(compose(psystem, run_sweeper=False), base_url="http://127.0.0.1:8000") as c:
        ad = promote(c, acct)["ad"]
    now = psystem.clock.now()
    with psystem.write() as conn:
        for i in range(10):
            conn.execute(
                pixel_outbox.insert().values(
                    event_key=f"impression:t{i}",
                    url_index=0,
                    ad_id=ad["id"],
                    event="impression",
                    url="https://t.example.com/p",
                    host="t.example.com:443",
                    created_at=now,
                    next_attempt_at=now,
                    attempts=0,
                )
            )
    if psystem.engine.dialect.name == "postgresql":
        # A claim not yet committed: the second sender skips the locked rows.
        with psystem.engine.connect() as first, psystem.engine.connect() as second, first.begin():
            a = pixels.claim(first, now, "lease-a", limit=6)
            with second.begin():
                b = pixels.claim(second, now, "lease-b", limit=10)
    else:
        with psystem.write() as conn:
            a = pixels.claim(conn, now, "lease-a", limit=6)
        with psystem.write() as conn:
            b = pixels.claim(conn, now, "lease-b", limit=10)
    assert len(a) == 6 and len(b) == 4
    assert not {r.id for r in a} & {r.id for r in b}
    with psystem.write() as conn:
        assert pixels.claim(conn, now, "lease-c") == []
        # A sender that died: its lease ends and the rows can be claimed again.
        again = pixels.claim(conn, now + pixels.LEASE, "lease-d")
    assert len(again) == 10
    # An outcome written under a lease that was taken over changes nothing.
    with psystem.write() as conn:
        pixels.record(conn, "lease-a", [pixels.Result(a[0], "sent")], now)
    assert all(r["done_at"] is None for r in outbox(psystem))


def test_the_sender_never_sends_back_a_receivers_cookie(psystem: System, receiver: Receiver) -> None:
    """The receiver answers every call with Set-Cookie; one call after another (one at a time), none
    carries it back."""
    import asyncio

    mini_world(psystem, pins_per_site=2)
    acct = ad_account(psystem, "Trailpeak", website="trailpeak-gear.com")
    with TestClient(compose(psystem, run_sweeper=False), base_url="http://127.0.0.1:8000") as c:
        ad = promote(c, acct)["ad"]
    now = psystem.clock.now()
    with psystem.write() as conn:
        for i in range(4):
            conn.execute(
                pixel_outbox.insert().values(
                    event_key=f"impression:c{i}",
                    url_index=0,
                    ad_id=ad["id"],
                    event="impression",
                    url=receiver.url(f"/c/{i}"),
                    host=receiver.host,
                    created_at=now,
                    next_attempt_at=now,
                    attempts=0,
                )
            )
    sender = pixels.Sender(psystem.engine, psystem.clock, frozenset({receiver.host}), concurrency=1, batch=1)

    async def run() -> pixels.Stats:
        try:
            return await sender.drain()
        finally:
            await sender.close()

    assert asyncio.run(run()).sent == 4
    assert receiver.count() == 4
    assert all("cookie" not in h.headers for h in receiver.hits), [h.headers for h in receiver.hits]
