"""`tastegraph train`'s pCTR model on a real database: ad impressions and clicks logged (through the ad log
and through the serving routes) become a trained model that CtrHolder loads, in which an often clicked
ad predicts higher than a never clicked one; with no ads at all training still succeeds and writes the
organic prior; too few logged rows give the prior anchored to them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tastegraph.ads import ad_log
from tastegraph.ads.ctr import FitParams, serving_features
from tastegraph.ads.ctr_holder import COLD_START_CTR, MODEL_FILE, CtrHolder
from tastegraph.ads.tokens import AdToken
from tastegraph.bootstrap import System
from tastegraph.usecases import models
from tests.helpers import mini_world, sign_up_in
from tests.integration.ads_support import ad_account, people
from tests.integration.test_promoted_pins_objects import (
    BASE,
    make_campaign,
    make_group,
    make_pin,
    setup_topics,
)
from tests.integration.test_promoted_pins_serving import ads_in, feed, interested, promote


def no_progress(stage: str, done: int, total: int) -> None:
    return None


def engaged(client: TestClient, system: System) -> dict[str, list[int]]:
    """Someone's organic clicks, so that the recommender has something to train on too."""
    world = mini_world(system, pins_per_site=4)
    sign_up_in(client, "organic@example.com")
    pins = [p for ids in world.pins_by_domain.values() for p in ids]
    r = client.post("/v1/engagement", json={"events": [{"kind": "click", "pin_id": p} for p in pins[:6]]})
    assert r.status_code == 200, r.text
    client.cookies.clear()
    return world.pins_by_domain


def two_ads(client: TestClient, system: System) -> dict[str, Any]:
    setup_topics(system, "hiking", "camping")
    acct = ad_account(system, "Trailpeak", website="trailpeak.example")
    campaign = make_campaign(client, acct)
    out: dict[str, Any] = {"account": acct.id}
    for name, topic in (("liked", "hiking"), ("ignored", "camping")):
        pin = make_pin(client, acct, topics=[topic], title=f"{name} pin")
        group = make_group(client, acct, campaign["id"], name=name, targeting_spec={"interests": [topic]})
        r = client.post(
            f"{BASE}/{acct.id}/ads", json={"ad_group_id": group["id"], "pin_id": pin["id"]}, headers=acct.auth
        )
        assert r.status_code == 201, r.text
        out[name] = {"ad": r.json()["id"], "group": group["id"], "pin": pin["id"], "topic": topic}
    return out


