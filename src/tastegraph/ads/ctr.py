"""Predicted click-through rate (pCTR) for Promoted Pins: hashed features, logistic regression, calibration.

What the auction needs from this module is one number per candidate ad, the probability that this person
clicks it in this slot. It is made of three parts:

* **Features** (`CtrFeatures`): the ad, its advertiser, its topic, the placement, the person's affinity
  to the ad's topic, the slot's position and optionally the Pin. Each becomes a token ("ad=17",
  "topic=hiking", "pos=3", "aff=0.2-0.35", ...), and a few crosses are added (topic x affinity, placement x
  position, topic x placement, ad x placement). Tokens are hashed with MurmurHash3 (x86, 32 bit) into a
  fixed space of ``2**n_bits`` weights, so a new ad, advertiser or topic needs no vocabulary change: an
  unseen token lands on a weight that is (almost always) zero and the prediction falls back to what the
  other tokens know.
* **The model** (`fit`): L2-regularized logistic regression (scikit-learn, lbfgs; the intercept is not
  penalized). The regularization strength is chosen on a validation split carved from the training
  rows -- the latest ones when times are given, since the model will predict the future -- and never on
  a test set.
* **Calibration**: Platt scaling by default, fitted on the same validation split: a logistic map
  ``p = sigmoid(a * z + b)`` of the model's logit ``z``. Why Platt and not isotonic: an L2-regularized
  logistic model is usually miscalibrated only by a shrink/shift of its logit (regularization pulls
  logits towards the mean; new ads shift the base rate), which two parameters correct; a validation
  split holds only some hundreds to a few thousand clicks, on which an isotonic step function overfits
  and, by creating ties, costs ranking quality (AUC). Isotonic is available (``calibration="isotonic"``)
  as a piecewise-linear map for data sets with many more clicks.

Serving never touches scikit-learn objects: a `CtrModel` is the weight vector, the intercept and the
calibration map as numpy arrays, and `CtrModel.predict` gathers and sums the hashed weights itself,
vectorized over the batch. `CtrModel.save` writes a plain ``.npz`` (no pickles) and a JSON file beside it.

Before any ad has been shown there are no ad impressions to learn from. `organic_prior` builds a
`CtrModel` of the same shape from the organic click and close-up rates of Pins and topics (smoothed
towards the topic's and the overall rate), so serving code has one kind of model to call either way.
"""

from __future__ import annotations

import itertools
import json
import math
import secrets
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import numpy as np
import scipy.sparse as sp

from tastegraph.kernel.errors import InvalidInput

__all__ = [
    "DEFAULT_N_BITS",
    "PLACEMENTS",
    "CtrFeatures",
    "CtrModel",
    "FitParams",
    "OrganicCounts",
    "PinOrganicCounts",
    "fit",
    "hashed_matrix",
    "organic_prior",
    "serving_features",
    "token_index",
]

Placement = Literal["browse", "search", "related"]
PLACEMENTS: tuple[Placement, ...] = ("browse", "search", "related")
Calibration = Literal["platt", "isotonic", "none"]

DEFAULT_N_BITS = 20
FORMAT_VERSION = 1
HASH_NAME = "murmurhash3_x86_32"
_CROSS_SEED = 0x7A6C  # seeds the hashing of crosses (fixed: part of the model's format)
_EPS = 1e-6  # predictions stay inside (0, 1), so log-loss and logits stay finite


