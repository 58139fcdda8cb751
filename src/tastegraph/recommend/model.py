"""The trained model in memory (`Model`) and the holder that loads, reloads and retires it.

Requests ask the holder for the current model; `None` means "use the live SQL sources". A model stops
being served when its directory disappears (erasure, retention sweep, another process pruning) or when
the off-site data inside it leaves the retention window.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Hashable
from dataclasses import dataclass, field, fields
from datetime import datetime
from pathlib import Path
from typing import Any, TypedDict

import numba
import numpy as np
import scipy.sparse as sp

from tastegraph.kernel.cache import Memo
from tastegraph.recommend import model_store
from tastegraph.recommend.model_store import Artifact, ArtifactError, index_of
from tastegraph.recommend.offline.graph_filter import GraphFilter, GraphFilterParams, Spectrum
from tastegraph.recommend.offline.sparse_ops import degree_power
from tastegraph.recommend.walks import WalkGraph, build_graph

log = logging.getLogger("tastegraph.recommend.model")


WALK_CACHE_SIZE = 4096
MEMO_SIZE = 4096


def walk_memo(size: int = WALK_CACHE_SIZE) -> Memo[int, Any]:
    """The Pixie walks of the last `size` Pins a model served, by Pin position (see related.walked)."""
    return Memo("model walks", size)


def feed_memo(size: int = MEMO_SIZE) -> Memo[Hashable, Any]:
    """The feed candidates of the last `size` distinct inputs a model scored. Size 0 keeps nothing."""
    return Memo("model feed memo", size)


class ModelDescription(TypedDict):
    """What is loaded (`Model.describe`), from the version's meta.json."""

    version: str
    created_at: str  # ISO 8601
    counts: dict[str, object]  # what it was trained on
    offsite_expires_at: str | None  # when its oldest off-site visit leaves the window


class UserRow(TypedDict):
    """A person's row in one model version, as their data export lists it."""

    version: str
    created_at: str  # ISO 8601
    pin_ids: list[int]
    domains: list[str]


