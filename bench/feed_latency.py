"""Home-feed latency at a fixed request rate (open loop), on SQLite and PostgreSQL.

Against a real `tastegraph serve --workers 2` over the demo world (50,000 Pins, 10,000 people):

* signed-in: session cookies of a few hundred signed-in demo users, rotated; half of them reported
  off-site visits first, so the off-site source (and its consent check) runs for them;
* signed-out: half the requests from browsers (browser cookie) that reported visits while signed out,
  half with no cookie at all.

The generator is open loop: request i is due at t0 + i/rate whether or not earlier ones finished, and
its latency is measured from when it was due, so a server that falls behind shows up as queueing
delay instead of being hidden by a slower sender (no coordinated omission). `send lag` (due -> actually
sent) and the generator's own CPU show whether the Python generator kept up. A calibration run against
/healthz gives the generator + HTTP floor, and wrk (closed loop, if installed) measures capacity.

    .venv/bin/python bench/feed_latency.py            # full run, updates docs/benchmarks.md section "feed"
    .venv/bin/python bench/feed_latency.py --quick    # smoke test (< 60 s), one JSON line, docs untouched
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
    FULL_WORLD,
    MAX_ATTEMPTS,
    QUICK_WORLD,
    REPO,
    CpuMeter,
    Identity,
    Server,
    background_busy,
    contaminated,
    latency_summary_ms,
    machine_info,
    machine_line,
    md_table,
    new_browsers,
    percentile,
    prepare_database,
    print_json_line,
    replace_doc_section,
    scratch_database,
    sign_in_users,
    wait_for_quiet,
)

FEED_PATH = "/v1/feed/home?limit=25"
WRK_SCRIPT = REPO / "bench" / "wrk" / "feed.lua"


@dataclass
class Config:
    quick: bool
    backends: list[str]
    workers: int
    rates: list[int]
    connection_modes: list[int]  # 0: a new connection per request; n > 0: n keep-alive connections
    seconds: float
    pins: int
    users: int
    signed_in: int
    signed_out: int
    visits_per_client: int
    wrk: bool
    wrk_seconds: int
    write_docs: bool


@dataclass(frozen=True)
class Target:
    """One request's identity: which class it belongs to, the Cookie header it sends, and the path it
    asks for when not the run's common one."""

    label: str
    cookie: str
    path: str = ""


# --- setup ------------------------------------------------------------------------------------------


def _report_visits(base_url: str, ident: Identity, domains: list[str], n: int, tag: str) -> None:
    now = datetime.now(UTC)
    visits = [
        {
            "url": f"https://{domains[k % len(domains)]}/p/{k}",
            "event_id": f"{tag}-{k:05d}",
            "visited_at": (now - timedelta(hours=3 * k + 1)).isoformat(),
        }
        for k in range(n)
    ]
    r = httpx.post(
        f"{base_url}/v1/offsite/visits/batch",
        json={"visits": visits},
        headers={"cookie": ident.cookie} if ident.cookie else {},
        timeout=60,
    )
    r.raise_for_status()
    stored = sum(1 for v in r.json()["results"] if v["stored"])
    if stored != n:
        raise RuntimeError(f"only {stored} of {n} setup visits stored: {r.text[:300]}")