# --- features ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CtrFeatures:
    """What is known about one (person, ad, slot) when the auction asks for a click probability.

    Attributes
    ----------
    ad_id, advertiser_id
        The ad and its advertiser (any stable ids; hashed, never looked up).
    topic
        The topic slug of the ad's Pin, or None when it has none.
    placement
        Where the slot is: ``"browse"`` (home feed), ``"search"`` or ``"related"`` (related Pins).
    affinity
        The person's affinity to the ad's topic, in [0, 1], or None when unknown (signed out, no
        consent to use it, no topic).
    position
        The slot's 0-based position on the page.
    pin_id
        The ad's Pin, when known; used by the organic prior (`organic_prior`), and learned like any
        other token once ad impressions are logged.
    """

    ad_id: int | str
    advertiser_id: int | str
    topic: str | None
    placement: Placement
    affinity: float | None
    position: int
    pin_id: int | None = None

    def __post_init__(self) -> None:
        if self.placement not in PLACEMENTS:
            raise InvalidInput(f"placement must be one of {', '.join(PLACEMENTS)}", field="placement")
        if self.affinity is not None and not (0.0 <= self.affinity <= 1.0):  # NaN fails this too
            raise InvalidInput("affinity must be between 0 and 1", field="affinity")
        if self.position < 0:
            raise InvalidInput("position must be 0 or more", field="position")


def serving_features(
    *,
    ad_id: int,
    advertiser_id: int,
    pin_id: int,
    pin_topics: Collection[str],
    placement: Placement,
    affinity: Mapping[str, float] | None,
    position: int,
) -> CtrFeatures:
    """The one rule that turns an ad and a request into a row, shared by serving (ads.delivery) and
    training (ads.ctr_training), so a model learns the very tokens serving later asks about.

    The topic is the alphabetically first of `pin_topics` (the topics of the ad group's Pins); the
    affinity is the person's highest share among those topics (0 when none of them is theirs), or None
    when the person has no affinities at all (signed out, nothing engaged with yet).
    """
    return CtrFeatures(
        ad_id=ad_id,
        advertiser_id=advertiser_id,
        topic=min(pin_topics) if pin_topics else None,
        placement=placement,
        affinity=max((affinity.get(t, 0.0) for t in pin_topics), default=None) if affinity else None,
        position=position,
        pin_id=pin_id,
    )


# Position buckets: the first ten slots one by one (where most clicks are), then doubling widths.
_POS_EDGES = (10, 15, 20, 30, 50, 100)
# Affinity buckets: shares of a person's engagement in a topic are mostly small, so the edges are too.
_AFF_EDGES = (0.0, 0.05, 0.1, 0.2, 0.35, 0.5)


def position_bucket(position: int) -> str:
    """The position token's value: ``"0"`` .. ``"9"``, then ``"10-14"``, ``"15-19"``, ... ``"100+"``."""
    if position < _POS_EDGES[0]:
        return str(position)
    for lo, hi in itertools.pairwise(_POS_EDGES):
        if position < hi:
            return f"{lo}-{hi - 1}"
    return f"{_POS_EDGES[-1]}+"


def affinity_bucket(affinity: float | None) -> str:
    """The affinity token's value: ``"none"``, ``"0"`` (exactly zero) or the bucket ``"lo-hi"``."""
    if affinity is None:
        return "none"
    if affinity <= 0.0:
        return "0"
    for lo, hi in itertools.pairwise(_AFF_EDGES):
        if affinity <= hi:
            return f"{lo:g}-{hi:g}"
    return f">{_AFF_EDGES[-1]:g}"


# The tokens of one row, in a fixed order; then the crosses, each a pair of positions in that order.
_FIELDS = ("ad", "adv", "topic", "place", "pos", "aff")
_CROSSES = ((2, 5), (3, 4), (2, 3), (0, 3))  # topic x aff, place x pos, topic x place, ad x place
_PIN_FIELD = "pin"
AFFINITY_VALUE_TOKEN = "affinity_value"  # one numeric slot carrying the affinity itself (0 when unknown)
# The names of a row's hashed columns (tokens, then crosses); a model may use only some (`CtrModel.uses`).
COLUMNS: tuple[str, ...] = (*_FIELDS, *(f"{_FIELDS[a]}x{_FIELDS[b]}" for a, b in _CROSSES))
ALL_USES: tuple[str, ...] = (*COLUMNS, AFFINITY_VALUE_TOKEN, _PIN_FIELD)


