"""The demo world's load time under two source trees, alternated, and whether both load the same rows.

For restructurings that must not change the demo (issue 13 moved its tables' writes into each domain's
bulk loaders): each run builds the seeded world with a fixed `now` into a fresh SQLite database at
head, once per tree, in a process of its own with that tree's `src` first on the path; the order
alternates run by run (old, new; new, old; ...). Timed: `load_world` in its transaction, commit
included (what `tastegraph demo` spends loading, without the migration). Afterwards every table of the
last database of each tree is read back, all columns in a fixed order, and compared row for row.

    .venv/bin/python bench/demo_load.py --old /tmp/old/src          # 50,000 Pins, 10,000 people, 3 runs
    .venv/bin/python bench/demo_load.py --old /tmp/old/src --quick  # smoke: a tiny world, 1 run, no docs

`--old` is the `src` folder of a `git archive <commit>` export; `--new` defaults to this tree's.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
NOW = "2026-06-01T12:00:00+00:00"  # fixed, so both trees build the same world
DEMO_PASSWORD = "demo-password"


def child(db: Path, pins: int, users: int, seed: int, ikea: str | None) -> dict[str, Any]:
    """Runs in the measured process: only `tastegraph`, from the tree PYTHONPATH names, is imported."""
    import tastegraph
    from tastegraph.db import make_engine, upgrade
    from tastegraph.demo import WorldSize, load_ikea, load_world

    now = datetime.fromisoformat(NOW)
    engine = make_engine(f"sqlite:///{db}")
    try:
        upgrade(engine)
        started, cpu = time.perf_counter(), time.process_time()
        with engine.begin() as conn:
            counts = load_world(conn, seed, now, WorldSize(pins=pins, users=users))
        seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu
        ikea_pins = 0
        if ikea:
            with engine.begin() as conn:
                ikea_pins = load_ikea(conn, Path(ikea), now)
    finally:
        engine.dispose()
    return {
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "counts": counts,
        "ikea_pins": ikea_pins,
        "package": tastegraph.__file__,
    }


def run_child(src: Path, db: Path, a: argparse.Namespace) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(src)}
    env.pop("TASTEGRAPH_BENCH_SRC", None)
    cmd = [sys.executable, __file__, "--child", str(db), "--pins", str(a.pins), "--users", str(a.users)]
    cmd += ["--seed", str(a.seed)] + (["--ikea", str(a.ikea)] if a.ikea else [])
    out = subprocess.run(cmd, env=env, cwd=tempfile.gettempdir(), capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"loading with {src} failed:\n{out.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    if not result["package"].startswith(str(src.resolve())):
        raise RuntimeError(f"{src}: the child imported tastegraph from {result['package']}")
    return result


def dump(db: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every table's rows, all columns, sorted by all columns. Password hashes are salted, so two loads
    never store the same one: a hash is shown as a marker when it is one of the demo password."""
    with sqlite3.connect(db) as conn:
        listed = "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY 1"
        names = [r[0] for r in conn.execute(listed)]
        tables = {}
        for name in names:
            columns = [d[0] for d in conn.execute(f'SELECT * FROM "{name}" LIMIT 0').description]
            picked = ", ".join(
                f"demo_hash({c})" if (name, c) == ("users", "password_hash") else f'"{c}"' for c in columns
            )
            conn.create_function("demo_hash", 1, _demo_hash, deterministic=True)
            order = ", ".join(str(i) for i in range(1, len(columns) + 1))
            query = f'SELECT {picked} FROM "{name}" ORDER BY {order}'
            tables[name] = [tuple(r) for r in conn.execute(query)]
    return tables


_VERIFIED: dict[str, str] = {}


def _demo_hash(stored: str) -> str:
    """'<demo password>' for an argon2 hash of it, else the hash itself (one check per distinct hash)."""
    if stored not in _VERIFIED:
        from argon2 import PasswordHasher
        from argon2.exceptions import VerificationError

        try:
            PasswordHasher().verify(stored, DEMO_PASSWORD)
            _VERIFIED[stored] = "<demo password>"
        except (VerificationError, ValueError):
            _VERIFIED[stored] = stored
    return _VERIFIED[stored]


def compare(old: Path, new: Path) -> dict[str, Any]:
    a, b = dump(old), dump(new)
    differing = sorted(n for n in set(a) | set(b) if a.get(n) != b.get(n))
    return {
        "same_rows": not differing,
        "tables": len(a),
        "rows": sum(len(rows) for rows in a.values()),
        "differing_tables": differing,
    }


