"""Training the pCTR model serving uses (ads.ctr_holder reads ``<model dir>/ad_ctr.npz``).

What it learns from
    Every logged ad impression of the last 90 days (AD_LOG_RETENTION: older rows are never used, swept
    or not), labelled 1 when a click was logged with the same token id, else 0. A click whose token has
    no logged impression (the impression report was lost, or the click came first) is a row too, labelled
    1: the ad was certainly seen. Each row gets the features serving computes for the same ad and slot
    (`ctr.serving_features`): the ad, its ad account, its Pin, the ad group's Pins' first topic, the
    placement and the slot's position as logged, and the person's topic affinity.

Consent
    The ad log is what people did with ads here (on-site activity, like saves and clicks); no consent
    purpose governs its use, and the model keeps no one's id: its weights are sums over everyone's rows
    of ads, advertisers, topics, placements, positions and affinity buckets. The one feature about a
    person, their topic affinity, is read with `recommend.topic_affinity`: the on-site shares serving uses
    for any signed-in person (removed topics left out), never off-site visits. A signed-out browser's
    row has no affinity, as at serving. An erased person's rows are gone from the log (ads.ad_log.erase)
    and so from the next training.

Which model is written
    * ``logged_ads``: with at least MIN_IMPRESSIONS impressions and MIN_CLICKS clicks. The latest
      HOLDOUT_FRACTION of rows (by time) is held out; a model is fitted on the rest (`ctr.fit`, which
      chooses its regularization and calibration on its own latest rows) and scored on the hold-out
      (AUC, log-loss, against the organic prior and the constant base rate); the model written is then
      fitted on all rows. If the hold-out model does no better than the organic prior (log-loss), or
      the rows cannot be fitted (a split without clicks), the prior is written instead, saying why.
    * ``organic_prior``: below those minimums (no ads at all included). Pins' and topics' organic rates
      from engagement (`ctr.organic_prior`): there is no organic impression log, so a Pin's exposure is
      counted as its engagement events of every kind (saves, clicks, close-ups, hides: each shows it was
      seen) and its rate is (clicks + half its close-ups) over that. Those rates are far above ad
      click-through rates, so they are used only relatively: the intercept is anchored to the logged ads'
      own rate smoothed towards COLD_START_CTR (ANCHOR_IMPRESSIONS pseudo-impressions), so an average Pin
      is predicted about what ads get, and a Pin or topic people click more often above it.
    * nothing: with too few ad impressions and no organic engagement either. Serving keeps what it has
      (the last file, or its constant prior) and `train_and_write` says so.

The file is written atomically: both files (``.npz`` and ``.json``) under temporary names in the model
directory, then renamed into place, ``.json`` first; their shared build id (`CtrModel.save`) makes a reader
that lands between the two renames refuse the mix and keep its last model until its next check.
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np
from sqlalchemy import Connection, exists, select

from tastegraph.ads.ad_log import AD_LOG_RETENTION
from tastegraph.ads.ctr import (
    PLACEMENTS,
    CtrFeatures,
    CtrModel,
    FitParams,
    OrganicCounts,
    PinOrganicCounts,
    fit,
    organic_prior,
    serving_features,
)
from tastegraph.ads.ctr_holder import COLD_START_CTR, MODEL_FILE
from tastegraph.ads.tables import ad_clicks, ad_impressions, ads
from tastegraph.catalog import content
from tastegraph.collect import engagement_reads
from tastegraph.kernel import InvalidInput
from tastegraph.recommend import topic_affinity

__all__ = [
    "ANCHOR_IMPRESSIONS",
    "EXPOSURE_KINDS",
    "HOLDOUT_FRACTION",
    "MIN_CLICKS",
    "MIN_IMPRESSIONS",
    "AdFacts",
    "CtrTrainingParams",
    "CtrTrainingResult",
    "LoggedImpression",
    "Rows",
    "anchored_prior",
    "build_rows",
    "choose_model",
    "organic_counts",
    "read_ad_facts",
    "read_logged",
    "train_and_write",
    "write_model",
]

# Below these a fitted model would learn mostly noise (a 20 % hold-out of 1,000 rows at 5 % holds about
# ten clicks): the organic prior is written instead.
MIN_IMPRESSIONS = 1_000
MIN_CLICKS = 50
HOLDOUT_FRACTION = 0.2
ANCHOR_IMPRESSIONS = 1_000.0  # pseudo-impressions at COLD_START_CTR the prior's level is smoothed with
EXPOSURE_KINDS = ("save", "click", "closeup", "hide")
MAX_ROWS = 2_000_000  # the latest rows kept when the log holds more

Progress = Callable[[str, int, int], None]
Kind = Literal["logged_ads", "organic_prior", "none"]


def _no_progress(stage: str, done: int, total: int) -> None:
    return None


@dataclass(frozen=True)
class CtrTrainingParams:
    """How `train_and_write` trains (the defaults are the documented minimums)."""

    min_impressions: int = MIN_IMPRESSIONS
    min_clicks: int = MIN_CLICKS
    holdout_fraction: float = HOLDOUT_FRACTION
    max_rows: int = MAX_ROWS
    fit: FitParams = field(default_factory=FitParams)
    closeup_weight: float = 0.5
    prior_strength: float = 200.0


# --- rows -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoggedImpression:
    """One logged impression (or a click without one) and whether it was clicked."""

    token_id: str
    ad_id: int
    ad_account_id: int
    user_id: int | None  # None: a signed-out browser
    placement: str
    position: int
    at: datetime  # when it was served (a click-only row: when it was clicked)
    clicked: bool


@dataclass(frozen=True)
class AdFacts:
    """What serving knows about an ad: its Pin and the topics of its ad group's Pins."""

    pin_id: int
    group_topics: frozenset[str]


