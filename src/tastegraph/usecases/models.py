"""Trained models: train a new version from the stored engagement, and load the newest one now."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tastegraph.bootstrap import System
from tastegraph.recommend import ModelDescription, TrainingParams, model_store, train

__all__ = ["ModelInfo", "Trained", "TrainingParams", "reload", "train_new_version"]

ModelInfo = ModelDescription  # what is loaded: version, creation time, counts, off-site expiry
Progress = Callable[[str, int, int], None]  # (stage, done, total)


@dataclass(frozen=True)
class Trained:
    version: str
    path: Path
    meta: model_store.Meta  # the version's meta.json
    pruned: list[str]


def reload(system: System) -> ModelInfo | None:
    """Load the newest complete model version; what is loaded now (None: no model)."""
    system.models.reload()
    model = system.models.current(system.clock.now())
    return None if model is None else model.describe()


def train_new_version(system: System, params: TrainingParams, keep: int, progress: Progress) -> Trained:
    """Train on everything stored (only what each person's consent allows now), write the version to
    TASTEGRAPH_MODEL_DIR and delete all but the newest `keep` versions. A running server picks it up on
    SIGHUP or `reload`. Raises InvalidInput when there is nothing to train on."""
    # Reading all engagement takes longer than a request's statement timeout allows.
    with system.read(long_running=True) as conn:
        artifact = train(conn, system.consent, system.clock.now(), params, progress)
    model_dir = system.settings.model_dir
    path = model_store.save(model_dir, artifact)
    pruned = model_store.prune(model_dir, keep)
    return Trained(artifact.version, path, artifact.meta, pruned)
