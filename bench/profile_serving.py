"""Where a home-feed or related-Pins request goes on the Gowalla-sized catalogue, in-process.

Uses an existing database loaded by bench/gowalla_catalogue.py and a model trained on it (the paths
below), builds the System as `tastegraph serve` does, and calls the routes' own functions for many
different people and Pins: wall time per call, time per candidate source, and optionally pyinstrument.

    .venv/bin/python bench/profile_serving.py --url sqlite:////tmp/sv/gw.db --models /tmp/sv/models
    .venv/bin/python bench/profile_serving.py ... --visits      # first give people 1..N off-site visits
    .venv/bin/python bench/profile_serving.py ... --pyinstrument feed
"""

from __future__ import annotations

import argparse
import functools
import random
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import median, percentile

VISIT_USERS = 200  # people 1..200 get visits; odd ones are the "with visits" half


def add_visits(system: Any, users: int) -> None:
    from tastegraph.collect import VisitIn, visits
    from tastegraph.consent import RequestSignals
    from tastegraph.demo import TOPIC_DOMAINS

    rng = random.Random(11)
    sites = list(TOPIC_DOMAINS.values())
    now = system.clock.now()
    for uid in range(1, users + 1, 2):
        domains = rng.choice(sites)[:3] + rng.choice(sites)[:2]
        items = [
            VisitIn(
                f"https://{domains[k % 5]}/p/{k}", f"prof-{uid}-{k:03d}", now - timedelta(hours=3 * k + 1)
            )
            for k in range(20)
        ]
        with system.write() as conn:
            visits.record_visits(conn, system.consent, uid, None, RequestSignals(), items, now)


def _timed_sources(acc: dict[str, list[float]]) -> None:
    """Record each step's CPU time in `acc`: every feed source (through its `find`), the profile, the
    blend, the model's scoring, the Pin reads and related Pins' parts."""
    import dataclasses

    from tastegraph.recommend import feed, related, sources
    from tastegraph.recommend.sources import _profile

    def timed(label: str, fn: Any) -> Any:
        @functools.wraps(fn)
        def inner(*a: Any, **k: Any) -> Any:
            t = time.thread_time()
            try:
                return fn(*a, **k)
            finally:
                acc[label].append(time.thread_time() - t)

        return inner

    def wrap(mod: Any, name: str) -> None:
        setattr(mod, name, timed(f"{mod.__name__.rsplit('.', 1)[-1]}.{name}", getattr(mod, name)))

    # The feed calls each source through FEED_SOURCES: time the find function of each.
    feed.FEED_SOURCES = tuple(
        dataclasses.replace(src, find=timed(f"sources.{src.name}", src.find))
        if dataclasses.is_dataclass(src)
        else src
        for src in sources.FEED_SOURCES
    )
    for name in ("load_profile", "_blend"):
        if hasattr(feed, name):
            wrap(feed, name)
    for name in ("pin_titles", "engaged_pins", "viewer_topics"):
        if hasattr(_profile, name):
            wrap(_profile, name)
    from tastegraph.recommend import Model

    for name in ("score", "contributions", "co_saved", "score_rows"):
        if hasattr(Model, name):
            wrap(Model, name)
    from tastegraph.catalog import content

    wrap(content, "get_pins")
    for name in ("walked", "co_saved", "same_topic", "excluded_pins"):
        if hasattr(related, name):
            wrap(related, name)


def run(url: str, models: Path, calls: int, which: str, pyinstrument: str | None, visits: bool) -> None:
    from threadpoolctl import threadpool_limits

    from tastegraph.bootstrap import build
    from tastegraph.config import Settings
    from tastegraph.consent import RequestSignals
    from tastegraph.usecases import home_feed, related_pins
    from tastegraph.usecases.callers import Caller

    threadpool_limits(1, user_api="blas")  # as the server's lifespan does
    system = build(Settings(database_url=url, rate_limit_enabled=False, model_dir=models))
    if visits:
        add_visits(system, VISIT_USERS)
        print("visits added")
        return
    t = time.perf_counter()
    model = system.models.current(system.clock.now())
    print(f"model {model.version if model else None} loaded in {time.perf_counter() - t:.1f} s")
    rng = random.Random(3)
    with system.read() as conn:
        from sqlalchemy import text

        n_users = int(conn.execute(text("SELECT max(id) FROM users")).scalar_one())
        saved_pins = [
            int(p) for p in conn.execute(text("SELECT id FROM pins WHERE save_count > 0")).scalars()
        ]
    cases: dict[str, Callable[[int], Any]] = {
        "feed, with visits": lambda i: home_feed.feed(
            system, Caller(2 * (i % (VISIT_USERS // 2)) + 1, None, "x", RequestSignals()), 25
        ),
        "feed, no visits": lambda i: home_feed.feed(
            system, Caller(rng.randrange(VISIT_USERS + 1, n_users + 1), None, "x", RequestSignals()), 25
        ),
        # The use case the route calls (on the event loop or a worker thread).
        "related, signed in": lambda i: related_pins.related(
            system,
            Caller(rng.randrange(1, n_users + 1), None, "x", RequestSignals()),
            rng.choice(saved_pins),
            25,
        ),
    }
    acc: dict[str, list[float]] = defaultdict(list)
    _timed_sources(acc)
    for label, fn in cases.items():
        if which not in label:
            continue
        for i in range(5):
            fn(i)
        acc.clear()
        walls, cpus = [], []
        for i in range(calls):
            t0, c0 = time.perf_counter(), time.thread_time()
            fn(i)
            walls.append(time.perf_counter() - t0)
            cpus.append(time.thread_time() - c0)
        print(
            f"\n== {label}: wall p50 {median(walls) * 1000:.1f} ms, "
            f"p90 {percentile(walls, 90) * 1000:.1f} ms, p99 {percentile(walls, 99) * 1000:.1f} ms; "
            f"CPU p50 {median(cpus) * 1000:.1f} ms, "
            f"mean {sum(cpus) / calls * 1000:.1f} ms (per source below: CPU)"
        )
        for name, ts in sorted(acc.items(), key=lambda kv: -sum(kv[1])):
            print(f"  {sum(ts) / calls * 1000:7.2f} ms/call  median {median(ts) * 1000:6.2f}  {name}")
        if pyinstrument and pyinstrument in label:
            from pyinstrument import Profiler

            profiler = Profiler(interval=0.0002)
            profiler.start()
            for i in range(calls):
                fn(i)
            profiler.stop()
            print(profiler.output_text(unicode=False, color=False, show_all=False))
    system.dispose()


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--url", required=True)
    p.add_argument("--models", type=Path, required=True)
    p.add_argument("--calls", type=int, default=100)
    p.add_argument("--only", default="", help="run the cases whose label contains this")
    p.add_argument("--pyinstrument", default=None, help="profile the cases whose label contains this")
    p.add_argument("--visits", action="store_true", help="add off-site visits for people 1..200 and exit")
    a = p.parse_args(argv)
    run(a.url, a.models, a.calls, a.only, a.pyinstrument, a.visits)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
