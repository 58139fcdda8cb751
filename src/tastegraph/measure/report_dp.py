"""The differentially private report mode (`privacy: "dp"`): each ended day of an ad account is released
once — every ad's clicks, saves, close-ups, conversions and conversion value (per touch type and event
name) with Laplace noise from OpenDP — and every later report reuses that release, spending nothing.

Contribution bounds (what one person or signed-out browser can add to one day's release): at most
CLICKS_PER_DAY clicks, SAVES_PER_DAY saves, CLOSEUPS_PER_DAY close-ups and CONVERSIONS_PER_DAY
conversions over all the account's ads (a person with more has each of their actions counted with
the weight bound / their count), and each conversion's value clipped to [0, VALUE_PER_CONVERSION].
So each metric's vector of cells over the account's ads has an L1 sensitivity of its bound, and
Laplace noise of scale bound / ε_metric gives ε_metric-differential privacy for it; a day's release
costs DAY_SHARE of the account's ε per 7-day epoch (split evenly over the five metrics), so a full
epoch of daily releases spends at most the budget. The noise is drawn over every ad of the account
(also those with nothing that day), so which cells exist says nothing. Impressions and spend are the
advertiser's own billing figures and are exact.

A release is redone (and paid again) only when the account's attribution windows changed since; when
the epoch's budget cannot pay a release, the day's figures of people's actions are withheld with the
reason "privacy_budget_exhausted". Days that have not ended (in the account's time zone) are not
released ("day_not_over")."""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import opendp.prelude as dp
from sqlalchemy import Connection, and_, case, delete, func, insert, literal, select
from sqlalchemy.sql.expression import cast
from sqlalchemy.types import Float

from tastegraph.ads import ad_log
from tastegraph.measure.attribution_tables import ad_attributions
from tastegraph.measure.report_tables import report_dp_cells, report_dp_ledger, report_dp_releases
from tastegraph.measure.reports import EVENT_NAMES, TOUCH_TYPES, credited, day_bounds, person_of
from tastegraph.measure.tables import measurement_settings

dp.enable_features("contrib")

CLICKS_PER_DAY = 5
SAVES_PER_DAY = 5
CLOSEUPS_PER_DAY = 5
CONVERSIONS_PER_DAY = 3
VALUE_PER_CONVERSION = 500.0  # in the account's currency
EPOCH_DAYS = 7
DAY_SHARE = 1.0 / EPOCH_DAYS
METRIC_KINDS = ("clicks", "saves", "closeups", "conv", "cval")
_BOUND = {
    "clicks": float(CLICKS_PER_DAY),
    "saves": float(SAVES_PER_DAY),
    "closeups": float(CLOSEUPS_PER_DAY),
    "conv": float(CONVERSIONS_PER_DAY),
    "cval": CONVERSIONS_PER_DAY * VALUE_PER_CONVERSION,
}
# 1970-01-05 was a Monday: epochs are Monday-to-Sunday weeks of the days the data describes.
_MONDAY = date(1970, 1, 5)


def epoch_start(day: date) -> date:
    return day - timedelta(days=(day - _MONDAY).days % EPOCH_DAYS)


def day_cost(epsilon: float) -> float:
    return epsilon * DAY_SHARE


def laplace_scale(kind: str, epsilon: float) -> float:
    """The Laplace scale for one metric kind of a day's release under an account budget `epsilon`."""
    return _BOUND[kind] / (day_cost(epsilon) / len(METRIC_KINDS))


@dataclass(frozen=True)
class Budget:
    epoch_start: date
    epsilon: float
    spent: float

    @property
    def remaining(self) -> float:
        return max(0.0, self.epsilon - self.spent)


def budget(conn: Connection, ad_account_id: int, day: date, epsilon: float) -> Budget:
    start = epoch_start(day)
    led = report_dp_ledger.c
    spent = conn.execute(
        select(led.spent).where(led.ad_account_id == ad_account_id, led.epoch_start == start.isoformat())
    ).scalar()
    return Budget(start, epsilon, float(spent or 0.0))


def releases(conn: Connection, ad_account_id: int, start: date, end: date) -> dict[str, str]:
    """Released days in start..end -> the windows ("c,e,v") they were released under."""
    r = report_dp_releases.c
    q = select(r.day, r.windows).where(
        r.ad_account_id == ad_account_id, r.day >= start.isoformat(), r.day <= end.isoformat()
    )
    return {str(row.day): str(row.windows) for row in conn.execute(q)}


