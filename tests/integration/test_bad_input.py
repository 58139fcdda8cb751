"""Bad input gets a 4xx with {"error": {"code", "message", "field"}} and writes nothing."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tastegraph.bootstrap import System
from tastegraph.db.schema import full_metadata
from tests.helpers import mini_world, sign_up_in


def _row_counts(system: System) -> dict[str, int]:
    with system.read() as conn:
        return {
            t.name: int(conn.execute(select(func.count()).select_from(t)).scalar_one())
            for t in full_metadata().sorted_tables
        }


def _assert_error(r: object, status: int, field: str | None = "__any__") -> None:
    from httpx import Response

    assert isinstance(r, Response)
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert set(err) >= {"code", "message", "field"}
    assert err["message"]
    if field != "__any__":
        assert err["field"] == field


@pytest.mark.parametrize(
    ("path", "body", "status", "field"),
    [
        ("/v1/users", b"{not json", 400, None),
        ("/v1/users", b"[]", 422, None),
        ("/v1/users", {"email": "a@b.co"}, 422, "password"),
        ("/v1/users", {"email": 5, "password": "long enough"}, 422, "email"),
        ("/v1/users", {"email": "nope", "password": "long enough"}, 422, "email"),
        ("/v1/users", {"email": "a@b.co", "password": "short"}, 422, "password"),
        ("/v1/users", {"email": "a@b.co", "password": "long enough", "admin": True}, 422, "admin"),
        ("/v1/offsite/visits", {"url": "ftp://x.example/"}, 422, "url"),
        ("/v1/offsite/visits", {"url": "not a url"}, 422, "url"),
        ("/v1/offsite/visits", {"url": 17}, 422, "url"),
        ("/v1/offsite/visits", {"url": "https://a.example/", "extra": 1}, 422, "extra"),
        ("/v1/offsite/visits", {"url": "https://a.example/", "event_id": "bad id!"}, 422, "event_id"),
        ("/v1/offsite/visits/batch", {"visits": []}, 422, "visits"),
        (
            "/v1/offsite/visits/batch",
            {"visits": [{"url": "https://a.example/1"}, {"url": "mailto:x@y.z"}]},
            422,
            "visits[1].url",
        ),
        ("/v1/test/clock", {"now": "2026-01-01T00:00:00"}, 422, "now"),
        ("/v1/test/clock", {"now": "yesterday"}, 422, "now"),
    ],
)
def test_bad_bodies(
    client: TestClient, system: System, path: str, body: object, status: int, field: str | None
) -> None:
    before = _row_counts(system)
    if isinstance(body, bytes):
        r = client.post(path, content=body, headers={"content-type": "application/json"})
    else:
        r = client.post(path, json=body)
    _assert_error(r, status, field)
    assert _row_counts(system) == before


def test_signed_in_bad_input_writes_nothing(client: TestClient, system: System) -> None:
    world = mini_world(system)
    sign_up_in(client)
    pin = world.pins_by_domain["trailpeak-gear.com"][0]
    before = _row_counts(system)
    cases = [
        ("PATCH", "/v1/me/settings", {"personalization": "no"}, 422, "personalization"),
        ("PATCH", "/v1/me/settings", {"ads": True}, 422, "ads"),
        # A valid first event and an invalid second one: the batch is refused whole.
        (
            "POST",
            "/v1/engagement",
            {"events": [{"kind": "save", "pin_id": pin}, {"kind": "save", "pin_id": 10**9}]},
            404,
            "events[1].pin_id",
        ),
        (
            "POST",
            "/v1/engagement",
            {"events": [{"kind": "save", "pin_id": pin}, {"kind": "wink"}]},
            422,
            None,
        ),
        ("POST", "/v1/engagement", {"events": [{"kind": "search"}]}, 422, "events[0].query"),
        ("POST", "/v1/engagement", {"events": [{"kind": "click", "pin_id": "3"}]}, 422, "events[0].pin_id"),
    ]
    for method, path, body, status, field in cases:
        r = client.request(method, path, json=body)
        _assert_error(r, status, field if field is not None else "__any__")
        assert _row_counts(system) == before, (path, body)


def test_unknown_ids_and_routes(client: TestClient, system: System) -> None:
    _assert_error(client.get("/v1/pins/999999"), 404, "pin_id")
    _assert_error(client.get("/v1/pins/abc"), 422, "pin_id")
    _assert_error(client.get("/v1/pins/999999/why"), 404, "pin_id")
    _assert_error(client.get("/v1/nothing-here"), 404, None)
    _assert_error(client.get("/v1/feed/home?limit=101"), 422, "limit")
    _assert_error(client.get("/v1/feed/home?limit=0"), 422, "limit")
    _assert_error(client.delete("/v1/pins/1"), 405, None)


def test_oversized_body_is_413(client: TestClient, system: System) -> None:
    before = _row_counts(system)
    big = b'{"url": "https://a.example/' + b"a" * 1_100_000 + b'"}'
    r = client.post("/v1/offsite/visits", content=big, headers={"content-type": "application/json"})
    _assert_error(r, 413, None)

    def chunks() -> object:
        for _ in range(12):
            yield b"x" * 100_000

    r = client.post("/v1/users", content=chunks(), headers={"content-type": "application/json"})  # type: ignore[arg-type]
    _assert_error(r, 413, None)
    assert _row_counts(system) == before


def test_auth_required_and_duplicate_email(client: TestClient, system: System) -> None:
    for method, path in [("GET", "/v1/me/settings"), ("GET", "/v1/me/export"), ("DELETE", "/v1/me")]:
        _assert_error(client.request(method, path), 401, None)
    sign_up_in(client)
    _assert_error(
        client.post("/v1/users", json={"email": "ANN@example.com", "password": "whatever1"}), 409, "email"
    )
    _assert_error(
        client.post("/v1/sessions", json={"email": "ann@example.com", "password": "wrong pass"}), 401, None
    )


def test_json_routes_need_json_and_same_origin(client: TestClient, system: System) -> None:
    sign_up_in(client)
    r = client.patch(
        "/v1/me/settings", content=b"personalization=false", headers={"content-type": "text/plain"}
    )
    _assert_error(r, 415, "content-type")
    r = client.patch(
        "/v1/me/settings", json={"personalization": False}, headers={"Origin": "https://evil.example"}
    )
    _assert_error(r, 403, "origin")
    assert client.get("/v1/me/settings").json()["personalization"] is True
    r = client.patch(
        "/v1/me/settings", json={"personalization": False}, headers={"Origin": "http://127.0.0.1:8000"}
    )
    assert r.status_code == 200
    r = client.post(
        "/v1/offsite/visits", content=b'{"url":"https://a.example/"}', headers={"content-type": "text/plain"}
    )
    _assert_error(r, 415, "content-type")