@dataclass
class Rows:
    features: list[CtrFeatures]
    labels: np.ndarray  # 1 clicked, 0 not
    times: np.ndarray  # Unix seconds, ascending
    skipped: int = 0  # logged rows whose ad is gone or whose placement is unknown


def build_rows(
    logged: Iterable[LoggedImpression],
    ad_facts: Mapping[int, AdFacts],
    affinity: Mapping[int, Mapping[str, float]],
) -> Rows:
    """Training rows from logged impressions, in time order, with serving's features for each.

    `affinity` maps a person to their topic affinities (a person missing from it has none); a row
    without a person (signed out) never gets one.
    """
    kept: list[tuple[float, str, CtrFeatures, int]] = []
    skipped = 0
    for r in logged:
        facts = ad_facts.get(r.ad_id)
        if facts is None or r.placement not in PLACEMENTS or r.position < 0:
            skipped += 1
            continue
        person = affinity.get(r.user_id) if r.user_id is not None else None
        features = serving_features(
            ad_id=r.ad_id,
            advertiser_id=r.ad_account_id,
            pin_id=facts.pin_id,
            pin_topics=facts.group_topics,
            placement=r.placement,
            affinity=person,
            position=r.position,
        )
        kept.append((r.at.timestamp(), r.token_id, features, int(r.clicked)))
    kept.sort(key=lambda k: (k[0], k[1]))
    return Rows(
        [k[2] for k in kept],
        np.asarray([k[3] for k in kept], dtype=np.float64),
        np.asarray([k[0] for k in kept], dtype=np.float64),
        skipped,
    )


# --- reads ------------------------------------------------------------------------------------------


