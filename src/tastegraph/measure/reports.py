"""Advertiser report rollups: daily cells per ad account, day (in the account's time zone), level and
object, and metric, computed inside the database with set-based SQL and kept up to date incrementally.

How a report never describes a handful of people
------------------------------------------------
Cells of people's actions (clicks, saves, close-ups, conversions and their value) are computed per ad
with the number of distinct people behind them. An ad cell from fewer than `min_people` people is
withheld; the day's withheld ad cells of a metric are added up into one "other" cell (withheld too
when all of them together still come from fewer than `min_people` people). An ad group's or a
campaign's cell is the sum of its ads' cells that are published, never a number computed again from
the logs: otherwise a campaign's clicks minus its published ads' clicks would give the withheld ad's
clicks. Totals over days are sums of published day cells. So everything a report shows, at any level
and over any range of whole days, is a sum of published cells, each from at least `min_people`
people, and the published cells of a day never overlap: no difference of two reports isolates fewer
people than that. The price: a campaign's figures leave out its ads' withheld cells (the row says
which columns are partial; the "other" row has them).

Conversions are credited when the cells are computed, by the windows the account has then (click
beats engagement beats view, each inside its window); a change of windows makes the next refresh
recompute that account's conversion cells.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    and_,
    case,
    delete,
    distinct,
    exists,
    func,
    insert,
    literal,
    null,
    or_,
    select,
    union_all,
)
from sqlalchemy.sql.expression import cast
from sqlalchemy.types import Float, Integer, String

from tastegraph.ads import ad_log
from tastegraph.kernel.tables import UTCDateTime
from tastegraph.measure.attribution_tables import ad_attributions
from tastegraph.measure.report_tables import report_cells, report_dirty, report_state
from tastegraph.measure.settings import Windows
from tastegraph.measure.tables import measurement_settings

LEVELS = ("campaign", "ad_group", "ad")
LOG_METRICS = ("impressions", "spend", "clicks", "saves", "closeups")
PEOPLE_LOG_METRICS = ("clicks", "saves", "closeups")
TOUCH_TYPES = ("click", "engagement", "view")
EVENT_NAMES = (
    "checkout",
    "add_to_cart",
    "signup",
    "lead",
    "page_visit",
    "view_category",
    "search",
    "watch_video",
    "custom",
)
# A late row (a transaction that committed after a refresh started, stamped a little earlier) is
# still found by the next refresh.
SLACK = timedelta(minutes=10)
DEFAULT_WINDOWS = Windows()


def is_people_metric(metric: str) -> bool:
    return metric in PEOPLE_LOG_METRICS or metric.startswith(("conv:", "cval:"))


def windows_key(w: Windows) -> str:
    return f"{w.click_days},{w.engagement_days},{w.view_days}"


def day_bounds(day: date, timezone: str) -> tuple[datetime, datetime]:
    """The UTC instants where `day` starts and ends in `timezone`."""
    zone = ZoneInfo(timezone)
    start = datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC)
    return start, end


def local_day(at: datetime, timezone: str) -> date:
    return at.astimezone(ZoneInfo(timezone)).date()


@dataclass(frozen=True)
class Refreshed:
    account_days: int  # (account, day, kind) recomputed
    cells: int  # cells written
    full: bool


# --- state --------------------------------------------------------------------------------------------


def _state(conn: Connection) -> dict[str, str]:
    return {r.name: r.text for r in conn.execute(select(report_state.c.name, report_state.c.text))}


def _set_state(conn: Connection, values: dict[str, str], now: datetime) -> None:
    if not values:
        return
    conn.execute(delete(report_state).where(report_state.c.name.in_(list(values))))
    conn.execute(insert(report_state), [{"name": k, "text": v, "at": now} for k, v in values.items()])


def _windows_in_force(conn: Connection) -> dict[int, str]:
    """Accounts whose windows are not the defaults: their windows as "c,e,v"."""
    s = measurement_settings.c
    return {
        int(r.ad_account_id): f"{r.click_days},{r.engagement_days},{r.view_days}"
        for r in conn.execute(select(s.ad_account_id, s.click_days, s.engagement_days, s.view_days))
    }


# --- what to recompute -----------------------------------------------------------------------------


def _spans(conn: Connection, since: datetime | None) -> dict[tuple[int, str], tuple[datetime, datetime]]:
    """(account, kind) -> (earliest, latest) time of a row added since `since` (None: every row)."""
    logs = ad_log.log_tables()
    out: dict[tuple[int, str], tuple[datetime, datetime]] = {}

    def add(account: int, kind: str, lo: datetime, hi: datetime) -> None:
        old = out.get((account, kind))
        out[(account, kind)] = (min(lo, old[0]), max(hi, old[1])) if old else (lo, hi)

    for t in (logs.impressions, logs.clicks, logs.engagements):
        q = select(t.c.ad_account_id, func.min(t.c.at), func.max(t.c.at)).group_by(t.c.ad_account_id)
        if since is not None:
            q = q.where(t.c.at >= since)
        for account, lo, hi in conn.execute(q):
            add(int(account), "logs", _aware(lo), _aware(hi))
    a = ad_attributions.c
    q = select(a.ad_account_id, func.min(a.event_time), func.max(a.event_time)).group_by(a.ad_account_id)
    if since is not None:
        q = q.where(a.computed_at >= since)
    for account, lo, hi in conn.execute(q):
        add(int(account), "conv", _aware(lo), _aware(hi))
    return out


def _aware(value: Any) -> datetime:
    if isinstance(value, str):  # SQLite's MIN/MAX over a UTCDateTime give the stored text
        value = datetime.fromisoformat(value)
    assert isinstance(value, datetime)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _all_conversion_spans(conn: Connection, accounts: Iterable[int]) -> dict[int, tuple[datetime, datetime]]:
    ids = list(accounts)
    if not ids:
        return {}
    a = ad_attributions.c
    q = (
        select(a.ad_account_id, func.min(a.event_time), func.max(a.event_time))
        .where(a.ad_account_id.in_(ids))
        .group_by(a.ad_account_id)
    )
    return {int(r[0]): (_aware(r[1]), _aware(r[2])) for r in conn.execute(q)}


def _timezones(conn: Connection, accounts: Iterable[int]) -> dict[int, str]:
    ids = list(accounts)
    if not ids:
        return {}
    acc = ad_log.log_tables().accounts
    return {
        int(r.id): str(r.timezone)
        for r in conn.execute(select(acc.c.id, acc.c.timezone).where(acc.c.id.in_(ids)))
    }


def _zones(conn: Connection, dirty: list[dict[str, Any]], kind: str) -> list[_Zone]:
    spans: dict[str, tuple[datetime, datetime]] = {}
    for r in dirty:
        if r["kind"] != kind:
            continue
        old = spans.get(r["timezone"])
        lo, hi = r["start_at"], r["end_at"]
        spans[r["timezone"]] = (min(lo, old[0]), max(hi, old[1])) if old else (lo, hi)
    return [_Zone(name, lo, hi, conn.dialect.name) for name, (lo, hi) in sorted(spans.items())]


def _fill_dirty(
    conn: Connection, spans: dict[tuple[int, str], tuple[datetime, datetime]]
) -> list[dict[str, Any]]:
    conn.execute(delete(report_dirty))
    zones = _timezones(conn, {account for account, _ in spans})
    rows: list[dict[str, Any]] = []
    for (account, kind), (lo, hi) in sorted(spans.items()):
        zone = zones.get(account)
        if zone is None:
            continue
        day, last = local_day(lo, zone), local_day(hi, zone)
        while day <= last:
            start, end = day_bounds(day, zone)
            rows.append(
                {
                    "ad_account_id": account,
                    "day": day.isoformat(),
                    "kind": kind,
                    "timezone": zone,
                    "start_at": start,
                    "end_at": end,
                }
            )
            day += timedelta(days=1)
    for i in range(0, len(rows), 2000):
        conn.execute(insert(report_dirty), rows[i : i + 2000])
    return rows


# --- the cells' sources: (ad_account_id, day, ad_id, metric, value, person) per row -----------------


def person_of(t: Any) -> ColumnElement[Any]:
    return case(
        (t.c.user_id.isnot(None), literal("u:") + cast(t.c.user_id, String)),
        else_=literal("b:") + t.c.browser_key,
    )


@dataclass(frozen=True)
class _Zone:
    """The dirty account days of one time zone: rows are matched to their day by equality (an index
    lookup), the local day computed in SQL (PostgreSQL knows time zones; on SQLite, the zone's UTC
    offsets over the span, as a CASE)."""

    name: str
    lo: datetime
    hi: datetime
    dialect: str

    def day_of(self, at: Any) -> ColumnElement[Any]:
        if self.dialect == "postgresql":
            return func.to_char(func.timezone(self.name, at), "YYYY-MM-DD")
        pieces = _offsets(self.name, self.lo, self.hi)
        if len(pieces) == 1:
            return func.strftime("%Y-%m-%d", at, f"{pieces[0][1]:+d} seconds")
        whens = [
            (at < literal(until, UTCDateTime()), func.strftime("%Y-%m-%d", at, f"{offset:+d} seconds"))
            for until, offset in pieces[:-1]
            if until is not None
        ]
        return case(*whens, else_=func.strftime("%Y-%m-%d", at, f"{pieces[-1][1]:+d} seconds"))


def _offset(zone: ZoneInfo, at: datetime) -> int:
    delta = at.astimezone(zone).utcoffset()
    return int(delta.total_seconds()) if delta else 0


def _offsets(name: str, lo: datetime, hi: datetime) -> list[tuple[datetime | None, int]]:
    """The zone's UTC offset over [lo, hi): [(until, offset seconds), ...], the last until None."""
    zone = ZoneInfo(name)
    out: list[tuple[datetime | None, int]] = []
    step = timedelta(minutes=15)
    current = _offset(zone, lo)
    t = lo
    while t < hi:
        nxt = min(t + step, hi)
        if _offset(zone, nxt) != current:
            a, b = t, nxt  # the change is in (a, b]: find its second
            while (b - a) > timedelta(seconds=1):
                mid = a + (b - a) / 2
                if _offset(zone, mid) == current:
                    a = mid
                else:
                    b = mid
            out.append((b, current))
            current = _offset(zone, b)
        t = nxt
    out.append((None, current))
    return out


