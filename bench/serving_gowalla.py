"""Serving speed on a Gowalla-sized catalogue: home feed and related Pins at a fixed request rate.

For each backend (SQLite, the embedded default, and PostgreSQL):

1. load the Gowalla catalogue (bench/gowalla_catalogue.py: 29,858 people, 40,981 Pins, 810,128 saves,
   plus generated boards, topics, sites, follows and clicks) into a scratch database;
2. start `tastegraph serve --workers 2`, sign people in, and give half of them 20 off-site visits over
   5 sites (so the off-site source and the model's site columns have work to do);
3. `tastegraph train` on it, then restart the server so both workers load the model;
4. measure `GET /v1/feed/home?limit=25` (signed-in people, half with visits) and
   `GET /v1/pins/{id}/related?limit=25` (Pins drawn in proportion to their saves, signed-in viewers)
   at a fixed rate, open loop (each request is due at t0 + i/rate and its latency counts from then,
   so queueing is included: no coordinated omission), several runs each, and report medians;
5. closed-loop capacity with wrk (if installed).

    .venv/bin/python bench/serving_gowalla.py           # full run: updates docs/benchmarks.md "serving"
    .venv/bin/python bench/serving_gowalla.py --quick   # smoke test (< 60 s), one JSON line, docs untouched
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
    BIN,
    MAX_ATTEMPTS,
    REPO,
    SNAPSHOT,
    CpuMeter,
    Server,
    background_busy,
    contaminated,
    machine_info,
    machine_line,
    md_table,
    median,
    print_json_line,
    replace_doc_section,
    scratch_database,
    sign_in_users,
)
from bench.feed_latency import Target, _open_loop, _report_visits, measure
from bench.gowalla_catalogue import GOWALLA_TRAIN, load_catalogue, rich_progress

FEED_PATH = "/v1/feed/home?limit=25"
RELATED_PATH = "/v1/pins/{}/related?limit=25"
WRK_SCRIPT = REPO / "bench" / "wrk" / "serving.lua"
TARGETS_MS = {"feed": 30.0, "related": 20.0}  # p99 at the offered rate (issue 3, part 6)
# Related Pins for Pins drawn uniformly from the whole catalogue: mostly Pins whose walk this worker has
# not cached yet (the worst case, not the traffic the target is about); one run, reported alongside.
COLD = "related, uniform Pins"
# The home feed again at three quarters of the rate (one run): where the latency stands below the target
# rate.
SLOWER = "feed, 3/4 rate"
# The home feed from a server started with the feed memo off (TASTEGRAPH_FEED_MEMO_SIZE=0, one run): every
# request scores the model, as a person's first feed after any change to their history does.
NO_MEMO = "feed, memo off"
SCENARIOS = ("feed", "related", COLD, SLOWER, NO_MEMO)


@dataclass
class Config:
    quick: bool
    backends: list[str]
    workers: int
    rate: int
    seconds: float
    runs: int
    users: int | None  # Gowalla users to load (None: all)
    signed_in: int
    visits_per_client: int
    related_pins: int
    wrk: bool
    wrk_seconds: int
    write_docs: bool


# --- setup ------------------------------------------------------------------------------------------


def train(url: str, model_dir: Path) -> dict[str, Any]:
    """`tastegraph train` as an operator runs it (progress on stderr, one JSON line on stdout)."""
    env = {**os.environ, "TASTEGRAPH_DATABASE_URL": url, "TASTEGRAPH_MODEL_DIR": str(model_dir)}
    if SNAPSHOT:
        env["PYTHONPATH"] = str(Path(SNAPSHOT) / "src")
    started = time.perf_counter()
    out = subprocess.run(
        [str(BIN / "tastegraph"), "train"], env=env, cwd=REPO, capture_output=True, text=True, check=False
    )
    if out.returncode != 0:
        raise RuntimeError(f"tastegraph train failed:\n{out.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    result["wall_seconds"] = round(time.perf_counter() - started, 1)
    return result


def pin_sample(url: str, n: int, seed: int = 5) -> tuple[list[int], list[int]]:
    """Pins for related-Pins requests: drawn in proportion to their saves (popular Pins are viewed
    more), and drawn uniformly from every Pin."""
    from sqlalchemy import text

    from tastegraph.db import make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT id, save_count FROM pins WHERE save_count > 0")).all()
    finally:
        engine.dispose()
    rng = random.Random(seed)
    ids = [int(r[0]) for r in rows]
    return rng.choices(ids, weights=[int(r[1]) for r in rows], k=n), rng.choices(ids, k=n)


def prepare_clients(base_url: str, cfg: Config, pins: tuple[list[int], list[int]]) -> dict[str, list[Target]]:
    from tastegraph.demo import TOPIC_DOMAINS

    rng = random.Random(11)
    sites = list(TOPIC_DOMAINS.values())
    # Gowalla user u is demo{u+1}; spread the signed-in people over the whole id range.
    step = max(1, (cfg.users or 29_858) // cfg.signed_in)
    users = sign_in_users(base_url, [1 + i * step for i in range(cfg.signed_in)])
    with_visits = users[: len(users) // 2]
    for i, ident in enumerate(with_visits):
        domains = rng.choice(sites)[:3] + rng.choice(sites)[:2]
        _report_visits(base_url, ident, domains, cfg.visits_per_client, f"sg{i}")
    feed = [Target("feed, with visits", u.cookie) for u in with_visits] + [
        Target("feed, no visits", u.cookie) for u in users[len(users) // 2 :]
    ]
    rng.shuffle(feed)
    related, cold = (
        [Target(label, users[i % len(users)].cookie, RELATED_PATH.format(p)) for i, p in enumerate(sample)]
        for label, sample in (("related", pins[0]), (COLD, pins[1]))
    )
    return {"feed": feed, "related": related, COLD: cold, SLOWER: feed, NO_MEMO: feed}


# --- measuring --------------------------------------------------------------------------------------


def wrk_capacity(server: Server, targets: Sequence[Target], connections: int, seconds: int) -> dict[str, Any]:
    wrk = shutil.which("wrk")
    assert wrk is not None
    with tempfile.NamedTemporaryFile("w", suffix=".requests", delete=False) as f:
        f.write("".join(f"{t.path or FEED_PATH}\t{t.cookie or '-'}\n" for t in targets))
        request_file = f.name
    try:
        meter = CpuMeter(server)
        meter.start()
        cmd = [wrk, "-t1", f"-c{connections}", f"-d{seconds}s", "-s", str(WRK_SCRIPT), server.base_url]
        out = subprocess.run(
            [*cmd, "--", request_file],
            capture_output=True,
            text=True,
            check=True,
            timeout=seconds + 60,
        ).stdout
        cpu = meter.stop()
    finally:
        Path(request_file).unlink(missing_ok=True)
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


def bench_backend(backend: str, cfg: Config) -> dict[str, Any]:
    out: dict[str, Any] = {"backend": backend, "runs": {s: [] for s in SCENARIOS}, "capacity": {}}
    with (
        scratch_database(backend, "tastegraph_bench_serving") as db,
        tempfile.TemporaryDirectory(prefix="tastegraph-serving-models-") as model_dir,
    ):
        bar, report = rich_progress()
        with bar:
            out["catalogue"] = load_catalogue(db.url, GOWALLA_TRAIN, cfg.users, progress=report)
        print(f"[serving] {backend}: catalogue {out['catalogue']}", file=sys.stderr, flush=True)
        os.environ["TASTEGRAPH_MODEL_DIR"] = model_dir  # the server's (Server passes os.environ on)
        pins = pin_sample(db.url, cfg.related_pins)
        t = time.perf_counter()
        with Server(db.url, workers=cfg.workers) as server:
            clients = prepare_clients(server.base_url, cfg, pins)
        out["setup_seconds"] = round(time.perf_counter() - t, 1)
        out["training"] = train(db.url, Path(model_dir))
        print(f"[serving] {backend}: trained {out['training']}", file=sys.stderr, flush=True)
        with Server(db.url, workers=cfg.workers) as server:
            out["background_busy_pct"] = background_busy(1.0)
            warm_up(server, clients)
            out["healthz"] = measure(
                server,
                "/healthz",
                [Target("healthz", "")],
                cfg.rate,
                1.0 if cfg.quick else 5.0,
                not cfg.quick,
            )
            # The repeated runs first, then the single ones, the cold run last: its Pins would push the
            # popular Pins' walks out of the workers' caches.
            plan = [(n, s) for n in range(cfg.runs) for s in ("feed", "related")] + [(0, SLOWER), (0, COLD)]
            for run_no, scenario in plan:
                out["runs"][scenario].append(measured_run(server, cfg, clients, run_no, scenario, backend))
            if cfg.wrk:
                for scenario in ("feed", "related"):
                    targets = clients[scenario]
                    for _attempt in range(MAX_ATTEMPTS):
                        cap = wrk_capacity(server, targets, 8, cfg.wrk_seconds)
                        if not contaminated(cap["cpu"]):
                            break
                    out["capacity"][scenario] = cap
                    print(f"[serving] {backend} {scenario} capacity: {cap}", file=sys.stderr, flush=True)
        os.environ["TASTEGRAPH_FEED_MEMO_SIZE"] = "0"
        try:
            with Server(db.url, workers=cfg.workers) as server:
                warm_up(server, clients)
                out["runs"][NO_MEMO].append(measured_run(server, cfg, clients, 0, NO_MEMO, backend))
        finally:
            os.environ.pop("TASTEGRAPH_FEED_MEMO_SIZE", None)
    return out


def warm_up(server: Server, clients: dict[str, list[Target]]) -> None:
    """Not measured: pools, page cache, per-worker caches. Each worker keeps the walks of the Pins it
    served (see related.walked), so the popular sample goes by twice."""
    feed, related = clients["feed"][:400], clients["related"] * 2
    asyncio.run(_open_loop(server.base_url, FEED_PATH, feed, 50, len(feed) / 50))
    asyncio.run(_open_loop(server.base_url, FEED_PATH, related, 150, len(related) / 150))


def measured_run(
    server: Server, cfg: Config, clients: dict[str, list[Target]], run_no: int, scenario: str, backend: str
) -> dict[str, Any]:
    targets = clients[scenario]
    rate = cfg.rate * 3 // 4 if scenario == SLOWER else cfg.rate
    for attempt in range(1, MAX_ATTEMPTS + 1):
        # Each run starts at a different place in the target list.
        shift = (run_no * 997) % len(targets)
        rotated = targets[shift:] + targets[:shift]
        run = measure(server, FEED_PATH, rotated, rate, cfg.seconds, not cfg.quick)
        run["attempts"] = attempt
        if cfg.quick or not contaminated(run["cpu"]):
            break
        print(f"[serving] other load {run['cpu']['other_cores']} cores: again", file=sys.stderr)
    lat = run["latency_ms"]
    print(
        f"[serving] {backend} {scenario} run {run_no + 1} @ {rate}/s: achieved "
        f"{run['achieved_rate']}/s, p50 {lat['p50']} p90 {lat['p90']} p99 {lat['p99']} ms, "
        f"errors {run['errors']}, lag p99 {run['send_lag_ms']['p99']} ms, cpu {run['cpu']}",
        file=sys.stderr,
        flush=True,
    )
    time.sleep(0 if cfg.quick else 1)
    return run


# --- report -----------------------------------------------------------------------------------------


def summary(res: dict[str, Any], scenario: str) -> dict[str, Any]:
    runs = res["runs"][scenario]
    p99s = [r["latency_ms"]["p99"] for r in runs]
    return {
        "runs": len(runs),
        "offered": runs[0]["offered_rate"] if runs else 0,
        "p50_median": round(median([r["latency_ms"]["p50"] for r in runs]), 1),
        "p99_median": round(median(p99s), 1),
        "p99_max": max(p99s),
        "achieved_median": round(median([r["achieved_rate"] for r in runs]), 1),
        "errors": sum(r["errors"] for r in runs),
        "cpu_ms_per_request": round(median([_cpu_ms(r) for r in runs]), 1),
        "target_p99_ms": TARGETS_MS.get(scenario),
        "met": scenario in TARGETS_MS
        and median(p99s) <= TARGETS_MS[scenario]
        and all(r["errors"] == 0 for r in runs),
    }


def _cpu_ms(run: dict[str, Any]) -> float:
    cpu = run["cpu"]
    rate = run["achieved_rate"]
    return (cpu["server_cores"] + cpu["postgres_cores"]) * 1000 / rate if rate else 0.0


SUMMARY_HEADER = [
    "backend",
    "request",
    "runs",
    "offered req/s",
    "achieved req/s",
    "p50 ms",
    "p99 ms",
    "worst run p99 ms",
    "target p99 ms",
    "met",
    "server+DB CPU ms/request",
]
RUN_HEADER = [
    "backend",
    "request",
    "run",
    "offered req/s",
    "achieved req/s",
    "p50 ms",
    "p90 ms",
    "p99 ms",
    "max ms",
    "errors",
    "send lag p99 ms",
    "CPU cores",
    "per worker",
    "server+DB CPU ms/request",
    "full GC passes: n / max ms",
]
SETUP_HEADER = [
    "backend",
    "catalogue load",
    "training (in process)",
    "`tastegraph train` wall",
    "sign-in, visits",
]


def render(cfg: Config, info: dict[str, str], results: list[dict[str, Any]]) -> str:
    run_rows, sum_rows, class_rows, cap_rows, floor_rows, setup_rows = [], [], [], [], [], []
    for res in results:
        b = res["backend"]
        for scenario in SCENARIOS:
            for i, run in enumerate(res["runs"][scenario], start=1):
                lat, cpu = run["latency_ms"], run["cpu"]
                run_rows.append(
                    [
                        b,
                        scenario,
                        i,
                        run["offered_rate"],
                        run["achieved_rate"],
                        lat["p50"],
                        lat["p90"],
                        lat["p99"],
                        lat["max"],
                        run["errors"],
                        run["send_lag_ms"]["p99"],
                        f"{cpu['server_cores']:.2f} / {cpu['client_cores']:.2f}"
                        + (f" / {cpu['postgres_cores']:.2f}" if b == "postgresql" else "")
                        + f" / {cpu['other_cores']:.2f}",
                        " / ".join(f"{w:.2f}" for w in cpu["server_process_cores"]),
                        f"{_cpu_ms(run):.1f}",
                        f"{cpu['gc_full_passes']} / {cpu['gc_full_max_ms']}",
                    ]
                )
                if scenario == "feed":
                    for label, s in run["by_label"].items():
                        class_rows.append([b, i, label, s["n"], s["p50"], s["p90"], s["p99"]])
            s = summary(res, scenario)
            sum_rows.append(
                [
                    b,
                    scenario,
                    s["runs"],
                    s["offered"],
                    s["achieved_median"],
                    s["p50_median"],
                    f"**{s['p99_median']}**",
                    s["p99_max"],
                    f"≤ {s['target_p99_ms']:.0f}" if s["target_p99_ms"] else "(none)",
                    ("**yes**" if s["met"] else "**no**") if s["target_p99_ms"] else "",
                    s["cpu_ms_per_request"],
                ]
            )
            cap = res["capacity"].get(scenario)
            if cap:
                cap_rows.append(
                    [
                        b,
                        scenario,
                        cap["connections"],
                        f"**{cap['req_per_s']}**",
                        cap["p50_ms"],
                        cap["p99_ms"],
                        cap["errors"],
                        f"{cap['cpu']['server_cores']:.2f}"
                        + (f" + postgres {cap['cpu']['postgres_cores']:.2f}" if b == "postgresql" else ""),
                    ]
                )
        h = res["healthz"]
        floor_rows.append(
            [
                b,
                h["offered_rate"],
                h["latency_ms"]["p50"],
                h["latency_ms"]["p99"],
                h["send_lag_ms"]["p99"],
                f"{h['cpu']['client_cores']:.2f}",
            ]
        )
        tr = res["training"]
        setup_rows.append(
            [b, res["catalogue"]["seconds"], tr["training_seconds"], tr["wall_seconds"], res["setup_seconds"]]
        )
    rows = results[0]["catalogue"]["rows"] if results else {}
    from tastegraph.recommend.model import WALK_CACHE_SIZE as walk_cache

    cmd = "`.venv/bin/python bench/serving_gowalla.py" + (" --quick" if cfg.quick else "") + "`"
    capacity = (
        md_table(
            ["backend", "request", "connections", "req/s", "p50 ms", "p99 ms", "errors", "server cores"],
            cap_rows,
        )
        if cap_rows
        else "(wrk not installed: capacity not measured)"
    )
    return f"""## Serving speed on a Gowalla-sized catalogue (issue 3, part 6)

