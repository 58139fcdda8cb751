"""The conversions API, the tag pixel, dedupe across both within 48 hours, ad-account tokens on every
route, and the per-account rate limit: through the real app and database."""

from __future__ import annotations

import json
import re
import threading
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner, Result

from tastegraph.ads import accounts, customer_lists
from tastegraph.ads.tables import ad_tokens
from tastegraph.bootstrap import System, build
from tastegraph.cli import app as cli_app
from tastegraph.collect import advertiser_events
from tastegraph.collect.advertiser_events import Ingest
from tastegraph.db import make_engine, upgrade
from tastegraph.kernel import FrozenClock
from tastegraph.server import compose
from tests.conftest import START, make_settings
from tests.helpers import sign_up_in, signed_in
from tests.integration.ads_support import (
    ad_account,
    event,
    people,
    person,
    row_counts,
    send,
    sha,
    statuses,
    stored_events,
)

# --- the conversions API ----------------------------------------------------------------------------


def test_mixed_batch_fails_bad_events_alone_with_their_field(client: TestClient, system: System) -> None:
    acct = ad_account(system)
    ((uid, email),) = people(system, 1)
    now = int(system.clock.now().timestamp())
    missing_name = event(system, "ev-4")
    del missing_name["event_name"]
    batch = [
        event(system, "ev-0", email=email, custom_data={"value": 10, "currency": "EUR"}),
        event(system, "ev-1", event_time=now - 8 * 86400),
        event(system, "ev-2", user_data={"em": [sha("a@b.co"), "not-an-email"]}),
        event(system, "ev-3", custom_data={"value": 1, "currency": "XXZ"}),
        missing_name,
        event(system, "ev-5", custom_data={"value": "12.50", "currency": "eur"}),
        event(system, "ev-6", custom_data={"value": "12,50"}),
        event(system, "ev-7", event_time=now + 600),
        event(system, "ev-8", user_data={"ph": ["(650) 555-1234"]}),
        17,
        event(system, "ev-10", user_data={}),
        event(system, "ev-11", action_source="fax"),
        event(system, "ev-12", colour="red"),
        event(system, "ev-13", user_data={"ph": ["+1 650 555 1234"], "external_id": ["  C-1 "]}),
        event(system, "ev-14", event_time=now - 7 * 86400 + 60, custom_data={"value": 0.25}),
    ]
    out = send(client, acct, batch)
    got = [(e["outcome"], e.get("error", {}).get("field")) for e in out["events"]]
    assert got == [
        ("processed", None),
        ("failed", "data[1].event_time"),
        ("failed", "data[2].user_data.em[1]"),
        ("failed", "data[3].custom_data.currency"),
        ("failed", "data[4].event_name"),
        ("processed", None),
        ("failed", "data[6].custom_data.value"),
        ("failed", "data[7].event_time"),
        ("failed", "data[8].user_data.ph[0]"),
        ("failed", "data[9]"),
        ("failed", "data[10].user_data"),
        ("failed", "data[11].action_source"),
        ("failed", "data[12].colour"),
        ("processed", None),
        ("processed", None),
    ]
    assert all(e["error"]["message"] for e in out["events"] if e["status"] == "failed")
    assert (out["processed"], out["duplicate"], out["failed"], out["test"]) == (4, 0, 11, False)
    rows = stored_events(system)
    assert [r["event_id"] for r in rows] == ["ev-0", "ev-5", "ev-13", "ev-14"]
    by_id = {r["event_id"]: r for r in rows}
    assert by_id["ev-0"]["user_id"] == uid and by_id["ev-0"]["matched_by"] == "em"
    assert Decimal(by_id["ev-5"]["value"]) == Decimal("12.50") and by_id["ev-5"]["currency"] == "EUR"
    assert Decimal(by_id["ev-14"]["value"]) == Decimal("0.25")
    # Identifiers are used to find the person and never stored, plain or hashed.
    flat = json.dumps(rows, default=str)
    assert "650" not in flat.replace(str(acct.id), "") and sha(email) not in flat and "C-1" not in flat
    summary = client.get(f"/v1/ad_accounts/{acct.id}/events/summary", headers=acct.auth).json()
    assert {(s["event_name"], s["currency"], s["events"], s["value"]) for s in summary["events"]} == {
        ("checkout", "EUR", 2, "22.50"),
        ("checkout", None, 2, "0.25"),
    }