def _in_day(t: Any, at: Any, kind: str, zone: _Zone) -> ColumnElement[bool]:
    d = report_dirty.c
    return and_(
        d.kind == kind,
        d.timezone == zone.name,
        t.c.ad_account_id == d.ad_account_id,
        d.day == zone.day_of(at),
        at >= zone.lo,
        at < zone.hi,
    )


def _log_sources(zone: _Zone) -> list[tuple[Select[Any], bool]]:
    """(source, counts people) for each log metric."""
    logs = ad_log.log_tables()
    d = report_dirty.c
    imp, clk, eng = logs.impressions, logs.clicks, logs.engagements
    impressions = select(
        imp.c.ad_account_id,
        d.day,
        imp.c.ad_id,
        literal("impressions").label("metric"),
        literal(1.0).label("value"),
        null().label("person"),
    ).join_from(imp, report_dirty, _in_day(imp, imp.c.at, "logs", zone))
    spend = union_all(
        select(
            imp.c.ad_account_id,
            d.day,
            imp.c.ad_id,
            literal("spend").label("metric"),
            cast(imp.c.charged_micro, Float).label("value"),
            null().label("person"),
        ).join_from(imp, report_dirty, _in_day(imp, imp.c.at, "logs", zone)),
        select(
            clk.c.ad_account_id,
            d.day,
            clk.c.ad_id,
            literal("spend").label("metric"),
            cast(clk.c.charged_micro, Float).label("value"),
            null().label("person"),
        ).join_from(clk, report_dirty, _in_day(clk, clk.c.at, "logs", zone)),
    )
    clicks = select(
        clk.c.ad_account_id,
        d.day,
        clk.c.ad_id,
        literal("clicks").label("metric"),
        literal(1.0).label("value"),
        person_of(clk).label("person"),
    ).join_from(clk, report_dirty, _in_day(clk, clk.c.at, "logs", zone))
    engagements = select(
        eng.c.ad_account_id,
        d.day,
        eng.c.ad_id,
        case((eng.c.kind == "save", literal("saves")), else_=literal("closeups")).label("metric"),
        literal(1.0).label("value"),
        person_of(eng).label("person"),
    ).join_from(eng, report_dirty, _in_day(eng, eng.c.at, "logs", zone))
    return [
        (impressions, False),
        (select(*spend.subquery().c), False),
        (clicks, True),
        (engagements, True),
    ]


