"""`tastegraph bench recall` end to end on a small generated data set, for every model."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tastegraph.recommend.offline import MODELS, evaluate, make_model
from tastegraph.recommend.offline.data import from_rows


def _clustered(seed: int, users: int = 120, items: int = 90) -> tuple[list[tuple[int, list[int]]], ...]:
    """Three taste clusters: a good model should beat popularity by far."""
    rng = np.random.default_rng(seed)
    train, test = [], []
    for u in range(users):
        cluster = u % 3
        pool = np.arange(cluster * 30, cluster * 30 + 30)
        chosen = rng.choice(pool, size=12, replace=False).tolist()
        train.append((u, chosen[:9]))
        test.append((u, chosen[9:]))
    return train, test


def _write(path: Path, rows: list[tuple[int, list[int]]]) -> None:
    path.write_text("".join(f"{u} {' '.join(map(str, items))}\n" for u, items in rows))


@pytest.mark.parametrize("name", sorted(MODELS))
def test_models_beat_chance_and_are_deterministic(name: str) -> None:
    train, test = _clustered(0)
    data = from_rows(train, test)
    first = evaluate(make_model(name), data, k=10)
    again = evaluate(make_model(name), data, k=10)
    assert (first.recall, first.ndcg) == (again.recall, again.ndcg)
    chance = 10 / 81  # 10 picks from ~81 unseen items
    if name == "most-popular":
        assert first.recall < 0.3
    else:
        assert first.recall > 2 * chance, first


def test_cli_prints_json_last(tmp_path: Path) -> None:
    train, test = _clustered(1)
    _write(tmp_path / "train.txt", train)
    _write(tmp_path / "test.txt", test)
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "tastegraph.cli",
            "bench",
            "recall",
            "--train",
            str(tmp_path / "train.txt"),
            "--test",
            str(tmp_path / "test.txt"),
            "--k",
            "5",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["model"] == "graph-filter" and result["k"] == 5
    assert set(result) >= {"recall", "ndcg", "fit_seconds", "score_seconds", "peak_memory_mb"}
    assert 0 < result["recall"] <= 1
    bad = subprocess.run(
        [
            sys.executable,
            "-m",
            "tastegraph.cli",
            "bench",
            "recall",
            "--train",
            str(tmp_path / "nope.txt"),
            "--test",
            str(tmp_path / "test.txt"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert bad.returncode == 2 and "no such file" in bad.stderr
