"""Sign-in resists guessing: limits per account, per known device and per client address, held in
counters every server process shares (the database, or Redis), with the password hash computed outside
any transaction."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from tastegraph.bootstrap import System, build
from tastegraph.catalog import accounts
from tastegraph.db import make_engine, upgrade
from tastegraph.identity import DEVICE_COOKIE
from tastegraph.kernel import FrozenClock
from tastegraph.server import compose
from tests.conftest import START, make_settings
from tests.helpers import REDIS_URL, counter_stores

EMAIL, PASSWORD = "owner@example.com", "correct horse"


COUNTERS = counter_stores()


@pytest.fixture(params=COUNTERS)
def guarded(
    request: pytest.FixtureRequest, database_url: str, tmp_path: Path
) -> Iterator[tuple[TestClient, System]]:
    extra: dict[str, object] = {}
    if request.param == "redis":
        extra = {"redis_url": REDIS_URL, "redis_key_prefix": f"tastegraph-test-{uuid.uuid4().hex}:"}
    clock = FrozenClock(START)
    system = build(make_settings(database_url, model_dir=tmp_path / "models", **extra), clock=clock)
    with TestClient(compose(system, run_sweeper=False), base_url="http://127.0.0.1:8000") as client:
        assert client.post("/v1/users", json={"email": EMAIL, "password": PASSWORD}).status_code == 201
        yield client, system
    system.dispose()


def _try(client: TestClient, password: str, email: str = EMAIL) -> httpx.Response:
    return client.post("/v1/sessions", json={"email": email, "password": password})


def test_ten_wrong_passwords_lock_the_account_for_unknown_browsers(
    guarded: tuple[TestClient, System],
) -> None:
    client, system = guarded
    codes = [_try(client, f"wrong-{i}").status_code for i in range(10)]
    assert codes == [401] * 10
    locked = _try(client, PASSWORD)  # even the right password, from a browser the account does not know
    assert locked.status_code == 429
    assert locked.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(locked.headers["retry-after"]) <= 30 * 60
    # Another account is not held back.
    assert client.post("/v1/users", json={"email": "b@example.com", "password": PASSWORD}).status_code == 201
    assert _try(client, PASSWORD, "b@example.com").status_code == 200
    # After the window the owner signs in again.
    assert isinstance(system.clock, FrozenClock)
    system.clock.advance(timedelta(seconds=int(locked.headers["retry-after"]) + 1))
    client.cookies.clear()
    assert _try(client, PASSWORD).status_code == 200


def test_the_owner_signs_in_from_a_known_browser_during_a_lockout(guarded: tuple[TestClient, System]) -> None:
    client, _ = guarded
    assert _try(client, PASSWORD).status_code == 200
    device = client.cookies.get(DEVICE_COOKIE)
    assert device
    client.delete("/v1/sessions")
    attacker = TestClient(client.app, base_url="http://127.0.0.1:8000")
    assert [_try(attacker, f"guess-{i}").status_code for i in range(11)] == [401] * 10 + [429]
    assert _try(client, PASSWORD).status_code == 200  # the device cookie still travels with the owner
    # A device cookie is bound to its account: it does not unlock another one, and cannot be forged.
    attacker.cookies.set(DEVICE_COOKIE, device, domain="127.0.0.1")
    assert _try(attacker, PASSWORD).status_code == 200  # the stolen-cookie case is the device's own limit
    forged = TestClient(client.app, base_url="http://127.0.0.1:8000")
    forged.cookies.set(DEVICE_COOKIE, device.split(".")[0] + ".0000", domain="127.0.0.1")
    assert _try(forged, PASSWORD).status_code == 429


def test_parallel_guesses_cannot_pass_the_limit_together(guarded: tuple[TestClient, System]) -> None:
    client, _ = guarded
    codes: list[int] = []
    lock = threading.Lock()

    def guess(i: int) -> None:
        code = _try(client, f"parallel-{i}").status_code
        with lock:
            codes.append(code)

    threads = [threading.Thread(target=guess, args=(i,)) for i in range(24)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(codes) == [401] * 10 + [429] * 14


def test_unknown_emails_are_limited_like_real_ones(guarded: tuple[TestClient, System]) -> None:
    client, _ = guarded
    real = [_try(client, f"w{i}").json()["error"]["code"] for i in range(11)]
    ghost = [_try(client, f"w{i}", "nobody@example.com").json()["error"]["code"] for i in range(11)]
    assert real == ghost == ["unauthenticated"] * 10 + ["rate_limited"]


def test_one_address_cannot_spray_many_accounts(database_url: str, tmp_path: Path) -> None:
    settings = make_settings(database_url, model_dir=tmp_path / "m", signin_failures_per_address=5)
    system = build(settings, clock=FrozenClock(START))
    with TestClient(compose(system, run_sweeper=False)) as client:
        codes = [_try(client, "wrong-password", f"user{i}@example.com").status_code for i in range(6)]
        assert codes == [401] * 5 + [429]
    system.dispose()


class _SpyHasher:
    """Stands in for the module's password hasher and notes each check."""

    def __init__(self, on_verify: Callable[[], object]) -> None:
        self.real = accounts._hasher
        self.on_verify = on_verify
        self.calls = 0

    def verify(self, stored: str, password: str) -> bool:
        self.calls += 1
        self.on_verify()
        return bool(self.real.verify(stored, password))


