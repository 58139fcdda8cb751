"""The pCTR model serving uses: the one `tastegraph train` last wrote (MODEL_FILE in the model
directory), re-read when the file changes; before any, a constant prior (COLD_START_CTR), which ranks
CPC ads by bid alone and says so in `describe()`."""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from tastegraph.ads.ctr import DEFAULT_N_BITS, CtrFeatures, CtrModel

log = logging.getLogger("tastegraph.ads")

MODEL_FILE = "ad_ctr.npz"
COLD_START_CTR = 0.01  # about the click-through rate of promoted content on image-led feeds
CHECK_SECONDS = 30.0


def constant_model(ctr: float = COLD_START_CTR) -> CtrModel:
    return CtrModel(
        weights=np.zeros(2**DEFAULT_N_BITS),
        intercept=math.log(ctr / (1 - ctr)),
        meta={"kind": "constant prior", "ctr": ctr},
    )


class CtrHolder:
    def __init__(self, model_dir: Path) -> None:
        self.path = model_dir / MODEL_FILE
        self._model = constant_model()
        self._mtime: float | None = None
        self._checked = 0.0
        self._lock = threading.Lock()

    def current(self) -> CtrModel:
        now = time.monotonic()
        if now - self._checked >= CHECK_SECONDS:
            with self._lock:
                self._checked = now
                self._reload()
        return self._model

    def _reload(self) -> None:
        try:
            mtime = self.path.stat().st_mtime
        except FileNotFoundError:
            self._model, self._mtime = constant_model(), None
            return
        if mtime == self._mtime:
            return
        try:
            self._model, self._mtime = CtrModel.load(self.path), mtime
        except (OSError, ValueError, KeyError) as exc:  # a half-written or foreign file: keep the last
            log.warning("could not load the pCTR model %s: %s", self.path, exc)

    def predict(self, features: Sequence[CtrFeatures]) -> np.ndarray:
        return self.current().predict(features)

    def describe(self) -> dict[str, object]:
        return dict(self.current().meta)
