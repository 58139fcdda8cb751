"""Search by words (GET /v1/search/pins) at a fixed request rate, open loop, on two catalogues.

For each catalogue (the 50,000-Pin demo world, `tastegraph demo`'s loader; the Gowalla-sized catalogue of
bench/gowalla_catalogue.py, 40,981 Pins and 810,128 saves) and each backend (SQLite; PostgreSQL with
--backends sqlite,postgresql):

1. load it into a scratch database at head (migration 0011 builds the full-text indexes, and its
   triggers fill them as the loaders insert);
2. start `tastegraph serve --workers 2`, sign people in;
3. draw queries from the catalogue's own words (Pin titles, board and topic names): one to three whole
   words, and one query in four ending in a prefix of three to five letters (what a person types before
   finishing a word), seeded;
4. `GET /v1/search/pins?q=...&limit=25` at the fixed rate, open loop (each request due at t0 + i/rate,
   latency counted from then, so queueing is included), half signed in (personalized, and each search
   kept as engagement: a write per request) and half signed out; several runs, medians reported.

    .venv/bin/python bench/search_bench.py                              # SQLite, both catalogues, docs
    .venv/bin/python bench/search_bench.py --backends sqlite,postgresql
    .venv/bin/python bench/search_bench.py --quick --no-docs    # smoke test: tiny world, one JSON line
    .venv/bin/python bench/search_bench.py --baseline-src /tmp/base/src   # A/B against another checkout

With --baseline-src, a second server runs that checkout's code on the same database (loaded once, at
this checkout's head), and the runs alternate baseline / this checkout (A B B A ...), each warmed up
the same way, so both see the same machine load; the table has a row for each.

Unless --no-docs (or --quick), writes the docs/benchmarks.md section "search". Ends with one JSON line.
"""

from __future__ import annotations

import argparse
import contextlib
import random
import re
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
    FULL_WORLD,
    QUICK_WORLD,
    REPO,
    SNAPSHOT,
    Server,
    background_busy,
    machine_info,
    machine_line,
    md_table,
    median,
    prepare_database,
    print_json_line,
    replace_doc_section,
    scratch_database,
    sign_in_users,
)
from bench.feed_latency import Target, measure
from bench.gowalla_catalogue import GOWALLA_TRAIN, load_catalogue

SECTION = "search"
TARGET_P99_MS = 30.0  # SQLite, at 100 requests/s (issue 14)
PATH = "/v1/search/pins?q={}&limit=25"
_WORD = re.compile(r"[^\W\d_]{3,}")


@dataclass
class Config:
    quick: bool
    backends: list[str]
    catalogues: list[str]
    rate: float
    seconds: float
    runs: int
    queries: int
    signed_in: int
    write_docs: bool
    argv: list[str]
    baseline_src: Path | None = None


def load(catalogue: str, url: str, quick: bool) -> dict[str, Any]:
    if catalogue == "demo":
        pins, users = QUICK_WORLD if quick else FULL_WORLD
        return prepare_database(url, pins, users)
    return load_catalogue(url, GOWALLA_TRAIN, max_users=300 if quick else None)


def catalogue_words(url: str) -> tuple[list[str], int]:
    """The words of the catalogue's titles, board names and topic names (each once), and how many Pins."""
    from sqlalchemy import text

    from tastegraph.db import make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            texts = [str(t) for (t,) in conn.execute(text("SELECT title FROM pins ORDER BY id LIMIT 20000"))]
            texts += [str(t) for (t,) in conn.execute(text("SELECT name FROM boards ORDER BY id LIMIT 5000"))]
            texts += [str(t) for (t,) in conn.execute(text("SELECT name FROM topics"))]
            pins = int(conn.execute(text("SELECT count(*) FROM pins")).scalar_one())
    finally:
        engine.dispose()
    words = sorted({w.lower() for t in texts for w in _WORD.findall(t)})
    return words, pins


def make_queries(words: Sequence[str], n: int, seed: int = 14) -> list[str]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        chosen = [rng.choice(words) for _ in range(rng.choice((1, 1, 2, 2, 3)))]
        if rng.random() < 0.25:  # still typing the last word
            last = chosen[-1]
            chosen[-1] = last[: rng.randint(3, max(3, min(5, len(last))))]
        out.append(" ".join(chosen))
    return out


def _summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "runs": runs,
        "p50_ms": round(median([r["latency_ms"]["p50"] for r in runs]), 1),
        "p99_ms": round(median([r["latency_ms"]["p99"] for r in runs]), 1),
        "service_p99_ms": round(median([r["service_ms"]["p99"] for r in runs]), 1),
        "errors": sum(r["errors"] for r in runs),
        "achieved_rate": round(median([r["achieved_rate"] for r in runs]), 1),
        "by_label_p99": {
            label: round(median([r["by_label"][label]["p99"] for r in runs if label in r["by_label"]]), 1)
            for label in ("signed-in", "signed-out")
        },
        "background_busy_pct": [r["background_busy_pct"] for r in runs],
    }


