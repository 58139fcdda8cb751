"""The pCTR model (ads.ctr): it learns a planted signal and is calibrated, serves the same numbers after a
save/load round trip, hashes deterministically, and falls back when features are unseen."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from tastegraph.ads import ctr
from tastegraph.ads.ctr import CtrFeatures, CtrModel, FitParams, OrganicCounts, PinOrganicCounts
from tastegraph.kernel.errors import InvalidInput

SRC = Path(__file__).resolve().parents[2] / "src"
TOPICS = ("hiking", "baking", "cars", "garden")
PLACES: tuple[ctr.Placement, ...] = ("browse", "search", "related")
N_ADS = 40


def _logistic(z: np.ndarray) -> np.ndarray:
    out: np.ndarray = 1.0 / (1.0 + np.exp(-z))
    return out


def planted(n: int, seed: int) -> tuple[list[CtrFeatures], np.ndarray, np.ndarray]:
    """Rows whose true click probability comes from ad quality, position and topic affinity."""
    rng = np.random.default_rng(seed)
    quality = np.random.default_rng(99).normal(0.0, 0.6, N_ADS)  # fixed per ad, whatever the seed
    ads = rng.integers(0, N_ADS, n)
    positions = rng.integers(0, 12, n)
    affinity = rng.beta(1.0, 4.0, n)
    known = rng.random(n) < 0.8
    places = rng.integers(0, 3, n)
    z = -3.2 + quality[ads] - 0.12 * positions + 2.5 * np.where(known, affinity, 0.1) + 0.3 * (places == 1)
    p = _logistic(z)
    rows = [
        CtrFeatures(
            ad_id=int(a),
            advertiser_id=int(a) % 7,
            topic=TOPICS[int(a) % 4],
            placement=PLACES[int(pl)],
            affinity=float(f) if k else None,
            position=int(pos),
        )
        for a, pos, f, k, pl in zip(ads, positions, affinity, known, places, strict=True)
    ]
    return rows, (rng.random(n) < p).astype(np.int64), p


def quantile_ece(y: np.ndarray, p: np.ndarray, bins: int = 10) -> float:
    order = np.argsort(p)
    return float(sum(len(c) / len(p) * abs(p[c].mean() - y[c].mean()) for c in np.array_split(order, bins)))


@pytest.fixture(scope="module")
def trained() -> CtrModel:
    rows, y, _ = planted(30_000, seed=1)
    return ctr.fit(rows, y, times=np.arange(len(rows)), params=FitParams(n_bits=16, c_grid=(0.1, 1.0)))


def test_learns_the_planted_signal_and_is_calibrated(trained: CtrModel) -> None:
    rows, y, p_true = planted(40_000, seed=2)
    p = trained.predict(rows)
    auc, oracle = roc_auc_score(y, p), roc_auc_score(y, p_true)
    assert auc > 0.66 and auc > oracle - 0.03, (auc, oracle)
    assert quantile_ece(y, p) < 0.006
    assert abs(p.mean() - y.mean()) < 0.004
    assert np.corrcoef(p, p_true)[0, 1] > 0.9
    # tuned on the latest fifth of the rows, never on the rows scored here
    assert trained.meta["split"] == "latest" and trained.meta["validation"]["rows"] == 6_000
    assert f"{trained.meta['c']:g}" in trained.meta["validation_log_loss_by_c"]


def test_beats_a_constant_on_log_loss(trained: CtrModel) -> None:
    rows, y, _ = planted(20_000, seed=3)
    p = trained.predict(rows)
    base = np.full(len(y), y.mean())

    def ll(q: np.ndarray) -> float:
        return float(-np.mean(y * np.log(q) + (1 - y) * np.log(1 - q)))

    assert ll(p) < ll(base) - 0.005


def test_serving_dot_products_equal_the_training_matrix() -> None:
    rows, _, _ = planted(500, seed=4)
    rows += [
        CtrFeatures(
            ad_id="x",
            advertiser_id="y",
            topic=None,
            placement="related",
            affinity=None,
            position=250,
            pin_id=12,
        )
    ]
    w = np.random.default_rng(0).normal(size=1 << 12)
    model = CtrModel(w, -2.0)
    x = ctr.hashed_matrix(rows, 12)
    assert np.allclose(model.logits(rows), x @ w - 2.0)


def test_save_load_round_trip_gives_identical_predictions(trained: CtrModel, tmp_path: Path) -> None:
    rows, _, _ = planted(2_000, seed=5)
    trained.save(tmp_path / "pctr")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pctr.json", "pctr.npz"]
    loaded = CtrModel.load(tmp_path / "pctr")
    assert np.array_equal(loaded.predict(rows), trained.predict(rows))
    assert loaded.meta == trained.meta and loaded.calibration == "platt" and loaded.uses == trained.uses
    with np.load(tmp_path / "pctr.npz", allow_pickle=False) as npz:  # plain arrays, no pickles
        assert set(npz.files) == {"weights", "intercept", "calibration_map", "build"}


def test_isotonic_calibration_round_trips_and_stays_inside_zero_one(tmp_path: Path) -> None:
    rows, y, _ = planted(10_000, seed=6)
    model = ctr.fit(rows, y, params=FitParams(n_bits=14, calibration="isotonic", c_grid=(1.0,)))
    p = model.predict(rows)
    assert model.meta["split"] == "random" and ((p > 0) & (p < 1)).all()
    model.save(tmp_path / "iso.npz")
    assert np.array_equal(CtrModel.load(tmp_path / "iso.npz").predict(rows), p)


def test_predictions_are_strictly_between_zero_and_one() -> None:
    rows, _, _ = planted(300, seed=7)
    for scale in (1e3, -1e3):
        model = CtrModel(np.full(1 << 10, scale), 0.0)
        p = model.predict(rows)
        assert ((p > 0) & (p < 1)).all()
    assert CtrModel(np.zeros(1 << 10), 0.0).predict([]).shape == (0,)


def test_hashing_is_murmurhash3_and_does_not_depend_on_the_process() -> None:
    # MurmurHash3 x86_32("foo", seed 0) is 0xF6A5C420, the reference implementation's value.
    assert ctr.token_index("foo", 32) == 0xF6A5C420
    assert ctr.token_index("foo", 8) == 0x20
    code = (
        "from tastegraph.ads import ctr;"
        "r=ctr.CtrFeatures(ad_id=5,advertiser_id=2,topic='hiking',placement='search',affinity=0.3,position=4);"
        "print(sorted(ctr.hashed_matrix([r], 20).indices.tolist()))"
    )
    outs = {
        subprocess.run(
            [sys.executable, "-c", code],
            env={**os.environ, "PYTHONPATH": str(SRC), "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in ("1", "2")
    }
    row = CtrFeatures(ad_id=5, advertiser_id=2, topic="hiking", placement="search", affinity=0.3, position=4)
    assert outs == {f"{sorted(ctr.hashed_matrix([row], 20).indices.tolist())}\n"}


def test_an_unseen_ad_falls_back_to_what_its_other_features_say(trained: CtrModel) -> None:
    def row(ad: int | str, topic: str) -> CtrFeatures:
        return CtrFeatures(
            ad_id=ad, advertiser_id=3, topic=topic, placement="browse", affinity=0.2, position=2
        )

    seen = trained.predict([row(a, "cars") for a in range(N_ADS)])
    unseen = float(trained.predict([row("never-shown", "cars")])[0])
    assert seen.min() < unseen < seen.max()
    assert abs(np.log(unseen) - np.log(np.median(seen))) < 0.35


def test_organic_prior_falls_back_from_pin_to_topic_to_overall() -> None:
    overall = OrganicCounts(impressions=100_000, clicks=2_000, closeups=2_000)  # 3 % with half-weight
    topics = {"hiking": OrganicCounts(impressions=20_000, clicks=1_000, closeups=0)}  # ~5 %
    pins = {
        1: PinOrganicCounts(impressions=50_000, clicks=5_000, topic="hiking"),  # ~10 %, well measured
        2: PinOrganicCounts(impressions=4, clicks=4, topic="hiking"),  # 100 % on 4: barely moves
    }
    prior = ctr.organic_prior(pins, topics, overall, strength=200.0)

    def row(pin: int | None, topic: str | None) -> CtrFeatures:
        return CtrFeatures(
            ad_id=9, advertiser_id=9, topic=topic, placement="browse", affinity=0.9, position=0, pin_id=pin
        )

    p = prior.predict(
        [
            row(1, "hiking"),
            row(2, "hiking"),
            row(77, "hiking"),
            row(None, "hiking"),
            row(None, "knitting"),
            row(None, None),
        ]
    )
    topic_rate = (1_000 + 200 * 0.03) / 20_200
    assert p[0] == pytest.approx((5_000 + 200 * topic_rate) / 50_200, rel=1e-6)
    assert p[1] == pytest.approx((4 + 200 * topic_rate) / 204, rel=1e-6)
    assert p[2] == pytest.approx(topic_rate, rel=1e-6) and p[3] == pytest.approx(topic_rate, rel=1e-6)
    assert p[4] == pytest.approx(0.03, rel=1e-6) and p[5] == pytest.approx(0.03, rel=1e-6)
    # placement, position and affinity carry nothing in the prior
    moved = CtrFeatures(
        ad_id=1, advertiser_id=2, topic="hiking", placement="search", affinity=None, position=40, pin_id=1
    )
    assert prior.predict([moved])[0] == pytest.approx(p[0], rel=1e-9)
    assert prior.meta["kind"] == "organic_prior" and prior.uses == ("topic", "pin")


def test_organic_prior_round_trips(tmp_path: Path) -> None:
    prior = ctr.organic_prior(
        {3: PinOrganicCounts(impressions=900, clicks=90)},
        {},
        OrganicCounts(impressions=1_000, clicks=10),
        closeup_weight=0.0,
    )
    rows = [
        CtrFeatures(
            ad_id=1, advertiser_id=1, topic=None, placement="browse", affinity=None, position=0, pin_id=pin
        )
        for pin in (3, 4)
    ]
    prior.save(tmp_path / "prior.npz")
    loaded = CtrModel.load(tmp_path / "prior.npz")
    assert np.array_equal(loaded.predict(rows), prior.predict(rows)) and loaded.uses == ("topic", "pin")
    assert prior.predict(rows)[1] == pytest.approx(0.01)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"placement": "sidebar"}, "placement"),
        ({"affinity": 1.5}, "affinity"),
        ({"affinity": float("nan")}, "affinity"),
        ({"position": -1}, "position"),
    ],
)
def test_bad_features_name_their_field(kwargs: dict[str, object], field: str) -> None:
    good: dict[str, object] = {
        "ad_id": 1,
        "advertiser_id": 1,
        "topic": None,
        "placement": "browse",
        "affinity": None,
        "position": 0,
    }
    with pytest.raises(InvalidInput) as err:
        CtrFeatures(**{**good, **kwargs})  # type: ignore[arg-type]
    assert err.value.field == field


def test_fit_refuses_unusable_labels() -> None:
    rows, y, _ = planted(200, seed=8)
    with pytest.raises(InvalidInput, match="one entry per example"):
        ctr.fit(rows, y[:-1])
    with pytest.raises(InvalidInput, match="0 or 1"):
        ctr.fit(rows, y * 2)
    with pytest.raises(InvalidInput, match="both clicks and non-clicks"):
        ctr.fit(rows, np.zeros(len(rows), dtype=np.int64))
    with pytest.raises(InvalidInput, match="impressions"):
        ctr.organic_prior({}, {}, OrganicCounts(impressions=0))


def test_load_refuses_a_file_of_another_format(trained: CtrModel, tmp_path: Path) -> None:
    trained.save(tmp_path / "m")
    (tmp_path / "m.json").write_text(
        (tmp_path / "m.json").read_text().replace('"murmurhash3_x86_32"', '"md5"')
    )
    with pytest.raises(ValueError, match="not a pCTR model"):
        CtrModel.load(tmp_path / "m")


def test_load_refuses_a_json_written_with_another_npz(trained: CtrModel, tmp_path: Path) -> None:
    # What a reader between the two renames of an atomic replace would see: the new .json, the old .npz.
    trained.save(tmp_path / "old")
    trained.save(tmp_path / "new")
    (tmp_path / "new.json").replace(tmp_path / "old.json")
    with pytest.raises(ValueError, match="not written with this"):
        CtrModel.load(tmp_path / "old")
