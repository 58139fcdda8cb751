"""Interaction data in the LightGCN text format: one line per user, `user item item ...`, ids from 0."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from tastegraph.kernel import InvalidInput


@dataclass(frozen=True)
class Interactions:
    train: sp.csr_matrix  # users x items, 1.0 where the user interacted in train
    test: sp.csr_matrix  # same shape, the held-out interactions

    @property
    def n_users(self) -> int:
        return int(self.train.shape[0])

    @property
    def n_items(self) -> int:
        return int(self.train.shape[1])

    def test_users(self) -> np.ndarray:
        """Users with at least one test item: the ones the metrics average over."""
        return np.flatnonzero(np.diff(self.test.indptr) > 0).astype(np.int64)


def parse_lightgcn(lines: Iterable[str], source: str = "input") -> list[tuple[int, list[int]]]:
    rows: list[tuple[int, list[int]]] = []
    for number, line in enumerate(lines, start=1):
        parts = line.split()
        if not parts:
            continue
        try:
            ids = [int(p) for p in parts]
        except ValueError as exc:
            raise InvalidInput(f"{source}:{number}: ids must be integers ({exc})") from exc
        if min(ids) < 0:
            raise InvalidInput(f"{source}:{number}: ids must not be negative")
        rows.append((ids[0], ids[1:]))
    return rows


def _matrix(rows: list[tuple[int, list[int]]], shape: tuple[int, int]) -> sp.csr_matrix:
    users = np.fromiter((u for u, items in rows for _ in items), dtype=np.int64)
    items = np.fromiter((i for _, its in rows for i in its), dtype=np.int64)
    m = sp.csr_matrix((np.ones(len(items), dtype=np.float32), (users, items)), shape=shape)
    m.sum_duplicates()
    m.data[:] = 1.0  # repeated interactions count once
    return m


def from_rows(train: list[tuple[int, list[int]]], test: list[tuple[int, list[int]]]) -> Interactions:
    n_users = 1 + max([u for u, _ in train] + [u for u, _ in test] + [-1])
    n_items = 1 + max([i for _, its in train + test for i in its] + [-1])
    if n_users == 0 or n_items == 0:
        raise InvalidInput("the data set has no interactions")
    shape = (n_users, n_items)
    return Interactions(_matrix(train, shape), _matrix(test, shape))


def load_lightgcn_file(path: Path) -> sp.csr_matrix:
    """One file on its own (e.g. to carve a validation split from training data only)."""
    if not path.is_file():
        raise InvalidInput(f"no such file: {path}")
    with path.open() as f:
        return from_rows(parse_lightgcn(f, str(path)), []).train


def load_lightgcn(train_path: Path, test_path: Path) -> Interactions:
    for path in (train_path, test_path):
        if not path.is_file():
            raise InvalidInput(f"no such file: {path}")
    with train_path.open() as f:
        train = parse_lightgcn(f, str(train_path))
    with test_path.open() as f:
        test = parse_lightgcn(f, str(test_path))
    return from_rows(train, test)


def validation_split(train: sp.csr_matrix, fraction: float = 0.2, seed: int = 0) -> Interactions:
    """Carve a validation set out of training data: hold out `fraction` of each user's items (at least
    one, for users with two or more), seeded. Tuning happens here, never on the test set."""
    rng = np.random.default_rng(seed)
    keep_rows: list[np.ndarray] = []
    held_rows: list[np.ndarray] = []
    keep_users: list[np.ndarray] = []
    held_users: list[np.ndarray] = []
    for user in range(train.shape[0]):
        items = train.indices[train.indptr[user] : train.indptr[user + 1]]
        if len(items) < 2:
            keep_rows.append(items)
            keep_users.append(np.full(len(items), user))
            continue
        n_held = max(1, round(fraction * len(items)))
        shuffled = rng.permutation(items)
        held_rows.append(shuffled[:n_held])
        held_users.append(np.full(n_held, user))
        keep_rows.append(shuffled[n_held:])
        keep_users.append(np.full(len(items) - n_held, user))

    def build(users: list[np.ndarray], items: list[np.ndarray]) -> sp.csr_matrix:
        u = np.concatenate(users) if users else np.zeros(0, dtype=np.int64)
        i = np.concatenate(items) if items else np.zeros(0, dtype=np.int64)
        return sp.csr_matrix((np.ones(len(i), dtype=np.float32), (u, i)), shape=train.shape)

    return Interactions(build(keep_users, keep_rows), build(held_users, held_rows))
