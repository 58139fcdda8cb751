"""NUL, lone surrogates and deep JSON are refused the same way on every database, wherever they enter
(JSON bodies, query parameters, form fields, paths), and a refused request writes nothing. In the
conversions API a bad event fails alone and the batch's other events are stored."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tastegraph.bootstrap import System
from tests.helpers import csrf_token, mini_world, sign_up_in
from tests.integration.ads_support import ad_account, event, row_counts, stored_events

NUL = "\x00"
SURROGATE = "\ud800"
BAD = [pytest.param(NUL, id="nul"), pytest.param(SURROGATE, id="surrogate")]


def post_json(client: TestClient, path: str, body: Any, **headers: str) -> Any:
    """`body` as JSON with \\u escapes (json.dumps), so a lone surrogate travels as JSON sends it."""
    return client.post(
        path, content=json.dumps(body).encode(), headers={"content-type": "application/json", **headers}
    )


def assert_refused(r: Any, status: int, field: str | None) -> None:
    assert r.status_code == status, r.text
    error = r.json()["error"]
    assert error["code"] == ("invalid_input" if status == 422 else "not_found")
    assert error["field"] == field
    assert error["message"]


@pytest.mark.parametrize("bad", BAD)
def test_json_bodies_refuse_bad_text(client: TestClient, system: System, bad: str) -> None:
    before = row_counts(system)
    cases: list[tuple[str, dict[str, Any], str]] = [
        (
            "/v1/users",
            {"email": "a@b.co", "password": "long enough", "display_name": f"a{bad}b"},
            "display_name",
        ),
        ("/v1/users", {"email": f"a{bad}@b.co", "password": "long enough"}, "email"),
        ("/v1/offsite/visits", {"url": f"https://a.example/{bad}"}, "url"),
        (
            "/v1/offsite/visits/batch",
            {"visits": [{"url": "https://a.example/1"}, {"url": f"https://a.example/{bad}"}]},
            "visits[1].url",
        ),
        # A bad field name is refused too, without repeating it in the answer.
        ("/v1/offsite/visits", {"url": "https://a.example/", f"x{bad}": 1}, None),
    ]
    for path, body, field in cases:
        assert_refused(post_json(client, path, body), 422, field)
    assert row_counts(system) == before


@pytest.mark.parametrize("bad", BAD)
def test_search_queries_refuse_bad_text(client: TestClient, system: System, bad: str) -> None:
    mini_world(system)
    sign_up_in(client)
    before = row_counts(system)
    body = {"events": [{"kind": "search", "query": "tents"}, {"kind": "search", "query": f"tent{bad}s"}]}
    assert_refused(post_json(client, "/v1/engagement", body), 422, "events[1].query")
    assert row_counts(system) == before


@pytest.mark.parametrize("bad", BAD)
def test_a_bad_conversion_event_fails_alone(client: TestClient, system: System, bad: str) -> None:
    acct = ad_account(system)
    good = event(system, "good-0001")
    bad_events = [
        (event(system, f"bad{bad}id", email="x1@shop.example"), "data[1].event_id"),
        (event(system, "bad-0002", custom_data={"order_id": f"A{bad}17"}), "data[2].custom_data.order_id"),
        (
            event(system, "bad-0003", event_source_url=f"https://shop.example/{bad}"),
            "data[3].event_source_url",
        ),
        (
            event(system, "bad-0004", custom_data={"search_query": f"t{bad}"}),
            "data[4].custom_data.search_query",
        ),
        (event(system, "bad-0005", user_data={"em": [f"x{bad}@shop.example"]}), "data[5].user_data.em[0]"),
    ]
    last = event(system, "good-0006")
    body = {"data": [good, *[e for e, _ in bad_events], last]}
    r = post_json(client, f"/v1/ad_accounts/{acct.id}/events", body, **acct.auth)
    assert r.status_code == 200, r.text
    result = r.json()
    assert result["processed"] == 2 and result["failed"] == len(bad_events)
    failed = [e["error"]["field"] for e in result["events"] if e["status"] == "failed"]
    assert failed == [field for _, field in bad_events]
    assert [e["event_id"] for e in stored_events(system)] == ["good-0001", "good-0006"]


def test_conversion_events_nested_too_deep_fail_alone(client: TestClient, system: System) -> None:
    acct = ad_account(system)
    deep: Any = "x"
    for _ in range(40):
        deep = [deep]
    body = {"data": [event(system, "deep-0001", custom_data={"line_items": deep}), event(system, "ok-0002")]}
    r = post_json(client, f"/v1/ad_accounts/{acct.id}/events", body, **acct.auth)
    assert r.status_code == 200, r.text
    assert [e["status"] for e in r.json()["events"]] == ["failed", "processed"]
    assert [e["event_id"] for e in stored_events(system)] == ["ok-0002"]


@pytest.mark.parametrize("depth", [33, 5000])
def test_json_nested_too_deep_is_refused(client: TestClient, system: System, depth: int) -> None:
    before = row_counts(system)
    body = b"[" * depth + b"]" * depth
    for path in ("/v1/users", "/v1/offsite/visits/batch"):
        r = client.post(path, content=body, headers={"content-type": "application/json"})
        assert r.status_code == 422, r.text
        assert r.json()["error"]["code"] == "invalid_input"
        assert "32 levels" in r.json()["error"]["message"]
    acct = ad_account(system)
    before = row_counts(system)
    r = client.get(
        f"/v1/tag/{acct.tag_id}/event",
        params={"event": "checkout", "line_items": "[" * depth + "]" * depth},
    )
    assert_refused(r, 422, "line_items")
    assert row_counts(system) == before


def test_query_parameters_refuse_nul(client: TestClient, system: System) -> None:
    acct = ad_account(system)
    before = row_counts(system)
    r = client.post(
        f"/v1/ad_accounts/{acct.id}/customer_lists",
        params={"kind": "email", "hashed": "false", "name": "spring\x00list"},
        content=b"email\nann@example.com\n",
        headers={"content-type": "text/csv", **acct.auth},
    )
    assert_refused(r, 422, "name")
    r = client.get(f"/v1/tag/{acct.tag_id}/event", params={"event": "checkout", "order_id": "A\x0017"})
    assert_refused(r, 422, "order_id")
    assert_refused(client.get("/v1/feed/home", params={"limit": "5\x00"}), 422, "limit")
    assert row_counts(system) == before


@pytest.mark.parametrize("bad", BAD)
def test_customer_list_records_with_bad_text_are_invalid_alone(
    client: TestClient, system: System, bad: str
) -> None:
    acct = ad_account(system)
    body = {"kind": "email", "hashed": False, "records": ["ann@example.com", f"b{bad}@example.com"]}
    r = post_json(client, f"/v1/ad_accounts/{acct.id}/customer_lists", body, **acct.auth)
    assert r.status_code == 201, r.text
    assert (r.json()["uploaded"], r.json()["invalid"]) == (2, 1)
    assert r.json()["errors"][0]["field"] == "records[1]"
    before = row_counts(system)
    r = post_json(
        client, f"/v1/ad_accounts/{acct.id}/customer_lists", {**body, "name": f"n{bad}"}, **acct.auth
    )
    assert_refused(r, 422, "name")
    assert row_counts(system) == before


def test_form_fields_refuse_nul(client: TestClient, system: System) -> None:
    token = csrf_token(client, "/signup")
    before = row_counts(system)
    r = client.post(
        "/signup",
        data={
            "email": "bea@example.com",
            "password": "a good password",
            "display_name": "B\x00ea",
            "csrf_token": token,
        },
        follow_redirects=False,
    )
    assert r.status_code == 422, r.text
    assert row_counts(system) == before


def test_paths_with_nul_name_nothing(client: TestClient, system: System) -> None:
    acct = ad_account(system)
    before = row_counts(system)
    assert_refused(client.get("/v1/tag/%00/event", params={"event": "checkout"}), 404, "tag_id")
    assert_refused(client.get(f"/v1/tag/{acct.tag_id}%00/event", params={"event": "checkout"}), 404, "tag_id")
    assert row_counts(system) == before


def test_image_paths_with_nul_or_dot_segments_are_404(
    client: TestClient, system: System, tmp_path: Path
) -> None:
    folder = tmp_path / "ikea"
    (folder / "images").mkdir(parents=True)
    (folder / "images" / "a.jpg").write_bytes(b"\xff\xd8\xff fake jpeg")
    system.settings.ikea_dir = folder
    assert client.get("/ikea-images/images/a.jpg").status_code == 200
    for bad in (
        "/ikea-images/%00.jpg",
        "/ikea-images/images/a.jpg%00.png",
        "/ikea-images/images/%2e%2e/images/a.jpg",
        "/ikea-images/images//a.jpg",
        "/ikea-images/images%5ca.jpg",
    ):
        r = client.get(bad)
        assert r.status_code == 404, (bad, r.status_code)
        assert "couldn" in r.text  # the friendly page, not an error
