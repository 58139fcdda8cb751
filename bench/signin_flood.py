"""Other writes during a wrong-password flood (issue 12): p50/p90/p99 of off-site visit writes made at a
steady rate, alone and while 4 connections post wrong passwords for one account as fast as the server
answers. A real server (`tastegraph serve --workers 2`) on SQLite, on loopback only.

    .venv/bin/python bench/signin_flood.py                      # this checkout
    .venv/bin/python bench/signin_flood.py --src /path/to/src   # another checkout's src/, for an A/B
    .venv/bin/python bench/signin_flood.py --ab /path/to/old/src --rounds 2   # alternate old and new

The per-address request limit is switched off for the run so that it measures the sign-in path itself,
not the general limiter. Ends with one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).resolve().parent
OWN_SRC = HERE.parent / "src"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env(src: Path, url: str, workdir: Path) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": str(src),
        "TASTEGRAPH_DATABASE_URL": url,
        "TASTEGRAPH_MODEL_DIR": str(workdir / "models"),
        "TASTEGRAPH_RATE_LIMIT_ENABLED": "false",
    }


def _percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    qs = statistics.quantiles(values, n=100, method="inclusive")
    return {"p50": round(qs[49], 1), "p90": round(qs[89], 1), "p99": round(qs[98], 1), "n": len(values)}


def _writes(base: str, seconds: float, rate: float, tag: str, out: list[float]) -> None:
    """One visit write every 1/rate s (no catching up: a slow answer delays the next one)."""
    with httpx.Client(base_url=base, timeout=30) as client:
        end = time.monotonic() + seconds
        n = 0
        while time.monotonic() < end:
            start = time.monotonic()
            url = f"https://writes.example/{tag}/{n}"
            r = client.post(
                "/v1/offsite/visits", json={"url": url}, headers={"Origin": "https://writes.example"}
            )
            out.append((time.monotonic() - start) * 1000)
            assert r.status_code in (200, 201), r.text
            n += 1
            time.sleep(max(0.0, 1 / rate - (time.monotonic() - start)))


def _flood(base: str, stop: threading.Event, statuses: Counter[int], lock: threading.Lock) -> None:
    with httpx.Client(base_url=base, timeout=30) as client:
        i = 0
        while not stop.is_set():
            r = client.post("/v1/sessions", json={"email": "victim@example.com", "password": f"guess-{i}"})
            with lock:
                statuses[r.status_code] += 1
            i += 1


def run_once(src: Path, seconds: float, rate: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="tastegraph-flood-") as tmp:
        work = Path(tmp)
        url = f"sqlite:///{work / 'flood.db'}"
        env = _env(src, url, work)
        cli = [sys.executable, "-m", "tastegraph.cli"]
        subprocess.run([*cli, "db", "upgrade"], env=env, cwd=work, check=True, capture_output=True)
        port = _free_port()
        server = subprocess.Popen(
            [*cli, "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "2"],
            env=env,
            cwd=work,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError("server did not start")
                time.sleep(0.2)
            body = {"email": "victim@example.com", "password": "the real password"}
            assert httpx.post(f"{base}/v1/users", json=body, timeout=30).status_code == 201
            _writes(base, 3, rate, "warm", [])
            alone: list[float] = []
            _writes(base, seconds, rate, "alone", alone)
            stop, lock, statuses = threading.Event(), threading.Lock(), Counter[int]()
            flooders = [threading.Thread(target=_flood, args=(base, stop, statuses, lock)) for _ in range(4)]
            for t in flooders:
                t.start()
            time.sleep(1)
            during: list[float] = []
            _writes(base, seconds, rate, "flood", during)
            stop.set()
            for t in flooders:
                t.join()
        finally:
            server.terminate()
            server.wait(timeout=30)
        return {
            "src": str(src),
            "writes_alone_ms": _percentiles(alone),
            "writes_during_flood_ms": _percentiles(during),
            "flood_answers": dict(sorted(statuses.items())),
            "flood_requests_per_s": round(sum(statuses.values()) / (seconds + 1), 1),
        }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--src", type=Path, default=OWN_SRC, help="the src/ directory to serve")
    p.add_argument("--ab", type=Path, default=None, help="another src/ to alternate with --src")
    p.add_argument("--rounds", type=int, default=1)
    p.add_argument("--seconds", type=float, default=20.0)
    p.add_argument("--rate", type=float, default=20.0, help="visit writes per second")
    a = p.parse_args()
    runs = []
    for r in range(a.rounds):
        for src in [a.ab, a.src] if a.ab is not None else [a.src]:
            result = run_once(src.resolve(), a.seconds, a.rate)
            result["round"] = r + 1
            print(json.dumps(result), file=sys.stderr, flush=True)
            runs.append(result)
    print(json.dumps({"benchmark": "signin_flood", "runs": runs}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