def bench_one(catalogue: str, backend: str, cfg: Config) -> list[dict[str, Any]]:
    """One result per code measured: this checkout's, and the baseline's first when one is given."""
    with scratch_database(backend, f"tastegraph_search_{catalogue}") as db:
        started = time.perf_counter()
        loaded = load(catalogue, db.url, cfg.quick)
        load_seconds = round(time.perf_counter() - started, 1)
        words, pins = catalogue_words(db.url)
        queries = make_queries(words, cfg.queries)
        # This checkout's src/ (or the snapshot's): the venv's own install may be another checkout's.
        codes: list[tuple[str, Path | None]] = [("this", None if SNAPSHOT else REPO / "src")]
        if cfg.baseline_src is not None:
            codes.insert(0, ("baseline", cfg.baseline_src))
        with contextlib.ExitStack() as stack:
            servers = {code: stack.enter_context(Server(db.url, workers=2, src=src)) for code, src in codes}
            first = next(iter(servers.values()))
            users = sign_in_users(first.base_url, range(1, cfg.signed_in + 1))
            targets: list[Target] = []
            for i, q in enumerate(queries):
                path = PATH.format(quote(q))
                if i % 2 == 0:
                    targets.append(Target("signed-in", users[i % len(users)].cookie, path))
                else:
                    targets.append(Target("signed-out", "", path))
            for server in servers.values():
                # Warm-up: every worker's caches and the database's pages (not measured).
                measure(server, "", targets, min(cfg.rate, 50.0), 2.0 if cfg.quick else 10.0, settle=False)
            runs: dict[str, list[dict[str, Any]]] = {code: [] for code in servers}
            order = list(servers)
            for n in range(cfg.runs):
                for code in order if n % 2 == 0 else order[::-1]:  # A B, B A, ...
                    busy = background_busy(1.0)
                    res = measure(servers[code], "", targets, cfg.rate, cfg.seconds, settle=False)
                    res["background_busy_pct"] = busy
                    runs[code].append(res)
    return [
        {
            "code": code,
            "catalogue": catalogue,
            "backend": backend,
            "where": db.where,
            "pins": pins,
            "load_seconds": load_seconds,
            "loaded": loaded.get("rows"),
            "queries": len(queries),
            "example_queries": queries[:6],
            **_summary(code_runs),
        }
        for code, code_runs in runs.items()
    ]


HEADER = [
    "code",
    "catalogue",
    "backend",
    "Pins",
    "req/s",
    "p50 ms",
    "p99 ms",
    "p99 signed in",
    "p99 signed out",
    "errors",
    "target (SQLite p99)",
]


def render(cfg: Config, info: dict[str, str], results: list[dict[str, Any]]) -> str:
    rows = []
    for r in results:
        ok = r["p99_ms"] <= TARGET_P99_MS
        target = f"≤ {TARGET_P99_MS:.0f} ms: {'met' if ok else 'missed'}" if r["backend"] == "sqlite" else "—"
        rows.append(
            [
                "before (baseline)" if r["code"] == "baseline" else "this",
                "demo world" if r["catalogue"] == "demo" else "Gowalla-sized",
                r["backend"],
                f"{r['pins']:,}",
                r["achieved_rate"],
                r["p50_ms"],
                r["p99_ms"],
                r["by_label_p99"]["signed-in"],
                r["by_label_p99"]["signed-out"],
                r["errors"],
                target,
            ]
        )
    examples = "; ".join(f"`{q}`" for q in results[0]["example_queries"]) if results else ""
    busy = [b for r in results for b in r.get("background_busy_pct", [])]
    busy_line = (
        f"Other tenants kept the machine {min(busy):.0f}-{max(busy):.0f} % busy just before the runs "
        "(the machine is shared: figures are noisy, upper bounds)."
        if busy
        else ""
    )
    ab = (
        '\nRows "before (baseline)" are the code before this work (`--baseline-src`), run on the same '
        "database by a second server, the runs alternating baseline and this checkout (A B, B A), each "
        "warmed up the same way.\n"
        if any(r["code"] == "baseline" for r in results)
        else ""
    )
    return f"""## Search by words (issue 14)

`GET /v1/search/pins?q=...&limit=25` at {cfg.rate:.0f} requests/s, open loop (latency from when each
request was due, so queueing counts), {cfg.seconds:.0f} s per run, median of {cfg.runs} runs;
`tastegraph serve --workers 2`, after a 10 s warm-up at 50 requests/s over the first 500 queries. Queries
are drawn from each catalogue's own words (titles, board and topic names): one to three words, one in
four ending in a 3-5 letter prefix (e.g. {examples}); 2,000 queries, cycled. Half the requests are signed
in (personalized by the searcher's topics, and each search is kept as engagement), half signed out.
{ab}
{md_table(HEADER, rows)}

{machine_line(info)}. {busy_line}

Command: `.venv/bin/python {" ".join(["bench/search_bench.py", *cfg.argv])}`
{NOTE}"""