def _within(conn: Connection, at: Any, event_time: Any, days: Any) -> ColumnElement[bool]:
    """`at` is no more than `days` days before `event_time`."""
    if conn.dialect.name == "postgresql":
        return and_(at.isnot(None), at >= event_time - func.make_interval(0, 0, 0, days))
    return and_(at.isnot(None), func.julianday(at) >= func.julianday(event_time) - days)


def credited(conn: Connection) -> tuple[ColumnElement[Any], ColumnElement[Any]]:
    """(touch type, ad id) credited for an ad_attributions row by its account's windows in force (the
    row's query must LEFT JOIN measurement_settings on the account); NULL when none is in a window."""
    a, s = ad_attributions.c, measurement_settings.c
    click_days = func.coalesce(s.click_days, DEFAULT_WINDOWS.click_days)
    engagement_days = func.coalesce(s.engagement_days, DEFAULT_WINDOWS.engagement_days)
    view_days = func.coalesce(s.view_days, DEFAULT_WINDOWS.view_days)
    by_click = _within(conn, a.click_at, a.event_time, click_days)
    by_engagement = _within(conn, a.engagement_at, a.event_time, engagement_days)
    by_view = and_(view_days > 0, _within(conn, a.view_at, a.event_time, view_days))
    kind = case(
        (by_click, literal("click")), (by_engagement, literal("engagement")), (by_view, literal("view"))
    )
    ad = case((by_click, a.click_ad_id), (by_engagement, a.engagement_ad_id), (by_view, a.view_ad_id))
    return kind, ad


