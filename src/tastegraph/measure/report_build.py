"""One advertiser report: the cells of a level and a range of whole days (in the account's time zone),
as rows per day or in total, protected by the account's privacy mode (threshold or dp)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, select

from tastegraph.ads import ad_log
from tastegraph.measure import report_dp
from tastegraph.measure.report_rows import COLUMNS, Figures, Part, figures_of, row_json
from tastegraph.measure.report_tables import report_cells
from tastegraph.measure.reports import Total, cells, is_people_metric, local_day, totals, windows_key
from tastegraph.measure.settings import MeasurementSettings

MAX_DAYS = 90
_NOT_IN_OTHER = (
    "impressions",
    "spend_in_micro",
    "ctr",
    "cpc_in_micro",
    "cpm_in_micro",
    "cpa_in_micro",
    "roas",
)


@dataclass(frozen=True)
class Request:
    level: str  # campaign | ad_group | ad
    start: date
    end: date
    granularity: str  # day | total
    columns: tuple[str, ...] = COLUMNS


@dataclass(frozen=True)
class Account:
    id: int
    timezone: str
    currency: str


def _names(conn: Connection, account_id: int, level: str) -> dict[int, str]:
    logs = ad_log.log_tables()
    t = {"campaign": logs.campaigns, "ad_group": logs.ad_groups, "ad": logs.ads}[level]
    return {
        int(r.id): str(r.name)
        for r in conn.execute(select(t.c.id, t.c.name).where(t.c.ad_account_id == account_id))
    }


def _threshold_parts(
    conn: Connection, account: Account, req: Request, min_people: int
) -> dict[tuple[str, int], dict[str, Part]]:
    out: dict[tuple[str, int], dict[str, Part]] = {}
    for key, metrics in cells(conn, account.id, req.level, req.start, req.end).items():
        parts: dict[str, Part] = {}
        is_other = key[1] == 0
        for metric, cell in metrics.items():
            if cell.people is not None:  # an ad's or the other row's cell of people's actions
                parts[metric] = Part(cell.value, cell.people >= min_people)
            elif is_people_metric(metric) and not is_other:  # a parent's sum of published cells
                published = cell.value != 0 or cell.withheld == 0
                parts[metric] = Part(cell.value, published, partial=cell.withheld > 0)
            else:
                parts[metric] = Part(cell.value, True)
        out[key] = parts
    return out


def _active_days(conn: Connection, account_id: int, start: date, end: date) -> set[str]:
    c = report_cells.c
    q = (
        select(c.day)
        .where(
            c.ad_account_id == account_id,
            c.level == "ad",
            c.day >= start.isoformat(),
            c.day <= end.isoformat(),
        )
        .distinct()
    )
    return {str(d) for d in conn.execute(q).scalars()}


_WITHHELD_KINDS = (
    "clicks",
    "saves",
    "closeups",
    *(f"{p}:{t}:checkout" for p in ("conv", "cval") for t in ("click", "engagement", "view")),
)


def _dp_parts(
    conn: Connection, account: Account, settings: MeasurementSettings, req: Request, now: datetime
) -> tuple[dict[tuple[str, int], dict[str, Part]], dict[str, Any]]:
    today = local_day(now, account.timezone)
    windows = windows_key(settings.windows)
    released = report_dp.releases(conn, account.id, req.start, req.end)
    state: dict[str, str] = {}  # day -> "released" | "stale" | "privacy_budget_exhausted" | "day_not_over"
    for day_text in sorted(_active_days(conn, account.id, req.start, req.end)):
        day = date.fromisoformat(day_text)
        if day >= today:
            state[day_text] = "day_not_over"
            continue
        if released.get(day_text) == windows:
            state[day_text] = "released"
            continue
        ok = report_dp.release(conn, account.id, day, account.timezone, windows, settings.dp_epsilon, now)
        if ok:
            state[day_text] = "released"
        else:
            state[day_text] = "stale" if day_text in released else "privacy_budget_exhausted"
    noisy = report_dp.dp_cells(conn, account.id, req.level, req.start, req.end)
    out: dict[tuple[str, int], dict[str, Part]] = defaultdict(dict)
    for key, metrics in cells(conn, account.id, req.level, req.start, req.end).items():
        if key[1] == 0:
            continue  # no "other" row: noise protects every cell
        for metric, cell in metrics.items():
            if not is_people_metric(metric):
                out[key][metric] = Part(cell.value, True)
        why = state.get(key[0])
        if why in ("day_not_over", "privacy_budget_exhausted"):
            for metric in _WITHHELD_KINDS:
                out[key][metric] = Part(0.0, False, reason=why)
    for key, released_cells in noisy.items():
        why = state.get(key[0], "released")
        for metric, (value, sd) in released_cells.items():
            if why == "stale" and metric.startswith(("conv:", "cval:")):
                out[key][metric] = Part(0.0, False, reason="privacy_budget_exhausted")
            else:
                out[key][metric] = Part(value, True, noise_sd=sd)
    epochs = []
    seen: set[date] = set()
    day = req.start
    while day <= req.end:
        e = report_dp.epoch_start(day)
        if e not in seen:
            seen.add(e)
            b = report_dp.budget(conn, account.id, e, settings.dp_epsilon)
            epochs.append(
                {"epoch_start": e.isoformat(), "spent": round(b.spent, 6), "remaining": round(b.remaining, 6)}
            )
        day += timedelta(days=1)
    info = {
        "mode": "dp",
        "epsilon_per_epoch": settings.dp_epsilon,
        "epoch_days": report_dp.EPOCH_DAYS,
        "epsilon_per_day_release": report_dp.day_cost(settings.dp_epsilon),
        "contribution_bounds": {
            "clicks_per_day": report_dp.CLICKS_PER_DAY,
            "saves_per_day": report_dp.SAVES_PER_DAY,
            "closeups_per_day": report_dp.CLOSEUPS_PER_DAY,
            "conversions_per_day": report_dp.CONVERSIONS_PER_DAY,
            "value_per_conversion": report_dp.VALUE_PER_CONVERSION,
        },
        "epochs": epochs,
        "budget_exhausted": any(v in ("privacy_budget_exhausted", "stale") for v in state.values()),
        "days_not_released": sorted(d for d, v in state.items() if v != "released"),
    }
    return dict(out), info


def build(
    conn: Connection,
    account: Account,
    settings: MeasurementSettings,
    req: Request,
    *,
    min_people: int,
    now: datetime,
) -> dict[str, Any]:
    """The report (rows and what protected them). In dp mode this may release days (writes)."""
    names = _names(conn, account.id, req.level)
    if settings.privacy != "dp" and req.granularity == "total":
        # Added up by the database: the same sums of published day cells, without reading every day.
        summed = totals(conn, account.id, req.level, req.start, req.end, min_people)
        total_rows = [
            _row(
                None,
                req,
                object_id,
                names,
                figures_of({m: _total_part(t) for m, t in summed[object_id].items()}),
            )
            for object_id in sorted(summed, key=lambda o: (1 if o == 0 else 0, o))
        ]
        return _report(account, settings, req, {"mode": "threshold", "min_people": min_people}, total_rows)
    if settings.privacy == "dp":
        parts, privacy = _dp_parts(conn, account, settings, req, now)
    else:
        parts = _threshold_parts(conn, account, req, min_people)
        privacy = {"mode": "threshold", "min_people": min_people}
    per_key = {key: figures_of(p) for key, p in parts.items()}
    rows: list[dict[str, Any]] = []

    def order(key: tuple[str, int]) -> tuple[str, int, int]:
        return (key[0], 1 if key[1] == 0 else 0, key[1])

    if req.granularity == "day":
        for key in sorted(per_key, key=order):
            rows.append(_row(key[0], req, key[1], names, per_key[key]))
    else:
        summed_days: dict[int, Figures] = defaultdict(Figures)
        for key, figs in per_key.items():
            summed_days[key[1]].merge(figs)
        for object_id in sorted(summed_days, key=lambda o: (1 if o == 0 else 0, o)):
            rows.append(_row(None, req, object_id, names, summed_days[object_id]))
    return _report(account, settings, req, privacy, rows)


def _total_part(t: Total) -> Part:
    if t.published_days == 0:
        return Part(0.0, t.withheld_days == 0)
    return Part(t.value, True, partial=t.withheld_days > 0 or t.partial_days > 0)


def _report(
    account: Account,
    settings: MeasurementSettings,
    req: Request,
    privacy: dict[str, Any],
    rows: list[dict[str, Any]],
) -> dict[str, Any]:
    return {
        "ad_account_id": account.id,
        "level": req.level,
        "granularity": req.granularity,
        "start_date": req.start.isoformat(),
        "end_date": req.end.isoformat(),
        "timezone": account.timezone,
        "currency": account.currency,
        "attribution": settings.as_dict()["attribution"],
        "privacy": privacy,
        "columns": [c for c in COLUMNS if c in req.columns],
        "rows": rows,
    }


def _row(
    day: str | None, req: Request, object_id: int, names: dict[int, str], figs: Figures
) -> dict[str, Any]:
    if object_id == 0:
        row = row_json(day, "other", "other", "Other (withheld cells together)", figs, req.columns)
        for column in _NOT_IN_OTHER:  # the other row holds people's actions only
            if column in row:
                row[column] = None
        row["withheld"] = [c for c in row["withheld"] if c not in _NOT_IN_OTHER]
        row["partial"] = [c for c in row["partial"] if c not in _NOT_IN_OTHER]
        if not row["withheld"]:
            row.pop("withheld_reason", None)
        return row
    return row_json(day, req.level, object_id, names.get(object_id, f"#{object_id}"), figs, req.columns)