@dataclass(eq=False)
class Model:
    """A loaded artifact, with the indexes requests need (walk graph, fitted filter, id lookups)."""

    artifact: Artifact
    pin_ids: np.ndarray  # sorted; a Pin's position is its column
    user_ids: np.ndarray  # sorted; a person's position is their row
    board_ids: np.ndarray  # sorted
    domains: list[str]  # domain columns follow the Pin columns
    board_pins: sp.csr_matrix  # boards x Pins
    pin_boards: sp.csr_matrix  # Pins x boards
    saves: sp.csr_matrix  # people x Pins
    graph: WalkGraph
    filter: GraphFilter
    seed: int
    offsite_expires_at: datetime | None
    # Per Pin, the Pins sharing the most boards with it (see training.top_co_saved); None in artifacts
    # made before it existed, which count boards in common per request instead (`co_saved`).
    co_saved_top: sp.csr_matrix | None = None
    # Walks from a Pin, by Pin position (see related.walked): a walk depends only on this model and its
    # query, so an entry never goes stale; a new model starts with an empty cache.
    walks: Memo[int, Any] = field(default_factory=walk_memo, init=False, repr=False)
    # Feed candidates this model scored, keyed by everything they depend on besides the model (the
    # viewer's history, what they saved and hid): a repeat request with the same inputs gets the same
    # answer without scoring again. Size 0 keeps nothing. Values hold only plain values (see
    # api.app.freeze_startup_heap).
    memo: Memo[Hashable, Any] = field(default_factory=feed_memo, init=False, repr=False)
    domain_columns: dict[str, int] = field(init=False)
    # The filter's parts in the form one request needs (see `score` and `contributions`): computed once
    # at load, so a request pays only for the rows of its own history.
    _graph: sp.csr_matrix = field(init=False, repr=False)
    _d_in: np.ndarray = field(init=False, repr=False)
    _d_out: np.ndarray = field(init=False, repr=False)
    _basis: np.ndarray = field(init=False, repr=False)
    _basis_in: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.domain_columns = {d: len(self.pin_ids) + j for j, d in enumerate(self.domains)}
        fitted, p = self.filter.fitted, self.filter.params
        assert fitted is not None
        # The item graph is R~^T R~, symmetric: row c holds what column c holds, so per-request work
        # reads rows (CSR slices) only.
        self._graph = sp.csr_matrix(fitted.item_graph, dtype=np.float32)
        self._graph.sort_indices()  # `_pick` searches rows
        self._d_in = degree_power(fitted.item_degree, -p.item_exponent)
        self._d_out = degree_power(fitted.item_degree, p.item_exponent)[: self.n_pins]
        basis = np.asarray(fitted.basis[:, : p.rank], dtype=np.float32)
        # Rows: every column (Pins and domains) in; Pins only out.
        self._basis_in = np.ascontiguousarray(basis * self._d_in[:, None])
        self._basis = np.ascontiguousarray(basis[: self.n_pins] * (p.ideal_weight * self._d_out[:, None]))
        if self.n_pins:  # compile the scoring loops now, not in the first request
            self.contributions([0], [1.0], self.score([0], [1.0])[:1].nonzero()[0])

    @classmethod
    def from_artifact(cls, artifact: Artifact) -> Model:
        a, meta = artifact.arrays, artifact.meta
        # Settings the filter no longer has are ignored, so an artifact survives small changes to it.
        known = {f.name for f in fields(GraphFilterParams)}
        params = GraphFilterParams(**{k: v for k, v in meta["filter"].items() if k in known})
        spectrum = Spectrum(
            item_graph=artifact.csr("filter.item_graph"),
            basis=a["filter.basis"],
            eigenvalues=a["filter.eigenvalues"],
            item_degree=a["filter.item_degree"],
        )
        board_pins = artifact.csr("board_pins")
        expires = meta.get("offsite_expires_at")
        return cls(
            artifact=artifact,
            pin_ids=a["pin_ids"],
            user_ids=a["user_ids"],
            board_ids=a["board_ids"],
            domains=[str(d) for d in a["domains"]],
            board_pins=board_pins,
            pin_boards=sp.csr_matrix(board_pins.T),
            saves=artifact.csr("saves"),
            graph=build_graph(board_pins, seed=int(meta.get("seed", 0))),
            filter=GraphFilter(params, fitted=spectrum),
            seed=int(meta.get("seed", 0)),
            offsite_expires_at=None if expires is None else datetime.fromisoformat(expires),
            co_saved_top=artifact.csr("co_saved") if "co_saved.shape" in a else None,
        )

    @property
    def version(self) -> str:
        return self.artifact.version

    @property
    def n_pins(self) -> int:
        return len(self.pin_ids)

    def pin_index(self, pin_ids: list[int] | np.ndarray) -> np.ndarray:
        return index_of(self.pin_ids, np.asarray(pin_ids, dtype=np.int64))

    def user_index(self, user_id: int) -> int:
        return int(index_of(self.user_ids, np.asarray([user_id]))[0])

    def domain_column(self, domain: str) -> int:
        """The column of a domain, or -1 if no one's visits to it were in training."""
        return self.domain_columns.get(domain, -1)

    def score(self, columns: list[int], weights: list[float]) -> np.ndarray:
        """Pin scores of one history (the given columns with their weights).

        The graph filter's score (`GraphFilter.score`: the item graph plus the weighted low-pass part),
        computed from the parts prepared at load: the rows of the item graph the history touches, and
        the low-pass part through `rank` numbers instead of a full matrix product.
        """
        if not columns:
            return np.zeros(self.n_pins, dtype=np.float32)
        cols = np.asarray(columns, dtype=np.int64)
        w = np.asarray(weights, dtype=np.float32)
        g = self._graph
        out = np.zeros(g.shape[0], dtype=np.float32)
        _add_rows(g.indptr, g.indices, g.data, cols, w, out)
        out = out[: self.n_pins]
        out += self._basis @ (w @ self._basis_in[cols])
        return out

    def contributions(self, columns: list[int], weights: list[float], targets: np.ndarray) -> np.ndarray:
        """What each history column on its own adds to the score of each target Pin
        (len(columns) x len(targets)); each column sums to the target's `score`."""
        cols = np.asarray(columns, dtype=np.int64)
        w = np.asarray(weights, dtype=np.float32)
        t = np.asarray(targets, dtype=np.int64)
        g = self._graph
        graph_part = np.zeros((len(cols), len(t)), dtype=np.float32)
        _pick(g.indptr, g.indices, g.data, cols, t, graph_part)
        low_part = self._basis_in[cols] @ self._basis[t].T
        return np.asarray((graph_part + low_part) * w[:, None], dtype=np.float32)

    def co_saved(self, pins: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Boards in common between each given Pin (model positions) and other Pins, as (entries per
        given Pin, the other Pins' positions, boards in common), the given Pins' entries one after the
        other: the top lists made at training when the artifact has them (read straight from its CSR
        arrays; slicing a sparse matrix costs more than the rest of the source), else every Pin counted
        now (the given Pin itself included)."""
        rows = np.asarray(pins, dtype=np.int64)
        top = self.co_saved_top
        if top is None:
            co = sp.csr_matrix(self.pin_boards[rows] @ self.board_pins)
            return np.diff(co.indptr), co.indices, co.data
        starts, ends = top.indptr[rows], top.indptr[rows + 1]
        if len(rows) == 0:
            return np.zeros(0, np.int64), top.indices[:0], top.data[:0]
        pick = np.concatenate([np.arange(a, b) for a, b in zip(starts.tolist(), ends.tolist(), strict=True)])
        return ends - starts, top.indices[pick], top.data[pick]

    def score_rows(self, columns: list[int], weights: list[float]) -> np.ndarray:
        """Pin scores of each history column on its own (len(columns) x Pins).

        The filter is linear in the history, so these rows add up to the score of the whole history and
        the row with the largest entry is the part of the history that recommends a Pin most.
        """
        n_cols = self.n_pins + len(self.domains)
        history = sp.csr_matrix(
            (np.asarray(weights, np.float32), (np.arange(len(columns)), np.asarray(columns))),
            shape=(len(columns), n_cols),
        )
        return self.filter.score(history)[:, : self.n_pins]

    def describe(self) -> ModelDescription:
        return {
            "version": self.version,
            "created_at": self.artifact.meta["created_at"],
            "counts": self.artifact.meta.get("counts", {}),
            "offsite_expires_at": self.artifact.meta.get("offsite_expires_at"),
        }


@numba.njit(cache=True, nogil=True)
def _add_rows(
    indptr: np.ndarray,
    indices: np.ndarray,
    data: np.ndarray,
    rows: np.ndarray,
    w: np.ndarray,
    out: np.ndarray,
) -> None:
    """out += sum of w[k] * row rows[k] of a CSR matrix (no copy of the rows)."""
    for k in range(len(rows)):
        r, wk = rows[k], w[k]
        for j in range(indptr[r], indptr[r + 1]):
            out[indices[j]] += wk * data[j]


@numba.njit(cache=True, nogil=True)
def _pick(
    indptr: np.ndarray,
    indices: np.ndarray,
    data: np.ndarray,
    cols: np.ndarray,
    rows: np.ndarray,
    out: np.ndarray,
) -> None:
    """out[i, k] = m[rows[k], cols[i]] of a CSR matrix with sorted rows (by binary search)."""
    for k in range(len(rows)):
        lo, hi = indptr[rows[k]], indptr[rows[k] + 1]
        for i in range(len(cols)):
            at = lo + np.searchsorted(indices[lo:hi], cols[i])
            if at < hi and indices[at] == cols[i]:
                out[i, k] = data[at]


class ModelHolder:
    """The newest usable model of a directory, loaded at start and again on `reload()`."""

    def __init__(self, model_dir: Path, memo_size: int = MEMO_SIZE) -> None:
        self.model_dir = model_dir
        self.memo_size = memo_size
        self._model: Model | None = None
        self._loaded = False
        self._lock = threading.Lock()
        self._warned_expired: str | None = None

    def reload(self) -> Model | None:
        """Load the newest version that loads; keep nothing if none does."""
        with self._lock:
            model = None
            for name in reversed(model_store.versions(self.model_dir)):
                try:
                    model = Model.from_artifact(model_store.load(self.model_dir / name))
                    model.memo = feed_memo(self.memo_size)
                    break
                except (ArtifactError, KeyError, ValueError) as exc:
                    log.warning("skipping model %s: %s", name, exc)
            self._model, self._loaded = model, True
            if model is not None:
                log.info("model %s loaded from %s", model.version, self.model_dir)
            return model

    def current(self, now: datetime) -> Model | None:
        if not self._loaded:
            self.reload()
        model = self._model
        if model is None:
            return None
        path = model.artifact.path
        if path is not None and not path.is_dir():
            log.info("model %s was deleted; using live sources until the next reload", model.version)
            self._model = None
            return None
        if model.offsite_expires_at is not None and now >= model.offsite_expires_at:
            if self._warned_expired != model.version:
                self._warned_expired = model.version
                log.warning("model %s holds off-site data past retention; retrain it", model.version)
            return None
        return model

    # --- personal data: the artifacts hold people's interactions ------------------------------------

    def _versions_with(self, user_id: int) -> list[Path]:
        out = []
        for name in model_store.versions(self.model_dir):
            path = self.model_dir / name
            try:
                ids = model_store.load_array(path, "user_ids")
            except (OSError, KeyError, ValueError):
                continue
            if index_of(ids, np.asarray([user_id]))[0] >= 0:
                out.append(path)
        return out

    def export_user(self, user_id: int) -> list[UserRow]:
        """Per version holding the person: the Pins and domains of their row."""
        out: list[UserRow] = []
        for path in self._versions_with(user_id):
            artifact = model_store.load(path)
            ids = artifact.arrays["pin_ids"]
            at = int(index_of(artifact.arrays["user_ids"], np.asarray([user_id]))[0])
            cols = artifact.csr("interactions")[at].indices
            domains = artifact.arrays["domains"]
            out.append(
                {
                    "version": artifact.version,
                    "created_at": artifact.meta["created_at"],
                    "pin_ids": sorted(int(ids[c]) for c in cols if c < len(ids)),
                    "domains": sorted(str(domains[c - len(ids)]) for c in cols if c >= len(ids)),
                }
            )
        return out

    def erase_user(self, user_id: int) -> int:
        """Delete every version that holds the person; serve live sources until the next training."""
        doomed = self._versions_with(user_id)
        for path in doomed:
            model_store.delete(path)
        return len(doomed)

    def forget_domain(self, user_id: int, domain: str) -> int:
        """Feed controls: the person removed a site's visits. Every version whose row for them holds that
        domain is deleted (its item graph was fitted on those visits, which must stop counting at once,
        for others' scores too); the live sources serve until the next training. Returns how many."""
        doomed = []
        for path in self._versions_with(user_id):
            try:
                artifact = model_store.load(path)
            except (ArtifactError, OSError, KeyError, ValueError):
                continue
            n_pins = len(artifact.arrays["pin_ids"])
            at = int(index_of(artifact.arrays["user_ids"], np.asarray([user_id]))[0])
            domains = artifact.arrays["domains"]
            cols = artifact.csr("interactions")[at].indices
            if any(c >= n_pins and str(domains[c - n_pins]) == domain for c in cols.tolist()):
                doomed.append(path)
        for path in doomed:
            model_store.delete(path)
        return len(doomed)

    def sweep(self, now: datetime) -> int:
        """Delete versions whose off-site data has outlived the retention window."""
        deleted = 0
        for name in model_store.versions(self.model_dir):
            try:
                expires = model_store.read_meta(self.model_dir / name).get("offsite_expires_at")
            except ArtifactError:
                continue
            if expires is not None and now >= datetime.fromisoformat(expires):
                model_store.delete(self.model_dir / name)
                deleted += 1
        return deleted
