"""Budgets and pacing: when an ad group may take part in an auction, and the budget guard's arithmetic.
Pure: every function takes the time ("now", tz-aware) and the counters' values; nothing reads a clock.

**The budget's window.** A daily budget runs over the advertiser's day: local midnight to the next local
midnight in the ad account's IANA timezone (``day_window``; 23 or 25 hours on a daylight-saving change).
A lifetime budget runs over the ad group's schedule, ``start_time`` to ``end_time``. A reservation and
the charge that settles it count towards the window in which the ad was served (the token's time).

**Traffic.** ``TrafficCurve`` is the expected share of a day's requests in each 15-minute bucket of UTC
time of day (platform traffic as the servers see it); ``TrafficCurve.diurnal()`` is the default shape
and ``TrafficCurve.learn(counts)`` fits one from observed request counts. ``traffic_between(a, b)`` is
the expected traffic between two instants in "days of traffic", linear within a bucket, so the expected
share of a window that has passed is ``traffic_between(start, now) / traffic_between(start, end)``.

**Standard pacing: probabilistic throttling.** Each ad group has a pass-through probability p: on each
request where it is eligible it enters the auction with probability p (the caller draws the uniform
number). Once a minute ``update`` re-plans p from the budget left and the traffic left:

    wanted  = (budget - spent) / traffic_between(now, end)     # micro per day-of-traffic from now on
    demand  = decayed sum of spend / decayed sum of p * traffic  # what p = 1 would spend, same unit
    p       = min(1, wanted / demand)

``demand`` is a ratio of exponentially decayed sums (half-life ``PacingConfig.half_life``): spend in
each past minute over the traffic that minute weighted by the p in force, so minutes spent throttled
count for what they were. Spreading *what is left* over *the traffic that is left* means spend follows
the traffic curve, an early shortfall or excess is corrected over the rest of the window rather than
all at once, and a lifetime budget is spread over the remaining schedule the same way. Before there is
any observation p is ``initial_probability``; a minute with traffic and no spend lowers ``demand`` and so
raises p. ``spent`` is the charged spend (reservations not yet settled are left out: they are
seconds to minutes of spend, and counting CPC reservations at their full price would overstate it
many times over).

**Accelerated pacing** always enters while the budget guard admits it.

**The guard** (``can_reserve``) is what keeps a budget from being exceeded by more than 1 %: serving an
ad reserves its price, and the reservation is later either charged (the same amount moves from reserved
to spent) or released (token expired). A reservation is admitted only if spent + reserved + price stays
within ``spend_cap_micro(budget)`` = budget + 1 %, so at every moment spent <= spent + reserved <= the
cap, whatever the order in which impressions, clicks and expiries arrive, *provided* the check and the
increment are one atomic step on the shared counters (a database row update with the condition in its
WHERE clause, or a Redis script). The 1 % is allowance, not error: it lets the ad that crosses the
budget still be served instead of stranding the last price-sized remainder.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any, Final, Literal
from zoneinfo import ZoneInfo

BUCKET_MINUTES: Final = 15
BUCKETS_PER_DAY: Final = 24 * 60 // BUCKET_MINUTES
_BUCKET_SECONDS: Final = BUCKET_MINUTES * 60
_DAY_SECONDS: Final = 86_400
OVERSPEND_PPM: Final = 10_000  # the guard's allowance over a budget: 1 %

PacingType = Literal["standard", "accelerated"]


def _aware(name: str, t: datetime) -> datetime:
    if t.tzinfo is None or t.utcoffset() is None:
        raise ValueError(f"{name}: must be timezone-aware")
    return t


# --- traffic ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TrafficCurve:
    """Expected share of a day's requests per 15-minute bucket of UTC time of day (96 shares, sum 1)."""

    shares: tuple[float, ...]
    _cumulative: tuple[float, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if len(self.shares) != BUCKETS_PER_DAY:
            raise ValueError(f"shares: expected {BUCKETS_PER_DAY} buckets")
        if not all(math.isfinite(s) and s > 0 for s in self.shares):
            raise ValueError("shares: each bucket's share must be positive and finite")
        total = math.fsum(self.shares)
        shares = tuple(s / total for s in self.shares)
        cumulative = [0.0]
        for s in shares:
            cumulative.append(cumulative[-1] + s)
        cumulative[-1] = 1.0
        object.__setattr__(self, "shares", shares)
        object.__setattr__(self, "_cumulative", tuple(cumulative))

    @classmethod
    def flat(cls) -> TrafficCurve:
        return cls(tuple([1.0] * BUCKETS_PER_DAY))

    @classmethod
    def diurnal(cls, peak_hour_utc: float = 20.0, trough_ratio: float = 0.15) -> TrafficCurve:
        """The default shape: a smooth day with its peak at ``peak_hour_utc`` and a night trough at
        ``trough_ratio`` of the peak, twelve hours away (a raised cosine to the power 1.5: a busy evening,
        a long quiet night)."""
        if not 0 < trough_ratio <= 1:
            raise ValueError("trough_ratio: must be in (0, 1]")
        shares = []
        for b in range(BUCKETS_PER_DAY):
            hour = (b + 0.5) * BUCKET_MINUTES / 60
            phase = 2 * math.pi * (hour - peak_hour_utc) / 24
            shares.append(trough_ratio + (1 - trough_ratio) * ((1 + math.cos(phase)) / 2) ** 1.5)
        return cls(tuple(shares))

    @classmethod
    def learn(
        cls, counts: Sequence[float], *, prior: TrafficCurve | None = None, prior_requests: float = 1_000.0
    ) -> TrafficCurve:
        """Fit a curve to observed request counts per bucket (96 counts, summed over any number of days,
        bucket 0 = 00:00-00:15 UTC): the counts plus ``prior_requests`` pseudo-requests spread as
        ``prior`` (default: flat), then each bucket averaged with its two neighbours (circularly) so one
        noisy quarter-hour does not become a rule."""
        if len(counts) != BUCKETS_PER_DAY:
            raise ValueError(f"counts: expected {BUCKETS_PER_DAY} buckets")
        if not all(math.isfinite(c) and c >= 0 for c in counts):
            raise ValueError("counts: must be non-negative")
        if prior_requests <= 0:
            raise ValueError("prior_requests: must be positive")
        base = prior or cls.flat()
        raw = [c + prior_requests * s for c, s in zip(counts, base.shares, strict=True)]
        n = BUCKETS_PER_DAY
        smooth = [(raw[(i - 1) % n] + 2 * raw[i] + raw[(i + 1) % n]) / 4 for i in range(n)]
        return cls(tuple(smooth))

    def _position(self, t: datetime) -> float:
        """Traffic from 1970-01-01 UTC to t, in days of traffic."""
        seconds = _aware("now", t).timestamp()
        day, rest = divmod(seconds, _DAY_SECONDS)
        bucket = min(int(rest // _BUCKET_SECONDS), BUCKETS_PER_DAY - 1)
        within = (rest - bucket * _BUCKET_SECONDS) / _BUCKET_SECONDS
        return day + self._cumulative[bucket] + self.shares[bucket] * within

    def traffic_between(self, start: datetime, end: datetime) -> float:
        """Expected traffic from start to end (0 if end <= start), in days of traffic."""
        return max(0.0, self._position(end) - self._position(start))

    def share_elapsed(self, start: datetime, end: datetime, now: datetime) -> float:
        """The expected share of the window's traffic that has passed by ``now`` (0..1)."""
        total = self.traffic_between(start, end)
        if total <= 0:
            return 1.0
        return min(1.0, self.traffic_between(start, min(max(now, start), end)) / total)


# --- windows ---------------------------------------------------------------------------------------


# Serving asks for the day of every ad group it reaches at one `now` (hundreds a request, in a few time
# zones): remembered, the answers cost a dictionary lookup. Both are pure functions of their arguments.
@lru_cache(maxsize=1024)
def budget_day(now: datetime, timezone: str) -> date:
    """The advertiser's calendar day at ``now`` (the day a daily budget or a reservation belongs to)."""
    return _aware("now", now).astimezone(ZoneInfo(timezone)).date()


@lru_cache(maxsize=1024)
def day_window(now: datetime, timezone: str) -> tuple[datetime, datetime]:
    """The advertiser's day containing ``now``, as [start, end) in UTC."""
    zone = ZoneInfo(timezone)
    day = budget_day(now, timezone)
    start = datetime.combine(day, time(0), tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)


# --- the controller --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PacingConfig:
    """Tuning of the standard-pacing controller (defaults are what bench/pacing_sim.py measures)."""

    update_every: timedelta = timedelta(minutes=1)
    half_life: timedelta = timedelta(minutes=20)
    initial_probability: float = 0.05  # before any observation: cautious, raised within a minute
    min_probability: float = 0.0005  # while budget is left, keep a trickle so demand stays measured


@dataclass(frozen=True, slots=True)
class PacingState:
    """One ad group's controller state: small, and serializable (``to_dict``/``from_dict``) so a server
    can keep it in a database row. ``spend_sum``/``traffic_sum`` are the decayed sums behind ``demand``;
    ``last_spent`` is the window's charged spend at ``last_update``."""

    window_start: datetime
    last_update: datetime
    probability: float
    last_spent: int = 0
    spend_sum: float = 0.0
    traffic_sum: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "window_start": self.window_start.astimezone(UTC).isoformat(),
            "last_update": self.last_update.astimezone(UTC).isoformat(),
            "probability": self.probability,
            "last_spent": self.last_spent,
            "spend_sum": self.spend_sum,
            "traffic_sum": self.traffic_sum,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PacingState:
        state = cls(
            window_start=_aware("window_start", datetime.fromisoformat(str(data["window_start"]))),
            last_update=_aware("last_update", datetime.fromisoformat(str(data["last_update"]))),
            probability=float(data["probability"]),
            last_spent=int(data["last_spent"]),
            spend_sum=float(data["spend_sum"]),
            traffic_sum=float(data["traffic_sum"]),
        )
        if not 0.0 <= state.probability <= 1.0:
            raise ValueError("probability: must be in [0, 1]")
        if state.spend_sum < 0 or state.traffic_sum < 0 or state.last_spent < 0:
            raise ValueError("spend_sum/traffic_sum/last_spent: must be non-negative")
        return state

    @property
    def demand(self) -> float | None:
        """Estimated spend at p = 1, in micro per day of traffic (None before any observation)."""
        return self.spend_sum / self.traffic_sum if self.traffic_sum > 0 else None


def new_state(now: datetime, window_start: datetime, config: PacingConfig = PacingConfig()) -> PacingState:
    return PacingState(
        window_start=_aware("window_start", window_start),
        last_update=_aware("now", now),
        probability=config.initial_probability,
    )


def update(
    state: PacingState,
    *,
    now: datetime,
    window: tuple[datetime, datetime],
    spent_micro: int,
    budget_micro: int,
    curve: TrafficCurve,
    config: PacingConfig = PacingConfig(),
) -> PacingState:
    """Re-plan the pass-through probability (at most once per ``config.update_every``; call it freely).

    ``window`` is the budget's [start, end) (``day_window`` for daily budgets, the schedule for lifetime
    ones); ``spent_micro`` is the charged spend in that window. A new window keeps the demand estimate
    (it is per unit of traffic, so it carries over from one day to the next) and restarts the spend.
    """
    start, end = _aware("window start", window[0]), _aware("window end", window[1])
    _aware("now", now)
    if spent_micro < 0 or budget_micro < 0:
        raise ValueError("spent_micro/budget_micro: must be non-negative")
    last_spent, since = state.last_spent, state.last_update
    if start != state.window_start:
        last_spent, since = 0, max(start, min(state.last_update, now))
    elif now - state.last_update < config.update_every:
        return state
    elapsed = max(0.0, (now - since).total_seconds())
    decay = 0.5 ** (elapsed / config.half_life.total_seconds())
    traffic = curve.traffic_between(since, now)
    spend_sum = decay * state.spend_sum + max(0, spent_micro - last_spent)
    traffic_sum = decay * state.traffic_sum + state.probability * traffic

    remaining = budget_micro - spent_micro
    traffic_left = curve.traffic_between(now, end)
    demand = spend_sum / traffic_sum if traffic_sum > 0 else None
    if remaining <= 0:
        p = 0.0
    elif traffic_left <= 0 or (demand is not None and demand <= 0):
        p = 1.0
    elif demand is None:
        p = config.initial_probability
    else:
        p = min(1.0, max(config.min_probability, (remaining / traffic_left) / demand))
    return PacingState(
        window_start=start,
        last_update=now,
        probability=p,
        last_spent=spent_micro,
        spend_sum=spend_sum,
        traffic_sum=traffic_sum,
    )


def pass_probability(pacing: PacingType, state: PacingState | None) -> float:
    """The probability that the ad group enters an auction it is eligible for (budget permitting)."""
    if pacing == "accelerated":
        return 1.0
    if state is None:
        raise ValueError("state: standard pacing needs its controller state")
    return state.probability


def admits(pacing: PacingType, state: PacingState | None, uniform: float) -> bool:
    """Whether this request lets the ad group in; ``uniform`` is the caller's draw from [0, 1)."""
    return uniform < pass_probability(pacing, state)


# --- the guard -------------------------------------------------------------------------------------


def spend_cap_micro(budget_micro: int) -> int:
    """The most that may ever be spent and reserved together against a budget: the budget plus 1 %."""
    if budget_micro < 0:
        raise ValueError("budget_micro: must be non-negative")
    return budget_micro + budget_micro * OVERSPEND_PPM // 1_000_000


def headroom_micro(spent_micro: int, reserved_micro: int, budget_micro: int) -> int:
    """How much more may be reserved now (never negative)."""
    return max(0, spend_cap_micro(budget_micro) - spent_micro - reserved_micro)


def can_reserve(spent_micro: int, reserved_micro: int, price_micro: int, budget_micro: int) -> bool:
    """Whether serving an ad at ``price_micro`` may reserve it: spent + reserved + price <= the cap.

    The shared counters must make this check and ``reserved += price`` one atomic step; a charge then
    moves the reserved price to spent and an expiry releases it, so spent never passes the cap.
    """
    if min(spent_micro, reserved_micro, price_micro, budget_micro) < 0:
        raise ValueError("spent/reserved/price/budget: must be non-negative")
    return spent_micro + reserved_micro + price_micro <= spend_cap_micro(budget_micro)
