"""The differentially private report mode: OpenDP's Laplace noise on every people's-action cell of an
ended day, released once (repeated reports reuse it and spend nothing), the budget per 7-day epoch
in a ledger, and what a report says when the budget cannot pay a release."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tastegraph.bootstrap import System
from tastegraph.measure import report_dp
from tastegraph.measure.report_tables import report_dp_cells, report_dp_ledger
from tests.integration.report_support import World, clicks, conversion, impressions, people, refresh, world

MONDAY = datetime(2026, 5, 25, 10, 0, tzinfo=UTC)  # the epoch 2026-05-25 .. 2026-05-31; "today" is 06-01


def get(client: TestClient, w: World, **params: Any) -> dict[str, Any]:
    r = client.get(w.url, params=params, headers=w.auth)
    assert r.status_code == 200, r.text
    return dict(r.json())


def dp_world(system: System, client: TestClient) -> World:
    w = world(system, {"Spring": {"Hikers": ["big", "small"]}})
    r = client.patch(f"/v1/ad_accounts/{w.account_id}", json={"privacy": "dp"}, headers=w.auth)
    assert r.status_code == 200, r.text
    return w


def spent(system: System, w: World) -> dict[str, float]:
    with system.read() as conn:
        led = report_dp_ledger.c
        return {
            str(r.epoch_start): float(r.spent)
            for r in conn.execute(select(led.epoch_start, led.spent).where(led.ad_account_id == w.account_id))
        }


def test_a_released_day_is_noised_once_and_reused(client: TestClient, system: System) -> None:
    w = dp_world(system, client)
    big = w.ads["big"]
    impressions(system, w, big, people("i", 40), MONDAY)
    clicks(system, w, big, people("a", 30), MONDAY)
    conversion(system, w, "a000", MONDAY + timedelta(hours=1), value=10.0, click=(big, MONDAY))
    clicks(system, w, big, people("t", 12), system.clock.now())  # today: not over
    refresh(system)

    first = get(client, w, level="ad", start_date="2026-05-25", end_date="2026-06-01")
    assert first["privacy"]["mode"] == "dp"
    rows = {(r["date"], r["name"]): r for r in first["rows"]}
    assert all(r["id"] != "other" for r in first["rows"])  # no other row: noise protects every cell
    big_row = rows[("2026-05-25", "big")]
    assert big_row["impressions"] == 40  # exact: the advertiser's own billing figure
    scale = report_dp.laplace_scale("clicks", 1.0)
    assert big_row["noise"]["clicks"] == pytest.approx(scale * 2**0.5, rel=1e-3)
    assert big_row["clicks"] is not None and "clicks" not in big_row["withheld"]
    today = rows[("2026-06-01", "big")]
    assert today["clicks"] is None and today["withheld_reason"] == "day_not_over"
    assert spent(system, w) == {"2026-05-25": pytest.approx(1.0 / 7)}
    # The noisy cells exist for every ad (also "small", which did nothing), and are not the exact ones.
    with system.read() as conn:
        c = report_dp_cells.c
        cells = {
            (int(r.object_id), str(r.metric)): float(r.value)
            for r in conn.execute(
                select(c.object_id, c.metric, c.value).where(c.level == "ad", c.day == "2026-05-25")
            )
        }
    assert (w.ads["small"], "clicks") in cells and (w.ads["small"], "conv:view:custom") in cells
    assert cells[(big, "clicks")] != 30.0

    again = get(client, w, level="ad", start_date="2026-05-25", end_date="2026-06-01")
    assert again == first  # the same noisy answer, computed once
    assert spent(system, w) == {"2026-05-25": pytest.approx(1.0 / 7)}
    # A campaign's figure is the sum of its ads' noisy cells; its noise is theirs together.
    camp = get(client, w, level="campaign", start_date="2026-05-25", end_date="2026-05-25")["rows"][0]
    assert camp["clicks"] == max(0, round(cells[(big, "clicks")] + cells[(w.ads["small"], "clicks")]))
    assert camp["noise"]["clicks"] == pytest.approx(scale * (2 * 2) ** 0.5, rel=1e-3)


def test_the_budget_per_epoch_runs_out_and_the_report_says_so(client: TestClient, system: System) -> None:
    w = dp_world(system, client)
    big = w.ads["big"]
    for i in range(7):
        at = MONDAY + timedelta(days=i)
        impressions(system, w, big, people("i", 5), at)
        conversion(system, w, f"p{i}", at + timedelta(hours=1), click=(big, at))
    refresh(system)
    week = get(client, w, level="ad", start_date="2026-05-25", end_date="2026-05-31")
    assert not week["privacy"]["budget_exhausted"]
    assert spent(system, w) == {"2026-05-25": pytest.approx(1.0)}
    assert week["privacy"]["epochs"] == [
        {"epoch_start": "2026-05-25", "spent": pytest.approx(1.0), "remaining": 0.0}
    ]
    # New windows need a new release of the conversions, which the epoch's budget cannot pay.
    r = client.patch(
        f"/v1/ad_accounts/{w.account_id}", json={"attribution": {"click_days": 7}}, headers=w.auth
    )
    assert r.status_code == 200, r.text
    refresh(system)
    after = get(client, w, level="ad", start_date="2026-05-25", end_date="2026-05-31")
    assert after["privacy"]["budget_exhausted"]
    row = after["rows"][0]
    assert row["conversions"] is None and row["withheld_reason"] == "privacy_budget_exhausted"
    assert row["clicks"] is not None  # the earlier release of the other figures still stands
    assert spent(system, w) == {"2026-05-25": pytest.approx(1.0)}  # nothing more was spent
    # The next epoch has its own budget.
    impressions(system, w, big, people("i", 5), system.clock.now())  # 2026-06-01 12:00
    system.clock.advance(timedelta(days=1))  # type: ignore[attr-defined]
    refresh(system)
    get(client, w, level="ad", start_date="2026-06-01", end_date="2026-06-01")
    assert spent(system, w)["2026-06-01"] == pytest.approx(1.0 / 7)


def test_noise_smaller_than_the_budget_allows_is_refused() -> None:
    with pytest.raises(ValueError):
        report_dp._noisy([1.0], scale=1.0, epsilon=0.1, sensitivity=5.0)
    assert report_dp.epoch_start(date(2026, 5, 31)) == date(2026, 5, 25)
    assert report_dp.epoch_start(date(2026, 6, 1)) == date(2026, 6, 1)
