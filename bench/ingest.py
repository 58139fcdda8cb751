"""Off-site visit ingest through the HTTP API, on SQLite and PostgreSQL.

Two shapes of traffic, each against a real `tastegraph serve` (rate limits off):

* single: one visit per `POST /v1/offsite/visits`, from concurrent keep-alive connections, a unique
  event id each, Cookie headers rotated over signed-in demo users and signed-out browsers;
* batch: 500 visits per `POST /v1/offsite/visits/batch`.

Visits/s is acknowledged visits (201, or `stored` and not `duplicate` in a batch) over wall time. After
every run the stored rows are counted: with the Python client, which waits for every response, stored rows
must equal acknowledged visits exactly. wrk (optional, for the single-visit case) stops on a timer and
abandons requests in flight, so there the server may have stored up to `connections` more rows than wrk
saw acknowledged; the script checks acked <= stored <= acked + connections.

    .venv/bin/python bench/ingest.py            # full run, updates the "ingest" section of docs/benchmarks.md
    .venv/bin/python bench/ingest.py --quick    # smoke test (< 60 s), prints one JSON line, docs untouched
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import asdict, dataclass, field
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
    contaminated,
    count_rows,
    latency_summary_ms,
    machine_info,
    machine_line,
    md_table,
    median,
    new_browsers,
    prepare_database,
    print_json_line,
    replace_doc_section,
    scratch_database,
    sign_in_users,
    wait_for_quiet,
)

WRK_SCRIPT = REPO / "bench" / "wrk" / "visits.lua"
BATCH_SIZE = 500


@dataclass
class Config:
    quick: bool
    backends: list[str]
    workers: list[int]
    runs: int
    pins: int
    users: int
    signed_in: int
    signed_out: int
    single_requests: int
    concurrency: int
    batch_requests: int
    batch_concurrency: int
    wrk: bool
    wrk_seconds: int
    write_docs: bool


@dataclass
class Run:
    mode: str  # "single" | "single-wrk" | "batch"
    requests: int
    acked: int  # visits acknowledged as newly stored
    failed: int  # requests that did not return 2xx
    seconds: float
    stored: int  # rows added to offsite_visits during the run
    latency_ms: dict[str, float] = field(default_factory=dict)
    cpu: dict[str, float] = field(default_factory=dict)

    @property
    def visits_per_s(self) -> float:
        return self.acked / self.seconds if self.seconds else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "visits_per_s": round(self.visits_per_s, 1)}


def _urls() -> list[str]:
    from tastegraph.demo import TOPIC_DOMAINS

    domains = sorted(d for ds in TOPIC_DOMAINS.values() for d in ds)
    return [f"https://{d}/products/{k}" for d in domains for k in range(8)]


# --- Python client (exact accounting) ---------------------------------------------------------------


def _report_failure(r: httpx.Response) -> None:
    print(
        f"[ingest] {r.request.method} {r.request.url.path}: {r.status_code} {r.text[:200]}", file=sys.stderr
    )


async def _single_visits(
    base_url: str, identities: Sequence[Identity], n: int, concurrency: int, tag: str
) -> tuple[int, int, list[float]]:
    """`concurrency` keep-alive connections, each sending visits back to back until `n` are sent."""
    urls = _urls()
    next_index = itertools.count()
    acked = failed = 0
    latencies: list[float] = []
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=60) as client:

        async def worker() -> None:
            nonlocal acked, failed
            while (i := next(next_index)) < n:
                ident = identities[i % len(identities)]
                body = json.dumps({"url": urls[i % len(urls)], "event_id": f"{tag}-{i:09d}"})
                headers = {"content-type": "application/json"}
                if ident.cookie:
                    headers["cookie"] = ident.cookie
                t0 = time.perf_counter()
                r = await client.post("/v1/offsite/visits", content=body, headers=headers)
                latencies.append(time.perf_counter() - t0)
                if r.status_code == 201:
                    acked += 1
                elif r.status_code >= 300:
                    failed += 1
                    _report_failure(r)

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return acked, failed, latencies


async def _batches(
    base_url: str, identities: Sequence[Identity], n: int, concurrency: int, tag: str
) -> tuple[int, int, list[float]]:
    urls = _urls()
    bodies = [
        json.dumps(
            {
                "visits": [
                    {"url": urls[(b * BATCH_SIZE + k) % len(urls)], "event_id": f"{tag}-{b:05d}-{k:04d}"}
                    for k in range(BATCH_SIZE)
                ]
            }
        ).encode()
        for b in range(n)
    ]
    next_index = itertools.count()
    acked = failed = 0
    latencies: list[float] = []
    # A new connection per batch (no keep-alive): with only a few long-lived connections, which worker
    # accepted each is luck, and one worker often got all of them. Connecting costs ~0.1 ms here.
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=120) as client:

        async def worker() -> None:
            nonlocal acked, failed
            while (i := next(next_index)) < n:
                ident = identities[i % len(identities)]
                headers = {"content-type": "application/json"}
                if ident.cookie:
                    headers["cookie"] = ident.cookie
                t0 = time.perf_counter()
                r = await client.post("/v1/offsite/visits/batch", content=bodies[i], headers=headers)
                latencies.append(time.perf_counter() - t0)
                if r.status_code != 200:
                    failed += 1
                    _report_failure(r)
                    continue
                acked += sum(1 for v in r.json()["results"] if v["stored"] and not v.get("duplicate"))

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return acked, failed, latencies


Load = Coroutine[Any, Any, tuple[int, int, list[float]]]


def _fresh_ids(
    load: Callable[[str, Sequence[Identity], int, int, str], Load],
    base_url: str,
    identities: Sequence[Identity],
    n: int,
    concurrency: int,
    tag: str,
) -> Callable[[], Load]:
    """A load to start on demand; each start gets new event ids (a repeated run must not be duplicates)."""
    attempts = itertools.count(1)
    return lambda: load(base_url, identities, n, concurrency, f"{tag}a{next(attempts)}")


def _measure(
    server: Server,
    url: str,
    mode: str,
    requests: int,
    go: Callable[[], Load],
    settle: bool,
) -> Run:
    """One run; repeated (fresh event ids each time) while other tenants' load spoiled it."""
    for attempt in range(1, MAX_ATTEMPTS + 1):
        run = _measure_once(server, url, mode, requests, go(), settle)
        if not settle or not contaminated(run.cpu) or attempt == MAX_ATTEMPTS:
            return run
        print(f"[ingest] other load {run.cpu['other_cores']} cores: again", file=sys.stderr)
    raise AssertionError("unreachable")