@lru_cache(maxsize=1 << 17)
def _hash32(token: str) -> int:
    # sklearn's MurmurHash3 binding (C); imported here so importing this module stays cheap.
    from sklearn.utils import murmurhash3_32

    return int(murmurhash3_32(token, seed=0, positive=True))


def token_index(token: str, n_bits: int = DEFAULT_N_BITS) -> int:
    """The weight index of a token: its unsigned 32-bit MurmurHash3 (seed 0) modulo ``2**n_bits``.

    Examples
    --------
    >>> token_index("topic=hiking", 20) == token_index("topic=hiking", 20)
    True
    """
    return _hash32(token) & ((1 << n_bits) - 1)


def _row_tokens(f: CtrFeatures) -> tuple[str, ...]:
    """A row's tokens, in `_FIELDS` order (what `_hashed` hashes, piece by cached piece)."""
    return (
        *_ad_tokens(f.ad_id, f.advertiser_id, f.topic),
        *_slot_tokens(f.placement, f.position),
        f"aff={affinity_bucket(f.affinity)}",
    )


def _ad_tokens(ad_id: int | str, advertiser_id: int | str, topic: str | None) -> tuple[str, str, str]:
    return f"ad={ad_id}", f"adv={advertiser_id}", f"topic={topic if topic is not None else '-'}"


def _slot_tokens(placement: str, position: int) -> tuple[str, str]:
    return f"place={placement}", f"pos={position_bucket(position)}"


# Serving sees the same ads and slots over and over: their hashes are cached as whole groups.
@lru_cache(maxsize=1 << 16)
def _ad_hashes(ad_id: int | str, advertiser_id: int | str, topic: str | None) -> tuple[int, int, int]:
    a, b, c = (_hash32(t) for t in _ad_tokens(ad_id, advertiser_id, topic))
    return a, b, c


@lru_cache(maxsize=1 << 12)
def _slot_hashes(placement: str, position: int) -> tuple[int, int]:
    a, b = (_hash32(t) for t in _slot_tokens(placement, position))
    return a, b


@lru_cache(maxsize=1 << 10)
def _affinity_hash(affinity: float | None) -> int:
    return _hash32(f"aff={affinity_bucket(affinity)}")


def _cross_hash(a: np.ndarray, b: np.ndarray, which: int) -> np.ndarray:
    """Hash pairs of 32-bit token hashes into one, elementwise (the two calls keep a x b != b x a)."""
    from sklearn.utils import murmurhash3_32

    seed = _CROSS_SEED + which
    hb = murmurhash3_32(b.astype(np.uint32).view(np.int32), seed=seed, positive=True)
    key = (a.astype(np.uint32) ^ np.asarray(hb, dtype=np.uint32)).view(np.int32)
    return np.asarray(murmurhash3_32(key, seed=seed, positive=True), dtype=np.uint64)


