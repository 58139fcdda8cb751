"""The demo's ports: `tastegraph demo --port --sites-port` (and `make demo PORT= SITES_PORT=`) serve the
platform and the third-party sites where asked, the sites' Save button pointing at that platform."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=5) as r:
        return r.status, r.read().decode()


def test_make_demo_passes_the_ports_on() -> None:
    out = subprocess.run(
        ["make", "-n", "demo", "PORT=8100", "SITES_PORT=8101", "HOST=127.0.0.1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout
    assert re.search(r"tastegraph demo --seed 42 --host 127\.0\.0\.1 --port 8100 --sites-port 8101", out), out
    default = subprocess.run(
        ["make", "-n", "demo"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    assert "--port 8000 --sites-port 8001" in default


def test_demo_serves_on_the_ports_it_is_given(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    env = {**os.environ, "TASTEGRAPH_DATABASE_URL": url, "TASTEGRAPH_IKEA_DIR": ""}
    env.pop("TASTEGRAPH_PUBLIC_ORIGIN", None)
    cli = [sys.executable, "-m", "tastegraph.cli"]
    subprocess.run(
        [*cli, "db", "upgrade"], cwd=tmp_path, env=env, check=True, capture_output=True, timeout=120
    )
    port, sites_port = _free_port(), _free_port()
    args = [
        "demo",
        "--pins",
        "60",
        "--users",
        "6",
        "--no-ikea",
        "--port",
        str(port),
        "--sites-port",
        str(sites_port),
    ]
    proc = subprocess.Popen(
        [*cli, *args], cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        platform, sites = f"http://127.0.0.1:{port}", f"http://localhost:{sites_port}"
        deadline = time.monotonic() + 120
        while True:
            try:
                status, _ = _get(platform + "/healthz")
                if status == 200:
                    _get(sites + "/")
                    break
            except OSError:
                pass
            assert proc.poll() is None, "the demo stopped early"
            assert time.monotonic() < deadline, "the demo did not start"
            time.sleep(0.3)
        status, home = _get(platform + "/")
        assert status == 200 and "tastegraph" in home
        _, blog = _get(sites + "/simmerandsage/")
        assert f"{platform}/widget.js" in blog, "the sites' Save button loads from this platform"
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            output, _ = proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            output, _ = proc.communicate()
    assert f"{platform}/signup" in output and f"{sites}/" in output, output
