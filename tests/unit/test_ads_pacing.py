"""Pacing: the advertiser's day, the traffic curve, the standard controller on a simulated day, the guard."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tastegraph.ads.pacing import (
    BUCKETS_PER_DAY,
    PacingState,
    PacingType,
    TrafficCurve,
    admits,
    budget_day,
    can_reserve,
    day_window,
    headroom_micro,
    new_state,
    spend_cap_micro,
    update,
)

DAY = datetime(2026, 6, 1, tzinfo=UTC)


def test_the_advertisers_day_follows_its_timezone_including_daylight_saving() -> None:
    now = datetime(2026, 6, 1, 3, 0, tzinfo=UTC)  # still 31 May in New York
    assert budget_day(now, "America/New_York").isoformat() == "2026-05-31"
    start, end = day_window(now, "America/New_York")
    assert (start, end) == (datetime(2026, 5, 31, 4, tzinfo=UTC), datetime(2026, 6, 1, 4, tzinfo=UTC))
    spring = day_window(datetime(2026, 3, 8, 12, tzinfo=UTC), "America/New_York")
    assert spring[1] - spring[0] == timedelta(hours=23)
    tokyo = day_window(datetime(2026, 6, 1, 16, tzinfo=UTC), "Asia/Tokyo")
    assert tokyo[0] == datetime(2026, 6, 1, 15, tzinfo=UTC)
    with pytest.raises(ValueError, match="now"):
        budget_day(datetime(2026, 6, 1), "UTC")


def test_traffic_curve_integrates_to_a_day_and_learns_a_shape() -> None:
    curve = TrafficCurve.diurnal()
    assert math.fsum(curve.shares) == pytest.approx(1.0)
    assert curve.traffic_between(DAY, DAY + timedelta(days=1)) == pytest.approx(1.0)
    assert curve.traffic_between(DAY, DAY + timedelta(days=3, hours=6)) == pytest.approx(
        3 + curve.traffic_between(DAY, DAY + timedelta(hours=6))
    )
    peak = max(range(BUCKETS_PER_DAY), key=lambda b: curve.shares[b])
    assert 19 <= peak / 4 <= 21
    assert min(curve.shares) < 0.3 * max(curve.shares)
    # Learning from counts drawn from the curve gives the curve back, near enough.
    rng = np.random.default_rng(0)
    counts = rng.poisson(np.array(curve.shares) * 2_000_000).tolist()
    learned = TrafficCurve.learn(counts)
    assert max(abs(a - b) for a, b in zip(learned.shares, curve.shares, strict=True)) < 0.0005
    with pytest.raises(ValueError, match="counts"):
        TrafficCurve.learn([1.0] * 10)


def test_state_round_trips_through_a_dict_and_rejects_nonsense() -> None:
    state = PacingState(DAY, DAY + timedelta(minutes=5), 0.25, 1_234, 56.5, 0.01)
    assert PacingState.from_dict(state.to_dict()) == state
    with pytest.raises(ValueError, match="probability"):
        PacingState.from_dict({**state.to_dict(), "probability": 2.0})
    with pytest.raises(ValueError, match="window_start"):
        PacingState.from_dict({**state.to_dict(), "window_start": "2026-06-01T00:00:00"})


def simulate(
    pacing: PacingType,
    curve: TrafficCurve,
    *,
    budget: int,
    requests_per_day: int,
    price: int,
    start: datetime = DAY,
    days: int = 1,
    seed: int = 0,
) -> tuple[list[float], list[float], int]:
    """Minute by minute: requests as the curve says, each won (and charged at once) when pacing admits
    it and the guard allows. Returns cumulative traffic share and spend share per minute, and spend."""
    rng = np.random.default_rng(seed)
    end = start + timedelta(days=days)
    state = new_state(start, start)
    spent = 0
    traffic_seen: list[float] = []
    spend_seen: list[float] = []
    total = 0
    for minute in range(days * 24 * 60):
        now = start + timedelta(minutes=minute)
        state = update(
            state, now=now, window=(start, end), spent_micro=spent, budget_micro=budget, curve=curve
        )
        n = rng.poisson(requests_per_day * curve.traffic_between(now, now + timedelta(minutes=1)))
        total += n
        for u in rng.random(n):
            if admits(pacing, state, float(u)) and can_reserve(spent, 0, price, budget):
                spent += price
        traffic_seen.append(total)
        spend_seen.append(spent)
    return [t / total for t in traffic_seen], [s / budget for s in spend_seen], spent


@pytest.mark.parametrize("shape", ["flat", "diurnal"])
def test_standard_pacing_follows_the_traffic_and_spends_the_budget(shape: str) -> None:
    curve = TrafficCurve.flat() if shape == "flat" else TrafficCurve.diurnal()
    budget, price = 20_000_000, 5_000  # 4,000 impressions' worth, against 20,000 requests of demand
    traffic, spend, spent = simulate("standard", curve, budget=budget, requests_per_day=20_000, price=price)
    assert 0.97 * budget <= spent <= spend_cap_micro(budget)
    gap = [abs(a - b) for a, b in zip(traffic, spend, strict=True)]
    assert max(gap) < 0.06
    assert sum(gap) / len(gap) < 0.02


def test_accelerated_spends_early_and_standard_does_not() -> None:
    curve = TrafficCurve.diurnal()
    kwargs = dict(budget=20_000_000, requests_per_day=20_000, price=5_000)
    traffic, spend, _ = simulate("accelerated", curve, **kwargs)  # type: ignore[arg-type]
    spent_out = next(i for i, s in enumerate(spend) if s >= 0.99)
    assert traffic[spent_out] < 0.3  # the whole budget gone before 30 % of the day's traffic
    traffic, spend, _ = simulate("standard", curve, **kwargs)  # type: ignore[arg-type]
    assert spend[int(np.searchsorted(traffic, 0.3))] < 0.4


def test_standard_pacing_spends_everything_when_demand_is_short_of_the_budget() -> None:
    curve = TrafficCurve.diurnal()
    budget = 200_000_000  # demand is only 20,000 x 5,000 = 100,000,000
    _, _, spent = simulate("standard", curve, budget=budget, requests_per_day=20_000, price=5_000)
    assert spent >= 0.97 * 100_000_000


def test_a_lifetime_budget_is_spread_over_the_remaining_schedule() -> None:
    curve = TrafficCurve.diurnal()
    budget = 30_000_000
    _, spend, spent = simulate(
        "standard", curve, budget=budget, requests_per_day=20_000, price=5_000, days=3, seed=3
    )
    assert spent >= 0.97 * budget
    per_day = [spend[(d + 1) * 1440 - 1] - (spend[d * 1440 - 1] if d else 0.0) for d in range(3)]
    assert all(abs(x - 1 / 3) < 0.04 for x in per_day), per_day


def test_a_new_day_restarts_the_spend_but_keeps_what_it_learnt() -> None:
    curve = TrafficCurve.flat()
    state = PacingState(DAY, DAY + timedelta(hours=23, minutes=59), 0.1, 9_000, 500.0, 0.05)
    tomorrow = DAY + timedelta(days=1, minutes=1)
    after = update(
        state,
        now=tomorrow,
        window=(DAY + timedelta(days=1), DAY + timedelta(days=2)),
        spent_micro=0,
        budget_micro=10_000,
        curve=curve,
    )
    assert after.window_start == DAY + timedelta(days=1) and after.last_spent == 0
    assert after.demand is not None and 0 < after.demand < 500.0 / 0.05
    assert 0 < after.probability <= 1
    # Within a minute of the last update nothing changes.
    soon = tomorrow + timedelta(seconds=30)
    window = (after.window_start, DAY + timedelta(days=2))
    same = update(after, now=soon, window=window, spent_micro=5_000, budget_micro=10_000, curve=curve)
    assert same is after


def test_the_guard_allows_the_budget_plus_one_percent() -> None:
    assert spend_cap_micro(1_000_000) == 1_010_000
    assert can_reserve(1_000_000, 0, 10_000, 1_000_000)
    assert not can_reserve(1_000_000, 0, 10_001, 1_000_000)
    assert not can_reserve(500_000, 500_000, 10_001, 1_000_000)
    assert headroom_micro(600_000, 500_000, 1_000_000) == 0
    with pytest.raises(ValueError):
        can_reserve(-1, 0, 1, 1)


@settings(max_examples=200, deadline=None)
@given(
    st.integers(1, 10**9),
    st.lists(st.tuples(st.sampled_from(["serve", "charge", "expire"]), st.integers(1, 10**8)), max_size=200),
)
def test_spend_never_passes_the_cap_whatever_order_events_come_in(
    budget: int, ops: list[tuple[str, int]]
) -> None:
    spent, reserved, open_prices = 0, 0, []
    for op, x in ops:
        if op == "serve" and can_reserve(spent, reserved, x, budget):
            reserved += x
            open_prices.append(x)
        elif op in {"charge", "expire"} and open_prices:
            price = open_prices.pop(x % len(open_prices))
            reserved -= price
            spent += price if op == "charge" else 0
        assert spent + reserved <= spend_cap_micro(budget)
    assert spent <= budget * 1.01