def _conversion_sources(conn: Connection, zone: _Zone) -> list[tuple[Select[Any], bool]]:
    a, d = ad_attributions.c, report_dirty.c
    kind, ad = credited(conn)
    base = (
        select(
            a.ad_account_id.label("ad_account_id"),
            d.day.label("day"),
            ad.label("ad_id"),
            kind.label("kind"),
            a.event_name.label("event_name"),
            cast(func.coalesce(a.value, 0), Float).label("amount"),
            a.person_key.label("person"),
        )
        .select_from(ad_attributions)
        .join(report_dirty, _in_day(ad_attributions, a.event_time, "conv", zone))
        .outerjoin(measurement_settings, measurement_settings.c.ad_account_id == a.ad_account_id)
        .subquery()
    )
    b = base.c
    out = []
    for prefix, value in (("conv:", literal(1.0)), ("cval:", b.amount)):
        out.append(
            (
                select(
                    b.ad_account_id,
                    b.day,
                    b.ad_id,
                    (literal(prefix) + b.kind + literal(":") + b.event_name).label("metric"),
                    value.label("value"),
                    b.person,
                ).where(b.kind.isnot(None)),
                True,
            )
        )
    return out


def _write_ad_cells(conn: Connection, source: Select[Any], people: bool, min_people: int) -> int:
    s = source.subquery()
    people_col = cast(func.count(distinct(s.c.person)), Integer) if people else cast(null(), Integer)
    ad_cells = select(
        s.c.ad_account_id,
        literal("ad"),
        s.c.day,
        s.c.ad_id,
        s.c.metric,
        func.sum(s.c.value),
        people_col,
        literal(0),
    ).group_by(s.c.ad_account_id, s.c.day, s.c.ad_id, s.c.metric)
    cols = ["ad_account_id", "level", "day", "object_id", "metric", "value", "people", "withheld"]
    n = max(0, conn.execute(insert(report_cells).from_select(cols, ad_cells)).rowcount or 0)
    if not people:
        return n
    if conn.dialect.name == "postgresql":
        # Statistics for the cells just written: without them the planner takes report_cells for
        # empty and looks the withheld cells up by scanning it once per log row.
        conn.exec_driver_sql("ANALYZE report_cells")
    # The day's withheld ad cells of each metric, together, with the distinct people behind them all.
    c = report_cells.c
    withheld = exists(
        select(1).where(
            c.ad_account_id == s.c.ad_account_id,
            c.level == "ad",
            c.day == s.c.day,
            c.object_id == s.c.ad_id,
            c.metric == s.c.metric,
            c.people < min_people,
        )
    )
    other = (
        select(
            s.c.ad_account_id,
            literal("other"),
            s.c.day,
            literal(0),
            s.c.metric,
            func.sum(s.c.value),
            cast(func.count(distinct(s.c.person)), Integer),
            cast(func.count(distinct(s.c.ad_id)), Integer),
        )
        .where(withheld)
        .group_by(s.c.ad_account_id, s.c.day, s.c.metric)
    )
    return n + max(0, conn.execute(insert(report_cells).from_select(cols, other)).rowcount or 0)


