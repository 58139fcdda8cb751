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


def load_lightgcn(train_path: Path, test_path: Path) -> Interactions:
    for path in (train_path, test_path):
        if not path.is_file():
            raise InvalidInput(f"no such file: {path}")
    with train_path.open() as f:
        train = parse_lightgcn(f, str(train_path))
    with test_path.open() as f:
        test = parse_lightgcn(f, str(test_path))
    return from_rows(train, test)