def read_logged(conn: Connection, since: datetime, limit: int = MAX_ROWS) -> list[LoggedImpression]:
    """Impressions logged since `since` (the latest `limit`), each labelled by a click with its token
    id, and clicks since `since` whose token has no logged impression."""
    i, c = ad_impressions, ad_clicks
    shown = conn.execute(
        select(
            i.c.token_id,
            i.c.ad_id,
            i.c.ad_account_id,
            i.c.user_id,
            i.c.placement,
            i.c.position,
            i.c.served_at,
            c.c.token_id.label("clicked"),
        )
        .select_from(i.outerjoin(c, c.c.token_id == i.c.token_id))
        .where(i.c.at >= since)
        .order_by(i.c.served_at.desc(), i.c.token_id)
        .limit(limit)
    )
    out = [
        LoggedImpression(
            r.token_id,
            int(r.ad_id),
            int(r.ad_account_id),
            None if r.user_id is None else int(r.user_id),
            r.placement,
            int(r.position),
            r.served_at,
            r.clicked is not None,
        )
        for r in shown
    ]
    only_clicked = conn.execute(
        select(c.c.token_id, c.c.ad_id, c.c.ad_account_id, c.c.user_id, c.c.placement, c.c.position, c.c.at)
        .where(c.c.at >= since, ~exists().where(i.c.token_id == c.c.token_id))
        .order_by(c.c.at.desc(), c.c.token_id)
        .limit(limit)
    )
    out += [
        LoggedImpression(
            r.token_id,
            int(r.ad_id),
            int(r.ad_account_id),
            None if r.user_id is None else int(r.user_id),
            r.placement,
            int(r.position),
            r.at,
            True,
        )
        for r in only_clicked
    ]
    return out


def _topics_of(conn: Connection, pin_ids: Sequence[int], chunk: int = 5_000) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    ordered = sorted(set(pin_ids))
    for start in range(0, len(ordered), chunk):
        out.update(content.topics_of(conn, ordered[start : start + chunk]))
    return out


def read_ad_facts(conn: Connection) -> dict[int, AdFacts]:
    """Every ad's Pin and its ad group's topics as the serving index computes them: the topics of the
    group's active ads' Pins (of all its ads' Pins when none is active now)."""
    rows = conn.execute(select(ads.c.id, ads.c.ad_group_id, ads.c.pin_id, ads.c.status)).all()
    topics = _topics_of(conn, [int(r.pin_id) for r in rows])
    active: dict[int, set[str]] = defaultdict(set)
    every: dict[int, set[str]] = defaultdict(set)
    for r in rows:
        pin_topics = topics.get(int(r.pin_id), [])
        every[int(r.ad_group_id)].update(pin_topics)
        if r.status == "active":
            active[int(r.ad_group_id)].update(pin_topics)
    group_topics = {g: frozenset(active.get(g, ts)) for g, ts in every.items()}
    return {int(r.id): AdFacts(int(r.pin_id), group_topics[int(r.ad_group_id)]) for r in rows}


@dataclass(frozen=True)
class Organic:
    pins: dict[int, PinOrganicCounts]
    topics: dict[str, OrganicCounts]
    overall: OrganicCounts


def organic_counts(conn: Connection, ad_pins: Iterable[int]) -> Organic:
    """Organic counts from engagement: per ad Pin, per topic (a Pin counts towards its first topic, the
    one serving names) and overall. Exposure is the Pin's engagement events of EXPOSURE_KINDS."""
    per_pin: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for pin_id, kind, n in engagement_reads.pin_kind_counts(conn, EXPOSURE_KINDS):
        per_pin[pin_id][kind] += n
    wanted = set(ad_pins)
    topics = _topics_of(conn, [*per_pin.keys(), *wanted])

    def counts(k: Mapping[str, int]) -> tuple[int, int, int]:
        return sum(k.values()), k.get("click", 0), k.get("closeup", 0)

    topic_sums: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    total = [0, 0, 0]
    for pin_id, kinds in per_pin.items():
        c = counts(kinds)
        pin_topics = topics.get(pin_id, [])
        if pin_topics:
            t = topic_sums[min(pin_topics)]
            for j in range(3):
                t[j] += c[j]
        for j in range(3):
            total[j] += c[j]
    pins = {
        p: PinOrganicCounts(*counts(per_pin.get(p, {})), topic=min(topics[p]) if topics.get(p) else None)
        for p in wanted
    }
    return Organic(
        pins,
        {slug: OrganicCounts(*c) for slug, c in topic_sums.items()},
        OrganicCounts(*total),
    )


# --- choosing the model -----------------------------------------------------------------------------