def prepare_clients(base_url: str, cfg: Config) -> dict[str, list[Target]]:
    """Sign users in, create signed-out browsers, and give half the users and every browser visits."""
    from tastegraph.demo import TOPIC_DOMAINS

    rng = random.Random(11)
    topic_sites = list(TOPIC_DOMAINS.values())
    users = sign_in_users(base_url, range(1, cfg.signed_in + 1))
    browsers = new_browsers(base_url, cfg.signed_out, "feed")
    with_visits_users = users[: len(users) // 2]
    for i, ident in enumerate(with_visits_users):
        sites = rng.choice(topic_sites)[:3] + rng.choice(topic_sites)[:2]
        _report_visits(base_url, ident, sites, cfg.visits_per_client, f"fu{i}")
    for i, ident in enumerate(browsers):
        _report_visits(base_url, ident, rng.choice(topic_sites)[:4], cfg.visits_per_client, f"fb{i}")
    signed_in = [Target("signed-in, with visits", u.cookie) for u in with_visits_users] + [
        Target("signed-in, no visits", u.cookie) for u in users[len(users) // 2 :]
    ]
    signed_out: list[Target] = []
    for b in browsers:  # alternate: a browser with visits, then a cookie-less request
        signed_out += [
            Target("signed-out browser, with visits", b.cookie),
            Target("signed-out, no cookie", ""),
        ]
    rng.shuffle(signed_in)
    return {"signed-in": signed_in, "signed-out": signed_out}


# --- the open-loop generator ------------------------------------------------------------------------


@dataclass
class Sample:
    label: str
    due: float  # when the schedule said to send it
    issued: float  # when the generator got to it (issued - due is the generator's own lag)
    sent: float  # when it went on the wire (later than issued if its connection was busy)
    done: float
    status: int


def _request_head(host: str, port: int, path: str, cookie: str, keep_alive: bool) -> bytes:
    lines = [f"GET {path} HTTP/1.1", f"Host: {host}:{port}", "Accept: application/json"]
    if cookie:
        lines.append(f"Cookie: {cookie}")
    if not keep_alive:
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


async def _exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, head: bytes
) -> tuple[int, bool]:
    """Send one request, read the whole response; returns (status, server closes the connection)."""
    writer.write(head)
    status = int((await reader.readline()).split(b" ", 2)[1])
    length, close = 0, False
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.partition(b":")
        key = name.strip().lower()
        if key == b"content-length":
            length = int(value)
        elif key == b"connection" and value.strip().lower() == b"close":
            close = True
    if length:
        await reader.readexactly(length)
    return status, close


REQUEST_ERRORS = (OSError, ValueError, IndexError, asyncio.IncompleteReadError, TimeoutError)


async def _open_loop(
    base_url: str,
    path: str,
    targets: Sequence[Target],
    rate: float,
    seconds: float,
    connections: int = 0,
) -> list[Sample]:
    """Send `rate * seconds` requests on a fixed schedule, over a bare asyncio HTTP/1.1 client (a few
    tens of microseconds of CPU per request, so the generator stays out of the way).

    connections == 0: a new connection per request (many distinct users; the kernel hands each new
    connection to whichever worker accepts it). connections > 0: that many keep-alive connections,
    request i on connection i % connections, queued behind that connection's earlier requests (wrk2's
    model, like a proxy's upstream pool); a queued request's latency still counts from when it was due.
    """
    host, port = base_url.removeprefix("http://").rsplit(":", 1)
    port_n = int(port)
    n = max(1, int(rate * seconds))
    loop = asyncio.get_running_loop()
    samples: list[Sample] = []
    heads = [_request_head(host, port_n, t.path or path, t.cookie, connections > 0) for t in targets]
    t0 = loop.time() + 0.1

    async def fresh_connection(i: int, due: float, issued: float) -> None:
        sent = loop.time()
        try:
            reader, writer = await asyncio.open_connection(host, port_n)
            try:
                status, _ = await asyncio.wait_for(_exchange(reader, writer, heads[i % len(heads)]), 60)
            finally:
                writer.close()
        except REQUEST_ERRORS:
            status = 0
        samples.append(Sample(targets[i % len(targets)].label, due, issued, sent, loop.time(), status))

    async def persistent(queue: asyncio.Queue[tuple[int, float, float] | None]) -> None:
        reader, writer = await asyncio.open_connection(host, port_n)
        while (item := await queue.get()) is not None:
            i, due, issued = item
            sent = loop.time()
            try:
                status, close = await asyncio.wait_for(_exchange(reader, writer, heads[i % len(heads)]), 60)
            except REQUEST_ERRORS:
                status, close = 0, True
            samples.append(Sample(targets[i % len(targets)].label, due, issued, sent, loop.time(), status))
            if close:
                writer.close()
                reader, writer = await asyncio.open_connection(host, port_n)
        writer.close()

    queues: list[asyncio.Queue[tuple[int, float, float] | None]] = [
        asyncio.Queue() for _ in range(connections)
    ]
    tasks = [asyncio.create_task(persistent(q)) for q in queues]
    for i in range(n):
        due = t0 + i / rate
        delay = due - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        issued = loop.time()
        if queues:
            queues[i % len(queues)].put_nowait((i, due, issued))
        else:
            tasks.append(asyncio.create_task(fresh_connection(i, due, issued)))
    for q in queues:
        q.put_nowait(None)
    await asyncio.gather(*tasks)
    return samples


def measure(
    server: Server,
    path: str,
    targets: Sequence[Target],
    rate: float,
    seconds: float,
    settle: bool,
    connections: int = 0,
) -> dict[str, Any]:
    if settle:
        wait_for_quiet()
    meter = CpuMeter(server)
    meter.start()
    samples = asyncio.run(_open_loop(server.base_url, path, targets, rate, seconds, connections))
    cpu = meter.stop()
    ok = [s for s in samples if s.status == 200]
    first_due = min(s.due for s in samples)
    span = max(s.done for s in samples) - first_due
    by_label: dict[str, list[float]] = defaultdict(list)
    for s in ok:
        by_label[s.label].append(s.done - s.due)
    lag_ms = [(s.issued - s.due) * 1000 for s in samples]
    return {
        "offered_rate": rate,
        "connections": connections,
        "achieved_rate": round(len(ok) / span, 1) if span > 0 else 0.0,
        "requests": len(samples),
        "errors": len(samples) - len(ok),
        "latency_ms": latency_summary_ms([s.done - s.due for s in ok]),
        "service_ms": latency_summary_ms([s.done - s.sent for s in ok]),
        "by_label": {k: latency_summary_ms(v) for k, v in sorted(by_label.items())},
        "send_lag_ms": {"p50": round(percentile(lag_ms, 50), 2), "p99": round(percentile(lag_ms, 99), 2)},
        "cpu": cpu,
    }


def wrk_capacity(
    server: Server, targets: Sequence[Target], connections: int, seconds: int, settle: bool
) -> dict[str, Any]:
    wrk = shutil.which("wrk")
    assert wrk is not None
    with tempfile.NamedTemporaryFile("w", suffix=".cookies", delete=False) as f:
        f.write("\n".join(t.cookie or "-" for t in targets) + "\n")
        cookie_file = f.name
    try:
        if settle:
            wait_for_quiet()
        meter = CpuMeter(server)
        meter.start()
        out = subprocess.run(
            [
                wrk,
                "-t1",
                f"-c{connections}",
                f"-d{seconds}s",
                "-s",
                str(WRK_SCRIPT),
                server.base_url,
                "--",
                cookie_file,
                FEED_PATH,
            ],
            capture_output=True,
            text=True,
            check=True,
            timeout=seconds + 60,
        ).stdout
        cpu = meter.stop()
    finally:
        Path(cookie_file).unlink(missing_ok=True)
    data = json.loads(
        next(ln for ln in out.splitlines() if ln.startswith("WRKJSON ")).removeprefix("WRKJSON ")
    )
    return {
        "connections": connections,
        "req_per_s": round(data["requests"] / (data["duration_us"] / 1e6), 1),
        "p50_ms": round(data["p50_us"] / 1000, 1),
        "p99_ms": round(data["p99_us"] / 1000, 1),
        "errors": data["socket_errors"] + data["non2xx"],
        "cpu": cpu,
    }


# --- one backend ------------------------------------------------------------------------------------


def bench_backend(backend: str, cfg: Config) -> dict[str, Any]:
    out: dict[str, Any] = {"backend": backend, "runs": [], "capacity": {}}
    with scratch_database(backend, "tastegraph_bench_feed") as db:
        out["world"] = prepare_database(db.url, cfg.pins, cfg.users)
        with Server(db.url, workers=cfg.workers) as server:
            t = time.perf_counter()
            clients = prepare_clients(server.base_url, cfg)
            out["setup_seconds"] = round(time.perf_counter() - t, 1)
            out["background_busy_pct"] = background_busy(1.0)
            # Warm-up: every client once (pools, page cache, per-worker caches); not measured.
            for targets in clients.values():
                asyncio.run(_open_loop(server.base_url, FEED_PATH, targets, 40, min(len(targets), 200) / 40))
            floor = measure(
                server,
                "/healthz",
                [Target("healthz", "")],
                max(cfg.rates),
                1.0 if cfg.quick else min(cfg.seconds, 5),
                not cfg.quick,
            )
            out["healthz"] = floor
            for scenario, targets in clients.items():
                for rate in cfg.rates:
                    for conns in cfg.connection_modes:
                        for attempt in range(1, MAX_ATTEMPTS + 1):
                            run = measure(server, FEED_PATH, targets, rate, cfg.seconds, not cfg.quick, conns)
                            run["attempts"] = attempt
                            if cfg.quick or not contaminated(run["cpu"]):
                                break
                            print(
                                f"[feed] other load {run['cpu']['other_cores']} cores: again", file=sys.stderr
                            )
                            time.sleep(1)
                        run["scenario"] = scenario
                        out["runs"].append(run)
                        lat = run["latency_ms"]
                        print(
                            f"[feed] {backend} {scenario} @ {rate}/s conns={conns or 'new'}: "
                            f"achieved {run['achieved_rate']}/s, "
                            f"p50 {lat['p50']} p90 {lat['p90']} p99 {lat['p99']} ms, errors {run['errors']}, "
                            f"lag p99 {run['send_lag_ms']['p99']} ms, cpu {run['cpu']}",
                            file=sys.stderr,
                            flush=True,
                        )
                        time.sleep(0 if cfg.quick else 1)  # let the server drain between runs
                if cfg.wrk:
                    for _attempt in range(MAX_ATTEMPTS):
                        cap = wrk_capacity(server, targets, 8, cfg.wrk_seconds, not cfg.quick)
                        if not contaminated(cap["cpu"]):
                            break
                    out["capacity"][scenario] = cap
                    print(
                        f"[feed] {backend} {scenario} capacity (wrk, 8 conns): {cap}",
                        file=sys.stderr,
                        flush=True,
                    )
    return out


# --- report -----------------------------------------------------------------------------------------


def _cpu_ms_per_request(cpu: dict[str, Any], rate: float) -> str:
    """What one request cost the server and the database in CPU time: 2 cores / this = the ceiling."""
    return f"{(cpu['server_cores'] + cpu['postgres_cores']) * 1000 / rate:.1f}" if rate else ""


def render(cfg: Config, info: dict[str, str], results: list[dict[str, Any]]) -> str:
    rows = []
    label_rows = []
    for res in results:
        for run in res["runs"]:
            lat, cpu = run["latency_ms"], run["cpu"]
            conns = run.get("connections", 0)
            rows.append(
                [
                    res["backend"],
                    run["scenario"],
                    f"{conns} keep-alive" if conns else "new per request",
                    run["offered_rate"],
                    run["achieved_rate"],
                    f"**{lat['p50']}**",
                    lat["p90"],
                    f"**{lat['p99']}**",
                    lat["max"],
                    run["errors"],
                    f"{run['send_lag_ms']['p99']}",
                    f"{cpu['server_cores']:.2f} / {cpu['client_cores']:.2f}"
                    + (f" / {cpu['postgres_cores']:.2f}" if res["backend"] == "postgresql" else "")
                    + f" / {cpu['other_cores']:.2f}",
                    " / ".join(f"{w:.2f}" for w in cpu["server_process_cores"]),
                    _cpu_ms_per_request(cpu, run["achieved_rate"]),
                ]
            )
            if conns:
                continue  # per-class figures from the new-connection runs only, to keep the table short
            for label, s in run["by_label"].items():
                label_rows.append(
                    [res["backend"], run["offered_rate"], label, s["n"], s["p50"], s["p90"], s["p99"]]
                )
    table = md_table(
        [
            "backend",
            "traffic",
            "connections",
            "offered req/s",
            "achieved req/s",
            "p50 ms",
            "p90 ms",
            "p99 ms",
            "max ms",
            "errors",
            "send lag p99 ms",
            "CPU cores: server / generator (/ postgres) / other",
            "per worker",
            "server+DB CPU ms/request",
        ],
        rows,
    )
    by_label = md_table(
        ["backend", "offered req/s", "request class", "n", "p50 ms", "p90 ms", "p99 ms"], label_rows
    )
    cap_rows = []
    floor_rows = []
    for res in results:
        for scenario, cap in res["capacity"].items():
            cap_rows.append(
                [
                    res["backend"],
                    scenario,
                    cap["connections"],
                    f"**{cap['req_per_s']}**",
                    cap["p50_ms"],
                    cap["p99_ms"],
                    cap["errors"],
                    f"{cap['cpu']['server_cores']:.2f}"
                    + (
                        f" + postgres {cap['cpu']['postgres_cores']:.2f}"
                        if res["backend"] == "postgresql"
                        else ""
                    ),
                    " / ".join(str(x) for x in cap["cpu"]["server_process_cores"]),
                ]
            )
        h = res["healthz"]
        floor_rows.append(
            [
                res["backend"],
                h["offered_rate"],
                h["latency_ms"]["p50"],
                h["latency_ms"]["p99"],
                h["send_lag_ms"]["p99"],
                f"{h['cpu']['client_cores']:.2f}",
            ]
        )
    capacity = (
        md_table(
            [
                "backend",
                "traffic",
                "connections",
                "req/s",
                "p50 ms",
                "p99 ms",
                "errors",
                "server cores",
                "per worker",
            ],
            cap_rows,
        )
        if cap_rows
        else "(wrk not installed: capacity not measured)"
    )
    floor = md_table(
        ["backend", "req/s", "p50 ms", "p99 ms", "send lag p99 ms", "generator cores"], floor_rows
    )
    world = results[0]["world"]["rows"] if results else {}
    return f"""## Home-feed latency

- Date: {info["date"]}
- Machine: {machine_line(info)}
- Code: commit {info["commit"]}
- Command: `.venv/bin/python bench/feed_latency.py{" --quick" if cfg.quick else ""}`
- World: the seeded demo world, {world.get("pins", 0):,} Pins and {world.get("users", 0):,} people
  ({world.get("board_pins", 0):,} saves); `GET {FEED_PATH}`; server
  `tastegraph serve --workers {cfg.workers}`, rate limits off.
- Clients: {cfg.signed_in} signed-in demo users (half of them first reported {cfg.visits_per_client} off-site
  visits over 5 sites, so the off-site source runs for them); {cfg.signed_out} signed-out browsers that
  reported {cfg.visits_per_client} visits each, alternating with cookie-less requests.
- Load: open loop at a fixed rate for {cfg.seconds:.0f} s per row, from a bare asyncio HTTP/1.1 client
  (`bench/feed_latency.py`) on the same machine. Latency counts from when each request was due, so
  queueing (in the server, or behind a busy keep-alive connection) is included. "new per request"
  opens a connection per request (many distinct users); "16 keep-alive" sends request i on connection
  i mod 16 (like a proxy's upstream pool). "send lag" is how late the generator itself issued requests.
- CPU cores are CPU-seconds per wall-second from /proc during the run; "per worker" lists the uvicorn
  processes that did work; "other" is everything else busy on the machine (other tenants, kernel).
  Each run starts once the machine has been idle for 3 s and is repeated (up to 3 attempts) if other
  processes used more than 0.2 cores during it.

{table}

Per request class (the "new per request" runs above):

{by_label}

Generator floor (the same generator against `/healthz`, which does no database work):

{floor}

Capacity (closed loop, wrk with one thread and 8 connections, rotating the same cookies, {cfg.wrk_seconds} s):

{capacity}
"""


def parse(argv: Sequence[str] | None = None) -> Config:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="tiny sizes, short runs, no docs (smoke test)")
    p.add_argument("--backends", default="sqlite,postgresql")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--rates", default=None, help="comma-separated req/s (default 50,100; quick 20)")
    p.add_argument(
        "--connections",
        default=None,
        help="comma-separated: 0 = a new connection per request, n = n keep-alive connections (default 0,16)",
    )
    p.add_argument("--seconds", type=float, default=None, help="per run (default 30; quick 3)")
    p.add_argument("--no-wrk", action="store_true")
    p.add_argument("--no-docs", action="store_true")
    a = p.parse_args(argv)
    quick = bool(a.quick)
    pins, users = QUICK_WORLD if quick else FULL_WORLD
    return Config(
        quick=quick,
        backends=[b.strip() for b in a.backends.split(",") if b.strip()],
        workers=a.workers,
        rates=[int(r) for r in (a.rates or ("20" if quick else "50,100")).split(",")],
        connection_modes=[int(c) for c in (a.connections or ("0" if quick else "0,16")).split(",")],
        seconds=a.seconds or (3.0 if quick else 30.0),
        pins=pins,
        users=users,
        signed_in=6 if quick else 300,
        signed_out=4 if quick else 100,
        visits_per_client=20,
        wrk=not quick and not a.no_wrk and shutil.which("wrk") is not None,
        wrk_seconds=10,
        write_docs=not quick and not a.no_docs,
    )


def main(argv: Sequence[str] | None = None) -> int:
    cfg = parse(argv)
    started = time.perf_counter()
    info = machine_info()
    results = [bench_backend(b, cfg) for b in cfg.backends]
    ok = all(run["errors"] == 0 for res in results for run in res["runs"])
    if cfg.write_docs:
        replace_doc_section("feed", render(cfg, info, results))
    compact = {
        res["backend"]: {
            f"{run['scenario']}@{run['offered_rate']}": {
                "achieved": run["achieved_rate"],
                "p50": run["latency_ms"]["p50"],
                "p99": run["latency_ms"]["p99"],
            }
            for run in res["runs"]
        }
        for res in results
    }
    print_json_line(
        {
            "bench": "feed_latency",
            "quick": cfg.quick,
            "ok": ok,
            "seconds": round(time.perf_counter() - started, 1),
            "latency_ms": compact,
            "results": None if cfg.quick else results,
        }
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