def _metric_filter(kind: str) -> ColumnElement[bool]:
    c = report_cells.c
    if kind == "logs":
        return c.metric.in_(LOG_METRICS)
    return or_(c.metric.like("conv:%"), c.metric.like("cval:%"))


def _dirty_of(kind: str, table: Any = report_cells) -> ColumnElement[bool]:
    d = report_dirty.c
    return exists(
        select(1).where(d.kind == kind, d.ad_account_id == table.c.ad_account_id, d.day == table.c.day)
    )


def _write_parent_cells(conn: Connection, kind: str, min_people: int) -> int:
    """Ad groups' and campaigns' cells: the sums of their ads' published cells."""
    logs = ad_log.log_tables()
    c, ads, groups = report_cells.c, logs.ads.c, logs.ad_groups.c
    published = or_(c.people.is_(None), c.people >= min_people)
    total = 0
    for level, parent in (("ad_group", ads.ad_group_id), ("campaign", groups.campaign_id)):
        q = (
            select(
                c.ad_account_id,
                literal(level),
                c.day,
                parent,
                c.metric,
                func.sum(case((published, c.value), else_=0.0)),
                cast(null(), Integer),
                func.sum(case((published, 0), else_=1)),
            )
            .select_from(report_cells)
            .join(logs.ads, ads.id == c.object_id)
            .join(logs.ad_groups, groups.id == ads.ad_group_id)
            .where(c.level == "ad", _metric_filter(kind), _dirty_of(kind))
            .group_by(c.ad_account_id, c.day, parent, c.metric)
        )
        cols = ["ad_account_id", "level", "day", "object_id", "metric", "value", "people", "withheld"]
        total += max(0, conn.execute(insert(report_cells).from_select(cols, q)).rowcount or 0)
    return total


