"""ads.ctr_training without a database: rows carry serving's features (affinity only for signed-in
people), the fallback to the organic prior below the minimums or when the trained model is no better,
the prior's anchoring, and the atomic write that CtrHolder reads."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from tastegraph.ads import ctr, ctr_training
from tastegraph.ads.ctr import CtrModel, FitParams, OrganicCounts, PinOrganicCounts
from tastegraph.ads.ctr_holder import COLD_START_CTR, MODEL_FILE, CtrHolder
from tastegraph.ads.ctr_training import (
    AdFacts,
    CtrTrainingParams,
    LoggedImpression,
    Organic,
    Rows,
    build_rows,
    choose_model,
)

T0 = datetime(2026, 6, 1, tzinfo=UTC)
FACTS = {
    1: AdFacts(pin_id=101, group_topics=frozenset({"hiking", "camping"})),
    2: AdFacts(pin_id=102, group_topics=frozenset()),
}
SMALL = FitParams(n_bits=14, c_grid=(0.3, 1.0))


def shown(
    token: str, ad: int, *, user: int | None, minutes: int, clicked: bool = False, **over: object
) -> LoggedImpression:
    values: dict[str, object] = {
        "token_id": token,
        "ad_id": ad,
        "ad_account_id": 7,
        "user_id": user,
        "placement": "browse",
        "position": 0,
        "at": T0 + timedelta(minutes=minutes),
        "clicked": clicked,
    }
    values.update(over)
    return LoggedImpression(**values)  # type: ignore[arg-type]


def test_rows_carry_the_features_serving_computes_in_time_order() -> None:
    logged = [
        shown("c", 1, user=5, minutes=3, clicked=True, placement="search", position=2),
        shown("a", 1, user=None, minutes=1),
        shown("b", 2, user=6, minutes=2),
        shown("d", 1, user=6, minutes=4),
        shown("e", 1, user=8, minutes=5),
    ]
    affinity = {5: {"camping": 0.4, "hiking": 0.1, "cooking": 0.5}, 6: {"cooking": 1.0}, 8: {}}
    rows = build_rows(logged, FACTS, affinity)
    assert rows.labels.tolist() == [0, 0, 1, 0, 0] and rows.skipped == 0
    assert list(rows.times) == sorted(rows.times)
    signed_out, no_topic, person, no_overlap, none_yet = rows.features
    # Signed out: no affinity, whatever anyone else's is.
    assert signed_out.affinity is None and signed_out.topic == "camping" and signed_out.pin_id == 101
    # The ad's group has no topics: nothing to be affine to.
    assert no_topic.topic is None and no_topic.affinity is None
    # The highest share among the group's topics; the slot as logged.
    assert person.affinity == 0.4 and person.placement == "search" and person.position == 2
    assert person.advertiser_id == 7 and person.ad_id == 1
    # Affinities, but none in the ad's topics: 0; no affinities at all: unknown.
    assert no_overlap.affinity == 0.0 and none_yet.affinity is None
    # Exactly what serving builds for the same ad and request.
    assert person == ctr.serving_features(
        ad_id=1,
        advertiser_id=7,
        pin_id=101,
        pin_topics=FACTS[1].group_topics,
        placement="search",
        affinity=affinity[5],
        position=2,
    )


def test_rows_of_unknown_ads_or_placements_are_skipped() -> None:
    logged = [shown("a", 99, user=None, minutes=1), shown("b", 1, user=None, minutes=2, placement="sidebar")]
    rows = build_rows(logged, FACTS, {})
    assert rows.features == [] and rows.skipped == 2 and rows.labels.shape == (0,)


def planted_rows(n: int, seed: int, rates: dict[int, float]) -> Rows:
    """Rows of ads with the given click rates, one ad after another at random, one a minute."""
    rng = np.random.default_rng(seed)
    logged = []
    for k in range(n):
        ad = int(rng.choice(list(rates)))
        logged.append(shown(f"t{k}", ad, user=None, minutes=k, clicked=bool(rng.random() < rates[ad])))
    facts = {ad: AdFacts(pin_id=100 + ad, group_topics=frozenset({f"topic{ad}"})) for ad in rates}
    return build_rows(logged, facts, {})


def flat_prior() -> CtrModel:
    return ctr.organic_prior({}, {}, OrganicCounts(impressions=1_000, clicks=10), n_bits=14)


def test_below_the_minimums_the_prior_is_chosen_and_says_why() -> None:
    rows = planted_rows(400, 1, {1: 0.2, 2: 0.01})
    params = CtrTrainingParams(fit=SMALL)  # 1,000 impressions needed
    model, why = choose_model(rows, flat_prior(), params)
    assert model is not None and model.meta["kind"] == "organic_prior"
    assert "400 logged ad impressions" in why and "1000 impressions" in why
    assert model.meta["reason"] in why
    # Enough impressions, too few clicks.
    few_clicks = planted_rows(1_200, 2, {1: 0.01, 2: 0.0})
    assert few_clicks.labels.sum() < 50
    model, why = choose_model(few_clicks, flat_prior(), params)
    assert model is not None and model.meta["kind"] == "organic_prior" and "50 clicks" in why
    # No prior either (no organic engagement): nothing.
    model, why = choose_model(rows, None, params)
    assert model is None and "no pCTR model was written" in why


def test_with_enough_rows_a_trained_model_is_chosen_with_hold_out_figures() -> None:
    rows = planted_rows(3_000, 3, {1: 0.25, 2: 0.02, 3: 0.05})
    model, why = choose_model(rows, flat_prior(), CtrTrainingParams(fit=SMALL))
    assert model is not None and model.meta["kind"] == "logged_ads", why
    holdout = model.meta["holdout"]
    assert holdout["rows"] == 600 and holdout["clicks"] > 0
    assert holdout["auc"] > 0.7  # the planted rates differ by far more than noise
    assert (
        holdout["log_loss"] < holdout["log_loss_prior"]
        and holdout["log_loss"] < holdout["log_loss_base_rate"]
    )
    assert model.meta["trained_on"] == {
        "impressions": 3_000,
        "clicks": int(rows.labels.sum()),
        "from": T0.isoformat(),
        "until": (T0 + timedelta(minutes=2_999)).isoformat(),
    }
    assert "trained on 3000 logged ad impressions" in why
    # The written model is fitted on every row, not only the first 80 %.
    assert model.meta["rows"] == 3_000
    features = [rows.features[next(i for i, f in enumerate(rows.features) if f.ad_id == ad)] for ad in (1, 2)]
    p1, p2 = model.predict(features)
    assert p1 > 3 * p2


def test_a_trained_model_no_better_than_the_prior_loses_to_it() -> None:
    # The prior knows each ad's true rate exactly (through its Pin's weight); the log has no more signal.
    rates = {1: 0.3, 2: 0.02}
    rows = planted_rows(1_000, 4, rates)
    exact = ctr.organic_prior(
        {
            100 + ad: PinOrganicCounts(impressions=10**9, clicks=int(r * 10**9), topic=None)
            for ad, r in rates.items()
        },
        {},
        OrganicCounts(impressions=2 * 10**9, clicks=int(0.16 * 2 * 10**9)),
        n_bits=14,
    )
    params = CtrTrainingParams(min_impressions=100, min_clicks=10, fit=FitParams(n_bits=14, c_grid=(100.0,)))
    model, why = choose_model(rows, exact, params)
    assert model is exact and "did no better than the organic prior" in why
    h = model.meta["holdout_of_trained"]
    assert h["log_loss"] >= h["log_loss_prior"]


def test_a_split_without_clicks_falls_back_instead_of_failing() -> None:
    rows = planted_rows(1_000, 5, {1: 0.1})
    rows.labels[800:] = 0  # nothing clicked lately: the hold-out has no clicks
    model, why = choose_model(
        rows, flat_prior(), CtrTrainingParams(min_impressions=100, min_clicks=10, fit=SMALL)
    )
    assert model is not None and model.meta["kind"] == "organic_prior" and "could not be fitted" in why


def test_the_prior_is_anchored_to_the_ads_rate_and_keeps_the_organic_ranking() -> None:
    organic = Organic(
        pins={
            101: PinOrganicCounts(impressions=5_000, clicks=4_000, topic="hiking"),  # clicked a lot
            102: PinOrganicCounts(impressions=5_000, clicks=500, topic="hiking"),
        },
        topics={"hiking": OrganicCounts(impressions=10_000, clicks=4_500)},
        overall=OrganicCounts(impressions=20_000, clicks=6_000),
    )
    params = CtrTrainingParams(fit=SMALL)
    prior = ctr_training.anchored_prior(organic, 0, 0, params)
    assert prior is not None
    assert prior.intercept == pytest.approx(math.log(COLD_START_CTR / (1 - COLD_START_CTR)))
    # Some logged ads move the level towards their own rate.
    moved = ctr_training.anchored_prior(organic, 1_000, 50, params)
    assert moved is not None and moved.meta["anchored_ctr"] == pytest.approx((50 + 10) / 2_000)
    row = dict(ad_id=1, advertiser_id=7, placement="browse", affinity=None, position=0)
    clicked, less, unknown = prior.predict(
        [
            ctr.CtrFeatures(topic="hiking", pin_id=101, **row),  # type: ignore[arg-type]
            ctr.CtrFeatures(topic="hiking", pin_id=102, **row),  # type: ignore[arg-type]
            ctr.CtrFeatures(topic=None, pin_id=None, **row),  # type: ignore[arg-type]
        ]
    )
    assert clicked > less and unknown == pytest.approx(COLD_START_CTR)
    assert clicked < 0.2  # the organic 80 % is used relatively, not as an ad's click rate
    assert ctr_training.anchored_prior(Organic({}, {}, OrganicCounts(0)), 10, 1, params) is None


def test_write_model_replaces_the_file_atomically_and_the_holder_reads_it(tmp_path: Path) -> None:
    holder = CtrHolder(tmp_path)
    assert holder.describe()["kind"] == "constant prior"
    first = flat_prior()
    first.meta["n"] = 1
    path = ctr_training.write_model(tmp_path, first)
    assert path == tmp_path / MODEL_FILE
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ad_ctr.json", "ad_ctr.npz"]  # no temp left
    holder._checked = -1e9  # check now, not in 30 s
    assert holder.describe()["n"] == 1
    second = flat_prior()
    second.meta["n"] = 2
    ctr_training.write_model(tmp_path, second)
    assert CtrModel.load(path).meta["n"] == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ad_ctr.json", "ad_ctr.npz"]
