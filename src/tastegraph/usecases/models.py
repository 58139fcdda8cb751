"""Trained models: train a new version from the stored engagement, and load the newest one now."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tastegraph.ads import ctr_training
from tastegraph.ads.ctr_training import CtrTrainingParams, CtrTrainingResult
from tastegraph.bootstrap import System
from tastegraph.recommend import ModelDescription, TrainingParams, model_store, train

__all__ = [
    "CtrTrainingParams",
    "CtrTrainingResult",
    "ModelInfo",
    "Trained",
    "TrainingParams",
    "reload",
    "train_ad_ctr",
    "train_new_version",
]

ModelInfo = ModelDescription  # what is loaded: version, creation time, counts, off-site expiry
Progress = Callable[[str, int, int], None]  # (stage, done, total)


@dataclass(frozen=True)
class Trained:
    version: str
    path: Path
    meta: model_store.Meta  # the version's meta.json
    pruned: list[str]
    ad_ctr: CtrTrainingResult  # the pCTR model written beside the versions (or why none was)


def reload(system: System) -> ModelInfo | None:
    """Load the newest complete model version; what is loaded now (None: no model)."""
    system.models.reload()
    model = system.models.current(system.clock.now())
    return None if model is None else model.describe()


def train_ad_ctr(
    system: System, progress: Progress, params: CtrTrainingParams = CtrTrainingParams()
) -> CtrTrainingResult:
    """Fit the Promoted Pins pCTR model from the ad log (or the organic prior when it holds too few
    impressions or clicks: ads.ctr_training) and write TASTEGRAPH_MODEL_DIR/ad_ctr.npz. Serving
    re-reads the file within half a minute of it changing; nothing is written when there are neither
    enough ads logged nor any organic engagement."""
    with system.read(long_running=True) as conn:
        return ctr_training.train_and_write(
            conn, system.settings.model_dir, system.clock.now(), params, progress
        )


def train_new_version(
    system: System,
    params: TrainingParams,
    keep: int,
    progress: Progress,
    ctr_params: CtrTrainingParams = CtrTrainingParams(),
) -> Trained:
    """Train on everything stored (only what each person's consent allows now), write the version to
    TASTEGRAPH_MODEL_DIR and delete all but the newest `keep` versions; then the pCTR model
    (`train_ad_ctr`). A running server picks the version up on SIGHUP or `reload`, the pCTR model on
    its own. Raises InvalidInput when there is nothing to train on (and then trains no pCTR model)."""
    # Reading all engagement takes longer than a request's statement timeout allows.
    with system.read(long_running=True) as conn:
        artifact = train(conn, system.consent, system.clock.now(), params, progress)
    model_dir = system.settings.model_dir
    path = model_store.save(model_dir, artifact)
    pruned = model_store.prune(model_dir, keep)
    ad_ctr = train_ad_ctr(system, progress, ctr_params)
    return Trained(artifact.version, path, artifact.meta, pruned, ad_ctr)