def _weighted(rows: Any, bound: float) -> dict[Any, float]:
    """rows: (cell key, person, n, amount) -> per cell the sum of amount * min(1, bound / person's n)."""
    per_person: dict[str, float] = defaultdict(float)
    items = list(rows)
    for _, person, n, _amount in items:
        per_person[person] += float(n)
    out: dict[Any, float] = defaultdict(float)
    for key, person, _n, amount in items:
        total = per_person[person]
        out[key] += float(amount) * (1.0 if total <= bound else bound / total)
    return out


def _clipped(
    conn: Connection, ad_account_id: int, start: datetime, end: datetime
) -> dict[str, dict[Any, float]]:
    """Each metric kind's clipped true values per cell key, from the day's logs and attributions. The
    database groups by cell and person; the weights (at most `bound` per person) are applied here over
    those groups, a few per person."""
    logs = ad_log.log_tables()
    out: dict[str, dict[Any, float]] = {}
    clk, eng = logs.clicks, logs.engagements
    person = person_of(clk).label("person")
    q = (
        select(clk.c.ad_id, person, func.count(), func.count())
        .where(clk.c.ad_account_id == ad_account_id, clk.c.at >= start, clk.c.at < end)
        .group_by(clk.c.ad_id, person)
    )
    out["clicks"] = _weighted(conn.execute(q), _BOUND["clicks"])
    for kind, name in (("save", "saves"), ("closeup", "closeups")):
        person = person_of(eng).label("person")
        q = (
            select(eng.c.ad_id, person, func.count(), func.count())
            .where(
                eng.c.ad_account_id == ad_account_id, eng.c.kind == kind, eng.c.at >= start, eng.c.at < end
            )
            .group_by(eng.c.ad_id, person)
        )
        out[name] = _weighted(conn.execute(q), _BOUND[name])
    a = ad_attributions.c
    touch, ad = credited(conn)
    value = cast(func.coalesce(a.value, 0), Float)
    clipped_value = case((value < 0, 0.0), (value > VALUE_PER_CONVERSION, VALUE_PER_CONVERSION), else_=value)
    base = (
        select(
            ad.label("ad_id"),
            touch.label("touch"),
            a.event_name.label("event_name"),
            a.person_key.label("person"),
            clipped_value.label("amount"),
        )
        .select_from(ad_attributions)
        .outerjoin(measurement_settings, measurement_settings.c.ad_account_id == a.ad_account_id)
        .where(a.ad_account_id == ad_account_id, a.event_time >= start, a.event_time < end)
        .subquery()
    )
    b = base.c
    grouped = conn.execute(
        select(b.ad_id, b.touch, b.event_name, b.person, func.count(), func.sum(b.amount))
        .where(b.touch.isnot(None))
        .group_by(b.ad_id, b.touch, b.event_name, b.person)
    ).all()
    out["conv"] = _weighted(
        (((r[0], r[1], r[2]), r[3], r[4], r[4]) for r in grouped), float(CONVERSIONS_PER_DAY)
    )
    # The value's weights are the conversions' (a person's conversions beyond the bound count partly).
    per_person: dict[str, float] = defaultdict(float)
    for r in grouped:
        per_person[r[3]] += float(r[4])
    cval: dict[Any, float] = defaultdict(float)
    for r in grouped:
        total = per_person[r[3]]
        w = 1.0 if total <= CONVERSIONS_PER_DAY else CONVERSIONS_PER_DAY / total
        cval[(r[0], r[1], r[2])] += float(r[5] or 0.0) * w
    out["cval"] = cval
    return out


def _noisy(values: list[float], scale: float, epsilon: float, sensitivity: float) -> list[float]:
    space = dp.vector_domain(dp.atom_domain(T=float, nan=False)), dp.l1_distance(T=float)
    meas = space >> dp.m.then_laplace(scale=scale)
    if meas.map(sensitivity) > epsilon * (1 + 1e-9):
        raise ValueError("the noise is too small for the privacy budget")
    if not values:
        return []
    return [float(v) for v in meas(values)]


