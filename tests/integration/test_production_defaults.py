"""Production defaults: admin routes behind a token, Secure cookies required, HSTS, personal answers never
stored by caches, and the API docs served from the app's own files under the pages' CSP."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from tastegraph.bootstrap import System, build
from tastegraph.config import Settings
from tastegraph.kernel import ConfigurationError, FrozenClock
from tastegraph.server import compose
from tests.conftest import START, make_settings
from tests.helpers import sign_up_in

ADMIN_TOKEN = "an-admin-token-for-tests-0123456789"
ORIGIN = "https://tastegraph.example"
SECRET = "a-production-secret-key-for-tests"
HSTS = "max-age=31536000; includeSubDomains"


def production(database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "env": "production",
        "test_clock": False,
        "secret_key": SECRET,
        "public_origin": ORIGIN,
        "cookies_always_secure": True,
        **overrides,
    }
    return make_settings(database_url, **values)


def _client(settings: Settings, base_url: str = "http://127.0.0.1:8000") -> Iterator[TestClient]:
    # A frozen clock: the failure limits' windows must not turn over in the middle of a test.
    system = build(settings, clock=FrozenClock(START))
    with TestClient(compose(system, run_sweeper=False), base_url=base_url) as c:
        yield c
    system.dispose()


# --- admin routes --------------------------------------------------------------------------------------


@pytest.mark.parametrize("env", ["development", "test", "production"])
def test_admin_routes_absent_without_a_token(database_url: str, env: str) -> None:
    settings = production(database_url) if env == "production" else make_settings(database_url, env=env)
    for c in _client(settings, ORIGIN):
        r = c.post("/v1/admin/reload-model", headers={"authorization": f"Bearer {ADMIN_TOKEN}"})
        assert r.status_code == 404
        assert "/v1/admin/reload-model" not in c.get("/openapi.json").json()["paths"]


@pytest.mark.parametrize("env", ["development", "production"])
def test_admin_routes_need_the_token(database_url: str, env: str) -> None:
    settings = (
        production(database_url, admin_token=ADMIN_TOKEN)
        if env == "production"
        else make_settings(database_url, env=env, admin_token=ADMIN_TOKEN)
    )
    for c in _client(settings, ORIGIN):
        path = "/v1/admin/reload-model"
        assert c.post(path).status_code == 401
        assert c.post(path, headers={"authorization": "Bearer wrong"}).status_code == 401
        assert c.post(path, headers={"authorization": f"Basic {ADMIN_TOKEN}"}).status_code == 401
        r = c.post(path, headers={"authorization": f"Bearer {ADMIN_TOKEN}"})
        assert r.status_code == 200 and r.json()["loaded"] is False
        assert r.headers["cache-control"] == "no-store"


def test_wrong_admin_tokens_are_limited(database_url: str) -> None:
    for c in _client(make_settings(database_url, admin_token=ADMIN_TOKEN)):
        path = "/v1/admin/reload-model"
        codes = [c.post(path, headers={"authorization": f"Bearer guess-{i}"}).status_code for i in range(12)]
        assert codes[:10] == [401] * 10 and codes[10:] == [429, 429]
        # While the address waits, even the right token is refused: guessing stays slow.
        r = c.post(path, headers={"authorization": f"Bearer {ADMIN_TOKEN}"})
        assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1


def test_admin_token_must_be_long() -> None:
    with pytest.raises(ConfigurationError, match="ADMIN_TOKEN"):
        Settings(admin_token="short").check()


# --- production refuses cookies that are not Secure ----------------------------------------------------


def test_production_refuses_cookies_that_are_not_secure() -> None:
    base: dict[str, Any] = {"env": "production", "secret_key": SECRET, "public_origin": ORIGIN}
    with pytest.raises(ConfigurationError, match="COOKIES_ALWAYS_SECURE"):
        Settings(**base).check()
    Settings(**base, cookies_always_secure=True).check()
    Settings(**base, forwarded_allow_ips="10.0.0.2").check()
    # The public origin is what browsers see: over plain http no cookie could be Secure.
    with pytest.raises(ConfigurationError, match="PUBLIC_ORIGIN"):
        Settings(**{**base, "public_origin": "http://tastegraph.example"}, cookies_always_secure=True).check()
    # Development keeps working over plain http.
    Settings().check()


def test_production_cookies_are_secure(database_url: str) -> None:
    for c in _client(production(database_url), ORIGIN):
        r = c.post("/v1/users", json={"email": "ann@example.com", "password": "correct horse"})
        assert r.status_code == 201
        r = c.post("/v1/sessions", json={"email": "ann@example.com", "password": "correct horse"})
        assert r.status_code == 200
        assert "secure" in r.headers["set-cookie"].lower()


# --- HSTS ----------------------------------------------------------------------------------------------


def test_hsts_on_every_response_in_production(database_url: str) -> None:
    for c in _client(production(database_url), ORIGIN):
        for path in ("/", "/healthz", "/v1/feed/home", "/static/app.css", "/widget.js", "/nowhere"):
            assert c.get(path).headers.get("strict-transport-security") == HSTS, path


def test_hsts_only_over_https_outside_production(database_url: str) -> None:
    settings = make_settings(database_url)
    for c in _client(settings):
        assert "strict-transport-security" not in c.get("/healthz").headers
    for c in _client(settings, "https://127.0.0.1:8000"):
        assert c.get("/healthz").headers.get("strict-transport-security") == HSTS


# --- personal answers are not stored -------------------------------------------------------------------


def test_personal_answers_are_no_store(client: TestClient, system: System) -> None:
    # Signed out: the account routes say so even when they answer 401.
    assert client.get("/v1/me").headers["cache-control"] == "no-store"
    assert client.get("/v1/me/export").headers["cache-control"] == "no-store"
    sign_up_in(client)
    for path in (
        "/v1/me",
        "/v1/me/export",
        "/v1/me/settings",
        "/v1/me/consent-history",
        "/v1/me/advertisers",
        "/v1/me/boards",
        "/v1/feed/home",
        "/v1/recommendations/boards",
        "/v1/browser/personalization",
        "/",
        "/settings",
        "/privacy",
        "/advertisers",
    ):
        r = client.get(path)
        assert r.status_code == 200, (path, r.text)
        assert r.headers.get("cache-control") == "no-store", path
    # Static assets keep their caching, cookies or not.
    assert client.get("/widget.js").headers["cache-control"] == "public, max-age=3600"
    assert client.get("/tag.js").headers["cache-control"] == "public, max-age=3600"
    assert "no-store" not in client.get("/static/app.css").headers.get("cache-control", "")
    demo = client.get("/static/demo-img/cooking/1.svg")
    assert demo.headers["cache-control"] == "public, max-age=86400, immutable"


# --- the API docs --------------------------------------------------------------------------------------

_SRC = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']""")


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
def test_docs_are_served_from_our_own_files(client: TestClient, path: str) -> None:
    from tastegraph.api.docs import REDOC_CSP, REDOC_STYLE_HASHES
    from tastegraph.web.pages import PAGE_CSP

    r = client.get(path)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    csp = r.headers["content-security-policy"]
    if path == "/docs":
        assert csp == PAGE_CSP
    else:  # the pages' policy, but for two fixed style sheets of ReDoc's (see api.docs)
        assert csp == REDOC_CSP != PAGE_CSP
        assert csp.replace(" " + " ".join(REDOC_STYLE_HASHES), "") == PAGE_CSP
    html = r.text
    # No inline script (script-src 'self' would block it) and nothing from another origin.
    assert not re.search(r"<script(?![^>]*\ssrc=)[^>]*>", html), html
    assert "style=" not in html and "<style" not in html
    refs = _SRC.findall(html)
    assert any(ref.endswith(".js") for ref in refs)
    for ref in refs:
        assert ref.startswith("/") and not ref.startswith("//"), ref
        asset = client.get(ref)
        assert asset.status_code == 200, ref
        assert b"cdn.redoc.ly" not in asset.content, ref
    assert "cdn" not in html.lower()


