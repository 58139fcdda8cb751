"""Run every benchmark, one after the other (they would compete for the same cores if run together).

    .venv/bin/python bench/run_all.py            # full: updates docs/benchmarks.md (about 20 minutes)
    .venv/bin/python bench/run_all.py --quick    # smoke: tiny sizes, docs untouched (about 1 minute)

Each benchmark runs as its own process and ends with one JSON line; this script ends with one JSON line
holding theirs, and exits non-zero if any failed.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

BENCH = Path(__file__).resolve().parent
SCRIPTS = ("ingest.py", "feed_latency.py")


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="smoke-test sizes; docs are not touched")
    p.add_argument("--backends", default=None, help="comma-separated: sqlite,postgresql")
    p.add_argument("--no-docs", action="store_true")
    p.add_argument(
        "--snapshot",
        action="store_true",
        help="benchmark a clean `git archive HEAD` export instead of the working tree (records the commit)",
    )
    a = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="tastegraph-bench-src-") as tmp:
        env = dict(os.environ)
        if a.snapshot:
            env["TASTEGRAPH_BENCH_SRC"] = export_head(Path(tmp))
        return run(a, env)


def export_head(into: Path) -> str:
    """`git archive HEAD` into `into` (the repository itself is only read), with a COMMIT file."""
    repo = BENCH.parent
    commit = subprocess.run(
        ["git", "-C", str(repo), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    archive = subprocess.run(
        ["git", "-C", str(repo), "archive", "HEAD"], capture_output=True, check=True
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    (into / "COMMIT").write_text(commit + "\n")
    return str(into)


def run(a: argparse.Namespace, env: dict[str, str]) -> int:
    extra = ["--quick"] if a.quick else []
    if a.backends:
        extra += ["--backends", a.backends]
    if a.no_docs:
        extra.append("--no-docs")
    started = time.perf_counter()
    results: dict[str, object] = {}
    ok = True
    for script in SCRIPTS:
        proc = subprocess.run(
            [sys.executable, str(BENCH / script), *extra],
            stdout=subprocess.PIPE,
            text=True,
            check=False,
            env=env,
        )
        lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
        result = json.loads(lines[-1]) if lines else {"ok": False, "error": "no JSON line"}
        result.pop("results", None)  # the details are in docs/benchmarks.md; keep the line short
        results[script.removesuffix(".py")] = result
        ok = ok and proc.returncode == 0 and bool(result.get("ok"))
    seconds = round(time.perf_counter() - started, 1)
    summary = {"bench": "all", "ok": ok, "seconds": seconds, "results": results}
    print(json.dumps(summary, sort_keys=True), flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