def release(
    conn: Connection,
    ad_account_id: int,
    day: date,
    timezone: str,
    windows: str,
    epsilon: float,
    now: datetime,
) -> bool:
    """Release (or release again) the account's `day`, paying from its epoch's budget; False when the
    budget cannot pay it (nothing is written then)."""
    cost = day_cost(epsilon)
    have = budget(conn, ad_account_id, day, epsilon)
    if have.spent + cost > epsilon * (1 + 1e-9):
        return False
    start, end = day_bounds(day, timezone)
    logs = ad_log.log_tables()
    ads_t, groups_t = logs.ads, logs.ad_groups
    tree = conn.execute(
        select(ads_t.c.id, ads_t.c.ad_group_id, groups_t.c.campaign_id)
        .join(groups_t, groups_t.c.id == ads_t.c.ad_group_id)
        .where(ads_t.c.ad_account_id == ad_account_id)
        .order_by(ads_t.c.id)
    ).all()
    true = _clipped(conn, ad_account_id, start, end)
    share = cost / len(METRIC_KINDS)
    rows: list[dict[str, Any]] = []
    parents: dict[tuple[str, int, str], list[float]] = defaultdict(list)
    for kind in METRIC_KINDS:
        scale = _BOUND[kind] / share
        if kind in ("clicks", "saves", "closeups"):
            keys: list[tuple[int, str]] = [(int(ad), kind) for ad, _, _ in tree]
            exact = [true[kind].get(ad, 0.0) for ad, _ in keys]
        else:
            keys = [
                (int(ad), f"{kind}:{touch}:{event}")
                for ad, _, _ in tree
                for touch in TOUCH_TYPES
                for event in EVENT_NAMES
            ]
            exact = [
                true[kind].get((ad, metric.split(":")[1], metric.split(":")[2]), 0.0) for ad, metric in keys
            ]
        noisy = _noisy(exact, scale, share, _BOUND[kind])
        sd = scale * math.sqrt(2.0)
        parent_of = {int(ad): (int(group), int(campaign)) for ad, group, campaign in tree}
        for (ad, metric), value in zip(keys, noisy, strict=True):
            rows.append(_cell(ad_account_id, "ad", day, ad, metric, value, sd))
            group, campaign = parent_of[ad]
            parents[("ad_group", group, metric)].append(value)
            parents[("campaign", campaign, metric)].append(value)
    for (level, object_id, metric), values in parents.items():
        sd = laplace_scale(metric.split(":")[0], epsilon) * math.sqrt(2.0 * len(values))
        rows.append(_cell(ad_account_id, level, day, object_id, metric, sum(values), sd))
    c = report_dp_cells.c
    conn.execute(delete(report_dp_cells).where(c.ad_account_id == ad_account_id, c.day == day.isoformat()))
    for i in range(0, len(rows), 2000):
        conn.execute(insert(report_dp_cells), rows[i : i + 2000])
    r = report_dp_releases.c
    conn.execute(delete(report_dp_releases).where(r.ad_account_id == ad_account_id, r.day == day.isoformat()))
    conn.execute(
        insert(report_dp_releases).values(
            ad_account_id=ad_account_id, day=day.isoformat(), windows=windows, epsilon=cost, released_at=now
        )
    )
    led = report_dp_ledger.c
    key = and_(led.ad_account_id == ad_account_id, led.epoch_start == have.epoch_start.isoformat())
    if conn.execute(select(literal(1)).where(key)).first() is None:
        conn.execute(
            insert(report_dp_ledger).values(
                ad_account_id=ad_account_id,
                epoch_start=have.epoch_start.isoformat(),
                spent=cost,
                updated_at=now,
            )
        )
    else:
        conn.execute(report_dp_ledger.update().where(key).values(spent=led.spent + cost, updated_at=now))
    return True


def _cell(
    account: int, level: str, day: date, object_id: int, metric: str, value: float, sd: float
) -> dict[str, Any]:
    return {
        "ad_account_id": account,
        "level": level,
        "day": day.isoformat(),
        "object_id": object_id,
        "metric": metric,
        "value": value,
        "noise_sd": sd,
    }


def dp_cells(
    conn: Connection, ad_account_id: int, level: str, start: date, end: date
) -> dict[tuple[str, int], dict[str, tuple[float, float]]]:
    """(day, object id) -> metric -> (noisy value, noise sd) of the released days."""
    c = report_dp_cells.c
    out: dict[tuple[str, int], dict[str, tuple[float, float]]] = defaultdict(dict)
    q = select(c.day, c.object_id, c.metric, c.value, c.noise_sd).where(
        c.ad_account_id == ad_account_id,
        c.level == level,
        c.day >= start.isoformat(),
        c.day <= end.isoformat(),
    )
    for r in conn.execute(q):
        out[(str(r.day), int(r.object_id))][str(r.metric)] = (float(r.value), float(r.noise_sd))
    return dict(out)
