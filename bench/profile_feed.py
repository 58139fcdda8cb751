"""Where one home-feed request spends its time: every SQL statement timed (and EXPLAINed), in-process.

Builds the System exactly as `tastegraph serve` does (bootstrap.build from the same Settings), loads the
demo world into a scratch database, gives one signed-in demo user some off-site visits, and calls the
route's own `build_feed` repeatedly with statement timing hooked into SQLAlchemy. Optionally runs
pyinstrument over the same calls (`pip install pyinstrument` into the venv) for the Python side.

    .venv/bin/python bench/profile_feed.py --backend sqlite
    .venv/bin/python bench/profile_feed.py --backend postgresql --pyinstrument
    .venv/bin/python bench/profile_feed.py --backend sqlite --live   # py-spy a real server under wrk load
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import Engine, event, text

from bench.common import FULL_WORLD, QUICK_WORLD, median, percentile, prepare_database, scratch_database


class StatementTimer:
    """Wall time per statement, keyed by the src/ function that issued it."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.by_site: dict[str, list[float]] = defaultdict(list)
        self.sql_by_site: dict[str, tuple[str, Any]] = {}
        self.active = False
        self._t0: list[float] = []
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    @staticmethod
    def _site() -> str:
        """The innermost src/tastegraph frame (cheap: no traceback objects, so timing stays honest)."""
        frame = sys._getframe(2)
        while frame is not None:
            name = frame.f_code.co_filename
            if "/tastegraph/" in name and "/db/" not in name:
                mod = name.split("/tastegraph/", 1)[1].removesuffix(".py").replace("/", ".")
                return f"{mod}.{frame.f_code.co_name}:{frame.f_lineno}"
            frame = frame.f_back  # type: ignore[assignment]
        return "?"

    def _before(self, conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
        self._t0.append(time.perf_counter())

    def _after(self, conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
        elapsed = time.perf_counter() - self._t0.pop()
        if not self.active:
            return
        site = self._site()
        if statement.strip().upper().startswith(("BEGIN", "SELECT 1")):
            site = "(transaction/ping) " + statement.strip()[:20]
        self.by_site[site].append(elapsed)
        self.sql_by_site.setdefault(site, (statement, params))

    @contextmanager
    def measuring(self) -> Iterator[None]:
        self.active = True
        try:
            yield
        finally:
            self.active = False


def _explain(engine: Engine, statement: str, params: Any) -> str:
    prefix = "EXPLAIN QUERY PLAN " if engine.dialect.name == "sqlite" else "EXPLAIN ANALYZE "
    with engine.connect() as conn:
        raw = conn.connection.dbapi_connection
        assert raw is not None
        cur = raw.cursor()
        cur.execute(prefix + statement, params)
        rows = cur.fetchall()
    if engine.dialect.name == "sqlite":
        return "\n".join(f"    {r[-1]}" for r in rows)
    return "\n".join(f"    {r[0]}" for r in rows)


def run(backend: str, quick: bool, calls: int, use_pyinstrument: bool) -> None:
    from tastegraph.api.context import Caller
    from tastegraph.api.routes.feed import build_feed
    from tastegraph.bootstrap import build
    from tastegraph.collect import VisitIn, visits
    from tastegraph.config import Settings
    from tastegraph.consent import RequestSignals
    from tastegraph.demo import TOPIC_DOMAINS

    pins, users = QUICK_WORLD if quick else FULL_WORLD
    with scratch_database(backend, "tastegraph_bench_profile") as db:
        prepare_database(db.url, pins, users)
        system = build(Settings(database_url=db.url, rate_limit_enabled=False))
        engine = system.engine
        timer = StatementTimer(engine)
        now = system.clock.now()
        user_id = 7
        with system.write() as conn:
            domains = TOPIC_DOMAINS["outdoors"][:3] + TOPIC_DOMAINS["cooking"][:2]
            items = [
                VisitIn(f"https://{d}/p/{k}", f"profile-{k:06d}", now - timedelta(minutes=k))
                for k, d in enumerate(domains * 4)
            ]
            visits.record_visits(conn, system.consent, user_id, None, RequestSignals(), items, now)
        browser = None
        cases = {
            "signed-in with visits": [Caller(user_id, browser, "x", RequestSignals())],
            "signed-in, no visits": [Caller(8, None, "x", RequestSignals())],
            # Different people each call: nothing per-person is warm (as under real traffic).
            "signed-in, a different person each call": [
                Caller(u, None, "x", RequestSignals()) for u in range(100, 100 + calls)
            ],
            "signed-out, no cookie": [Caller(None, None, None, RequestSignals())],
        }
        for label, callers in cases.items():
            for _ in range(3):  # warm caches and the pool
                build_feed(system, cases["signed-in, no visits"][0], 25)
            timer.by_site.clear()
            walls = []
            with timer.measuring():
                for i in range(calls):
                    t0 = time.perf_counter()
                    build_feed(system, callers[i % len(callers)], 25)
                    walls.append(time.perf_counter() - t0)
            sql_total = sum(sum(v) for v in timer.by_site.values()) / calls
            print(
                f"\n== {backend}: {label}: build_feed p50 {median(walls) * 1000:.1f} ms, "
                f"p99 {percentile(walls, 99) * 1000:.1f} ms; SQL {sql_total * 1000:.1f} ms/request "
                f"in {sum(len(v) for v in timer.by_site.values()) // calls} statements"
            )
            ranked = sorted(timer.by_site.items(), key=lambda kv: -sum(kv[1]))
            for site, times in ranked[:12]:
                per_req = sum(times) / calls * 1000
                each = median(times) * 1000
                print(
                    f"  {per_req:7.2f} ms/request  {len(times) // calls:3d}x  median {each:6.2f} ms  {site}"
                )
            if label == "signed-in with visits":
                for site, _times in ranked[:3]:
                    stmt, params = timer.sql_by_site[site]
                    print(f"\n  plan for {site}:\n    " + re.sub(r"\s+", " ", stmt)[:300])
                    try:
                        print(_explain(engine, stmt, params))
                    except Exception as exc:  # explain is best effort
                        print(f"    (explain failed: {exc})")
        if use_pyinstrument:
            from pyinstrument import Profiler

            caller = cases["signed-in with visits"][0]
            profiler = Profiler(interval=0.0005)
            profiler.start()
            for _ in range(calls):
                build_feed(system, caller, 25)
            profiler.stop()
            print(profiler.output_text(unicode=False, color=False, show_all=False))
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        system.dispose()


# Frames whose inclusive share of the server's samples answers "where does a request go".
LIVE_FRAMES = (
    "get_caller",
    "build_feed",
    "offsite_permit",
    "home_feed",
    "usable_visits",
    "load_profile",
    "saved_alongside",
    "offsite",
    "_domain_topics",
    "topic_interests",
    "followed_boards",
    "followed_people",
    "popular",
    "new_in_topic",
    "similar_taste",
    "_blend",
    "get_pins",
    "serialize_response",
    "_pin_out",
    "do_execute",
    "_checkout",
    "pre_ping",
)


def live(backend: str, quick: bool, seconds: int, connections: int) -> None:
    """py-spy over a real one-worker `tastegraph serve` while wrk drives signed-in feed requests."""
    import collections
    import shutil
    import subprocess
    import tempfile

    from bench.common import Server, sign_in_users
    from bench.feed_latency import _report_visits
    from tastegraph.demo import TOPIC_DOMAINS

    py_spy = Path(sys.executable).parent / "py-spy"
    wrk = shutil.which("wrk")
    if not py_spy.exists() or wrk is None:
        raise SystemExit("--live needs py-spy in the venv (pip install py-spy) and wrk (apt-get install wrk)")
    pins, users = QUICK_WORLD if quick else FULL_WORLD
    with scratch_database(backend, "tastegraph_bench_pyspy") as db:
        prepare_database(db.url, pins, users)
        with Server(db.url, workers=1) as server:
            idents = sign_in_users(server.base_url, range(1, 41))
            sites = TOPIC_DOMAINS["outdoors"][:3] + TOPIC_DOMAINS["cooking"][:2]
            for i, ident in enumerate(idents[:20]):
                _report_visits(server.base_url, ident, sites, 20, f"spy{i}")
            with tempfile.TemporaryDirectory() as tmp:
                cookies = Path(tmp) / "cookies"
                cookies.write_text("\n".join(i.cookie for i in idents) + "\n")
                raw = Path(tmp) / "profile.txt"
                load = subprocess.Popen(
                    [
                        wrk,
                        "-t1",
                        f"-c{connections}",
                        f"-d{seconds + 4}s",
                        "-s",
                        str(Path(__file__).parent / "wrk" / "feed.lua"),
                        server.base_url,
                        "--",
                        str(cookies),
                        "/v1/feed/home?limit=25",
                    ],
                    stdout=subprocess.PIPE,
                    text=True,
                )
                time.sleep(2)
                subprocess.run(
                    [
                        str(py_spy),
                        "record",
                        "--pid",
                        str(server.proc.pid if server.proc else 0),
                        "--duration",
                        str(seconds),
                        "--rate",
                        "250",
                        "--gil",  # only the thread holding the GIL: the process's Python work
                        "--nonblocking",  # do not pause the server per sample (it would slow it 2x)
                        "--format",
                        "raw",
                        "--output",
                        str(raw),
                    ],
                    check=True,
                    capture_output=True,
                )
                out, _ = load.communicate()
                stacks = raw.read_text().splitlines()
        print(out.strip().splitlines()[-1])
    total = 0
    inclusive: collections.Counter[str] = collections.Counter()
    self_time: collections.Counter[str] = collections.Counter()
    for line in stacks:
        stack, _, count_text = line.rpartition(" ")
        count = int(count_text)
        total += count
        frames = stack.split(";")
        names = {f.split(" (", 1)[0] for f in frames}
        for name in LIVE_FRAMES:
            if name in names:
                inclusive[name] += count
        self_time[frames[-1].split(" (", 1)[0] + " (" + frames[-1].split(" (", 1)[-1]] += count
    print(
        f"\n== {backend}: py-spy --gil, one worker under wrk ({connections} connections), {total} samples "
        "of the thread holding the GIL (time in SQLite/libpq with the GIL released is not counted)"
    )
    for name in LIVE_FRAMES:
        print(f"  {100 * inclusive[name] / total:5.1f}%  {name}")
    print("\n  top self time:")
    for frame, count in self_time.most_common(15):
        print(f"  {100 * count / total:5.1f}%  {frame}")


def plans(rounds: int, users: int) -> None:
    """PostgreSQL: which plan the co-save query (sources.saved_alongside) gets, per person, after each
    of several fresh ANALYZEs (ANALYZE samples rows at random, so statistics differ between runs)."""
    import json

    from tastegraph.bootstrap import build
    from tastegraph.config import Settings
    from tastegraph.recommend import sources

    with scratch_database("postgresql", "tastegraph_bench_plans") as db:
        prepare_database(db.url, *FULL_WORLD)
        system = build(Settings(database_url=db.url, rate_limit_enabled=False))
        timer = StatementTimer(system.engine)
        for r in range(rounds):
            if r:
                with system.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                    conn.exec_driver_sql("ANALYZE board_pins")
            kinds: dict[str, list[float]] = defaultdict(list)
            for uid in range(1, users + 1):
                with system.read() as conn:
                    profile = sources.load_profile(conn, uid, [])
                    timer.sql_by_site.clear()
                    with timer.measuring():
                        sources.saved_alongside(conn, profile, 30)
                    # The co-save aggregation is the statement with the self-join (the other one
                    # fetches titles).
                    found = [
                        sp
                        for k, sp in timer.sql_by_site.items()
                        if "saved_alongside" in k and "JOIN" in sp[0]
                    ]
                    if not found:
                        continue
                    stmt, params = found[0]
                    raw = conn.connection.dbapi_connection
                    assert raw is not None
                    cur = raw.cursor()
                    cur.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + stmt, params)
                    row = cur.fetchone()
                    assert row is not None
                    plan = row[0][0]
                nodes = set(re.findall(r'"Node Type": "([^"]+)"', json.dumps(plan["Plan"])))
                join = (
                    "hash join" if "Hash Join" in nodes else "nested loop" if "Nested Loop" in nodes else "?"
                )
                kind = ("parallel " if nodes & {"Gather", "Gather Merge"} else "") + join
                kinds[kind].append(float(plan["Execution Time"]))
            summary = ", ".join(
                f"{k}: {len(v)} people, median {median(v):.1f} ms" for k, v in sorted(kinds.items())
            )
            print(f"ANALYZE round {r + 1}: {summary}")
        system.dispose()


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--backend", default="sqlite", choices=["sqlite", "postgresql"])
    p.add_argument("--quick", action="store_true")
    p.add_argument("--calls", type=int, default=30)
    p.add_argument("--pyinstrument", action="store_true")
    p.add_argument("--live", action="store_true", help="py-spy a real server under load instead")
    p.add_argument("--seconds", type=int, default=20)
    p.add_argument("--connections", type=int, default=4)
    p.add_argument("--plans", action="store_true", help="PostgreSQL: co-save query plans across ANALYZEs")
    a = p.parse_args(argv)
    if a.plans:
        plans(rounds=5, users=100)
    elif a.live:
        live(a.backend, a.quick, a.seconds, a.connections)
    else:
        run(a.backend, a.quick, a.calls, a.pyinstrument)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