def anchored_prior(
    organic: Organic, logged_impressions: int, logged_clicks: int, params: CtrTrainingParams
) -> CtrModel | None:
    """The organic prior with its intercept at the logged ads' rate smoothed towards COLD_START_CTR;
    None when there is no organic engagement at all."""
    if organic.overall.impressions <= 0:
        return None
    prior = organic_prior(
        organic.pins,
        organic.topics,
        organic.overall,
        closeup_weight=params.closeup_weight,
        strength=params.prior_strength,
        n_bits=params.fit.n_bits,
    )
    level = (logged_clicks + ANCHOR_IMPRESSIONS * COLD_START_CTR) / (logged_impressions + ANCHOR_IMPRESSIONS)
    prior.intercept = math.log(level / (1.0 - level))
    prior.meta["organic_overall_rate"] = prior.meta.pop("overall_rate")
    prior.meta["anchored_ctr"] = level
    prior.meta["exposure"] = "engagement events: " + ", ".join(EXPOSURE_KINDS)
    return prior


def _log_loss(y: np.ndarray, p: np.ndarray) -> float:
    q = np.clip(p, 1e-6, 1.0 - 1e-6)
    return float(-np.mean(y * np.log(q) + (1.0 - y) * np.log(1.0 - q)))


def _evaluate(rows: Rows, prior: CtrModel | None, params: CtrTrainingParams) -> dict[str, Any]:
    """Fit on all but the latest rows and score the model on those (raises InvalidInput when a part lacks
    clicks or non-clicks)."""
    from sklearn.metrics import roc_auc_score

    n = len(rows.features)
    n_test = max(1, round(n * params.holdout_fraction))
    cut = n - n_test
    y_test = rows.labels[cut:]
    if len(np.unique(y_test)) < 2:
        raise InvalidInput("the hold-out rows need both clicks and non-clicks", field="labels")
    model = fit(rows.features[:cut], rows.labels[:cut], rows.times[:cut], params.fit)
    p = model.predict(rows.features[cut:])
    base = float(np.clip(rows.labels[:cut].mean(), 1e-6, 1.0 - 1e-6))
    out: dict[str, Any] = {
        "rows": n_test,
        "clicks": int(y_test.sum()),
        "from": datetime.fromtimestamp(float(rows.times[cut]), tz=UTC).isoformat(),
        "auc": float(roc_auc_score(y_test, p)),
        "log_loss": _log_loss(y_test, p),
        "log_loss_base_rate": _log_loss(y_test, np.full(n_test, base)),
    }
    if prior is not None:
        out["log_loss_prior"] = _log_loss(y_test, prior.predict(rows.features[cut:]))
    return out


def choose_model(
    rows: Rows, prior: CtrModel | None, params: CtrTrainingParams = CtrTrainingParams()
) -> tuple[CtrModel | None, str]:
    """The model to write (None: nothing) and why, in a sentence."""
    n, clicks = len(rows.features), int(rows.labels.sum())
    if n < params.min_impressions or clicks < params.min_clicks:
        why = (
            f"{n} logged ad impressions with {clicks} clicks, fewer than the "
            f"{params.min_impressions} impressions and {params.min_clicks} clicks a trained model needs"
        )
        return _prior_or_nothing(prior, why)
    try:
        holdout = _evaluate(rows, prior, params)
    except InvalidInput as exc:
        return _prior_or_nothing(prior, f"the logged ads could not be fitted: {exc.message}")
    if prior is not None and holdout["log_loss"] >= holdout["log_loss_prior"]:
        chosen, why = _prior_or_nothing(
            prior,
            f"the model trained on {n} impressions did no better than the organic prior on the hold-out "
            f"(log-loss {holdout['log_loss']:.4f} against {holdout['log_loss_prior']:.4f})",
        )
        if chosen is not None:
            chosen.meta["holdout_of_trained"] = holdout
        return chosen, why
    try:
        model = fit(rows.features, rows.labels, rows.times, params.fit)
    except InvalidInput as exc:  # all rows together fit whenever their parts did; kept for safety
        return _prior_or_nothing(prior, f"the logged ads could not be fitted: {exc.message}")
    model.meta["holdout"] = holdout
    model.meta["trained_on"] = {
        "impressions": n,
        "clicks": clicks,
        "from": datetime.fromtimestamp(float(rows.times[0]), tz=UTC).isoformat(),
        "until": datetime.fromtimestamp(float(rows.times[-1]), tz=UTC).isoformat(),
    }
    return model, (
        f"trained on {n} logged ad impressions with {clicks} clicks "
        f"(hold-out AUC {holdout['auc']:.3f}, log-loss {holdout['log_loss']:.4f})"
    )


