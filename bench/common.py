"""Shared benchmark plumbing: scratch databases, a real server in a subprocess, CPU accounting,
percentiles, and the named sections of docs/benchmarks.md.

Every benchmark talks to `tastegraph serve` over real TCP, exactly as a deployment would: nothing here
imports the app in-process, so the numbers include uvicorn, the middleware stack and the database driver.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import platform
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
DOC = REPO / "docs" / "benchmarks.md"
GC_TRACE = REPO / "bench" / "gc_trace"

# Optional: a `git archive` export of a commit (see `run_all.py --snapshot`) to benchmark instead of the
# working tree, so figures belong to one commit even while src/ is being edited. Both this process (which
# migrates and loads the world) and the server import tastegraph from it.
SNAPSHOT = os.environ.get("TASTEGRAPH_BENCH_SRC") or None
if SNAPSHOT:
    sys.path.insert(0, str(Path(SNAPSHOT) / "src"))

# A maintenance connection to the local PostgreSQL; scratch databases are created from it and dropped.
PG_ADMIN_URL = os.environ.get("TASTEGRAPH_BENCH_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/test")

DEMO_SEED = 42
DEMO_PASSWORD = "demo-password"
FULL_WORLD = (50_000, 10_000)  # (pins, users): the world the brief and the docs describe
QUICK_WORLD = (400, 120)

# --- databases --------------------------------------------------------------------------------------


@dataclass
class Database:
    """A scratch database: its URL, and how to describe it in the report."""

    backend: str  # "sqlite" | "postgresql"
    url: str
    where: str


def _pg_url(dbname: str) -> str:
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    return f"{base}/{dbname}"


def _pg_admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(
        PG_ADMIN_URL.replace("postgresql+psycopg://", "postgresql://"), autocommit=True
    ) as c:
        c.execute(sql.encode())


@contextlib.contextmanager
def scratch_database(backend: str, name: str) -> Iterator[Database]:
    """An empty database that is deleted afterwards (a temp-dir SQLite file, or a PostgreSQL database)."""
    if backend == "sqlite":
        tmp = Path(tempfile.mkdtemp(prefix=f"{name}-"))
        try:
            path = tmp / "bench.db"
            yield Database("sqlite", f"sqlite:///{path}", f"file {path} (WAL)")
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    elif backend == "postgresql":
        # Unique per process, so a smoke test and a full run (or two checkouts) never share or drop
        # each other's database.
        name = f"{name}_{os.getpid()}"
        if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
            raise ValueError(f"unsafe database name {name!r}")
        _pg_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        _pg_admin(f"CREATE DATABASE {name}")
        try:
            yield Database("postgresql", _pg_url(name), f"database {name} on {PG_ADMIN_URL.split('@')[-1]}")
        finally:
            _pg_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    else:
        raise ValueError(f"unknown backend {backend!r}")


def prepare_database(url: str, pins: int, users: int, seed: int = DEMO_SEED) -> dict[str, Any]:
    """Migrate to head and load the seeded demo world; returns row counts and how long it took."""
    from tastegraph.db import make_engine, upgrade
    from tastegraph.demo import WorldSize, load_world

    started = time.perf_counter()
    engine = make_engine(url)
    try:
        upgrade(engine)
        with engine.begin() as conn:
            counts = load_world(conn, seed, datetime.now(UTC), WorldSize(pins=pins, users=users))
        # Steady state after the bulk load: planner statistics, and on PostgreSQL the visibility map
        # (index-only scans skip the heap) as autovacuum would leave it on a live system.
        if engine.dialect.name == "postgresql":
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("VACUUM ANALYZE")
        else:
            with engine.begin() as conn:
                conn.exec_driver_sql("ANALYZE")
    finally:
        engine.dispose()
    return {"rows": counts, "seconds": round(time.perf_counter() - started, 1)}


def count_rows(url: str, table: str) -> int:
    from sqlalchemy import text

    from tastegraph.db import make_engine

    if not re.fullmatch(r"[a-z_]+", table):
        raise ValueError(table)
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())
    finally:
        engine.dispose()


# --- the server -------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """`tastegraph serve` in its own process group, rate limits off, logs to a temp file.

    `src`: the src/ directory the server imports tastegraph from (another checkout's, for an A/B);
    default the snapshot's (TASTEGRAPH_BENCH_SRC), else this checkout's."""

    def __init__(
        self, database_url: str, workers: int = 2, port: int | None = None, src: Path | None = None
    ) -> None:
        self.database_url = database_url
        self.workers = workers
        self.src = src
        self.port = port or free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_path = Path(tempfile.mkstemp(prefix="tastegraph-bench-server-", suffix=".log")[1])
        self.gc_log = Path(tempfile.mkdtemp(prefix="tastegraph-bench-gc-"))  # see bench/gc_trace
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60.0) -> Server:
        env = {
            **os.environ,
            "TASTEGRAPH_DATABASE_URL": self.database_url,
            "TASTEGRAPH_RATE_LIMIT_ENABLED": "false",
            "TASTEGRAPH_PUBLIC_ORIGIN": self.base_url,
            "TASTEGRAPH_ENV": "development",
        }
        env.pop("TASTEGRAPH_TEST_CLOCK", None)
        src = self.src or (Path(SNAPSHOT) / "src" if SNAPSHOT else None)
        paths = [str(GC_TRACE)] + ([str(src)] if src else [])
        env["PYTHONPATH"] = os.pathsep.join(paths)
        env["TASTEGRAPH_BENCH_GC_LOG"] = str(self.gc_log)
        cmd = [str(BIN / "tastegraph"), "serve", "--port", str(self.port), "--workers", str(self.workers)]
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                cmd, env=env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}:\n{self.log_tail()}")
            with contextlib.suppress(httpx.HTTPError):
                healthy = httpx.get(f"{self.base_url}/healthz", timeout=1.0).status_code == 200
                # Every worker must be up, not just the first one to answer.
                if healthy and self._workers_ready():
                    return self
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"server did not become healthy in {timeout} s:\n{self.log_tail()}")

    def _workers_ready(self) -> bool:
        text = self.log_path.read_text(errors="replace")
        return text.count("Application startup complete") >= self.workers

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def gc_pauses(self, since: float, until: float) -> list[float]:
        """Full garbage-collection pauses (ms) in the server's processes between two `time.time()`s."""
        pauses = []
        for path in self.gc_log.glob("gc.*"):
            for line in path.read_text().splitlines():
                at, ms = line.split()
                if since <= float(at) <= until:
                    pauses.append(float(ms))
        return pauses

    def cpu_seconds(self) -> float:
        """User+system CPU of the server's whole process group (supervisor and workers) so far."""
        return sum(self.cpu_by_pid().values())

    def cpu_by_pid(self) -> dict[int, float]:
        if self.proc is None:
            return {}
        return process_group_cpu_by_pid(self.proc.pid)

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        self.proc = None
        with contextlib.suppress(OSError):
            self.log_path.unlink()
        shutil.rmtree(self.gc_log, ignore_errors=True)

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()


# --- CPU accounting ---------------------------------------------------------------------------------

_CLK_TCK = os.sysconf("SC_CLK_TCK")


def _proc_stat(pid: str) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # Fields after the parenthesised command name (which may contain spaces).
    return raw[raw.rindex(")") + 2 :].split()


def process_group_cpu_by_pid(pgid: int) -> dict[int, float]:
    """CPU seconds (user+system, all threads) of each live process in a process group, from /proc."""
    out: dict[int, float] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        fields = _proc_stat(entry)
        # fields[2] is pgrp, [11] utime, [12] stime (0-based after the command name)
        if fields is not None and int(fields[2]) == pgid:
            out[int(entry)] = (int(fields[11]) + int(fields[12])) / _CLK_TCK
    return out


def process_group_cpu(pgid: int) -> float:
    return sum(process_group_cpu_by_pid(pgid).values())


def postgres_cpu() -> float:
    """CPU seconds of the local PostgreSQL: every live process named postgres, plus what the postmaster
    has reaped from exited children (backends, autovacuum workers), so processes that come and go
    during a measurement are still counted."""
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            comm = Path(f"/proc/{entry}/comm").read_text().strip()
        except OSError:
            continue
        if comm == "postgres":
            fields = _proc_stat(entry)
            if fields is not None:
                # [11] utime, [12] stime, [13] cutime, [14] cstime (reaped children)
                total += sum(int(x) for x in fields[11:15])
    return total / _CLK_TCK


def system_cpu() -> tuple[float, float]:
    """(busy, total) CPU seconds across every core since boot, from /proc/stat."""
    parts = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = parts[3] + parts[4]  # idle + iowait
    total = sum(parts[:8])
    return (total - idle) / _CLK_TCK, total / _CLK_TCK


def self_cpu() -> float:
    t = os.times()
    return t.user + t.system


def children_cpu() -> float:
    t = os.times()
    return t.children_user + t.children_system


@dataclass
class CpuMeter:
    """Where the machine's CPU went during a measured interval."""

    server: Server | None
    started: dict[str, float] = field(default_factory=dict)
    started_pids: dict[int, float] = field(default_factory=dict)
    _pids: dict[int, float] = field(default_factory=dict)

    def _sample(self) -> dict[str, float]:
        busy, total = system_cpu()
        self._pids = self.server.cpu_by_pid() if self.server else {}
        return {
            "server": sum(self._pids.values()),
            "client": self_cpu(),
            "child_tools": children_cpu(),
            "postgres": postgres_cpu(),
            "busy": busy,
            "total": total,
            "wall": time.perf_counter(),
            "clock": time.time(),
        }

    def start(self) -> None:
        self.started = self._sample()
        self.started_pids = dict(self._pids)

    def stop(self) -> dict[str, Any]:
        end = self._sample()
        d = {k: end[k] - self.started[k] for k in end}
        d.pop("clock")
        wall = d.pop("wall")
        total = d.pop("total")
        busy = d.pop("busy")
        out: dict[str, Any] = {f"{k}_cores": round(v / wall, 2) for k, v in d.items()}
        out["machine_busy_pct"] = round(100 * busy / total, 1) if total else 0.0
        # Whatever else ran meanwhile (other tenants, the kernel's share): not ours, but it competed.
        ours = sum(d[k] for k in ("server", "client", "child_tools", "postgres"))
        out["other_cores"] = round(max(0.0, busy - ours) / wall, 2)
        # Per server process (the supervisor is ~0): shows how evenly connections landed on workers.
        per_pid = [(end_v - self.started_pids.get(pid, 0.0)) / wall for pid, end_v in self._pids.items()]
        out["server_process_cores"] = sorted((round(v, 2) for v in per_pid if v >= 0.01), reverse=True)
        pauses = self.server.gc_pauses(self.started["clock"], end["clock"]) if self.server else []
        out["gc_full_passes"] = len(pauses)
        out["gc_full_max_ms"] = round(max(pauses, default=0.0), 1)
        out["gc_full_total_ms"] = round(sum(pauses), 1)
        return out


QUIET_TIMEOUT = float(os.environ.get("TASTEGRAPH_BENCH_QUIET_TIMEOUT", "300"))


def wait_for_quiet(max_busy_pct: float = 15.0, quiet_seconds: int = 3, timeout: float | None = None) -> float:
    """Wait until the machine has been mostly idle for a few seconds (other tenants share these cores).

    Returns the busy share of the last second; gives up after `timeout` and says so on stderr."""
    timeout = QUIET_TIMEOUT if timeout is None else timeout
    deadline = time.monotonic() + timeout
    quiet = 0
    busy = 100.0
    while time.monotonic() < deadline:
        busy = background_busy(1.0)
        quiet = quiet + 1 if busy <= max_busy_pct else 0
        if quiet >= quiet_seconds:
            return busy
    print(f"[bench] machine still {busy:.0f}% busy after {timeout:.0f} s; measuring anyway", file=sys.stderr)
    return busy


# A run during which other processes (other tenants of this machine) used more than this many cores is
# repeated, up to MAX_ATTEMPTS times in all; the reports show the "other" load that remained.
OTHER_LOAD_LIMIT = 0.2
MAX_ATTEMPTS = 3


def contaminated(cpu: dict[str, Any]) -> bool:
    return float(cpu.get("other_cores", 0.0)) > OTHER_LOAD_LIMIT


def background_busy(seconds: float = 1.0) -> float:
    """Share of the machine (0..100) busy while this process sleeps: other tenants' load."""
    b0, t0 = system_cpu()
    time.sleep(seconds)
    b1, t1 = system_cpu()
    return round(100 * (b1 - b0) / (t1 - t0), 1) if t1 > t0 else 0.0


# --- statistics -------------------------------------------------------------------------------------


def percentile(values: Sequence[float], p: float) -> float:
    """Linear-interpolated percentile (p in 0..100) of unsorted values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    k = (len(ordered) - 1) * p / 100
    lo, hi = math.floor(k), math.ceil(k)
    if lo == hi:
        return ordered[lo]
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def latency_summary_ms(seconds: Sequence[float]) -> dict[str, float]:
    ms = [s * 1000 for s in seconds]
    return {
        "n": len(ms),
        "p50": round(percentile(ms, 50), 1),
        "p90": round(percentile(ms, 90), 1),
        "p99": round(percentile(ms, 99), 1),
        "max": round(max(ms), 1) if ms else math.nan,
    }


def median(values: Sequence[float]) -> float:
    return percentile(values, 50)


# --- sign-in and identities -------------------------------------------------------------------------


@dataclass(frozen=True)
class Identity:
    """A client: a signed-in demo user (session + browser cookie) or a signed-out browser."""

    kind: str  # "signed_in" | "signed_out"
    cookie: str  # the Cookie header to send ("" for a browser that has none yet)
    user_id: int | None = None


def _cookie_header(jar: httpx.Cookies, names: Sequence[str]) -> str:
    return "; ".join(f"{n}={jar[n]}" for n in names if n in jar)


def sign_in_users(base_url: str, user_numbers: Sequence[int], concurrency: int = 4) -> list[Identity]:
    """Sign demo users in (argon2 verification happens here, once, not in the measured paths)."""
    from concurrent.futures import ThreadPoolExecutor

    def one(n: int) -> Identity:
        with httpx.Client(base_url=base_url, timeout=60) as c:
            r = c.post(
                "/v1/sessions", json={"email": f"demo{n}@demo.tastegraph.test", "password": DEMO_PASSWORD}
            )
            r.raise_for_status()
            return Identity(
                "signed_in", _cookie_header(c.cookies, ("tg_session", "tg_bid_local")), r.json()["user_id"]
            )

    with ThreadPoolExecutor(concurrency) as pool:
        return list(pool.map(one, user_numbers))


def new_browsers(base_url: str, count: int, tag: str, concurrency: int = 4) -> list[Identity]:
    """Signed-out browsers: each reports one visit without cookies and keeps the browser cookie it gets."""
    from concurrent.futures import ThreadPoolExecutor

    def one(i: int) -> Identity:
        with httpx.Client(base_url=base_url, timeout=60) as c:
            r = c.post(
                "/v1/offsite/visits",
                json={"url": f"https://trailpeak-gear.com/setup/{i}", "event_id": f"setup-{tag}-{i:06d}"},
            )
            r.raise_for_status()
            cookie = _cookie_header(c.cookies, ("tg_bid_local",))
            if not cookie:
                raise RuntimeError(f"no browser cookie issued: {r.status_code} {r.text}")
            return Identity("signed_out", cookie)

    with ThreadPoolExecutor(concurrency) as pool:
        return list(pool.map(one, range(count)))


# --- reporting --------------------------------------------------------------------------------------


def _run(cmd: Sequence[str]) -> str:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=10, check=False).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return ""


def machine_info() -> dict[str, str]:
    lscpu = _run(["lscpu"])
    model = next(
        (ln.split(":", 1)[1].strip() for ln in lscpu.splitlines() if ln.startswith("Model name")), "?"
    )
    virt = next(
        (ln.split(":", 1)[1].strip() for ln in lscpu.splitlines() if ln.startswith("Hypervisor vendor")), ""
    )
    mem_kb = next(
        (
            int(ln.split()[1])
            for ln in Path("/proc/meminfo").read_text().splitlines()
            if ln.startswith("MemTotal")
        ),
        0,
    )
    pg = ""
    with contextlib.suppress(Exception):
        import psycopg

        with psycopg.connect(PG_ADMIN_URL) as c:
            row = c.execute("SHOW server_version").fetchone()
            pg = str(row[0]) if row else ""
    return {
        "cpus": _run(["nproc"]) or str(os.cpu_count()),
        "cpu_model": model + (f" ({virt} guest)" if virt else ""),
        "memory_gib": f"{mem_kb / 1024 / 1024:.0f}",
        "os": platform.platform(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "postgresql": pg,
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": source_version(),
    }


def source_version() -> str:
    """The commit the server ran, and whether src/ had uncommitted changes (others edit it concurrently)."""
    if SNAPSHOT:
        commit = (Path(SNAPSHOT) / "COMMIT").read_text().strip()
        how = "a clean `git archive` export in `TASTEGRAPH_BENCH_SRC`, as `run_all.py --snapshot` makes"
        return f"{commit} ({how})"
    head = _run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"]) or "unknown"
    dirty = _run(["git", "-C", str(REPO), "status", "--porcelain", "--", "src"])
    return head + (" + uncommitted changes in src/" if dirty else "")


def machine_line(info: dict[str, str]) -> str:
    return (
        f"{info['cpus']} vCPU {info['cpu_model']}, {info['memory_gib']} GiB RAM, {info['os']}; "
        f"Python {info['python']}, SQLite {info['sqlite']}, PostgreSQL {info['postgresql']}"
    )


DOC_HEADER = """# Benchmarks

Each section below is written by its script in `bench/` (`bench/run_all.py` runs them all) and replaced
as a whole when that script runs again; the text between the markers is generated, so edit the script,
not the section. Figures are from one machine, stated in each section, and are only comparable with
figures from the same machine.
"""


def _markers(name: str) -> tuple[str, str]:
    return f"<!-- bench:{name}:start -->", f"<!-- bench:{name}:end -->"


def replace_doc_section(name: str, body: str, doc: Path = DOC) -> None:
    """Write `body` as section `name` of the benchmarks doc, leaving every other section as it is."""
    start, end = _markers(name)
    block = f"{start}\n{body.strip()}\n{end}"
    text = doc.read_text() if doc.exists() else DOC_HEADER
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _m: block, text, count=1)
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    doc.parent.mkdir(parents=True, exist_ok=True)
    tmp = doc.with_suffix(".md.tmp")
    tmp.write_text(text)
    tmp.replace(doc)


def print_json_line(result: dict[str, Any]) -> None:
    """The one machine-readable line each script ends with (the smoke test parses it)."""
    print(json.dumps(result, sort_keys=True, default=str), flush=True)


def md_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(out)