def _hashed(features: Sequence[CtrFeatures], n_bits: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The rows' hashed indices ``(n, len(COLUMNS))``, their affinity values ``(n,)`` (0 when unknown)
    and their Pin indices ``(n,)`` (-1 where a row has no Pin)."""
    n = len(features)
    mask = (1 << n_bits) - 1
    base = np.empty((n, len(_FIELDS)), dtype=np.uint64)
    affinity = np.zeros(n, dtype=np.float64)
    pins = np.full(n, -1, dtype=np.int64)
    for i, f in enumerate(features):
        base[i] = (
            *_ad_hashes(f.ad_id, f.advertiser_id, f.topic),
            *_slot_hashes(f.placement, f.position),
            _affinity_hash(f.affinity),
        )
        if f.affinity is not None:
            affinity[i] = f.affinity
        if f.pin_id is not None:
            pins[i] = _hash32(f"{_PIN_FIELD}={f.pin_id}") & mask
    if n == 0:
        return np.empty((0, len(COLUMNS)), dtype=np.int64), affinity, pins
    crosses = [_cross_hash(base[:, a], base[:, b], k) for k, (a, b) in enumerate(_CROSSES)]
    columns = np.column_stack([base, *crosses]) & np.uint64(mask)
    return columns.astype(np.int64), affinity, pins


def hashed_matrix(features: Sequence[CtrFeatures], n_bits: int = DEFAULT_N_BITS) -> sp.csr_matrix:
    """The rows as a sparse ``(n, 2**n_bits)`` matrix: 1 at each token's index (summed where tokens
    collide), the affinity value at `AFFINITY_VALUE_TOKEN`'s index, 1 at the Pin's index when known.

    This is what `fit` trains on; `CtrModel.predict` computes the same dot products without building it.
    """
    columns, affinity, pins = _hashed(features, n_bits)
    n, width = columns.shape
    has_pin = pins >= 0
    aff_col = token_index(AFFINITY_VALUE_TOKEN, n_bits)
    rows = np.concatenate([np.repeat(np.arange(n), width), np.arange(n), np.flatnonzero(has_pin)])
    cols = np.concatenate([columns.ravel(), np.full(n, aff_col), pins[has_pin]])
    vals = np.concatenate([np.ones(n * width), affinity, np.ones(int(has_pin.sum()))])
    m = sp.csr_matrix((vals, (rows, cols)), shape=(n, 1 << n_bits), dtype=np.float64)
    m.sum_duplicates()
    return m


# --- the model --------------------------------------------------------------------------------------


def _sigmoid(z: np.ndarray) -> np.ndarray:
    out: np.ndarray = 1.0 / (1.0 + np.exp(-np.clip(z, -35.0, 35.0)))
    return out


def _logit(p: np.ndarray) -> np.ndarray:
    q = np.clip(p, _EPS, 1.0 - _EPS)
    out: np.ndarray = np.log(q / (1.0 - q))
    return out


@dataclass
class CtrModel:
    """A trained (or prior) click-through-rate model, as plain arrays.

    Attributes
    ----------
    weights
        ``(2**n_bits,)`` float64: one weight per hashed index.
    intercept
        The logit of a row whose tokens all have weight zero.
    calibration
        ``"platt"``: `calibration_map` is ``[a, b]`` and ``p = sigmoid(a * z + b)``;
        ``"isotonic"``: `calibration_map` is ``(2, k)``, raw probabilities and calibrated ones,
        interpolated linearly; ``"none"``: ``p = sigmoid(z)``.
    meta
        JSON-ready facts: how it was made, the chosen parameters, validation figures, counts.
    uses
        Which of a row's hashed parts (`ALL_USES`) count. A trained model uses all; the organic prior
        only the topic and the Pin, so that the other tokens of a row cannot land on its few nonzero
        weights by a hash collision.
    """

    weights: np.ndarray
    intercept: float
    calibration: Calibration = "none"
    calibration_map: np.ndarray = field(default_factory=lambda: np.empty(0))
    meta: dict[str, Any] = field(default_factory=dict)
    uses: tuple[str, ...] = ALL_USES

    def __post_init__(self) -> None:
        unknown = set(self.uses) - set(ALL_USES)
        if unknown:
            raise ValueError(f"unknown parts in uses: {sorted(unknown)}")
        n = int(self.weights.shape[0])
        if self.weights.ndim != 1 or n < 2 or n & (n - 1):
            raise ValueError("weights must be one-dimensional with a power-of-two length")

    @property
    def n_bits(self) -> int:
        return int(self.weights.shape[0]).bit_length() - 1

    def logits(self, features: Sequence[CtrFeatures]) -> np.ndarray:
        """The uncalibrated logits ``intercept + sum of the rows' hashed weights``, shape ``(n,)``."""
        columns, affinity, pins = _hashed(features, self.n_bits)
        w = self.weights
        used = [j for j, name in enumerate(COLUMNS) if name in self.uses]
        z = self.intercept + w[columns[:, used]].sum(axis=1)
        if AFFINITY_VALUE_TOKEN in self.uses:
            z += affinity * w[token_index(AFFINITY_VALUE_TOKEN, self.n_bits)]
        if _PIN_FIELD in self.uses:
            has_pin = pins >= 0
            z[has_pin] += w[pins[has_pin]]
        out: np.ndarray = z
        return out

    def calibrate(self, z: np.ndarray) -> np.ndarray:
        """Map logits to calibrated probabilities, clipped to ``[1e-6, 1 - 1e-6]``."""
        if self.calibration == "platt":
            a, b = self.calibration_map
            p = _sigmoid(a * z + b)
        elif self.calibration == "isotonic":
            raw, cal = self.calibration_map
            p = np.interp(_sigmoid(z), raw, cal)
        else:
            p = _sigmoid(z)
        out: np.ndarray = np.clip(p, _EPS, 1.0 - _EPS)
        return out

    def predict(self, features: Sequence[CtrFeatures]) -> np.ndarray:
        """Calibrated click probabilities, one per row, each strictly between 0 and 1.

        Examples
        --------
        >>> prior = organic_prior({}, {}, OrganicCounts(impressions=1000, clicks=20))
        >>> row = CtrFeatures(ad_id=1, advertiser_id=7, topic=None, placement="browse",
        ...                   affinity=None, position=3)
        >>> round(float(prior.predict([row])[0]), 3)
        0.02
        """
        return self.calibrate(self.logits(features))

    # --- files ---

    def save(self, path: str | Path) -> None:
        """Write ``path`` (``.npz``: weights, intercept, calibration map; the suffix is added when
        missing) and the same name with ``.json`` (format, hashing, calibration kind, uses, meta).

        No pickles: `load` reads the arrays with ``allow_pickle=False``. Both files carry the same
        random ``build`` id, so `load` can tell a pair written together from a new ``.json`` beside an
        old ``.npz`` (a reader between the two renames of an atomic replace) and refuse the mix.
        """
        p = Path(path)
        build = secrets.token_hex(8)
        np.savez_compressed(
            p,
            weights=self.weights.astype(np.float64),
            intercept=np.array([self.intercept], dtype=np.float64),
            calibration_map=np.asarray(self.calibration_map, dtype=np.float64),
            build=np.frombuffer(bytes.fromhex(build), dtype=np.uint8),
        )
        written = p if p.suffix == ".npz" else p.with_name(p.name + ".npz")
        head = {
            "format_version": FORMAT_VERSION,
            "build": build,
            "hash": HASH_NAME,
            "n_bits": self.n_bits,
            "fields": list(_FIELDS),
            "crosses": [[_FIELDS[a], _FIELDS[b]] for a, b in _CROSSES],
            "calibration": self.calibration,
            "uses": list(self.uses),
            "meta": self.meta,
        }
        _meta_path(written).write_text(json.dumps(head, indent=2, sort_keys=True, default=float))

    @classmethod
    def load(cls, path: str | Path) -> CtrModel:
        """Read a model written by `save` (give the same path)."""
        p = Path(path)
        p = p if p.suffix == ".npz" else p.with_name(p.name + ".npz")
        head = json.loads(_meta_path(p).read_text())
        if head.get("format_version") != FORMAT_VERSION or head.get("hash") != HASH_NAME:
            raise ValueError(f"{p}: not a pCTR model of format {FORMAT_VERSION} hashed with {HASH_NAME}")
        with np.load(p, allow_pickle=False) as npz:
            weights = np.asarray(npz["weights"])
            intercept = float(npz["intercept"][0])
            calibration_map = np.asarray(npz["calibration_map"])
            build = bytes(np.asarray(npz["build"], dtype=np.uint8)).hex() if "build" in npz.files else None
        if head.get("build") != build:  # files written before build ids have neither
            raise ValueError(f"{p}: its .json was not written with this .npz")
        if weights.shape != (1 << int(head["n_bits"]),):
            raise ValueError(f"{p}: weights do not match n_bits={head['n_bits']}")
        if head["calibration"] not in ("platt", "isotonic", "none"):
            raise ValueError(f"{p}: unknown calibration {head['calibration']!r}")
        return cls(
            weights, intercept, head["calibration"], calibration_map, dict(head["meta"]), tuple(head["uses"])
        )