def refresh(
    conn: Connection,
    now: datetime,
    since: datetime | None = None,
    *,
    min_people: int = 10,
    full: bool = False,
) -> Refreshed:
    """Recompute the cells of every account day touched since `since` (by default since the last
    refresh, a few minutes' slack included; everything on the first run or with `full`), and every
    conversion cell of an account whose attribution windows changed. Idempotent: running it again
    rewrites the same cells. Call it after attribution (`tastegraph measure`, `tastegraph sweep`)."""
    if conn.dialect.name == "postgresql":  # one refresh at a time (SQLite's write lock does it there)
        conn.exec_driver_sql("SELECT pg_advisory_xact_lock(1916)")
    else:
        conn.execute(delete(report_dirty))  # takes the write lock before reading the state
    state = _state(conn)
    if state.get("min_people") != str(min_people) or "last_run" not in state:
        full = True
    if since is None and not full:
        since = datetime.fromisoformat(state["last_run"]) - SLACK
    spans = _spans(conn, None if full else since)
    in_force = _windows_in_force(conn)
    used = {int(k[2:]): v for k, v in state.items() if k.startswith("w:")}
    default = windows_key(DEFAULT_WINDOWS)
    changed = {
        account
        for account in set(in_force) | set(used)
        if in_force.get(account, default) != used.get(account, default)
    }
    for account, span in _all_conversion_spans(conn, changed).items():
        old = spans.get((account, "conv"))
        spans[(account, "conv")] = (min(span[0], old[0]), max(span[1], old[1])) if old else span
    dirty = _fill_dirty(conn, spans)
    cells = 0
    c = report_cells.c
    for kind in ("logs", "conv"):
        if not any(r["kind"] == kind for r in dirty):
            continue
        conn.execute(delete(report_cells).where(_metric_filter(kind), _dirty_of(kind)))
        for zone in _zones(conn, dirty, kind):
            sources = _log_sources(zone) if kind == "logs" else _conversion_sources(conn, zone)
            for source, people in sources:
                cells += _write_ad_cells(conn, source, people, min_people)
        cells += _write_parent_cells(conn, kind, min_people)
    del c
    conn.execute(delete(report_dirty))
    updates = {"min_people": str(min_people), "last_run": now.isoformat()}
    updates.update({f"w:{account}": in_force.get(account, default) for account in changed})
    _set_state(conn, updates, now)
    return Refreshed(len(dirty), cells, full)


# --- reading --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    value: float
    people: int | None
    withheld: int  # parents: how many of its ads' cells are left out


def cells(
    conn: Connection, ad_account_id: int, level: str, start: date, end: date
) -> dict[tuple[str, int], dict[str, Cell]]:
    """(day, object id) -> metric -> cell, for `level` and the "other" cells (object id 0 at level
    "other"), days start..end inclusive."""
    c = report_cells.c
    out: dict[tuple[str, int], dict[str, Cell]] = defaultdict(dict)
    q = select(c.level, c.day, c.object_id, c.metric, c.value, c.people, c.withheld).where(
        c.ad_account_id == ad_account_id,
        c.level.in_([level, "other"]),
        c.day >= start.isoformat(),
        c.day <= end.isoformat(),
    )
    for level_, day, object_id, metric, value, people, withheld in conn.execute(q).all():
        key = (day, 0 if level_ == "other" else object_id)
        out[key][metric] = Cell(value, people, withheld)
    return dict(out)


@dataclass(frozen=True)
class Total:
    """A metric of one object over a range of days: the sum of its published day cells."""

    value: float
    published_days: int
    withheld_days: int
    partial_days: int  # published days that leave some ad cells out (parents)


def totals(
    conn: Connection, ad_account_id: int, level: str, start: date, end: date, min_people: int
) -> dict[int, dict[str, Total]]:
    """object id (0: the other row) -> metric -> Total over start..end, added up by the database from
    the day cells as a day report would publish them (never from the logs)."""
    c = report_cells.c
    published = case(
        (c.people.isnot(None), c.people >= min_people),
        else_=or_(c.value != 0, c.withheld == 0),
    )
    partial = and_(c.people.is_(None), c.withheld > 0, c.value != 0)
    q = (
        select(
            c.level,
            c.object_id,
            c.metric,
            func.sum(case((published, c.value), else_=0.0)),
            func.sum(case((published, 1), else_=0)),
            func.sum(case((published, 0), else_=1)),
            func.sum(case((partial, 1), else_=0)),
        )
        .where(
            c.ad_account_id == ad_account_id,
            c.level.in_([level, "other"]),
            c.day >= start.isoformat(),
            c.day <= end.isoformat(),
        )
        .group_by(c.level, c.object_id, c.metric)
    )
    out: dict[int, dict[str, Total]] = defaultdict(dict)
    for lvl, object_id, metric, value, pub, held, part in conn.execute(q):
        key = 0 if lvl == "other" else int(object_id)
        out[key][str(metric)] = Total(float(value or 0.0), int(pub or 0), int(held or 0), int(part or 0))
    return dict(out)