def _measure_once(
    server: Server,
    url: str,
    mode: str,
    requests: int,
    go: Load,
    settle: bool,
) -> Run:
    before = count_rows(url, "offsite_visits")
    if settle:
        wait_for_quiet()
    meter = CpuMeter(server)
    meter.start()
    t0 = time.perf_counter()
    acked, failed, latencies = asyncio.run(go)
    seconds = time.perf_counter() - t0
    cpu = meter.stop()
    stored = count_rows(url, "offsite_visits") - before
    return Run(mode, requests, acked, failed, seconds, stored, latency_summary_ms(latencies), cpu)


# --- wrk (single visits; the lighter load generator) ------------------------------------------------


def _run_wrk(
    server: Server,
    url: str,
    identities: Sequence[Identity],
    connections: int,
    seconds: int,
    tag: str,
    settle: bool,
) -> Run:
    wrk = shutil.which("wrk")
    assert wrk is not None
    with tempfile.NamedTemporaryFile("w", suffix=".cookies", delete=False) as f:
        f.write("\n".join(i.cookie or "-" for i in identities) + "\n")
        cookie_file = f.name
    try:
        before = count_rows(url, "offsite_visits")
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
                "--latency",
                "-s",
                str(WRK_SCRIPT),
                server.base_url,
                "--",
                cookie_file,
                tag,
            ],
            capture_output=True,
            text=True,
            check=True,
            timeout=seconds + 60,
        ).stdout
        cpu = meter.stop()
        time.sleep(0.5)  # let requests abandoned at the deadline finish committing
        stored = count_rows(url, "offsite_visits") - before
    finally:
        Path(cookie_file).unlink(missing_ok=True)
    line = next(ln for ln in out.splitlines() if ln.startswith("WRKJSON "))
    data = json.loads(line.removeprefix("WRKJSON "))
    latency = {"p50": round(data["p50_us"] / 1000, 1), "p99": round(data["p99_us"] / 1000, 1)}
    failed = data["other"] + data["socket_errors"]
    if failed:
        print(f"[ingest] wrk: {failed} requests not acknowledged as stored: {data}", file=sys.stderr)
    return Run(
        "single-wrk",
        data["requests"],
        data["created"],
        failed,
        data["duration_us"] / 1e6,
        stored,
        latency,
        cpu,
    )