def _prior_or_nothing(prior: CtrModel | None, why: str) -> tuple[CtrModel | None, str]:
    if prior is None:
        return None, why + "; no organic engagement for a prior either, so no pCTR model was written"
    prior.meta["reason"] = why
    return prior, "organic prior: " + why


# --- writing ----------------------------------------------------------------------------------------


def write_model(model_dir: Path, model: CtrModel) -> Path:
    """Write `model` to ``model_dir/ad_ctr.npz`` (and ``.json``) atomically; the ``.npz`` path."""
    model_dir.mkdir(parents=True, exist_ok=True)
    target = model_dir / MODEL_FILE
    scratch = Path(tempfile.mkdtemp(prefix=".ad_ctr-", dir=model_dir))
    try:
        model.save(scratch / MODEL_FILE)
        written = scratch / MODEL_FILE
        for part in (written.with_suffix(".json"), written):  # the .npz last: the holder watches it
            with part.open("rb") as f:
                os.fsync(f.fileno())
            os.replace(part, target.with_suffix(part.suffix))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return target


# --- all of it --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CtrTrainingResult:
    kind: Kind
    path: Path | None  # None: nothing written
    reason: str
    meta: dict[str, Any]

    def summary(self) -> dict[str, Any]:
        """What `tastegraph train` prints about it."""
        out: dict[str, Any] = {"kind": self.kind, "path": None if self.path is None else str(self.path)}
        out["reason"] = self.reason
        for key in ("trained_on", "holdout", "anchored_ctr", "pins", "topics"):
            if key in self.meta:
                out[key] = self.meta[key]
        return out


def train_and_write(
    conn: Connection,
    model_dir: Path,
    now: datetime,
    params: CtrTrainingParams = CtrTrainingParams(),
    progress: Progress | None = None,
) -> CtrTrainingResult:
    """Read the ad log and the organic engagement as of `now`, choose and fit the pCTR model (see the
    module docstring) and write it to ``model_dir/ad_ctr.npz``. Writes nothing when there is neither
    enough logged ads nor any organic engagement."""
    report = progress or _no_progress
    report("pCTR: ad log", 0, 1)
    logged = read_logged(conn, now - AD_LOG_RETENTION, params.max_rows)
    facts = read_ad_facts(conn)
    report("pCTR: ad log", 1, 1)
    people = sorted({r.user_id for r in logged if r.user_id is not None})
    affinity: dict[int, dict[str, float]] = {}
    for k, uid in enumerate(people):
        affinity[uid] = topic_affinity(conn, uid)
        if k % 200 == 0 or k == len(people) - 1:
            report("pCTR: affinities", k + 1, len(people))
    rows = build_rows(logged, facts, affinity)
    report("pCTR: organic", 0, 1)
    organic = organic_counts(conn, {f.pin_id for f in facts.values()})
    prior = anchored_prior(organic, len(rows.features), int(rows.labels.sum()), params)
    report("pCTR: organic", 1, 1)
    report("pCTR: fit", 0, 1)
    model, why = choose_model(rows, prior, params)
    report("pCTR: fit", 1, 1)
    if model is None:
        return CtrTrainingResult("none", None, why, {})
    model.meta["trained_at"] = now.isoformat()
    model.meta["logged"] = {
        "impressions": len(rows.features),
        "clicks": int(rows.labels.sum()),
        "people": len(people),
        "skipped": rows.skipped,
    }
    kind: Kind = "logged_ads" if model.meta.get("kind") == "logged_ads" else "organic_prior"
    return CtrTrainingResult(kind, write_model(model_dir, model), why, dict(model.meta))