# --- `tastegraph serve` behind a TLS-terminating proxy -------------------------------------------------


def test_serve_trusts_proxy_headers_only_when_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn

    from tastegraph import cli

    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(uvicorn, "run", lambda *a, **kw: calls.append(kw))
    monkeypatch.setenv("TASTEGRAPH_DATABASE_URL", "sqlite:///:memory:")
    runner = CliRunner()
    assert runner.invoke(cli.app, ["serve"]).exit_code == 0
    assert calls[-1]["proxy_headers"] is False
    monkeypatch.setenv("TASTEGRAPH_FORWARDED_ALLOW_IPS", "10.0.0.2,10.0.0.3")
    assert runner.invoke(cli.app, ["serve"]).exit_code == 0
    assert calls[-1]["proxy_headers"] is True and calls[-1]["forwarded_allow_ips"] == "10.0.0.2,10.0.0.3"
    # A production configuration that would hand out cookies that are not Secure never starts.
    monkeypatch.delenv("TASTEGRAPH_FORWARDED_ALLOW_IPS")
    monkeypatch.setenv("TASTEGRAPH_ENV", "production")
    monkeypatch.setenv("TASTEGRAPH_SECRET_KEY", SECRET)
    monkeypatch.setenv("TASTEGRAPH_PUBLIC_ORIGIN", ORIGIN)
    refused = runner.invoke(cli.app, ["serve"])
    assert refused.exit_code == 2 and len(calls) == 2
    assert "COOKIES_ALWAYS_SECURE" in refused.output


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_served_behind_a_proxy_cookies_are_secure(tmp_path: Path) -> None:
    """The real `tastegraph serve` in production behind a proxy on 127.0.0.1 that says the browser's
    request came over https: the session cookie is Secure and HSTS is sent."""
    url = f"sqlite:///{tmp_path / 'served.db'}"
    env = {
        **os.environ,
        "TASTEGRAPH_DATABASE_URL": url,
        "TASTEGRAPH_ENV": "production",
        "TASTEGRAPH_SECRET_KEY": SECRET,
        "TASTEGRAPH_PUBLIC_ORIGIN": ORIGIN,
        "TASTEGRAPH_FORWARDED_ALLOW_IPS": "127.0.0.1",
        "TASTEGRAPH_IKEA_DIR": str(tmp_path / "no-ikea"),
        "TASTEGRAPH_MODEL_DIR": str(tmp_path / "models"),
    }
    cli = [sys.executable, "-m", "tastegraph.cli"]
    subprocess.run([*cli, "db", "upgrade"], cwd=tmp_path, env=env, check=True, capture_output=True)
    port = _free_port()
    server = subprocess.Popen(
        [*cli, "serve", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(base + "/healthz", timeout=1)
                break
            except httpx.TransportError:
                assert server.poll() is None, server.stderr.read() if server.stderr else ""
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.2)
        proxied = {"x-forwarded-proto": "https", "x-forwarded-for": "203.0.113.9"}
        account = {"email": "ann@example.com", "password": "correct horse"}
        assert httpx.post(base + "/v1/users", json=account, headers=proxied).status_code == 201
        r = httpx.post(base + "/v1/sessions", json=account, headers=proxied)
        assert r.status_code == 200
        assert "secure" in r.headers["set-cookie"].lower()
        assert r.headers["strict-transport-security"] == HSTS
    finally:
        server.terminate()
        server.wait(timeout=20)
