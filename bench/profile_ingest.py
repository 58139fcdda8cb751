"""How long one ingest request holds its write transaction, and how much of that is SQL.

On SQLite a write transaction is `BEGIN IMMEDIATE`: it holds the database's one write lock from the
first statement to COMMIT, so whatever Python work happens inside it is serialized across every worker
and thread. This calls the route's own `record()` path (`tastegraph.api.routes.offsite.record` minus the
HTTP layer) in-process and times, per request: the whole `system.write()` block, the SQL statements in
it, and the validation done before it.

    .venv/bin/python bench/profile_ingest.py --backend sqlite
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import event

from bench.common import QUICK_WORLD, median, prepare_database, scratch_database


def run(backend: str, calls: int) -> None:
    from tastegraph.bootstrap import build
    from tastegraph.collect import VisitIn, visits
    from tastegraph.config import Settings
    from tastegraph.consent import RequestSignals
    from tastegraph.demo import TOPIC_DOMAINS

    domains = [d for ds in TOPIC_DOMAINS.values() for d in ds]
    with scratch_database(backend, "tastegraph_bench_profile_ingest") as db:
        prepare_database(db.url, *QUICK_WORLD)
        system = build(Settings(database_url=db.url, rate_limit_enabled=False))
        sql: list[float] = []
        starts: list[float] = []

        def before(*_a: Any) -> None:
            starts.append(time.perf_counter())

        def after(*_a: Any) -> None:
            sql.append(time.perf_counter() - starts.pop())

        event.listen(system.engine, "before_cursor_execute", before)
        event.listen(system.engine, "after_cursor_execute", after)
        for size in (1, 500):
            held, in_sql = [], []
            for c in range(calls):
                items = [
                    VisitIn(f"https://{domains[k % len(domains)]}/p/{k}", f"prof-{size}-{c}-{k:04d}")
                    for k in range(size)
                ]
                sql.clear()
                t0 = time.perf_counter()
                with system.write() as conn:  # what routes/offsite.py:record does, user 5 signed in
                    user_id = 5
                    visits.record_visits(
                        conn, system.consent, user_id, None, RequestSignals(), items, system.clock.now()
                    )
                held.append(time.perf_counter() - t0)
                in_sql.append(sum(sql))
            h, q = median(held) * 1000, median(in_sql) * 1000
            print(
                f"{backend}: {size} visit(s) per request: write transaction held {h:.2f} ms (median of "
                f"{calls}), of which SQL statements {q:.2f} ms and Python {h - q:.2f} ms "
                f"({(h - q) / h:.0%} of the lock time)"
            )
        system.dispose()


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--backend", default="sqlite", choices=["sqlite", "postgresql"])
    p.add_argument("--calls", type=int, default=50)
    a = p.parse_args(argv)
    run(a.backend, a.calls)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