def test_wholly_invalid_requests_get_4xx_and_change_nothing(client: TestClient, system: System) -> None:
    acct = ad_account(system)
    before = row_counts(system)
    url = f"/v1/ad_accounts/{acct.id}/events"
    json_headers = {**acct.auth, "Content-Type": "application/json"}
    cases: list[tuple[Any, int]] = [
        (client.post(url, content=b"{not json", headers=json_headers), 400),
        (client.post(url, content=b"[]", headers=json_headers), 422),
        (client.post(url, json={}, headers=acct.auth), 422),
        (client.post(url, json={"data": []}, headers=acct.auth), 422),
        (client.post(url, json={"data": {"event_name": "checkout"}}, headers=acct.auth), 422),
        (client.post(url, json={"data": [event(system, "x")], "extra": 1}, headers=acct.auth), 422),
        (
            client.post(url, json={"data": [event(system, f"e{i}") for i in range(1001)]}, headers=acct.auth),
            422,
        ),
        (
            client.post(
                url,
                content=json.dumps({"data": [event(system, "t")]}).encode(),
                headers={**acct.auth, "Content-Type": "text/plain"},
            ),
            415,
        ),
    ]
    for r, status in cases:
        assert r.status_code == status, (status, r.text)
        err = r.json()["error"]
        assert err["code"] and err["message"]
    assert row_counts(system) == before


def test_test_mode_stores_nothing_and_a_retry_is_duplicate(client: TestClient, system: System) -> None:
    acct = ad_account(system)
    batch = [event(system, f"r-{i}") for i in range(5)] + [event(system, "bad", event_time=1)]
    before = row_counts(system)
    dry = send(client, acct, batch, test="true")
    assert statuses(dry) == ["processed"] * 5 + ["failed"] and dry["test"] is True
    assert row_counts(system) == before
    assert statuses(send(client, acct, batch)) == ["processed"] * 5 + ["failed"]
    assert statuses(send(client, acct, batch)) == ["duplicate"] * 5 + ["failed"]
    # The same event twice in one batch counts once; so does a test run of stored events.
    assert statuses(send(client, acct, [event(system, "twin"), event(system, "twin")])) == [
        "processed",
        "duplicate",
    ]
    assert statuses(send(client, acct, batch[:2], test="true")) == ["duplicate", "duplicate"]
    assert len(stored_events(system)) == 6


# --- dedupe across the tag and the API, 48 hours -----------------------------------------------------------


def test_dedupe_across_tag_and_api_within_48_hours(
    client: TestClient, system: System, clock: FrozenClock
) -> None:
    acct = ad_account(system)
    other = ad_account(system, "Other shop")
    r = client.get(f"/v1/tag/{acct.tag_id}/event", params={"event": "checkout", "event_id": "order-1"})
    assert r.status_code == 200, r.text
    clock.advance(timedelta(hours=47))
    assert statuses(send(client, acct, [event(system, "order-1")])) == ["duplicate"]
    # Another event kind with the same id, or another ad account, is a different event.
    assert statuses(send(client, acct, [event(system, "order-1", event_name="lead")])) == ["processed"]
    assert statuses(send(client, other, [event(system, "order-1")])) == ["processed"]
    clock.advance(timedelta(hours=2))  # 49 h after the tag event
    assert statuses(send(client, acct, [event(system, "order-1")])) == ["processed"]
    # ...and now the API event is the one a tag event within 48 h duplicates.
    clock.advance(timedelta(hours=1))
    before = len(stored_events(system))
    client.get(f"/v1/tag/{acct.tag_id}/event", params={"event": "checkout", "event_id": "order-1"})
    assert len(stored_events(system)) == before
    assert [r["source"] for r in stored_events(system) if r["event_name"] == "checkout"] == [
        "tag",
        "api",
        "api",
    ]


# --- the tag pixel ---------------------------------------------------------------------------------------