def test_password_hashing_holds_no_database_connection(
    guarded: tuple[TestClient, System], monkeypatch: pytest.MonkeyPatch
) -> None:
    client, system = guarded
    checked: list[int] = []
    spy = _SpyHasher(lambda: checked.append(system.engine.pool.checkedout()))  # type: ignore[attr-defined]
    monkeypatch.setattr(accounts, "_hasher", spy)
    assert _try(client, "wrong-one").status_code == 401
    assert _try(client, PASSWORD).status_code == 200
    assert checked == [0, 0]


def test_a_refused_attempt_costs_no_password_hash(
    guarded: tuple[TestClient, System], monkeypatch: pytest.MonkeyPatch
) -> None:
    client, _ = guarded
    for i in range(10):
        _try(client, f"wrong-{i}")
    spy = _SpyHasher(lambda: None)
    monkeypatch.setattr(accounts, "_hasher", spy)
    assert _try(client, "another-guess").status_code == 429
    assert spy.calls == 0


def test_the_sign_in_page_says_when_to_try_again(guarded: tuple[TestClient, System]) -> None:
    client, _ = guarded
    page = client.get("/signin")
    token = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    form = {"email": EMAIL, "password": "wrong-password", "csrf_token": token}
    codes = [client.post("/signin", data=form).status_code for _ in range(11)]
    assert codes == [401] * 10 + [429]
    last = client.post("/signin", data=form)
    assert last.status_code == 429 and "retry-after" in last.headers
    assert "try again in about" in last.text


# --- several server processes -----------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(url: str, port: int, cwd: Path, extra: dict[str, str]) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "TASTEGRAPH_DATABASE_URL": url,
        "TASTEGRAPH_MODEL_DIR": str(cwd / "models"),
        "TASTEGRAPH_RATE_LIMIT_ENABLED": "false",
        **extra,
    }
    return subprocess.Popen(
        [sys.executable, "-m", "tastegraph.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _away_from_a_window_edge(window_seconds: int, margin: float = 10.0) -> None:
    """The servers run on the wall clock: start a counted run well inside one window, since at a window's
    edge the sliding estimate (the last window's count, weighted by its overlap) lets one more through."""
    into = time.time() % window_seconds
    if into > window_seconds - margin:
        time.sleep(window_seconds - into + 0.5)


def _wait_ready(port: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise AssertionError(f"server on port {port} did not start")


@pytest.mark.parametrize("store", COUNTERS)
def test_two_servers_share_one_limit(store: str, tmp_path: Path) -> None:
    """Two server processes on one database: a guesser alternating between them still gets 10 tries,
    not 10 per process (per-process buckets would give 20)."""
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    extra = {}
    if store == "redis":
        extra = {"TASTEGRAPH_REDIS_URL": REDIS_URL, "TASTEGRAPH_REDIS_KEY_PREFIX": f"t-{uuid.uuid4().hex}:"}
    ports = [_free_port(), _free_port()]
    servers = [_serve(url, port, tmp_path, extra) for port in ports]
    try:
        for port in ports:
            _wait_ready(port)
        first = f"http://127.0.0.1:{ports[0]}"
        body = {"email": EMAIL, "password": PASSWORD}
        assert httpx.post(f"{first}/v1/users", json=body, timeout=10).status_code == 201
        codes = []
        _away_from_a_window_edge(15 * 60)
        for i in range(14):
            base = f"http://127.0.0.1:{ports[i % 2]}"
            guess = {"email": EMAIL, "password": f"wrong-{i}"}
            codes.append(httpx.post(f"{base}/v1/sessions", json=guess, timeout=10).status_code)
        assert codes == [401] * 10 + [429] * 4
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            server.wait(timeout=20)


@pytest.mark.parametrize("store", COUNTERS)
def test_two_servers_share_the_per_address_request_limit(store: str, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    extra = {
        "TASTEGRAPH_RATE_LIMIT_ENABLED": "true",
        "TASTEGRAPH_RATE_LIMIT_PER_MINUTE": "12",
        "TASTEGRAPH_RATE_LIMIT_SYNC_SECONDS": "0",  # exact, so that the count below is too
    }
    if store == "redis":
        extra |= {"TASTEGRAPH_REDIS_URL": REDIS_URL, "TASTEGRAPH_REDIS_KEY_PREFIX": f"t-{uuid.uuid4().hex}:"}
    ports = [_free_port(), _free_port()]
    servers = [_serve(url, port, tmp_path, extra) for port in ports]
    try:
        for port in ports:
            _wait_ready(port)
        _away_from_a_window_edge(60)
        codes = [
            httpx.get(f"http://127.0.0.1:{ports[i % 2]}/v1/feed/home", timeout=10).status_code
            for i in range(20)
        ]
        assert codes == [200] * 12 + [429] * 8  # per-process buckets would let 24 through
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            server.wait(timeout=20)