def measure(a: argparse.Namespace) -> dict[str, Any]:
    from bench.common import wait_for_quiet

    trees = {"old": Path(a.old), "new": Path(a.new)}
    seconds: dict[str, list[float]] = {"old": [], "new": []}
    cpu: dict[str, list[float]] = {"old": [], "new": []}
    busy: list[float] = []
    last: dict[str, Path] = {}
    counts: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="tastegraph-demo-load-") as tmp:
        for run in range(a.runs):
            for label in ("old", "new") if run % 2 == 0 else ("new", "old"):
                if not a.quick:
                    busy.append(wait_for_quiet(timeout=a.quiet_timeout))
                db = Path(tmp) / f"{label}-{run}.db"
                result = run_child(trees[label], db, a)
                seconds[label].append(result["seconds"])
                cpu[label].append(result["cpu_seconds"])
                counts = {**result["counts"], "ikea_pins": result["ikea_pins"]}
                print(
                    f"[demo_load] run {run + 1} {label}: {result['seconds']:.2f} s, "
                    f"CPU {result['cpu_seconds']:.2f} s",
                    file=sys.stderr,
                )
                if label in last:
                    last[label].unlink()
                last[label] = db
        check = compare(last["old"], last["new"])
    medians = {label: statistics.median(values) for label, values in seconds.items()}
    cpu_medians = {label: statistics.median(values) for label, values in cpu.items()}
    return {
        "bench": "demo_load",
        "ok": check["same_rows"],
        "world": {"pins": a.pins, "users": a.users, "seed": a.seed},
        "rows": counts,
        "seconds": {label: [round(s, 2) for s in values] for label, values in seconds.items()},
        "median_seconds": {label: round(m, 2) for label, m in medians.items()},
        "ratio_new_to_old": round(medians["new"] / medians["old"], 3),
        "cpu_seconds": {label: [round(s, 2) for s in values] for label, values in cpu.items()},
        "median_cpu_seconds": {label: round(m, 2) for label, m in cpu_medians.items()},
        "cpu_ratio_new_to_old": round(cpu_medians["new"] / cpu_medians["old"], 3),
        "other_load_pct": busy,
        "check": check,
    }


def render(result: dict[str, Any], a: argparse.Namespace) -> str:
    from bench.common import machine_info, machine_line, md_table

    info = machine_info()
    check = result["check"]

    def row(name: str, label: str) -> list[str]:
        wall, cpu = result["seconds"][label], result["cpu_seconds"][label]
        return [
            name,
            ", ".join(f"{s:.2f}" for s in wall),
            f"{result['median_seconds'][label]:.2f}",
            ", ".join(f"{s:.2f}" for s in cpu),
            f"{result['median_cpu_seconds'][label]:.2f}",
        ]

    rows = [row("before (`--old`)", "old"), row("after (this tree)", "new")]
    busy = result["other_load_pct"]
    load = f"{min(busy):.0f}-{max(busy):.0f} %" if busy else "not measured"
    ratio, cpu_ratio = result["ratio_new_to_old"], result["cpu_ratio_new_to_old"]
    same = (
        f"the same rows: all {check['tables']} tables, {check['rows']:,} rows, equal row for row"
        if check["same_rows"]
        else f"DIFFERENT rows in {', '.join(check['differing_tables'])}"
    )
    return f"""## Demo load before and after issue 13's bulk loaders

`load_world` of the seeded demo world ({a.pins:,} Pins, {a.users:,} people, seed {a.seed}, fixed `now`)
into a fresh SQLite database at head, in its transaction with the commit, each run in a new process;
the two trees alternate (old, new; new, old; ...). Before: `{a.old_label}`, where the demo wrote the
other packages' tables itself; after: this tree, where it goes through `catalog.bulk`, `consent.bulk`,
`identity.bulk` and `collect.bulk` (executemany in batches of 5,000 rows, as before).

    .venv/bin/python bench/demo_load.py --old <git archive of the old commit>/src --old-label <commit>

{md_table(["tree", "seconds per run", "median s", "CPU seconds per run", "median CPU s"], rows)}

- After / before (medians): **{ratio:.3f}** wall clock, **{cpu_ratio:.3f}** CPU time of the loading
  process (SQLite runs in it, so this is nearly all the work, and other tenants' load moves it less
  than the wall clock).
- Other load on the machine before each run (share of both cores, after waiting up to
  {a.quiet_timeout:.0f} s for a quiet moment): {load}.
- Both trees loaded {same}{" (with the IKEA products)" if a.ikea else ""}.
- Machine: {machine_line(info)}; commit {info["commit"]}; {info["date"]}.
"""


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--child", metavar="DB", help=argparse.SUPPRESS)
    p.add_argument("--old", help="src folder of the tree to compare against")
    p.add_argument("--old-label", default=None, help="how the docs name the old tree (e.g. its commit)")
    p.add_argument("--new", default=str(REPO / "src"))
    p.add_argument("--pins", type=int, default=None)
    p.add_argument("--users", type=int, default=None)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--runs", type=int, default=None, help="runs per tree (default 3; quick 1)")
    p.add_argument("--ikea", default=None, help="also load the IKEA products from this folder (not timed)")
    p.add_argument("--quiet-timeout", type=float, default=120.0, help="seconds to wait for an idle machine")
    p.add_argument("--quick", action="store_true", help="a tiny world, one run, no docs (smoke test)")
    p.add_argument("--no-docs", action="store_true")
    a = p.parse_args(argv)
    if a.child:
        print(json.dumps(child(Path(a.child), a.pins, a.users, a.seed, a.ikea)), flush=True)
        return 0
    if not a.old:
        p.error("--old is required")
    a.pins = a.pins or (300 if a.quick else 50_000)
    a.users = a.users or (60 if a.quick else 10_000)
    a.runs = a.runs or (1 if a.quick else 3)
    a.old_label = a.old_label or a.old
    sys.path.insert(0, str(REPO))
    result = measure(a)
    if not (a.quick or a.no_docs):
        from bench.common import replace_doc_section

        replace_doc_section("demo_load", render(result, a))
    result["date"] = datetime.now(UTC).isoformat(timespec="seconds")
    print(json.dumps(result, sort_keys=True), flush=True)
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