def test_tag_pixel(client: TestClient, system: System) -> None:
    acct = ad_account(system)
    before = row_counts(system)
    assert client.get("/v1/tag/nope1234/event", params={"event": "page_visit"}).status_code == 404
    bad = client.get(f"/v1/tag/{acct.tag_id}/event", params={"event": "buy_now"})
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "event"
    bad = client.get(f"/v1/tag/{acct.tag_id}/event", params={"event": "checkout", "currency": "XXZ"})
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "currency"
    bad = client.get(f"/v1/tag/{acct.tag_id}/event", params={"event": "checkout", "em": "nope"})
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "em"
    bad = client.get(f"/v1/tag/{acct.tag_id}/event", params={"event": "checkout", "who": "x"})
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "who"
    assert row_counts(system) == before

    # Signed out: stored, no person. Signed in here: the browser cookie names the person.
    r = client.get(f"/v1/tag/{acct.tag_id}/event", params={"event": "page_visit", "fp": "visitor-0001"})
    assert r.status_code == 200 and r.headers["content-type"] == "image/gif"
    assert r.content.startswith(b"GIF89a")
    uid = sign_up_in(client, "tagged@example.com")
    r = client.get(
        f"/v1/tag/{acct.tag_id}/event",
        params={"event": "checkout", "value": "19.99", "currency": "USD", "order_id": "A-1"},
    )
    assert r.status_code == 200 and r.content.startswith(b"GIF")
    # Enhanced match alone (another browser with no cookie of ours).
    ((other_uid, other_email),) = people(system, 1, "em")
    fresh = TestClient(client.app, base_url=str(client.base_url))
    fresh.get(f"/v1/tag/{acct.tag_id}/event", params={"event": "lead", "em": sha(other_email).upper()})
    rows = stored_events(system)
    assert [(r["event_name"], r["user_id"], r["matched_by"], r["source"]) for r in rows] == [
        ("page_visit", None, None, "tag"),
        ("checkout", uid, "cookie", "tag"),
        ("lead", other_uid, "em", "tag"),
    ]
    assert rows[0]["site_visitor_id"] == "visitor-0001"
    assert Decimal(rows[1]["value"]) == Decimal("19.99") and rows[1]["order_id"] == "A-1"


# --- tokens on every route ----------------------------------------------------------------------------------


def _ad_routes(client: TestClient) -> list[tuple[str, str]]:
    """Every (method, path) the app serves under /v1/ad_accounts/, included routers flattened."""
    app: Any = client.app
    found = [
        (method, str(route.path))
        for route in iter_route_contexts(app.routes)
        if route.path and str(route.path).startswith("/v1/ad_accounts/")
        for method in sorted(route.methods or ())
        if method != "HEAD"
    ]
    return found


