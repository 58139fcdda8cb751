"""Benchmarks are not tests; these only check that a small run of each script works end to end."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.helpers import ROOT, run_bench


@pytest.fixture(scope="module")
def tiny_lightgcn(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("tiny-gowalla")
    rng = np.random.default_rng(0)
    train, test = [], []
    for u in range(150):
        pool = np.arange((u % 3) * 40, (u % 3) * 40 + 40)
        items = rng.choice(pool, size=15, replace=False)
        train.append(f"{u} {' '.join(map(str, items[:12]))}\n")
        test.append(f"{u} {' '.join(map(str, items[12:]))}\n")
    (folder / "train.txt").write_text("".join(train))
    (folder / "test.txt").write_text("".join(test))
    return folder


@pytest.fixture(scope="module")
def tiny_lastfm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("tiny-lastfm")
    rng = np.random.default_rng(1)
    plays = ["userID\tartistID\tweight\n"]
    friends = ["userID\tfriendID\n"]
    for u in range(60):
        for a in rng.choice(np.arange((u % 2) * 30, (u % 2) * 30 + 30), size=8, replace=False):
            plays.append(f"{u}\t{a}\t{rng.integers(1, 500)}\n")
        for v in range(60):
            if v != u and v % 2 == u % 2 and rng.random() < 0.3:
                friends.append(f"{u}\t{v}\n")
    (folder / "user_artist.dat").write_text("".join(plays))
    (folder / "user_friends.dat").write_text("".join(friends))
    return folder


def test_recall_benchmark_small_run(tiny_lightgcn: Path) -> None:
    result = run_bench("recall_gowalla.py", "--data", str(tiny_lightgcn), "--skip-tuning", "--no-docs")
    models = {r["model"] for r in result["results"]}  # type: ignore[union-attr]
    assert models == {"most-popular", "item-knn", "rp3beta", "als", "graph-filter"}


def test_tuning_small_run(tiny_lightgcn: Path) -> None:
    out = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "recall_tuning.py"),
            "--train",
            str(tiny_lightgcn / "train.txt"),
            "--user-exponents",
            "0.5",
            "--item-exponents",
            "0.4,0.5",
            "--ranks",
            "8,16",
            "--ideal-weights",
            "0.3",
            "--sample",
            "50",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    assert len(lines) == 5 and "chosen" in lines[-1]


def test_walks_small_run(tiny_lightgcn: Path) -> None:
    result = run_bench(
        "walks.py",
        "--data",
        str(tiny_lightgcn),
        "--queries",
        "5",
        "--steps",
        "2000",
        "--runs",
        "1",
        "--no-docs",
    )
    assert float(result["steps_per_second_median"]) > 0  # type: ignore[arg-type]


def test_people_small_run(tiny_lastfm: Path) -> None:
    result = run_bench("people_lastfm.py", "--data", str(tiny_lastfm), "--no-docs")
    recalls = result["recall_at_20"]
    assert isinstance(recalls, dict) and len(recalls) == 4


def test_serving_small_run() -> None:
    result = run_bench("serving_gowalla.py", "--quick", timeout=240)
    summary = result["summary"]["sqlite"]  # type: ignore[index]
    assert result["ok"] and {"feed", "related"} <= set(summary)
    for kind in ("feed", "related"):
        assert summary[kind]["errors"] == 0 and summary[kind]["achieved_median"] > 0


def test_gc_trace_records_full_collections(tmp_path: Path) -> None:
    """The benchmark servers' hook (bench/gc_trace) logs one line per full collection, none for younger
    generations."""
    code = "import gc; gc.collect(0); gc.collect(1); gc.collect(); gc.collect(); print('ok')"
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT / "bench" / "gc_trace"),
        "TASTEGRAPH_BENCH_GC_LOG": str(tmp_path),
    }
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "ok"
    (log,) = tmp_path.glob("gc.*")
    lines = log.read_text().splitlines()
    assert len(lines) >= 2  # the two explicit full passes (start-up may add its own)
    assert all(float(ms) >= 0 for _, ms in (line.split() for line in lines))
