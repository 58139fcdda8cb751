"""`Origin: null` (sandboxed frames, files, cross-site redirects) is a foreign origin everywhere: it can
report no visit, gets no credentialed CORS answer, and cannot act with the session cookie."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tastegraph.bootstrap import System
from tests.helpers import sign_up_in
from tests.integration.ads_support import row_counts

NULL = {"Origin": "null"}


def test_a_null_origin_reports_no_visit(client: TestClient, system: System) -> None:
    before = row_counts(system)
    r = client.post("/v1/offsite/visits", json={"url": "https://a.example/"}, headers=NULL)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["field"] == "url"
    r = client.post(
        "/v1/offsite/visits/batch",
        json={"visits": [{"url": "https://a.example/"}, {"url": "https://a.example/2"}]},
        headers=NULL,
    )
    assert r.status_code == 422, r.text
    assert r.json()["error"]["field"] == "visits[0].url"
    assert row_counts(system) == before
    # A real page still reports itself.
    r = client.post(
        "/v1/offsite/visits", json={"url": "https://a.example/x"}, headers={"Origin": "https://a.example"}
    )
    assert r.status_code == 201, r.text
    assert r.headers["access-control-allow-origin"] == "https://a.example"


def test_a_null_origin_gets_no_cors_with_credentials(client: TestClient) -> None:
    preflight = client.options(
        "/v1/offsite/visits", headers={**NULL, "Access-Control-Request-Method": "POST"}
    )
    answer = client.post("/v1/offsite/visits", json={"url": "https://a.example/"}, headers=NULL)
    for r in (preflight, answer):
        assert "access-control-allow-origin" not in r.headers, r.headers
        assert "access-control-allow-credentials" not in r.headers, r.headers


def test_a_null_origin_cannot_use_the_session(client: TestClient, system: System) -> None:
    sign_up_in(client)
    r = client.patch("/v1/me/settings", json={"personalization": False}, headers=NULL)
    assert r.status_code == 403, r.text
    assert r.json()["error"]["field"] == "origin"
    assert client.get("/v1/me/settings").json()["personalization"] is True
