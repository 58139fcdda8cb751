"""bench/search_bench.py works end to end on a small run (benchmarks are not tests: this checks only that
the script runs, every search answers, and it reports its figures)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from tests.helpers import run_bench


@pytest.fixture
def tiny_gowalla(tmp_path: Path) -> Path:
    rng = np.random.default_rng(3)
    lines = [f"{u} {' '.join(map(str, rng.choice(120, size=10, replace=False)))}\n" for u in range(40)]
    path = tmp_path / "train.txt"
    path.write_text("".join(lines))
    return path


def test_search_benchmark_small_run(tiny_gowalla: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TASTEGRAPH_GOWALLA_TRAIN", str(tiny_gowalla))
    assert os.environ["TASTEGRAPH_GOWALLA_TRAIN"] == str(tiny_gowalla)
    result = run_bench("search_bench.py", "--quick", "--no-docs", "--seconds", "2", timeout=600)
    runs = result["results"]
    assert isinstance(runs, list)
    assert {(r["catalogue"], r["backend"]) for r in runs} == {("demo", "sqlite"), ("gowalla", "sqlite")}
    for r in runs:
        assert r["errors"] == 0
        assert r["p99_ms"] > 0