def test_every_ad_account_route_checks_the_token(client: TestClient, system: System) -> None:
    a, b = ad_account(system, "Shop A"), ad_account(system, "Shop B")
    # B has an audience and a second token, so every path parameter names something real of B's.
    ((_, email),) = people(system, 1)
    r = client.post(
        f"/v1/ad_accounts/{b.id}/customer_lists",
        json={"kind": "email", "hashed": False, "records": [email]},
        headers=b.auth,
    )
    assert r.status_code == 201, r.text
    audience_id = r.json()["audience_id"]
    token_id = client.post(f"/v1/ad_accounts/{b.id}/tokens", json={}, headers=b.auth).json()["id"]
    revoked = client.post(f"/v1/ad_accounts/{a.id}/tokens", json={"label": "old"}, headers=a.auth).json()
    r = client.delete(f"/v1/ad_accounts/{a.id}/tokens/{revoked['id']}", headers=a.auth)
    assert r.status_code == 204

    routes = _ad_routes(client)
    expected = {
        ("POST", "/v1/ad_accounts/{ad_account_id}/events"),
        ("GET", "/v1/ad_accounts/{ad_account_id}/events/summary"),
        ("POST", "/v1/ad_accounts/{ad_account_id}/customer_lists"),
        ("GET", "/v1/ad_accounts/{ad_account_id}/audiences"),
        ("POST", "/v1/ad_accounts/{ad_account_id}/audiences"),
        ("GET", "/v1/ad_accounts/{ad_account_id}/audiences/{audience_id}"),
        ("POST", "/v1/ad_accounts/{ad_account_id}/audiences/{audience_id}/refresh"),
        ("GET", "/v1/ad_accounts/{ad_account_id}"),
        ("GET", "/v1/ad_accounts/{ad_account_id}/tokens"),
        ("POST", "/v1/ad_accounts/{ad_account_id}/tokens"),
        ("DELETE", "/v1/ad_accounts/{ad_account_id}/tokens/{token_id}"),
    }
    assert expected <= set(routes), "the routes this test was written against are all still there"
    values = {"ad_account_id": b.id, "audience_id": audience_id, "token_id": token_id}
    params = re.compile(r"{(\w+)(?::\w+)?}")
    bodies: dict[str, Any] = {
        "/events": {"data": [event(system, "cross-1")]},
        "/customer_lists": {"kind": "email", "hashed": False, "records": [email]},
        "/audiences": {"kind": "visitor", "retention_days": 30},
        "/tokens": {"label": "sneaky"},
    }
    before = row_counts(system)
    for method, path in routes:
        # Parameters this test does not know (a route added later) get a plausible id.
        url = params.sub(lambda m: str(values.get(m.group(1), 1)), path)
        body = next((v for k, v in bodies.items() if path.endswith(k)), {})
        kwargs: dict[str, Any] = {"json": body} if method in ("POST", "PUT", "PATCH") else {}
        for headers, status in (
            (a.auth, 403),
            ({}, 401),
            ({"Authorization": f"Bearer {revoked['token']}"}, 401),
            ({"Authorization": "Bearer tgad_made-up"}, 401),
            ({"Authorization": b.token}, 401),  # no scheme
        ):
            r = client.request(method, url, headers=headers, **kwargs)
            assert r.status_code == status, (method, url, headers, r.text)
            assert r.json()["error"]["code"]
    assert row_counts(system) == before
    # With its own account in the path, A still cannot reach B's audience or token by id.
    assert client.get(f"/v1/ad_accounts/{a.id}/audiences/{audience_id}", headers=a.auth).status_code == 404
    assert client.delete(f"/v1/ad_accounts/{a.id}/tokens/{token_id}", headers=a.auth).status_code == 404
    r = client.post(
        f"/v1/ad_accounts/{a.id}/audiences",
        json={"kind": "actalike", "seed_audience_id": audience_id, "percent": 5},
        headers=a.auth,
    )
    assert r.status_code in (404, 409), r.text
    assert row_counts(system) == before
    # And B's token still works on B.
    assert client.get(f"/v1/ad_accounts/{b.id}/audiences/{audience_id}", headers=b.auth).status_code == 200
    tokens = client.get(f"/v1/ad_accounts/{b.id}/tokens", headers=b.auth).json()["tokens"]
    assert all(b.token not in json.dumps(t) for t in tokens) and len(tokens) == 2


def test_tokens_are_stored_hashed(system: System) -> None:
    acct = ad_account(system)
    with system.read() as conn:
        rows = [dict(r) for r in conn.execute(select(ad_tokens)).mappings()]
        assert accounts.account_for_token(conn, acct.token) == acct.id
        assert accounts.account_for_token(conn, acct.token + "x") is None
    assert rows and acct.token not in json.dumps(rows, default=str)
    assert rows[0]["token_hash"] == sha(acct.token)


# --- the per-account rate limit ----------------------------------------------------------------------


def test_rate_limit_per_ad_account(database_url: str) -> None:
    settings = make_settings(database_url, ads_rate_limit_per_minute=3)
    system = build(settings, clock=FrozenClock(START))
    try:
        a, b = ad_account(system, "A"), ad_account(system, "B")
        with TestClient(compose(system, run_sweeper=False)) as client:
            codes = [client.get(f"/v1/ad_accounts/{a.id}", headers=a.auth).status_code for _ in range(4)]
            assert codes == [200, 200, 200, 429]
            r = client.post(
                f"/v1/ad_accounts/{a.id}/events", json={"data": [event(system, "rl")]}, headers=a.auth
            )
            assert r.status_code == 429
            assert r.json()["error"]["code"] == "rate_limited"
            assert int(r.headers["retry-after"]) >= 1
            # Another ad account has its own allowance.
            assert client.get(f"/v1/ad_accounts/{b.id}", headers=b.auth).status_code == 200
        assert stored_events(system) == []
    finally:
        system.dispose()


# --- the CLI ------------------------------------------------------------------------------------------


def _cli(args: list[str], url: str) -> Result:
    # In process (a subprocess per command costs seconds of imports); the CLI reads the environment.
    return CliRunner().invoke(cli_app, args, env={"TASTEGRAPH_DATABASE_URL": url})