# --- one backend ------------------------------------------------------------------------------------


def _identities(server: Server, cfg: Config, tag: str) -> list[Identity]:
    signed_in = sign_in_users(server.base_url, range(1, cfg.signed_in + 1))
    signed_out = new_browsers(server.base_url, cfg.signed_out, tag)
    mixed = signed_in + signed_out
    random.Random(7).shuffle(mixed)
    return mixed


def _check(run: Run, slack: int = 0) -> bool:
    """Stored rows equal acknowledged visits (wrk: within the requests abandoned at its deadline)."""
    return run.acked <= run.stored <= run.acked + slack


def bench_backend(backend: str, cfg: Config) -> dict[str, Any]:
    result: dict[str, Any] = {"backend": backend, "by_workers": {}}
    with scratch_database(backend, "tastegraph_bench_ingest") as db:
        result["world"] = prepare_database(db.url, cfg.pins, cfg.users)
        for workers in cfg.workers:
            runs: list[Run] = []
            with Server(db.url, workers=workers) as server:
                tag = f"w{workers}"
                identities = _identities(server, cfg, tag)
                # Warm up connections, caches and the workers' pools; not measured.
                asyncio.run(_single_visits(server.base_url, identities, 200, cfg.concurrency, f"warm-{tag}"))
                settle = not cfg.quick
                for r in range(cfg.runs):
                    single = _fresh_ids(
                        _single_visits,
                        server.base_url,
                        identities,
                        cfg.single_requests,
                        cfg.concurrency,
                        f"s{tag}r{r}",
                    )
                    runs.append(_measure(server, db.url, "single", cfg.single_requests, single, settle))
                    if cfg.wrk:
                        for attempt in range(1, MAX_ATTEMPTS + 1):
                            wrk_run = _run_wrk(
                                server,
                                db.url,
                                identities,
                                cfg.concurrency,
                                cfg.wrk_seconds,
                                f"k{tag}r{r}a{attempt}",
                                settle,
                            )
                            if not settle or not contaminated(wrk_run.cpu):
                                break
                        runs.append(wrk_run)
                    batches = _fresh_ids(
                        _batches,
                        server.base_url,
                        identities,
                        cfg.batch_requests,
                        cfg.batch_concurrency,
                        f"b{tag}r{r}",
                    )
                    runs.append(
                        _measure(server, db.url, "batch", cfg.batch_requests * BATCH_SIZE, batches, settle)
                    )
                    print(
                        f"[ingest] {backend} workers={workers} run {r + 1}/{cfg.runs}: "
                        + ", ".join(
                            f"{x.mode} {x.visits_per_s:.0f}/s" for x in runs[-(3 if cfg.wrk else 2) :]
                        ),
                        file=sys.stderr,
                        flush=True,
                    )
            summary: dict[str, Any] = {}
            for mode in ("single", "single-wrk", "batch"):
                of_mode = [x for x in runs if x.mode == mode]
                if not of_mode:
                    continue
                rates = [x.visits_per_s for x in of_mode]
                slack = cfg.concurrency if mode == "single-wrk" else 0
                summary[mode] = {
                    "median_visits_per_s": round(median(rates), 1),
                    "min": round(min(rates), 1),
                    "max": round(max(rates), 1),
                    "acked": sum(x.acked for x in of_mode),
                    "stored": sum(x.stored for x in of_mode),
                    "failed": sum(x.failed for x in of_mode),
                    "stored_matches_acked": all(_check(x, slack) for x in of_mode),
                    "runs": [x.as_dict() for x in of_mode],
                }
            result["by_workers"][str(workers)] = summary
    return result


