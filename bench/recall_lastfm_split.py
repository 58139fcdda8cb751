"""A LightGCN-format split of Last.fm listening data, for checking that the recall defaults generalize.

Reads `user_artist.dat` (user, artist, play count; tab-separated, optional header), renumbers users and
artists from 0, and holds out 20% of each user's artists (at least one, for users with 5 or more;
seeded), writing `train.txt` and `test.txt` in the LightGCN text format to --out (not in the repo):

    .venv/bin/python bench/recall_lastfm_split.py --out /tmp/tg_lastfm
    .venv/bin/python bench/recall_gowalla.py --data /tmp/tg_lastfm --families item-knn,rp3beta --no-docs
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

import numpy as np


def read_pairs(path: Path) -> dict[int, list[int]]:
    per_user: dict[int, set[int]] = defaultdict(set)
    with path.open() as f:
        for line in f:
            parts = line.split()
            if len(parts) < 2 or not parts[0].isdigit():
                continue  # header or blank
            per_user[int(parts[0])].add(int(parts[1]))
    return {u: sorted(items) for u, items in per_user.items()}


def split(
    per_user: dict[int, list[int]], fraction: float, seed: int
) -> tuple[list[str], list[str], dict[str, int]]:
    rng = np.random.default_rng(seed)
    items = sorted({i for its in per_user.values() for i in its})
    item_index = {item: n for n, item in enumerate(items)}
    train_lines, test_lines = [], []
    n_train = n_test = 0
    for user_index, user in enumerate(sorted(per_user)):
        ids = np.array([item_index[i] for i in per_user[user]])
        shuffled = rng.permutation(ids)
        n_held = max(1, round(fraction * len(ids))) if len(ids) >= 5 else 0
        held, kept = np.sort(shuffled[:n_held]), np.sort(shuffled[n_held:])
        train_lines.append(" ".join(map(str, [user_index, *kept])))
        n_train += len(kept)
        if n_held:
            test_lines.append(" ".join(map(str, [user_index, *held])))
            n_test += n_held
    counts = {"users": len(per_user), "items": len(items), "train": n_train, "test": n_test}
    return train_lines, test_lines, counts


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=Path("../shared/data/lastfm/user_artist.dat"))
    parser.add_argument("--out", type=Path, default=Path("/tmp/tg_lastfm"))
    parser.add_argument("--fraction", type=float, default=0.2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    train, test, counts = split(read_pairs(args.data), args.fraction, args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "train.txt").write_text("\n".join(train) + "\n")
    (args.out / "test.txt").write_text("\n".join(test) + "\n")
    print(json.dumps({"out": str(args.out), **counts}))


if __name__ == "__main__":
    main()
