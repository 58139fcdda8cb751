"""Serving speed of two source trees on the same database, old and new alternated (an A/B).

Issue 13's rule for the restructuring: "No slower: bench/serving_gowalla.py on SQLite, old and new code
alternated in the same hour (median of 3 runs each): home feed and related Pins p99 within 10 % of the
old code". This script does that on SQLite:

1. the old tree is a temporary `git worktree` of `--old` (removed at the end); the new tree is a copy of
   this checkout's src/ taken at the start (so edits made meanwhile do not change it between rounds), or
   a worktree of `--new` when given. Both must build the same SQLite schema (checked first), since they
   share one database;
2. the Gowalla catalogue is loaded once into a scratch SQLite database with the new tree's code, people
   sign in and half of them report off-site visits, and `tastegraph train` runs, as
   bench/serving_gowalla.py does (same sizes, same request mix, same rate and run length);
3. for each round, for each tree (old then new, the other way round in every second round): start
   `tastegraph serve --workers 2` from that tree (`PYTHONPATH=<tree>/src`, this venv), the same warm-up
   for both, one measured run of the home feed and one of related Pins at the fixed rate (open loop),
   stop the server;
4. per tree, the median over the rounds of p50 and p99; the ratio new/old of the p99 medians, and
   whether it is within 10 %.

    .venv/bin/python bench/serving_ab.py                        # old 1275d0e, new this checkout; docs
    .venv/bin/python bench/serving_ab.py --old A --new B        # any two commits
    .venv/bin/python bench/serving_ab.py --quick --no-docs      # smoke test (a few minutes), one JSON line

Unless --no-docs (or --quick), writes the docs/benchmarks.md section "Issue 13: serving before and after
the restructuring (A/B)". Ends with one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shlex
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import serving_gowalla as sg
from bench.common import (
    REPO,
    SNAPSHOT,
    Server,
    background_busy,
    machine_info,
    machine_line,
    md_table,
    median,
    print_json_line,
    replace_doc_section,
    scratch_database,
)
from bench.feed_latency import Target, _open_loop
from bench.gowalla_catalogue import GOWALLA_TRAIN, load_catalogue, rich_progress

DEFAULT_OLD = "1275d0e"  # the last commit before issue 13's restructuring
SECTION = "serving-ab"
TITLE = "Issue 13: serving before and after the restructuring (A/B)"
SCENARIOS = ("feed", "related")
LIMIT = 1.10  # new p99 / old p99: "within 10 % of the old code"
# What a tree must import before it is served (the CLI and the ASGI application).
IMPORT_CHECK = "import tastegraph, tastegraph.cli, tastegraph.server; print(tastegraph.__file__)"
# The working tree may be mid-merge or mid-edit for a moment: wait and copy it again.
COPY_ATTEMPTS = 10
COPY_WAIT_SECONDS = 60.0


@dataclass(frozen=True)
class Tree:
    name: str  # "old" | "new"
    ref: str  # as asked for
    commit: str  # short hash
    src: Path  # the src/ directory its server imports tastegraph from
    how: str  # for the report


@dataclass
class AbConfig:
    serving: sg.Config  # sizes, rate, run length, request mix: bench/serving_gowalla.py's
    old: str
    new: str | None  # None: this checkout's working tree
    runs: int
    warmup_seconds: float
    write_docs: bool
    argv: list[str]


# --- the two trees ----------------------------------------------------------------------------------


def _git(*args: str) -> str:
    out = subprocess.run(["git", "-C", str(REPO), *args], capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} failed: {out.stderr.strip()}")
    return out.stdout.strip()


def _import_error(src: Path, cwd: Path) -> str | None:
    """Why the tree at `src` cannot be served (None: it imports, from `src` itself)."""
    env = {**os.environ, "PYTHONPATH": str(src)}
    out = subprocess.run(
        [sys.executable, "-c", IMPORT_CHECK], env=env, cwd=cwd, capture_output=True, text=True, check=False
    )
    if out.returncode != 0:
        return out.stderr.strip()[-2000:]
    where = Path(out.stdout.strip().splitlines()[-1]).resolve()
    if not where.is_relative_to(src.resolve()):
        return f"tastegraph was imported from {where}, not from {src}"
    return None


def _worktree(name: str, ref: str, tmp: Path, added: list[Path]) -> Tree:
    commit = _git("rev-parse", "--verify", f"{ref}^{{commit}}")
    short = _git("rev-parse", "--short", commit)
    path = tmp / f"{name}-{short}"
    added.append(path)
    _git("worktree", "add", "--detach", str(path), commit)
    error = _import_error(path / "src", tmp)
    if error:
        raise RuntimeError(f"the {name} tree ({ref}) does not import:\n{error}")
    return Tree(name, ref, short, path / "src", f"a `git worktree` of {short}")


def _working_tree_copy(tmp: Path) -> Tree:
    """This checkout's src/ as it is now (committed or not), copied so that it stays as it was."""
    dest = tmp / "new-working-tree"
    for attempt in range(1, COPY_ATTEMPTS + 1):
        head = _git("rev-parse", "--short", "HEAD")
        merging = subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "-q", "--verify", "MERGE_HEAD"],
            capture_output=True,
            check=False,
        )
        if merging.returncode == 0:
            problem = "a merge is in progress in the working tree"
        else:
            dirty = _git("status", "--porcelain", "--", "src")
            shutil.rmtree(dest, ignore_errors=True)
            shutil.copytree(REPO / "src", dest / "src", ignore=shutil.ignore_patterns("__pycache__"))
            error = _import_error(dest / "src", tmp)
            if error is None and _git("rev-parse", "--short", "HEAD") == head:
                how = f"a copy of the working tree's src/ at {head}, " + (
                    "with uncommitted changes in src/" if dirty else "no uncommitted changes in src/"
                )
                return Tree("new", "working tree", head + ("+" if dirty else ""), dest / "src", how)
            problem = error or "HEAD moved while src/ was being copied"
        print(
            f"[serving-ab] new tree not usable (attempt {attempt} of {COPY_ATTEMPTS}): {problem}; "
            f"again in {COPY_WAIT_SECONDS:.0f} s",
            file=sys.stderr,
            flush=True,
        )
        time.sleep(COPY_WAIT_SECONDS)
    raise RuntimeError("the working tree never imported cleanly; try again later or pass --new REF")