NOTE = """
What changed (this checkout against the baseline):

1. A per-process cache of each search's person-independent part (recommend.search): the engine's
   candidates with their text scores, save counts and topics, their ranking before the searcher's
   topics, and the matched words of the Pins shown so far, keyed by the query's words and the result
   count. Each entry is used only while the database reports the index versions it was made under:
   two counters (migration 0015) that triggers bump in the same transaction as any change to a Pin,
   its topics, a board's name, secrecy or owner (kind `text`) or to a save (kind `saves`). A new Pin is
   found by the next search, and a deleted Pin or a board made secret leaves every cached result at
   once. Someone who owns a secret board has entries of their own; hidden Pins, the searcher's topics
   (which lift Pins by a constant, so only the lifted ones and the first 25 others are re-sorted) and
   the cut to 25 are applied per request. A hit costs three to four small reads (the counters, the
   searcher's hidden Pins and topics, the shown Pins' save counts).
2. Searches kept as engagement are queued in memory and written by a background thread once a
   second, in one transaction per batch (collect.search_history), instead of one write transaction
   per signed-in search, which on SQLite queued behind the other worker's writes. The queue is written
   at shutdown and before an export or the feed tuner lists searches; erasure and clearing searches
   drop the person's queued ones, and a batch is written only for people who still exist.
3. The highlighter runs once for all Pins shown (`rowid IN (...)`: 0.3 ms for 25 Pins of an
   11,000-match query) instead of one statement per Pin.
4. The route is a hot read like the home feed (edge.deps.run_hot_read: on SQLite on the event loop,
   one search at a time per process, instead of up to 40 threads contending for the interpreter
   lock), and its body is validated once. Measured only within the runs above, not on its own.

What limits it: the cache helps only repeated queries; a miss still costs the full search (the
engine's two to four passes, the candidates' save counts and facts: 4-7 ms of CPU in-process on
these catalogues, against about 1-2 ms for a hit),
and each of the two worker processes has its own cache, so in the first run most queries miss in the
worker that gets them. Any save or Pin change anywhere empties every entry's validity at once (the
counters are global), so under a steady stream of saves the cache helps less; per-board or per-Pin
invalidation would keep more. Another server process's queued searches (up to a second of them) can
be missing from an export made in this one, and a search queued elsewhere in the second before the
person cleared their searches is written after the clear. The cache holds at most 2,048 entries per
process (an entry of a common word on the Gowalla-sized catalogue holds about 500 candidates).
"""


def parse(argv: Sequence[str] | None = None) -> Config:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="tiny catalogues, short runs (smoke test)")
    p.add_argument("--backends", default="sqlite", help="comma-separated: sqlite,postgresql")
    p.add_argument("--catalogues", default="demo,gowalla", help="comma-separated: demo,gowalla")
    p.add_argument("--rate", type=float, default=100.0)
    p.add_argument("--seconds", type=float, default=None)
    p.add_argument("--runs", type=int, default=None)
    p.add_argument("--no-docs", action="store_true")
    p.add_argument("--baseline-src", type=Path, default=None, help="another checkout's src/ to compare")
    a = p.parse_args(argv)
    return Config(
        quick=a.quick,
        backends=[b for b in a.backends.split(",") if b],
        catalogues=[c for c in a.catalogues.split(",") if c],
        rate=20.0 if a.quick and a.rate == 100.0 else a.rate,
        seconds=a.seconds or (3.0 if a.quick else 30.0),
        runs=a.runs or (1 if a.quick else 3),
        queries=200 if a.quick else 2000,
        signed_in=10 if a.quick else 40,
        write_docs=not (a.no_docs or a.quick),
        argv=list(argv if argv is not None else sys.argv[1:]),
        baseline_src=a.baseline_src,
    )


def main(argv: Sequence[str] | None = None) -> int:
    cfg = parse(argv)
    info = machine_info()
    results = []
    for catalogue in cfg.catalogues:
        for backend in cfg.backends:
            print(f"[search] {catalogue} on {backend}...", file=sys.stderr, flush=True)
            for r in bench_one(catalogue, backend, cfg):
                results.append(r)
                print(
                    f"[search]   {r['code']}: p50 {r['p50_ms']} ms, p99 {r['p99_ms']} ms",
                    file=sys.stderr,
                    flush=True,
                )
    if cfg.write_docs:
        replace_doc_section(SECTION, render(cfg, info, results))
    print_json_line(
        {
            "results": [
                {
                    k: r[k]
                    for k in (
                        "code",
                        "catalogue",
                        "backend",
                        "pins",
                        "p50_ms",
                        "p99_ms",
                        "by_label_p99",
                        "errors",
                        "achieved_rate",
                        "background_busy_pct",
                    )
                }
                for r in results
            ]
        }
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
