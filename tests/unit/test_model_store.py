"""Model artifacts on disk: versioned by time, written atomically, newest wins; the holder that serves
them, retires them (deleted, off-site data past retention) and reloads on SIGHUP."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp

from tastegraph.api.app import reload_on_sighup
from tastegraph.recommend import model_store
from tastegraph.recommend.model import Model, ModelHolder
from tastegraph.recommend.model_store import Artifact
from tastegraph.recommend.offline.graph_filter import GraphFilter, GraphFilterParams

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def tiny_artifact(
    created_at: datetime, user_ids: tuple[int, ...] = (1, 2, 3), expires: datetime | None = None
) -> Artifact:
    """Three people, four Pins (ids 10-13) on two boards, one domain column."""
    interactions = sp.csr_matrix(
        np.array([[1, 1, 0, 0, 0.5], [0, 1, 1, 0, 0], [0, 0, 1, 1, 0.5]], dtype=np.float32)
    )
    gf = GraphFilter(GraphFilterParams(rank=2))
    gf.fit(interactions)
    assert gf.fitted is not None
    a = Artifact(
        arrays={
            "pin_ids": np.array([10, 11, 12, 13], dtype=np.int64),
            "user_ids": np.array(user_ids, dtype=np.int64),
            "board_ids": np.array([100, 101], dtype=np.int64),
            "domains": np.array(["trailpeak-gear.com"], dtype=np.str_),
            "filter.basis": gf.fitted.basis,
            "filter.eigenvalues": gf.fitted.eigenvalues,
            "filter.item_degree": np.asarray(gf.fitted.item_degree),
        },
        meta={
            "created_at": created_at.isoformat(),
            "seed": 0,
            "filter": {"rank": 2},
            "offsite_expires_at": None if expires is None else expires.isoformat(),
            "counts": {"pins": 4},
        },
    )
    a.put_csr("board_pins", sp.csr_matrix(np.array([[1, 1, 1, 0], [0, 0, 1, 1]], dtype=np.float32)))
    a.put_csr("saves", interactions[:, :4])
    a.put_csr("interactions", interactions)
    a.put_csr("filter.item_graph", gf.fitted.item_graph)
    return a


def test_round_trip_keeps_every_array(tmp_path: Path) -> None:
    original = tiny_artifact(T0)
    path = model_store.save(tmp_path, original)
    assert path.name == "20260601T120000.000000Z"
    loaded = model_store.load(path)
    assert set(loaded.arrays) == set(original.arrays)
    for name, arr in original.arrays.items():
        assert np.array_equal(loaded.arrays[name], arr), name
    assert (loaded.csr("interactions") != original.csr("interactions")).nnz == 0
    meta = json.loads((path / "meta.json").read_text())
    assert meta["schema_version"] == model_store.SCHEMA_VERSION and meta["version"] == path.name
    assert meta["created_at"] == T0.isoformat()


def test_versions_are_ordered_by_time_and_names_never_collide(tmp_path: Path) -> None:
    later = model_store.save(tmp_path, tiny_artifact(T0 + timedelta(hours=1)))
    first = model_store.save(tmp_path, tiny_artifact(T0))
    same_instant = model_store.save(tmp_path, tiny_artifact(T0))  # e.g. a frozen test clock
    assert same_instant.name == "20260601T120000.000001Z"
    assert model_store.versions(tmp_path) == [first.name, same_instant.name, later.name]
    assert model_store.newest(tmp_path) == later


def test_incomplete_and_foreign_directories_are_ignored(tmp_path: Path) -> None:
    good = model_store.save(tmp_path, tiny_artifact(T0))
    (tmp_path / ".incoming-abc").mkdir()  # a writer that crashed before its rename
    (tmp_path / "20990101T000000.000000Z").mkdir()  # no meta.json: never complete
    (tmp_path / "notes").mkdir()
    assert model_store.versions(tmp_path) == [good.name]
    # A newer version of another schema is skipped, not served.
    other = model_store.save(tmp_path, tiny_artifact(T0 + timedelta(days=1)))
    meta = json.loads((other / "meta.json").read_text())
    (other / "meta.json").write_text(json.dumps({**meta, "schema_version": 999}))
    assert model_store.newest(tmp_path) == good
    holder = ModelHolder(tmp_path)
    model = holder.reload()
    assert model is not None and model.version == good.name


def test_a_failed_write_leaves_nothing_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_: Any, **__: Any) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", broken)
    with pytest.raises(OSError):
        model_store.save(tmp_path, tiny_artifact(T0))
    assert list(tmp_path.iterdir()) == []


def test_prune_keeps_the_newest(tmp_path: Path) -> None:
    names = [model_store.save(tmp_path, tiny_artifact(T0 + timedelta(hours=h))).name for h in range(4)]
    assert model_store.prune(tmp_path, keep=2) == names[:2]
    assert model_store.versions(tmp_path) == names[2:]


def test_model_scores_are_linear_in_the_history(tmp_path: Path) -> None:
    model = Model.from_artifact(tiny_artifact(T0))
    cols, weights = [0, 1, model.domain_column("trailpeak-gear.com")], [1.0, 0.5, 0.5]
    rows = model.score_rows(cols, weights)
    assert rows.shape == (3, 4)
    assert np.allclose(rows.sum(axis=0), model.score(cols, weights), atol=1e-5)
    assert model.domain_column("unknown.example") == -1
    assert model.pin_index([13, 99, 10]).tolist() == [3, -1, 0]


def test_holder_newest_wins_and_retires_deleted_or_expired(tmp_path: Path) -> None:
    holder = ModelHolder(tmp_path)
    assert holder.current(T0) is None  # no model: live sources
    old = model_store.save(tmp_path, tiny_artifact(T0))
    assert holder.current(T0) is None  # loaded (nothing) at first use; a new version needs a reload
    assert (m := holder.reload()) is not None and m.version == old.name
    expires = T0 + timedelta(days=20)
    new = model_store.save(tmp_path, tiny_artifact(T0 + timedelta(hours=1), expires=expires))
    holder.reload()
    current = holder.current(T0 + timedelta(days=1))
    assert current is not None and current.version == new.name
    # Off-site data inside it outlives retention: no longer served, and the sweep deletes it.
    assert holder.current(expires) is None
    assert holder.sweep(expires) == 1 and model_store.versions(tmp_path) == [old.name]
    holder.reload()
    assert (m := holder.current(expires)) is not None and m.version == old.name
    model_store.delete(old)
    assert holder.current(expires) is None


def test_holder_exports_and_erases_a_person(tmp_path: Path) -> None:
    with_ann = model_store.save(tmp_path, tiny_artifact(T0, user_ids=(1, 2, 3)))
    without = model_store.save(tmp_path, tiny_artifact(T0 + timedelta(hours=1), user_ids=(4, 5, 6)))
    holder = ModelHolder(tmp_path)
    assert holder.export_user(1) == [
        {
            "version": with_ann.name,
            "created_at": T0.isoformat(),
            "pin_ids": [10, 11],
            "domains": ["trailpeak-gear.com"],
        }
    ]
    assert holder.erase_user(1) == 1
    assert model_store.versions(tmp_path) == [without.name]
    assert holder.export_user(1) == []


def test_sighup_reloads_the_model(tmp_path: Path) -> None:
    holder = ModelHolder(tmp_path)
    assert holder.reload() is None  # started with no model
    model_store.save(tmp_path, tiny_artifact(T0))
    system: Any = SimpleNamespace(models=holder)

    async def main() -> Model | None:
        assert reload_on_sighup(system)  # pytest runs tests on the main thread
        try:
            os.kill(os.getpid(), signal.SIGHUP)
            for _ in range(200):
                await asyncio.sleep(0.01)
                if holder.current(T0) is not None:
                    break
        finally:
            asyncio.get_running_loop().remove_signal_handler(signal.SIGHUP)
        return holder.current(T0)

    assert holder.current(T0) is None
    model = asyncio.run(main())
    assert model is not None