@contextlib.contextmanager
def trees(old_ref: str, new_ref: str | None) -> Iterator[tuple[Tree, Tree]]:
    """The old and the new tree, in a temporary directory; worktrees are removed afterwards."""
    added: list[Path] = []
    with tempfile.TemporaryDirectory(prefix="tastegraph-serving-ab-") as tmp_name:
        tmp = Path(tmp_name)
        try:
            old = _worktree("old", old_ref, tmp, added)
            new = _worktree("new", new_ref, tmp, added) if new_ref else _working_tree_copy(tmp)
            yield old, new
        finally:
            for path in added:
                subprocess.run(
                    ["git", "-C", str(REPO), "worktree", "remove", "--force", str(path)],
                    capture_output=True,
                    check=False,
                )


def sqlite_schema(tree: Tree, into: Path) -> list[tuple[str, ...]]:
    """Every table, index and trigger `tastegraph db upgrade` of this tree creates on an empty SQLite
    database, and the migration it ends at."""
    path = into / f"schema-{tree.name}.db"
    env = {**os.environ, "PYTHONPATH": str(tree.src), "TASTEGRAPH_DATABASE_URL": f"sqlite:///{path}"}
    out = subprocess.run(
        [sys.executable, "-m", "tastegraph.cli", "db", "upgrade"],
        env=env,
        cwd=into,
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"`tastegraph db upgrade` of the {tree.name} tree failed:\n{out.stderr[-2000:]}")
    with contextlib.closing(sqlite3.connect(path)) as conn:
        rows = conn.execute(
            "SELECT type, name, tbl_name, coalesce(sql, '') FROM sqlite_master ORDER BY type, name"
        ).fetchall()
        rows += [
            ("alembic_version", str(v[0]), "", "") for v in conn.execute("SELECT * FROM alembic_version")
        ]
    return [tuple(str(c) for c in r) for r in rows]


def check_same_schema(old: Tree, new: Tree) -> None:
    with tempfile.TemporaryDirectory(prefix="tastegraph-serving-ab-schema-") as tmp:
        a, b = sqlite_schema(old, Path(tmp)), sqlite_schema(new, Path(tmp))
    if a != b:
        only_old = sorted(set(a) - set(b))[:5]
        only_new = sorted(set(b) - set(a))[:5]
        raise RuntimeError(
            "the two trees build different schemas, so they cannot share one database:\n"
            f"  only old: {only_old}\n  only new: {only_new}"
        )


@contextlib.contextmanager
def _pythonpath(src: Path) -> Iterator[None]:
    """Subprocesses started meanwhile (`tastegraph train`) import tastegraph from `src`."""
    before = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = str(src)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = before