def _meta_path(npz_path: Path) -> Path:
    return npz_path.with_suffix(".json")


# --- training ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FitParams:
    """How `fit` trains.

    Attributes
    ----------
    n_bits
        Size of the hashed space, ``2**n_bits`` weights.
    c_grid
        Inverse L2 strengths (scikit-learn's ``C``) tried; the one with the lowest validation log-loss wins.
    validation_fraction
        Share of the training rows held out to choose ``C`` and fit the calibration: the latest rows
        when `fit` is given times, a seeded random share otherwise.
    calibration
        ``"platt"`` (default; see the module docstring for why), ``"isotonic"`` or ``"none"``.
    refit
        After choosing ``C`` and fitting the calibration, train again on all rows (validation included)
        with that ``C``. With fresh items (news, new ads) the latest rows are the most informative, so
        leaving them out costs more than the small mismatch of applying the validation-fitted calibration
        to the refitted model.
    seed
        For the random validation split when no times are given.
    """

    n_bits: int = DEFAULT_N_BITS
    c_grid: tuple[float, ...] = (0.03, 0.1, 0.3, 1.0, 3.0)
    validation_fraction: float = 0.2
    calibration: Calibration = "platt"
    refit: bool = True
    seed: int = 0
    max_iter: int = 500


def _log_loss(y: np.ndarray, p: np.ndarray) -> float:
    q = np.clip(p, _EPS, 1.0 - _EPS)
    return float(-np.mean(y * np.log(q) + (1.0 - y) * np.log(1.0 - q)))


