"""How a LightGCN-format split was made: is the test file a random hold-out of each person's items?

Reads a data set's train and test files (the LightGCN text format) and compares the test split with
random hold-outs of the same size per person (each person's train and test items pooled, the same
number held out at random, seeded): per item popularity band, test interactions per train interaction.
A random hold-out gives about the same ratio in every band with many interactions; a split that picks
some items more often does not. Also: test items never seen in train, each person's test share, and
whether test items come later in the original item ids (item_list.txt, when present).

It fits, tunes and scores nothing: it describes the split, so that a validation protocol carved from
train can be compared with it (docs/benchmarks.md, "Recall: why validation and the test split
disagree").

    .venv/bin/python bench/split_shape.py                       # ../shared/data/gowalla
    .venv/bin/python bench/split_shape.py --data DIR --seeds 5
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import md_table

DEFAULT_DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "gowalla"
BANDS = ((1, 10), (10, 20), (20, 50), (50, 100), (100, 300), (300, 1000), (1000, None))


def read_lists(path: Path) -> dict[int, list[int]]:
    out: dict[int, list[int]] = {}
    for line in path.read_text().splitlines():
        parts = [int(x) for x in line.split()]
        if len(parts) > 1:
            out[parts[0]] = parts[1:]
    return out


def band_ratios(train: dict[int, list[int]], test: dict[int, list[int]], n_items: int) -> list[float]:
    """Per band of train popularity: test interactions / train interactions of the band's items."""
    tr = np.bincount(np.fromiter((i for v in train.values() for i in v), np.int64), minlength=n_items)
    te = np.bincount(np.fromiter((i for v in test.values() for i in v), np.int64), minlength=n_items)
    out = []
    for lo, hi in BANDS:
        band = (tr >= lo) & (tr < (hi or np.inf))
        out.append(float(te[band].sum() / tr[band].sum()) if tr[band].sum() else float("nan"))
    return out


def band_sizes(train: dict[int, list[int]], n_items: int) -> list[int]:
    tr = np.bincount(np.fromiter((i for v in train.values() for i in v), np.int64), minlength=n_items)
    return [int(((tr >= lo) & (tr < (hi or np.inf))).sum()) for lo, hi in BANDS]


def random_holdout(
    train: dict[int, list[int]], test: dict[int, list[int]], seed: int
) -> tuple[dict[int, list[int]], dict[int, list[int]]]:
    """Each person's items pooled and the same number as their test items held out at random."""
    rng = np.random.default_rng(seed)
    new_train, new_test = {}, {}
    for user, items in train.items():
        held = test.get(user, [])
        pooled = np.asarray(items + held)
        pick = rng.permutation(len(pooled))
        new_test[user] = pooled[pick[: len(held)]].tolist()
        new_train[user] = pooled[pick[len(held) :]].tolist()
    return new_train, new_test


def id_order(data: Path, train: dict[int, list[int]], test: dict[int, list[int]]) -> dict[str, float] | None:
    """Whether a person's test items have later original ids than their train items."""
    path = data / "item_list.txt"
    if not path.exists():
        return None
    original: dict[int, int] = {}
    for line in path.read_text().splitlines()[1:]:
        org, remap = line.split()
        original[int(remap)] = int(org)
    diffs = [
        np.mean([original[i] for i in test[u]]) - np.mean([original[i] for i in train[u]])
        for u in test
        if u in train
    ]
    return {"people_with_later_test_ids": float(np.mean(np.asarray(diffs) > 0))}


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, default=DEFAULT_DATA)
    p.add_argument("--seeds", type=int, default=3, help="random hold-outs to average")
    args = p.parse_args(argv)
    train, test = read_lists(args.data / "train.txt"), read_lists(args.data / "test.txt")
    n_items = 1 + max(max(v) for v in (*train.values(), *test.values()))
    seen = {i for v in train.values() for i in v}
    unseen = sum(i not in seen for v in test.values() for i in v)
    shares = np.asarray([len(test[u]) / (len(test[u]) + len(train.get(u, []))) for u in test])
    actual = band_ratios(train, test, n_items)
    simulated = np.mean(
        [band_ratios(*random_holdout(train, test, seed), n_items) for seed in range(args.seeds)], axis=0
    ).tolist()
    sizes = band_sizes(train, n_items)
    rows = [
        [f"{lo}-{hi - 1}" if hi else f"{lo}+", f"{n:,}", f"{a:.3f}", f"{s:.3f}", f"{a / s:.2f}"]
        for (lo, hi), n, a, s in zip(BANDS, sizes, actual, simulated, strict=True)
    ]
    header = ["train interactions per item", "items", "test / train", "random hold-out", "ratio"]
    print(md_table(header, rows))
    result = {
        "data": str(args.data),
        "test_items_unseen_in_train": unseen,
        "test_share_per_person": {q: round(float(np.percentile(shares, q)), 3) for q in (1, 50, 99)},
        "bands": [list(b) for b in BANDS],
        "test_per_train": [round(x, 4) for x in actual],
        "random_holdout_per_train": [round(x, 4) for x in simulated],
        "id_order": id_order(args.data, train, test),
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