# --- measuring --------------------------------------------------------------------------------------


def warm_up(server: Server, cfg: AbConfig, clients: dict[str, list[Target]]) -> None:
    """The same for both trees: serving_gowalla's warm-up, then (if asked) both requests at the
    measured rate for a while, unmeasured."""
    sg.warm_up(server, clients)
    if cfg.warmup_seconds > 0:
        rate = cfg.serving.rate
        for scenario in SCENARIOS:
            asyncio.run(
                _open_loop(server.base_url, sg.FEED_PATH, clients[scenario], rate, cfg.warmup_seconds)
            )


def bench(cfg: AbConfig, old: Tree, new: Tree) -> dict[str, Any]:
    scfg = cfg.serving
    out: dict[str, Any] = {"runs": []}
    with (
        scratch_database("sqlite", "tastegraph_bench_serving_ab") as db,
        tempfile.TemporaryDirectory(prefix="tastegraph-serving-ab-models-") as model_dir,
    ):
        bar, report = rich_progress()
        with bar:
            out["catalogue"] = load_catalogue(db.url, GOWALLA_TRAIN, scfg.users, progress=report)
        print(f"[serving-ab] catalogue {out['catalogue']}", file=sys.stderr, flush=True)
        os.environ["TASTEGRAPH_MODEL_DIR"] = model_dir  # the servers' (Server passes os.environ on)
        pins = sg.pin_sample(db.url, scfg.related_pins)
        t = time.perf_counter()
        with Server(db.url, workers=scfg.workers, src=new.src) as server:
            clients = sg.prepare_clients(server.base_url, scfg, pins)
        out["setup_seconds"] = round(time.perf_counter() - t, 1)
        with _pythonpath(new.src):
            out["training"] = sg.train(db.url, Path(model_dir))
        print(f"[serving-ab] trained {out['training']}", file=sys.stderr, flush=True)
        for round_no in range(cfg.runs):
            order = (old, new) if round_no % 2 == 0 else (new, old)
            for position, tree in enumerate(order, start=1):
                started = time.perf_counter()
                row: dict[str, Any] = {"round": round_no + 1, "position": position, "tree": tree.name}
                with Server(db.url, workers=scfg.workers, src=tree.src) as server:
                    row["start_seconds"] = round(time.perf_counter() - started, 1)
                    row["background_busy_pct"] = background_busy(1.0)
                    warm_up(server, cfg, clients)
                    label = f"sqlite {tree.name} ({tree.commit}) round {round_no + 1}"
                    for scenario in SCENARIOS:
                        # Both trees get the same rotation of the request list in a round.
                        row[scenario] = sg.measured_run(server, scfg, clients, round_no, scenario, label)
                row["seconds"] = round(time.perf_counter() - started, 1)
                out["runs"].append(row)
    return out


# --- report -----------------------------------------------------------------------------------------


