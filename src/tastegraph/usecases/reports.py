"""Advertiser reports: what the account's Promoted Pins did over whole days (in the account's time
zone), per campaign, ad group or ad, protected by the account's privacy mode (measure.reports documents
the threshold, measure.report_dp the differentially private mode); and refreshing the rollups they
read, after attribution."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from tastegraph.ads import accounts
from tastegraph.bootstrap import System
from tastegraph.kernel import InvalidInput
from tastegraph.measure import settings as measurement_settings
from tastegraph.measure.report_build import MAX_DAYS, Account, Request, build
from tastegraph.measure.report_rows import COLUMNS, csv_text
from tastegraph.measure.reports import LEVELS, local_day
from tastegraph.measure.reports import refresh as refresh_cells
from tastegraph.usecases.callers import AdCaller

GRANULARITIES = ("day", "total")
__all__ = ["COLUMNS", "Refreshed", "parse_request", "refresh", "report", "report_csv"]
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
FIRST_DAY = date(2000, 1, 1)
LAST_DAY = date(2100, 12, 31)


@dataclass(frozen=True)
class Refreshed:
    account_days: int
    cells: int
    full: bool


def refresh(system: System, since: datetime | None = None, *, full: bool = False) -> Refreshed:
    """Recompute the report cells touched since `since` (default: since the last refresh); call after
    attribution (`tastegraph measure`, `tastegraph sweep`)."""
    with system.write(long_running=True) as conn:
        done = refresh_cells(
            conn, system.clock.now(), since, min_people=system.settings.report_min_people, full=full
        )
    return Refreshed(done.account_days, done.cells, done.full)


def _day(text: str, field: str) -> date:
    try:
        if not _DAY.fullmatch(text):
            raise ValueError
        day = date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"{field} is a day as YYYY-MM-DD, e.g. 2026-06-01", field=field) from None
    if not FIRST_DAY <= day <= LAST_DAY:
        raise InvalidInput(f"{field} is between {FIRST_DAY} and {LAST_DAY}", field=field)
    return day


def parse_request(
    level: str | None,
    start_date: str | None,
    end_date: str | None,
    granularity: str | None,
    columns: str | None,
    today: date,
) -> Request:
    """A report request from its query parameters (InvalidInput naming the parameter otherwise).
    Defaults: level campaign, the 7 days ending today, per day, every column."""
    lvl = level or "campaign"
    if lvl not in LEVELS:
        raise InvalidInput("level is campaign, ad_group or ad", field="level")
    end = _day(end_date, "end_date") if end_date else today
    start = _day(start_date, "start_date") if start_date else end - timedelta(days=6)
    if start > end:
        raise InvalidInput("start_date is after end_date", field="start_date")
    if (end - start).days + 1 > MAX_DAYS:
        raise InvalidInput(f"at most {MAX_DAYS} days per report", field="end_date")
    gran = granularity or "day"
    if gran not in GRANULARITIES:
        raise InvalidInput("granularity is day or total", field="granularity")
    chosen: tuple[str, ...] = COLUMNS
    if columns:
        names = [c.strip() for c in columns.split(",") if c.strip()]
        unknown = [c for c in names if c not in COLUMNS]
        if unknown or not names:
            raise InvalidInput(
                f"unknown column {unknown[0]!r}; columns are {', '.join(COLUMNS)}"
                if unknown
                else "no column",
                field="columns",
            )
        chosen = tuple(c for c in COLUMNS if c in names)
    return Request(lvl, start, end, gran, chosen)


def report(
    system: System,
    caller: AdCaller,
    *,
    level: str | None = None,
    start_date: str | None = None,
    end_date: str | None = None,
    granularity: str | None = None,
    columns: str | None = None,
) -> dict[str, Any]:
    """The account's report (docs/api.md shows its shape). Another account is NotFound upstream: the
    caller is the account itself. In the dp mode the first report of an ended day releases it (and
    spends budget); later reports reuse it."""
    now = system.clock.now()
    with system.read() as conn:
        account = accounts.get_account(conn, caller.ad_account_id)
        chosen = measurement_settings.get(conn, caller.ad_account_id)
    req = parse_request(level, start_date, end_date, granularity, columns, local_day(now, account.timezone))
    target = Account(account.id, account.timezone, account.currency)
    if chosen.privacy == "dp":
        with system.write() as conn:
            return build(conn, target, chosen, req, min_people=system.settings.report_min_people, now=now)
    with system.read() as conn:
        return build(conn, target, chosen, req, min_people=system.settings.report_min_people, now=now)


def report_csv(report_json: dict[str, Any]) -> str:
    return csv_text(report_json["rows"], report_json["columns"])