def _train_lr(x: sp.csr_matrix, y: np.ndarray, c: float, max_iter: int) -> tuple[np.ndarray, float]:
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    clf = LogisticRegression(C=c, solver="lbfgs", max_iter=max_iter, tol=1e-4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # near-optimal is fine; figures say so
        clf.fit(x, y)
    return np.asarray(clf.coef_[0], dtype=np.float64), float(clf.intercept_[0])


def _fit_calibration(kind: Calibration, z: np.ndarray, y: np.ndarray) -> np.ndarray:
    if kind == "platt":
        from sklearn.linear_model import LogisticRegression

        # Nearly unregularized logistic regression of the labels on the logit.
        platt = LogisticRegression(C=1e6, solver="lbfgs", max_iter=1000).fit(z.reshape(-1, 1), y)
        return np.array([float(platt.coef_[0, 0]), float(platt.intercept_[0])])
    if kind == "isotonic":
        from sklearn.isotonic import IsotonicRegression

        raw = _sigmoid(z)
        iso = IsotonicRegression(y_min=_EPS, y_max=1.0 - _EPS, out_of_bounds="clip").fit(raw, y)
        return np.vstack([iso.X_thresholds_, iso.y_thresholds_]).astype(np.float64)
    return np.empty(0)


def _split(n: int, times: np.ndarray | None, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    n_val = max(1, round(n * fraction))
    if times is not None:
        order = np.argsort(times, kind="stable")
    else:
        order = np.random.default_rng(seed).permutation(n)
    return np.sort(order[: n - n_val]), np.sort(order[n - n_val :])


def fit(
    examples: Sequence[CtrFeatures],
    labels: Sequence[int] | np.ndarray,
    times: Sequence[float] | np.ndarray | None = None,
    params: FitParams = FitParams(),
) -> CtrModel:
    """Train a calibrated pCTR model on logged impressions.

    Parameters
    ----------
    examples
        One `CtrFeatures` per logged impression.
    labels
        1 where the impression was clicked, else 0.
    times
        Optional sortable times of the impressions (e.g. Unix seconds); when given, the validation split
        is the latest `FitParams.validation_fraction` of them.
    params
        See `FitParams`.

    Returns
    -------
    CtrModel
        With ``meta`` holding the chosen ``C``, the validation log-loss of every ``C`` tried, the
        validation log-loss and AUC before and after calibration, and the row and click counts.

    Raises
    ------
    InvalidInput
        When the lengths disagree, a label is not 0 or 1, or the training or validation rows lack
        either clicks or non-clicks.
    """
    from sklearn.metrics import roc_auc_score

    y = np.asarray(labels, dtype=np.float64)
    n = len(examples)
    if y.shape != (n,):
        raise InvalidInput("labels must have one entry per example", field="labels")
    if not np.isin(y, (0.0, 1.0)).all():
        raise InvalidInput("labels must be 0 or 1", field="labels")
    t = None if times is None else np.asarray(times, dtype=np.float64)
    if t is not None and t.shape != (n,):
        raise InvalidInput("times must have one entry per example", field="times")
    if not 0.0 < params.validation_fraction < 1.0:
        raise InvalidInput("validation_fraction must be between 0 and 1", field="validation_fraction")

    x = hashed_matrix(examples, params.n_bits)
    train_idx, val_idx = _split(n, t, params.validation_fraction, params.seed)
    for name, idx in (("training", train_idx), ("validation", val_idx)):
        if len(np.unique(y[idx])) < 2:
            raise InvalidInput(f"the {name} rows need both clicks and non-clicks", field="labels")
    x_tr, y_tr, x_val, y_val = x[train_idx], y[train_idx], x[val_idx], y[val_idx]

    tried: dict[str, float] = {}
    best: tuple[float, float, np.ndarray, float] | None = None  # (loss, C, weights, intercept)
    for c in params.c_grid:
        w, b = _train_lr(x_tr, y_tr, c, params.max_iter)
        loss = _log_loss(y_val, _sigmoid(x_val @ w + b))
        tried[f"{c:g}"] = loss
        if best is None or loss < best[0]:
            best = (loss, c, w, b)
    assert best is not None
    _, c_best, w, b = best
    z_val = x_val @ w + b
    cal_map = _fit_calibration(params.calibration, z_val, y_val)
    model = CtrModel(w, b, params.calibration, cal_map)
    p_val_raw, p_val_cal = _sigmoid(z_val), model.calibrate(z_val)
    if params.refit:
        model.weights, model.intercept = _train_lr(x, y, c_best, params.max_iter)
    model.meta = {
        "kind": "logged_ads",
        "c": c_best,
        "validation_log_loss_by_c": tried,
        "validation": {
            "rows": len(val_idx),
            "clicks": int(y_val.sum()),
            "log_loss_raw": _log_loss(y_val, p_val_raw),
            "log_loss_calibrated": _log_loss(y_val, p_val_cal),  # in-sample for the calibration map
            "auc_raw": float(roc_auc_score(y_val, p_val_raw)),
        },
        "rows": n,
        "clicks": int(y.sum()),
        "refit": params.refit,
        "split": "latest" if t is not None else "random",
        "n_bits": params.n_bits,
    }
    return model


# --- the cold-start prior ---------------------------------------------------------------------------


@dataclass(frozen=True)
class OrganicCounts:
    """Organic (unpaid) engagement counts: how often something was shown, clicked through, opened."""

    impressions: int
    clicks: int = 0
    closeups: int = 0

    def __post_init__(self) -> None:
        if min(self.impressions, self.clicks, self.closeups) < 0:
            raise InvalidInput("organic counts must be 0 or more", field="impressions")


@dataclass(frozen=True)
class PinOrganicCounts(OrganicCounts):
    """A Pin's organic counts and the topic its rate is smoothed towards (its ad's topic)."""

    topic: str | None = None


def organic_prior(
    pins: Mapping[int, PinOrganicCounts],
    topics: Mapping[str, OrganicCounts],
    overall: OrganicCounts,
    *,
    closeup_weight: float = 0.5,
    strength: float = 200.0,
    n_bits: int = DEFAULT_N_BITS,
) -> CtrModel:
    """A pCTR model from organic click and close-up rates, for when no ad impressions are logged yet.

    The rate of something is ``(clicks + closeup_weight * closeups) / impressions``: a click through is
    what an ad is paid for; a close-up shows interest but is not a click, so it counts part (half by
    default) until logged ad clicks can fit the weight. Rates are smoothed hierarchically with
    `strength` pseudo-impressions (a Beta prior): the overall rate; a topic's towards the overall one;
    a Pin's towards its topic's (or the overall one without a topic). So a Pin seen 10 times says little
    and a Pin seen 10,000 times says nearly all.

    The result is a `CtrModel` whose intercept is the overall logit, whose topic tokens carry
    ``logit(topic) - logit(overall)`` and whose Pin tokens carry ``logit(pin) - logit(pin's topic)``.
    So a row with a known Pin (and that Pin's topic) predicts the Pin's smoothed rate, a row with an
    unseen Pin its topic's, and one with neither the overall rate. Placement, position and affinity get
    no weight (organic counts here carry none). Where two tokens hash to one index, that index gets the
    mean of their weights (rare at the default 2**20 indices; counted in ``meta["collisions"]``).

    Parameters
    ----------
    pins
        Pin id -> its counts and topic.
    topics
        Topic slug -> counts over all Pins in it.
    overall
        Counts over everything (must have impressions).
    closeup_weight
        What one close-up counts, in clicks (0 to 1).
    strength
        Pseudo-impressions each level is smoothed with.
    n_bits
        Size of the hashed space.

    Returns
    -------
    CtrModel
        Uncalibrated (``calibration="none"``), ``meta["kind"] == "organic_prior"``.
    """
    if overall.impressions <= 0:
        raise InvalidInput("the overall counts need impressions", field="impressions")
    if not 0.0 <= closeup_weight <= 1.0:
        raise InvalidInput("closeup_weight must be between 0 and 1", field="closeup_weight")
    if strength <= 0.0:
        raise InvalidInput("strength must be positive", field="strength")

    def engaged(c: OrganicCounts) -> float:
        return min(float(c.impressions), c.clicks + closeup_weight * c.closeups)

    def smoothed(c: OrganicCounts, towards: float) -> float:
        return (engaged(c) + strength * towards) / (c.impressions + strength)

    base = min(max(engaged(overall) / overall.impressions, _EPS), 1.0 - _EPS)
    base_logit = math.log(base / (1.0 - base))
    topic_rate = {slug: smoothed(c, base) for slug, c in topics.items()}

    def logit(p: float) -> float:
        q = min(max(p, _EPS), 1.0 - _EPS)
        return math.log(q / (1.0 - q))

    sums = np.zeros(1 << n_bits)
    hits = np.zeros(1 << n_bits)
    for slug, rate in topic_rate.items():
        i = token_index(f"topic={slug}", n_bits)
        sums[i] += logit(rate) - base_logit
        hits[i] += 1
    for pin_id, c in pins.items():
        towards = topic_rate.get(c.topic, base) if c.topic is not None else base
        i = token_index(f"{_PIN_FIELD}={pin_id}", n_bits)
        sums[i] += logit(smoothed(c, towards)) - logit(towards)
        hits[i] += 1
    weights = np.divide(sums, hits, out=np.zeros_like(sums), where=hits > 0)
    return CtrModel(
        weights,
        base_logit,
        "none",
        np.empty(0),
        uses=("topic", _PIN_FIELD),
        meta={
            "kind": "organic_prior",
            "closeup_weight": closeup_weight,
            "strength": strength,
            "overall_rate": base,
            "pins": len(pins),
            "topics": len(topics),
            "collisions": int((hits > 1).sum()),
            "n_bits": n_bits,
        },
    )