- Date: {info["date"]}
- Machine: {machine_line(info)}
- Code: commit {info["commit"]}
- Command: {cmd} (add `--backends sqlite` for one backend)
- Catalogue: `bench/gowalla_catalogue.py` from the LightGCN Gowalla train split, {rows.get("users", 0):,}
  people, {rows.get("pins", 0):,} Pins, {rows.get("board_pins", 0):,} saves on {rows.get("boards", 0):,}
  boards, {rows.get("board_follows", 0):,} board follows, {rows.get("user_follows", 0):,} people follows,
  {rows.get("engagement_events", 0):,} clicks and close-ups (topics, sites, boards, follows and clicks are
  generated, seeded; see the script). `tastegraph train` on it, then `tastegraph serve --workers
  {cfg.workers}` (rate limits off) loads the model in both workers.
- Requests: `GET {FEED_PATH}` from {cfg.signed_in} signed-in people (half of them reported
  {cfg.visits_per_client} off-site visits over 5 sites first, before training); `GET
  {RELATED_PATH.format("{id}")}` for {cfg.related_pins} Pins drawn in proportion to their saves
  (popular Pins are viewed more), from the same signed-in people. Before measuring, the feed
  requests of 400 people and every related request twice go by unmeasured: each worker keeps the
  Pixie walks of the last {walk_cache:,} Pins it served (a walk depends only on the model and the
  Pin), so these runs measure warm walks. "{COLD}" (one run) asks for {cfg.related_pins} Pins drawn
  uniformly from all Pins instead: mostly walks not cached yet, the worst case rather than the traffic
  the target is about. "{SLOWER}" (one run) is the home feed again at {cfg.rate * 3 // 4} req/s.
  Each worker also keeps the model-scored feed candidates it computed, keyed by everything they depend
  on (the person's history, saves and hides; see recommend.model.Model.memo), so a repeat feed request
  with nothing changed skips the scoring; "{NO_MEMO}" (one run, a server started with
  `TASTEGRAPH_FEED_MEMO_SIZE=0`) scores on every request, as a person's first feed after any change does.
- Load: open loop at {cfg.rate} req/s for {cfg.seconds:.0f} s per run, a new connection per request,
  from a bare asyncio HTTP/1.1 client on the same machine (`bench/feed_latency.py`'s generator).
  Latency counts from when each request was due, so queueing is included. {cfg.runs} runs per row,
  each after the machine has been idle for 3 s, repeated (up to 3 attempts) if other processes used
  more than 0.2 cores. CPU columns: server / generator (/ postgres) / other, in cores. Full GC
  passes: the garbage collector's full (generation 2) collections in the server's processes during
  the run and the longest one's pause (bench/gc_trace records them).

Medians over the runs (the target is the median run's p99):

{md_table(SUMMARY_HEADER, sum_rows)}

Every run:

{md_table(RUN_HEADER, run_rows)}

Home feed per request class:

{md_table(["backend", "run", "request class", "n", "p50 ms", "p90 ms", "p99 ms"], class_rows)}

Generator floor (`/healthz`, no database work):

{md_table(["backend", "req/s", "p50 ms", "p99 ms", "send lag p99 ms", "generator cores"], floor_rows)}

Capacity (closed loop, wrk, one thread, 8 keep-alive connections, {cfg.wrk_seconds} s):

{capacity}

Setup times (s):

{md_table(SETUP_HEADER, setup_rows)}
"""


def parse(argv: Sequence[str] | None = None) -> Config:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="a small catalogue, short runs, no docs (smoke test)")
    p.add_argument(
        "--backends", default=None, help="comma-separated (default sqlite,postgresql; quick sqlite)"
    )
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--rate", type=int, default=None, help="req/s (default 200; quick 40)")
    p.add_argument("--seconds", type=float, default=None, help="per run (default 30; quick 3)")
    p.add_argument("--runs", type=int, default=None, help="runs per request kind (default 3; quick 1)")
    p.add_argument("--users", type=int, default=None, help="load only the first N Gowalla users")
    p.add_argument("--no-wrk", action="store_true")
    p.add_argument("--no-docs", action="store_true")
    a = p.parse_args(argv)
    quick = bool(a.quick)
    return Config(
        quick=quick,
        backends=[b for b in (a.backends or ("sqlite" if quick else "sqlite,postgresql")).split(",") if b],
        workers=a.workers,
        rate=a.rate or (40 if quick else 200),
        seconds=a.seconds or (3.0 if quick else 30.0),
        runs=a.runs or (1 if quick else 3),
        users=a.users or (400 if quick else None),
        signed_in=8 if quick else 400,
        visits_per_client=20,
        related_pins=100 if quick else 1000,
        wrk=not quick and not a.no_wrk and shutil.which("wrk") is not None,
        wrk_seconds=10,
        write_docs=not quick and not a.no_docs,
    )


def main(argv: Sequence[str] | None = None) -> int:
    cfg = parse(argv)
    started = time.perf_counter()
    info = machine_info()
    results = [bench_backend(b, cfg) for b in cfg.backends]
    ok = all(r["errors"] == 0 for res in results for runs in res["runs"].values() for r in runs)
    if cfg.write_docs:
        replace_doc_section("serving", render(cfg, info, results))
    print_json_line(
        {
            "bench": "serving_gowalla",
            "quick": cfg.quick,
            "ok": ok,
            "seconds": round(time.perf_counter() - started, 1),
            "rate": cfg.rate,
            "summary": {res["backend"]: {s: summary(res, s) for s in SCENARIOS} for res in results},
            "results": None if cfg.quick else results,
        }
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