def test_cli_ad_account_create_token_revoke(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    made = _cli(["ad-account", "create", "--name", "Loom & Linen"], url)
    assert made.exit_code == 0, made.output
    created = json.loads(made.stdout.strip().splitlines()[-1])
    assert set(created) >= {"id", "token", "tag_id"}
    more = _cli(["ad-account", "token", "--account", str(created["id"])], url)
    assert more.exit_code == 0, more.output
    second = json.loads(more.stdout.strip().splitlines()[-1])
    assert _cli(["ad-account", "create", "--name", "   "], url).exit_code == 2
    assert _cli(["ad-account", "token", "--account", "999"], url).exit_code == 2
    system = build(make_settings(url), clock=FrozenClock(START))
    try:
        with TestClient(compose(system, run_sweeper=False)) as client:
            path = f"/v1/ad_accounts/{created['id']}"
            for tok in (created["token"], second["token"]):
                r = client.get(path, headers={"Authorization": f"Bearer {tok}"})
                assert r.status_code == 200 and r.json()["tag_id"] == created["tag_id"]
            gone = _cli(
                ["ad-account", "revoke", "--account", str(created["id"]), "--token-id", str(second["id"])],
                url,
            )
            assert gone.exit_code == 0, gone.output
            r = client.get(path, headers={"Authorization": f"Bearer {second['token']}"})
            assert r.status_code == 401
            assert (
                client.get(path, headers={"Authorization": f"Bearer {created['token']}"}).status_code == 200
            )
    finally:
        system.dispose()


def test_custom_data_value_forms(client: TestClient, system: System) -> None:
    acct = ad_account(system)
    accepted: list[object] = [19.99, "19.99", 20, "0", "1e2"]
    refused: list[object] = [True, "1e400", "NaN", "Infinity", -1, "12.345678", "", [1], {"v": 1}]
    batch = [event(system, f"v-{i}", custom_data={"value": v}) for i, v in enumerate(accepted + refused)]
    out = send(client, acct, batch)
    assert statuses(out) == ["processed"] * len(accepted) + ["failed"] * len(refused), out
    assert {e["error"]["field"] for e in out["events"][len(accepted) :]} == {
        f"data[{i}].custom_data.value" for i in range(len(accepted), len(batch))
    }
    values = [Decimal(r["value"]) for r in stored_events(system)]
    assert values == [Decimal("19.99"), Decimal("19.99"), Decimal(20), Decimal(0), Decimal(100)]


# --- concurrency and size limits ---------------------------------------------------------------------------


def test_concurrent_retries_store_each_event_once(system: System) -> None:
    """Two batches with the same events at the same moment (a client retrying on a timeout): each event
    is stored once, whichever batch wins."""
    acct = ad_account(system)
    now = system.clock.now()
    raw = [event(system, f"race-{i}") for i in range(300)]
    barrier = threading.Barrier(2)
    results: list[list[str]] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            items = [advertiser_events.prepare(r, f"data[{i}]", now) for i, r in enumerate(raw)]
            barrier.wait()
            with system.write() as conn:
                out = advertiser_events.record_events(
                    conn, system.identity, system.consent, Ingest(acct.id, "api"), items, now
                )
            results.append([o.status.value for o in out])
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert sorted(results) == [["duplicate"] * 300, ["processed"] * 300]
    assert len(stored_events(system)) == 300


def test_body_limits(database_url: str) -> None:
    settings = make_settings(database_url, max_body_bytes=4096, ads_events_max_body_bytes=4096)
    system = build(settings, clock=FrozenClock(START))
    try:
        acct = ad_account(system)
        with TestClient(compose(system, run_sweeper=False)) as client:
            before = row_counts(system)
            big = {"data": [event(system, f"big-{i}") for i in range(60)]}
            r = client.post(f"/v1/ad_accounts/{acct.id}/events", json=big, headers=acct.auth)
            assert r.status_code == 413 and r.json()["error"]["code"] == "payload_too_large"
            assert row_counts(system) == before
            small = {"data": [event(system, "small-1")]}
            r = client.post(f"/v1/ad_accounts/{acct.id}/events", json=small, headers=acct.auth)
            assert r.status_code == 200 and statuses(r.json()) == ["processed"]
    finally:
        system.dispose()


def test_customer_list_over_the_record_limit_writes_nothing(
    client: TestClient, system: System, monkeypatch: pytest.MonkeyPatch
) -> None:
    acct = ad_account(system)
    crowd = people(system, 6)
    monkeypatch.setattr(customer_lists, "MAX_RECORDS", 5)
    before = row_counts(system)
    r = client.post(
        f"/v1/ad_accounts/{acct.id}/customer_lists",
        content="\n".join(e for _, e in crowd).encode(),
        params={"kind": "email", "hashed": "false"},
        headers={**acct.auth, "Content-Type": "text/csv"},
    )
    assert r.status_code == 413, r.text
    assert row_counts(system) == before
    r = client.post(
        f"/v1/ad_accounts/{acct.id}/customer_lists",
        content="\n".join(e for _, e in crowd[:5]).encode(),
        params={"kind": "email", "hashed": "false"},
        headers={**acct.auth, "Content-Type": "text/csv"},
    )
    assert r.status_code == 201 and r.json()["matched"] == 5


def test_text_that_cannot_be_stored_is_refused_not_a_500(client: TestClient, system: System) -> None:
    """NUL and other control characters (PostgreSQL cannot store NUL), lone surrogates and bytes that are
    not UTF-8: a 4xx (or a failed event) naming the field, never a 500, and nothing written."""
    acct = ad_account(system)
    ((_, email),) = people(system, 1)
    before = row_counts(system)
    u = f"/v1/ad_accounts/{acct.id}"
    csv = {**acct.auth, "Content-Type": "text/csv"}
    plain: dict[str, str] = {"kind": "email", "hashed": "false"}
    nul_event = event(system, "a\x00b", email=email)
    refusals = [
        (
            client.post(u + "/audiences", json={"kind": "visitor", "name": "a\x00b"}, headers=acct.auth),
            "name",
        ),
        (
            client.post(
                u + "/customer_lists",
                json={"kind": "email", "hashed": False, "records": [email], "name": "a\x00b"},
                headers=acct.auth,
            ),
            "name",
        ),
        (
            client.post(
                u + "/customer_lists", content=email.encode(), params={**plain, "name": "x\x00"}, headers=csv
            ),
            "name",
        ),
        (client.post(u + "/tokens", json={"label": "a\x00b"}, headers=acct.auth), "label"),
        (client.get(f"/v1/tag/{acct.tag_id}/event?event=checkout&event_id=%00abc"), "event_id"),
        (client.get(f"/v1/tag/{acct.tag_id}/event?event=checkout&order_id=1%002"), "order_id"),
        (client.post(u + "/customer_lists", content=b"\xff\xfea\x00\n", params=plain, headers=csv), None),
        (client.post(u + "/customer_lists", content=b"ok@x.co\n\xc3\n", params=plain, headers=csv), None),
        (
            client.post(
                u + "/customer_lists",
                content=b'{"kind": "email", "hashed": false, "records": ["\\ud800@x.co", "a\\u0000@x.co"]}',
                headers={**acct.auth, "Content-Type": "application/json"},
            ),
            "records[0]",
        ),
    ]
    for r, field in refusals:
        assert 400 <= r.status_code < 500, r.text
        assert r.json()["error"]["field"] == field, r.text
    out = send(client, acct, [nul_event, event(system, "ok", user_data={"external_id": ["x\x00y"]})])
    assert [e["error"]["field"] for e in out["events"]] == [
        "data[0].event_id",
        "data[1].user_data.external_id[0]",
    ]
    assert row_counts(system) == before


def test_ids_beyond_64_bits_are_refused_not_a_500(client: TestClient, system: System) -> None:
    acct = ad_account(system)
    big = 2**70
    u = f"/v1/ad_accounts/{acct.id}"
    for r in (
        client.get(u + f"/audiences/{big}", headers=acct.auth),
        client.post(u + f"/audiences/{big}/refresh", headers=acct.auth),
        client.delete(u + f"/tokens/{big}", headers=acct.auth),
        client.get(f"/v1/ad_accounts/{big}", headers=acct.auth),
        client.post(
            u + "/audiences",
            json={"kind": "actalike", "seed_audience_id": big, "percent": 5},
            headers=acct.auth,
        ),
    ):
        assert r.status_code == 422, r.text
    assert client.get(u + f"/audiences/{2**62}", headers=acct.auth).status_code == 404
    assert client.get("/v1/tag/%00/event", params={"event": "checkout"}).status_code == 404
    assert client.get("/v1/tag/a%20b/event", params={"event": "checkout"}).status_code == 404
    client = signed_in(client, system, person(system, "ids@example.com"))
    assert client.put(f"/v1/me/advertisers/{big}", json={"allow": False}).status_code == 422
    assert client.put(f"/v1/me/advertisers/{2**62}", json={"allow": False}).status_code == 404