def summaries(res: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Per tree and request: serving_gowalla's summary of that tree's runs (medians over rounds)."""
    out: dict[str, dict[str, Any]] = {}
    for name in ("old", "new"):
        rows = [r for r in res["runs"] if r["tree"] == name]
        runs = {s: [r[s] for r in rows] for s in SCENARIOS}
        out[name] = {s: sg.summary({"runs": runs}, s) for s in SCENARIOS}
        for s in SCENARIOS:
            # The server's own CPU only: serving_gowalla's figure adds PostgreSQL's, which on SQLite is
            # whatever else uses the machine's PostgreSQL meanwhile.
            out[name][s]["cpu_ms_per_request"] = round(median([_server_cpu_ms(r) for r in runs[s]]), 1)
    return out


def _server_cpu_ms(run: dict[str, Any]) -> float:
    rate = run["achieved_rate"]
    return float(run["cpu"]["server_cores"]) * 1000 / rate if rate else 0.0


def ratios(summ: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for s in SCENARIOS:
        old, new = summ["old"][s], summ["new"][s]
        p99 = new["p99_median"] / old["p99_median"] if old["p99_median"] else float("nan")
        p50 = new["p50_median"] / old["p50_median"] if old["p50_median"] else float("nan")
        out[s] = {
            "p99_new_over_old": round(p99, 3),
            "p50_new_over_old": round(p50, 3),
            "within": p99 <= LIMIT,
        }
    return out


MEDIAN_HEADER = [
    "code",
    "commit",
    "runs",
    "feed p50",
    "feed p99",
    "related p50",
    "related p99",
    "feed CPU ms/request",
    "related CPU ms/request",
    "errors",
]
RATIO_HEADER = ["request", "old p99 ms", "new p99 ms", "p99 new/old", "p50 new/old", "within 10 %"]
RUN_HEADER = [
    "round",
    "order",
    "code",
    "request",
    "achieved req/s",
    "p50 ms",
    "p90 ms",
    "p99 ms",
    "max ms",
    "errors",
    "server CPU ms/request",
    "other cores",
    "full GC passes: n / max ms",
]


def render(cfg: AbConfig, info: dict[str, str], old: Tree, new: Tree, res: dict[str, Any]) -> str:
    scfg = cfg.serving
    summ = summaries(res)
    rat = ratios(summ)
    med_rows, ratio_rows, run_rows = [], [], []
    for tree in (old, new):
        s = summ[tree.name]
        med_rows.append(
            [
                tree.name,
                f"`{tree.commit}`",
                s["feed"]["runs"],
                s["feed"]["p50_median"],
                f"**{s['feed']['p99_median']}**",
                s["related"]["p50_median"],
                f"**{s['related']['p99_median']}**",
                s["feed"]["cpu_ms_per_request"],
                s["related"]["cpu_ms_per_request"],
                s["feed"]["errors"] + s["related"]["errors"],
            ]
        )
    for scenario in SCENARIOS:
        r = rat[scenario]
        ratio_rows.append(
            [
                scenario,
                summ["old"][scenario]["p99_median"],
                summ["new"][scenario]["p99_median"],
                f"**{r['p99_new_over_old']:.2f}**",
                f"{r['p50_new_over_old']:.2f}",
                "**yes**" if r["within"] else "**no**",
            ]
        )
    commits = {"old": old.commit, "new": new.commit}
    for row in res["runs"]:
        for scenario in SCENARIOS:
            run = row[scenario]
            lat, cpu = run["latency_ms"], run["cpu"]
            run_rows.append(
                [
                    row["round"],
                    row["position"],
                    f"{row['tree']} `{commits[row['tree']]}`",
                    scenario,
                    run["achieved_rate"],
                    lat["p50"],
                    lat["p90"],
                    lat["p99"],
                    lat["max"],
                    run["errors"],
                    f"{_server_cpu_ms(run):.1f}",
                    f"{cpu['other_cores']:.2f}",
                    f"{cpu['gc_full_passes']} / {cpu['gc_full_max_ms']}",
                ]
            )
    rows = res["catalogue"]["rows"]
    cmd = "`.venv/bin/python bench/serving_ab.py" + "".join(" " + shlex.quote(a) for a in cfg.argv) + "`"
    verdict = "; ".join(
        f"{s} p99 new/old {rat[s]['p99_new_over_old']:.2f} ({'within' if rat[s]['within'] else 'not within'}"
        " 10 %)"
        for s in SCENARIOS
    )
    extra = (
        f", then both requests at {scfg.rate} req/s for {cfg.warmup_seconds:.0f} s each, unmeasured"
        if cfg.warmup_seconds > 0
        else ""
    )
    return f"""## {TITLE}

- Date: {info["date"]}
- Machine: {machine_line(info)}
- Old: commit {old.commit} ({old.how}); new: {new.commit} ({new.how})
- Command: {cmd}
- Result: **{verdict}**
- Database: one scratch SQLite database for both, loaded once with the new code: the Gowalla catalogue
  (`bench/gowalla_catalogue.py`, {rows.get("users", 0):,} people, {rows.get("pins", 0):,} Pins,
  {rows.get("board_pins", 0):,} saves), {scfg.signed_in} people signed in (half of them reported
  {scfg.visits_per_client} off-site visits), then `tastegraph train`. Both trees build the same schema
  (checked before loading).
- Method: {cfg.runs} round{"" if cfg.runs == 1 else "s"}; in each, old then new (new then old in every
  second round), each a fresh `tastegraph serve --workers {scfg.workers}` from that tree's src/ (same
  venv), the same warm-up (`bench/serving_gowalla.py`'s: the feed of {min(400, scfg.signed_in)} people,
  every related request twice{extra}), then one run of `GET {sg.FEED_PATH}` and one of
  `GET {sg.RELATED_PATH.format("{id}")}` ({scfg.related_pins} Pins drawn in proportion to their saves),
  open loop at {scfg.rate} req/s for {scfg.seconds:.0f} s each, as `bench/serving_gowalla.py` measures
  them (latency from when each request was due; a run waits for an idle machine and is repeated, up to
  3 attempts, if other processes used more than 0.2 cores). The rule: each request's p99 median within
  10 % of the old code's.