def log(system: System, made: dict[str, Any], n: int, *, click_every: int) -> int:
    """n impressions alternating between the two ads, one a minute back from now, by 20 people and some
    signed-out browsers; every `click_every`-th impression of the liked ad clicked. Clicks logged."""
    now = system.clock.now()
    who = [uid for uid, _ in people(system, 20, prefix="viewer")]
    clicks = 0
    with system.write() as conn:
        for k in range(n):
            which = made["liked"] if k % 2 == 0 else made["ignored"]
            token = AdToken(
                id=f"tok{k:06d}",
                ad_id=which["ad"],
                ad_group_id=which["group"],
                ad_account_id=made["account"],
                pin_id=which["pin"],
                price_micro=0,
                billable_event="click",
                subject=f"u:{who[k % 20]}" if k % 5 else f"b:{k:032x}",
                placement="browse" if k % 3 else "search",
                position=k % 2,
                issued_at=now - timedelta(minutes=n - k),
                expires_at=now + timedelta(hours=1),
            )
            assert ad_log.record_impression(conn, token, 0, now) == "recorded"
            if which is made["liked"] and (k // 2) % click_every == 0:
                ad_log.record_click(conn, token, 0, now)
                clicks += 1
    return clicks


def test_train_fits_the_pctr_model_from_logged_ads_and_serving_loads_it(
    client: TestClient, system: System
) -> None:
    engaged(client, system)
    made = two_ads(client, system)
    clicks = log(system, made, 1_400, click_every=4)  # the liked ad at 25 %, the other never
    assert clicks >= models.CtrTrainingParams().min_clicks

    # The documented minimums, a smaller hashed space than the default 2**20 (fitting is faster).
    small = models.CtrTrainingParams(fit=FitParams(n_bits=16, c_grid=(0.3, 1.0)))
    trained = models.train_new_version(system, models.TrainingParams(rank=4), 2, no_progress, small)
    result = trained.ad_ctr
    assert result.kind == "logged_ads", result.reason
    assert result.path == system.settings.model_dir / MODEL_FILE and result.path.is_file()
    assert result.meta["trained_on"]["impressions"] == 1_400 and result.meta["trained_on"]["clicks"] == clicks
    assert result.meta["logged"]["people"] == 16  # every fifth row is a signed-out browser's
    holdout = result.meta["holdout"]
    assert holdout["rows"] == 280 and 0.5 < holdout["auc"] <= 1.0 and holdout["log_loss"] > 0
    assert result.summary()["holdout"] == holdout

    holder = CtrHolder(system.settings.model_dir)
    assert holder.describe()["kind"] == "logged_ads"
    # The running system's holder reads the same file.
    system.ad_serving.ctr._checked = -1e9
    assert system.ad_serving.ctr.describe()["kind"] == "logged_ads"

    def row(name: str, placement: str = "browse") -> Any:
        ad = made[name]
        return serving_features(
            ad_id=ad["ad"],
            advertiser_id=made["account"],
            pin_id=ad["pin"],
            pin_topics={ad["topic"]},
            placement=placement,  # type: ignore[arg-type]
            affinity=None,
            position=0,
        )

    liked, ignored = holder.predict([row("liked"), row("ignored")])
    assert liked > 5 * ignored, (liked, ignored)
    assert 0.1 < liked < 0.5  # calibrated: near the 25 % it was clicked at
    liked_search, ignored_search = holder.predict([row("liked", "search"), row("ignored", "search")])
    assert liked_search > 5 * ignored_search


def test_train_succeeds_without_any_ads_and_writes_the_organic_prior(
    client: TestClient, system: System
) -> None:
    engaged(client, system)
    trained = models.train_new_version(system, models.TrainingParams(rank=4), 2, no_progress)
    result = trained.ad_ctr
    assert result.kind == "organic_prior" and "0 logged ad impressions" in result.reason
    assert result.path is not None and result.path.is_file()
    holder = CtrHolder(system.settings.model_dir)
    model = holder.current()
    assert model.meta["kind"] == "organic_prior" and model.meta["anchored_ctr"] == pytest.approx(
        COLD_START_CTR
    )
    assert model.meta["logged"]["impressions"] == 0


def test_what_the_routes_log_is_what_training_reads(client: TestClient, system: System) -> None:
    world = {"world": mini_world(system, pins_per_site=8)}
    acct = ad_account(system, "Trailpeak", website="trailpeak-gear.com")
    promote(TestClient(client.app), acct, billable_event="click", bid_in_micro=500_000)
    person = interested(client, world)
    ((_, item),) = ads_in(feed(client))
    token = item["promoted"]["token"]
    r = client.post("/v1/ads/impressions", json={"tokens": [token]})
    assert [x["status"] for x in r.json()["results"]] == ["recorded"]
    assert client.get(f"/v1/ads/click/{token}", follow_redirects=False).status_code == 302
    # Someone else reporting the same token logs nothing.
    TestClient(client.app).post("/v1/ads/impressions", json={"tokens": [token]})

    result = models.train_ad_ctr(system, no_progress)
    assert result.kind == "organic_prior"
    assert result.meta["logged"] == {"impressions": 1, "clicks": 1, "people": 1, "skipped": 0}
    # Too few to train on, but they move the prior's level: (1 click + 10) / (1 + 1,000 impressions).
    assert result.meta["anchored_ctr"] == pytest.approx((1 + 1_000 * COLD_START_CTR) / 1_001)
    assert CtrHolder(system.settings.model_dir).describe()["anchored_ctr"] == result.meta["anchored_ctr"]

    # Erasing the person takes their rows out of the next training.
    with system.write() as conn:
        assert ad_log.erase(conn, person) == 2
    assert models.train_ad_ctr(system, no_progress).meta["logged"]["impressions"] == 0
