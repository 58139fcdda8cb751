"""Rate limits, the test-only routes' absence, settings refusals, and the CLI commands end to end."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, insert, select

from tastegraph.bootstrap import build
from tastegraph.collect.tables import offsite_visits
from tastegraph.config import Settings
from tastegraph.demo.promoted import DEMO_ADVERTISERS
from tastegraph.kernel import ConfigurationError, FrozenClock
from tastegraph.server import compose
from tests.conftest import START, make_settings


def test_rate_limit_answers_429_with_retry_after(database_url: str) -> None:
    settings = make_settings(database_url, test_clock=False, rate_limit_per_minute=3)
    system = build(settings, clock=FrozenClock(START))
    with TestClient(compose(system, run_sweeper=False)) as client:
        codes = [client.get("/v1/feed/home").status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        r = client.get("/v1/feed/home")
        assert r.json()["error"]["code"] == "rate_limited"
        assert int(r.headers["retry-after"]) >= 1
        # Reading pages and assets is not limited; posting forms (sign-in guessing) is.
        assert client.get("/healthz").status_code == 200
        assert client.get("/signin").status_code == 200
        assert client.post("/signin", data={"email": "a@b.co", "password": "x"}).status_code == 429
    system.dispose()


def test_test_routes_absent_without_test_clock(database_url: str) -> None:
    system = build(make_settings(database_url, test_clock=False, rate_limit_enabled=False))
    with TestClient(compose(system, run_sweeper=False)) as client:
        assert client.post("/v1/test/clock", json={"now": "2030-01-01T00:00:00Z"}).status_code == 404
        assert client.post("/v1/test/sweep").status_code == 404
    system.dispose()


def test_unsafe_settings_refused() -> None:
    secure: dict[str, Any] = {"public_origin": "https://tastegraph.example", "cookies_always_secure": True}
    with pytest.raises(ConfigurationError):
        Settings(env="production").check()
    with pytest.raises(ConfigurationError):
        Settings(env="production", secret_key="x" * 40, test_clock=True, **secure).check()
    Settings(env="production", secret_key="x" * 40, **secure).check()


def _cli(args: list[str], cwd: Path, url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TASTEGRAPH_DATABASE_URL": url}
    return subprocess.run(
        [sys.executable, "-m", "tastegraph.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_cli_upgrade_demo_sweep(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    up = _cli(["db", "upgrade"], tmp_path, url)
    assert up.returncode == 0, up.stderr
    demo = _cli(
        ["demo", "--seed", "7", "--load-only", "--pins", "300", "--users", "40", "--no-ikea"], tmp_path, url
    )
    assert demo.returncode == 0, demo.stderr
    again = _cli(["demo", "--seed", "7", "--load-only", "--no-ikea"], tmp_path, url)
    # The demo world's 300 Pins plus one Pin per demo ad.
    ad_pins = sum(len(group.ads) for spec in DEMO_ADVERTISERS for group in spec.groups)
    assert ad_pins > 0
    assert again.returncode == 0 and f"already has {300 + ad_pins} Pins" in again.stderr.replace(",", "")
    # An off-site visit 40 days old is removed by `tastegraph sweep`.
    system = build(make_settings(url))
    now = system.clock.now()
    with system.write() as conn:
        conn.execute(
            insert(offsite_visits).values(
                event_id="old-visit-01",
                browser_id="a" * 32,
                url="https://a.example/",
                domain="a.example",
                visited_at=now - timedelta(days=40),
                received_at=now - timedelta(days=40),
            )
        )
    swept = _cli(["sweep"], tmp_path, url)
    assert swept.returncode == 0, swept.stderr
    report = json.loads(swept.stdout.strip().splitlines()[-1])
    assert report["deleted"]["offsite_visits"] == 1
    assert report["psi"]["key_id"] >= 1  # the private-set-intersection key is made and prepared
    assert report["reports"]["full"] is True  # the reports' rollups: built the first time
    with system.read() as conn:
        assert conn.execute(select(func.count()).select_from(offsite_visits)).scalar_one() == 0
    system.dispose()