# --- report -----------------------------------------------------------------------------------------


def _command(cfg: Config) -> str:
    return ".venv/bin/python bench/ingest.py" + (" --quick" if cfg.quick else "")


def _cpu_cell(run: dict[str, Any]) -> str:
    cpu = run["cpu"]
    client = cpu["client_cores"] + cpu["child_tools_cores"]
    text = f"server {cpu['server_cores']:.2f}, client {client:.2f}"
    if cpu.get("postgres_cores", 0) >= 0.05:
        text += f", postgres {cpu['postgres_cores']:.2f}"
    text += f", other {cpu['other_cores']:.2f}"
    workers = cpu.get("server_process_cores", [])
    if len(workers) > 1:
        text += "; per worker " + " / ".join(f"{w:.2f}" for w in workers)
    return text


def _cpu_per_visit(run: dict[str, Any]) -> str:
    """What one visit cost the server and the database, in CPU microseconds (the generator excluded)."""
    cpu = run["cpu"]
    rate = run["visits_per_s"]
    return f"{(cpu['server_cores'] + cpu['postgres_cores']) * 1e6 / rate:,.0f}" if rate else ""


def render(cfg: Config, info: dict[str, str], results: list[dict[str, Any]]) -> str:
    labels = {
        "single": f"single visit, Python client ({cfg.concurrency} conns)",
        "single-wrk": f"single visit, wrk ({cfg.concurrency} conns)",
        "batch": f"batch of {BATCH_SIZE}, Python client ({cfg.batch_concurrency} conns)",
    }
    rows = []
    for res in results:
        for workers, summary in res["by_workers"].items():
            for mode, s in summary.items():
                mid = sorted(s["runs"], key=lambda x: x["visits_per_s"])[len(s["runs"]) // 2]
                rows.append(
                    [
                        res["backend"],
                        workers,
                        labels[mode],
                        f"**{s['median_visits_per_s']:,.0f}** ({s['min']:,.0f}-{s['max']:,.0f})",
                        f"{mid['latency_ms'].get('p50', '')} / {mid['latency_ms'].get('p99', '')}",
                        f"{s['acked']:,} / {s['stored']:,}"
                        + ("" if s["stored_matches_acked"] else " MISMATCH")
                        + (f" ({s['failed']} failed)" if s["failed"] else ""),
                        _cpu_per_visit(mid),
                        _cpu_cell(mid),
                    ]
                )
    table = md_table(
        [
            "backend",
            "workers",
            "traffic",
            "visits/s, median (min-max)",
            "request p50 / p99 ms",
            "acked / stored rows",
            "server+DB CPU µs per visit",
            "CPU cores used (median run)",
        ],
        rows,
    )
    world = results[0]["world"]["rows"] if results else {}
    return f"""## Off-site visit ingest

- Date: {info["date"]}
- Machine: {machine_line(info)}
- Code: commit {info["commit"]}
- Command: `{_command(cfg)}`
- World: the seeded demo world, {world.get("pins", 0):,} Pins and {world.get("users", 0):,} people;
  clients are {cfg.signed_in} signed-in demo users (session cookie) and {cfg.signed_out} signed-out
  browsers (browser cookie), interleaved, each request a unique event id.
- Per run: {cfg.single_requests:,} single-visit requests; {cfg.wrk_seconds} s of wrk;
  {cfg.batch_requests} batches of {BATCH_SIZE} ({cfg.batch_requests * BATCH_SIZE:,} visits).
  {cfg.runs} runs of each; the table gives the median run.
- Server: `tastegraph serve --workers N`, `TASTEGRAPH_RATE_LIMIT_ENABLED=false`, plain http on 127.0.0.1.

{table}

"acked / stored rows" sums every run: visits acknowledged as newly stored against rows that appeared in
`offsite_visits`. For the Python client they must be equal (they are unless marked MISMATCH). wrk stops
on a timer and drops requests in flight, which the server still commits, so its stored count may exceed
its acknowledged count by at most the number of connections per run.

"CPU cores used" is CPU-seconds per wall-second during the median run, read from /proc: the server's
process group (uvicorn supervisor + workers; "per worker" when more than one did work), the load
generator (this Python process, or wrk), PostgreSQL (every postgres process, including autovacuum and
exited backends), and "other": the rest of the machine's busy time (other tenants, kernel). Before each
run the script waits until the machine has been idle for 3 s, and a run during which other processes
used more than 0.2 cores is repeated (up to 3 attempts; "other" shows what remained).
"server+DB CPU µs per visit" is (server + postgres cores) / visits per second.
"""


def notes(results: list[dict[str, Any]]) -> str:
    """Observations computed from the figures (the narrative notes live in the docs' analysis section)."""
    lines = []
    for res in results:
        for workers, summary in res["by_workers"].items():
            py, wrk = summary.get("single"), summary.get("single-wrk")
            if py and wrk:
                ratio = wrk["median_visits_per_s"] / py["median_visits_per_s"]
                lines.append(
                    f"- {res['backend']}, {workers} worker(s): wrk reached {ratio:.2f}x the Python "
                    "client's rate for single visits."
                )
    return "\n".join(lines)


def parse(argv: Sequence[str] | None = None) -> Config:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="tiny sizes, one run, no docs (smoke test)")
    p.add_argument("--backends", default="sqlite,postgresql")
    p.add_argument("--workers", default=None, help="comma-separated worker counts (default 2,1; quick 2)")
    p.add_argument("--runs", type=int, default=None)
    p.add_argument("--no-wrk", action="store_true", help="skip the wrk single-visit runs")
    p.add_argument("--no-docs", action="store_true", help="do not update docs/benchmarks.md")
    a = p.parse_args(argv)
    quick = bool(a.quick)
    pins, users = QUICK_WORLD if quick else FULL_WORLD
    return Config(
        quick=quick,
        backends=[b.strip() for b in a.backends.split(",") if b.strip()],
        workers=[int(w) for w in (a.workers or ("2" if quick else "2,1")).split(",")],
        runs=a.runs or (1 if quick else 3),
        pins=pins,
        users=users,
        signed_in=6 if quick else 300,
        signed_out=6 if quick else 200,
        single_requests=300 if quick else 5000,
        concurrency=12,
        batch_requests=4 if quick else 100,
        batch_concurrency=4,
        wrk=not quick and not a.no_wrk and shutil.which("wrk") is not None,
        wrk_seconds=3 if quick else 10,
        write_docs=not quick and not a.no_docs,
    )


def main(argv: Sequence[str] | None = None) -> int:
    cfg = parse(argv)
    started = time.perf_counter()
    info = machine_info()
    results = [bench_backend(b, cfg) for b in cfg.backends]
    ok = all(
        s["stored_matches_acked"] and s["failed"] == 0
        for res in results
        for summary in res["by_workers"].values()
        for s in summary.values()
    )
    if cfg.write_docs:
        replace_doc_section("ingest", render(cfg, info, results) + "\n" + notes(results))
    compact = {
        res["backend"]: {
            w: {m: s["median_visits_per_s"] for m, s in summary.items()}
            for w, summary in res["by_workers"].items()
        }
        for res in results
    }
    print_json_line(
        {
            "bench": "ingest",
            "quick": cfg.quick,
            "ok": ok,
            "seconds": round(time.perf_counter() - started, 1),
            "visits_per_s": compact,
            "results": results if not cfg.quick else None,
        }
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
