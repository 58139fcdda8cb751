"""Versioned model artifacts on disk: one directory per version, named by its UTC creation time.

A version directory holds `arrays.npz` (id maps and sparse matrices; no pickles) and `meta.json`
(schema version, creation time, counts). It is written under a dot-named temporary directory and
renamed into place, so a reader sees either the whole version or none of it; dot-named and unparseable
directories are ignored. Lexicographic order of version names is time order, so the newest wins.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import numpy as np
import scipy.sparse as sp

SCHEMA_VERSION = 1
ARRAYS = "arrays.npz"
META = "meta.json"
_VERSION = re.compile(r"^\d{8}T\d{6}\.\d{6}Z$")
_STAMP = "%Y%m%dT%H%M%S.%fZ"


# A version's meta.json: free-form JSON (schema_version, version, created_at, offsite_expires_at, counts,
# the training parameters, timings...), read back as written.
Meta = dict[str, Any]


class ArtifactError(Exception):
    """A version directory that cannot be used (wrong schema, missing or damaged files)."""


@dataclass
class Artifact:
    """What a trained model is made of: named numpy arrays and JSON-ready metadata."""

    arrays: dict[str, np.ndarray]
    meta: Meta
    path: Path | None = None  # set once saved or loaded

    @property
    def version(self) -> str:
        return str(self.meta["version"])

    @property
    def created_at(self) -> datetime:
        return datetime.fromisoformat(self.meta["created_at"])

    def put_csr(self, name: str, m: sp.csr_matrix) -> None:
        m = sp.csr_matrix(m)
        self.arrays[f"{name}.data"] = m.data
        self.arrays[f"{name}.indices"] = m.indices.astype(np.int32)
        self.arrays[f"{name}.indptr"] = m.indptr.astype(np.int64)
        self.arrays[f"{name}.shape"] = np.asarray(m.shape, dtype=np.int64)

    def csr(self, name: str) -> sp.csr_matrix:
        a = self.arrays
        shape = tuple(int(x) for x in a[f"{name}.shape"])
        return sp.csr_matrix((a[f"{name}.data"], a[f"{name}.indices"], a[f"{name}.indptr"]), shape=shape)


def index_of(sorted_ids: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Positions of `values` in the sorted id map `sorted_ids`, -1 where absent."""
    values = np.asarray(values, dtype=np.int64)
    if len(sorted_ids) == 0:
        return np.full(len(values), -1, dtype=np.int64)
    pos = np.minimum(np.searchsorted(sorted_ids, values), len(sorted_ids) - 1)
    return np.where(sorted_ids[pos] == values, pos, -1)


def version_name(created_at: datetime) -> str:
    return created_at.astimezone(UTC).strftime(_STAMP)


def versions(model_dir: Path) -> list[str]:
    """Complete versions in `model_dir`, oldest first."""
    if not model_dir.is_dir():
        return []
    return sorted(p.name for p in model_dir.iterdir() if _VERSION.match(p.name) and (p / META).is_file())


def save(model_dir: Path, artifact: Artifact) -> Path:
    """Write `artifact` as a new version and return its directory.

    The name is the creation time; if that name is taken (two trainings in the same microsecond, or a
    frozen test clock) the time is moved on by a microsecond, so names stay unique and ordered.
    """
    model_dir.mkdir(parents=True, exist_ok=True)
    created = artifact.created_at
    tmp = model_dir / f".incoming-{uuid.uuid4().hex}"
    tmp.mkdir()
    try:
        while True:
            name = version_name(created)
            final = model_dir / name
            if not final.exists():
                break
            created += timedelta(microseconds=1)
        meta = {**artifact.meta, "schema_version": SCHEMA_VERSION, "version": name}
        with open(tmp / ARRAYS, "wb") as f:
            # allow_pickle=False: object arrays would make loading execute code.
            cast(Any, np.savez)(f, allow_pickle=False, **artifact.arrays)
            f.flush()
            os.fsync(f.fileno())
        with open(tmp / META, "w") as f:
            json.dump(meta, f, indent=2, sort_keys=True)
            f.flush()
            os.fsync(f.fileno())
        os.rename(tmp, final)  # atomic: readers never see a half-written version
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _fsync_dir(model_dir)
    artifact.meta = meta
    artifact.path = final
    return final


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def read_meta(path: Path) -> Meta:
    try:
        meta: Meta = json.loads((path / META).read_text())
    except (OSError, ValueError) as exc:
        raise ArtifactError(f"{path}: unreadable {META}: {exc}") from exc
    if meta.get("schema_version") != SCHEMA_VERSION:
        raise ArtifactError(f"{path}: schema version {meta.get('schema_version')}, expected {SCHEMA_VERSION}")
    return meta


def load(path: Path) -> Artifact:
    meta = read_meta(path)
    try:
        with np.load(path / ARRAYS, allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
    except (OSError, ValueError) as exc:
        raise ArtifactError(f"{path}: unreadable {ARRAYS}: {exc}") from exc
    return Artifact(arrays=arrays, meta=meta, path=path)


def load_array(path: Path, name: str) -> np.ndarray:
    """One array of a version, without reading the others."""
    with np.load(path / ARRAYS, allow_pickle=False) as npz:
        return np.asarray(npz[name])


def newest(model_dir: Path) -> Path | None:
    """The newest version whose metadata has this code's schema (older schemas are skipped)."""
    for name in reversed(versions(model_dir)):
        try:
            read_meta(model_dir / name)
        except ArtifactError:
            continue
        return model_dir / name
    return None


def delete(path: Path) -> None:
    """Remove a version: rename it out of sight first, so no reader picks up a half-deleted one."""
    doomed = path.parent / f".deleting-{uuid.uuid4().hex}"
    try:
        os.rename(path, doomed)
    except FileNotFoundError:
        return
    shutil.rmtree(doomed, ignore_errors=True)


def prune(model_dir: Path, keep: int) -> list[str]:
    """Delete all but the newest `keep` versions; returns the deleted names."""
    names = versions(model_dir)
    doomed = names[: max(0, len(names) - keep)]
    for name in doomed:
        delete(model_dir / name)
    return doomed