Medians over the rounds (ms; CPU is server CPU per request):

{md_table(MEDIAN_HEADER, med_rows)}

New against old:

{md_table(RATIO_HEADER, ratio_rows)}

Every run (in the order they ran within a round):

{md_table(RUN_HEADER, run_rows)}
"""


# --- command line -----------------------------------------------------------------------------------


def parse(argv: Sequence[str] | None = None) -> AbConfig:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--old", default=DEFAULT_OLD, help=f"the old code: a commit (default {DEFAULT_OLD})")
    p.add_argument(
        "--new", default=None, help="the new code: a commit (default this checkout's working tree, as it is)"
    )
    p.add_argument("--quick", action="store_true", help="a small catalogue, short runs, no docs (smoke test)")
    p.add_argument("--rate", type=int, default=None, help="req/s (default 200; quick 40)")
    p.add_argument("--seconds", type=float, default=None, help="per run (default 30; quick 3)")
    p.add_argument(
        "--runs", type=int, default=None, help="rounds, one run per tree each (default 3; quick 2)"
    )
    p.add_argument("--users", type=int, default=None, help="load only the first N Gowalla users")
    p.add_argument(
        "--warmup-seconds",
        type=float,
        default=0.0,
        help="after the usual warm-up, both requests at the rate for this long, unmeasured (default 0)",
    )
    p.add_argument("--no-docs", action="store_true")
    a = p.parse_args(argv)
    passed = ["--backends", "sqlite", "--no-wrk", "--no-docs"] + (["--quick"] if a.quick else [])
    for flag, value in (("--rate", a.rate), ("--seconds", a.seconds), ("--users", a.users)):
        if value is not None:
            passed += [flag, str(value)]
    return AbConfig(
        serving=sg.parse(passed),
        old=a.old,
        new=a.new,
        runs=a.runs or (2 if a.quick else 3),
        warmup_seconds=a.warmup_seconds,
        write_docs=not a.quick and not a.no_docs,
        argv=list(sys.argv[1:] if argv is None else argv),
    )


def main(argv: Sequence[str] | None = None) -> int:
    cfg = parse(argv)
    if SNAPSHOT:
        print(
            "[serving-ab] TASTEGRAPH_BENCH_SRC is set: pick the trees with --old and --new", file=sys.stderr
        )
        return 2
    started = time.perf_counter()
    info = machine_info()
    with trees(cfg.old, cfg.new) as (old, new):
        print(f"[serving-ab] old: {old.commit} ({old.how}); new: {new.commit} ({new.how})", file=sys.stderr)
        check_same_schema(old, new)
        # This process loads the catalogue and signs people in with the new tree's code.
        assert "tastegraph" not in sys.modules
        sys.path.insert(0, str(new.src))
        res = bench(cfg, old, new)
        if cfg.write_docs:
            replace_doc_section(SECTION, render(cfg, info, old, new, res))
    summ = summaries(res)
    ok = all(row[s]["errors"] == 0 for row in res["runs"] for s in SCENARIOS)
    print_json_line(
        {
            "bench": "serving_ab",
            "quick": cfg.serving.quick,
            "ok": ok,
            "seconds": round(time.perf_counter() - started, 1),
            "old": {"ref": old.ref, "commit": old.commit, "how": old.how},
            "new": {"ref": new.ref, "commit": new.commit, "how": new.how},
            "rate": cfg.serving.rate,
            "seconds_per_run": cfg.serving.seconds,
            "rounds": cfg.runs,
            "p50_p99_medians": {
                name: {s: [summ[name][s]["p50_median"], summ[name][s]["p99_median"]] for s in SCENARIOS}
                for name in ("old", "new")
            },
            "p99_by_round": {
                name: {
                    s: [row[s]["latency_ms"]["p99"] for row in res["runs"] if row["tree"] == name]
                    for s in SCENARIOS
                }
                for name in ("old", "new")
            },
            "ratios": ratios(summ),
            "setup": {
                "catalogue_seconds": res["catalogue"]["seconds"],
                "sign_in_visits_seconds": res["setup_seconds"],
                "train_wall_seconds": res["training"]["wall_seconds"],
                "server_start_seconds": round(median([row["start_seconds"] for row in res["runs"]]), 1),
                "per_server_seconds": round(median([row["seconds"] for row in res["runs"]]), 1),
            },
            "summary": None if cfg.serving.quick else summ,
        }
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
