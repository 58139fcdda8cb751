"""Conversion attribution: which Promoted Pin a conversion is credited to, computed inside the database.

A conversion is an advertiser's event (tag or conversions API) of one of the kinds in `CONVERSION_KINDS`
that consent allowed to be attributed when it arrived (`attributable`, decided at ingest by
collect.advertiser_events). For each one, `run` stores one row in `ad_attributions` with the candidates
(measure.attribution_tables): the same person's last click, last engagement and last counted impression
of the same ad account's Promoted Pins in the `MAX_WINDOW_DAYS` before the conversion. The credited one is
chosen when a report is computed, by the windows then in force (`credited_expr`): click beats engagement
beats view, each inside its window. A conversion counts once: one row per stored event (the tag and the
API reporting the same conversion are one stored event: ingest's 48-hour dedupe), however many ads
touched the person; only the last touch of each kind is kept.

Matching: the event's person (`user_id`) to the ad logs' person. A `click_id` (the `tg_click` value) names
its click directly, even when no person was matched: only a click of the same ad account (another
account's click id names nothing), in the window, and then only that click is a candidate (a click id
ties the conversion to one click, not to the rest of that person's or browser's history). The row is the
click's person's (`u:<id>`), or, for a click made signed out, its browser's ad-log key (`b:<key>`).

Incremental and idempotent: a run processes the events stored since the last run (by id, and by arrival
time with a grace period for transactions that committed late), and re-evaluates the conversions that
ad-log rows recorded since the last run could change (a touch recorded after the conversion was processed
but earlier than it). Rows are only written when what they hold changes, so a rerun changes nothing.
`since` recomputes every conversion from that time on (e.g. after bulk-loading old ad logs). Work is done
in chunks of conversions, each in its own transaction: an interrupted run leaves correct rows and the
next run redoes what is missing (the watermarks move only when a run completes).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    ColumnElement,
    Connection,
    Engine,
    FromClause,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    and_,
    case,
    cast,
    delete,
    exists,
    false,
    func,
    insert,
    literal,
    literal_column,
    null,
    or_,
    select,
    text,
    true,
    update,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from tastegraph.ads import ad_log
from tastegraph.collect import advertiser_events
from tastegraph.kernel.tables import UTCDateTime
from tastegraph.measure.attribution_tables import ad_attributions, attribution_progress
from tastegraph.measure.settings import MAX_WINDOW_DAYS, Windows

CONVERSION_KINDS: tuple[str, ...] = tuple(e.value for e in advertiser_events.EventName)
# How far before the last run an event's arrival or an ad-log row's time may lie and still be picked
# up: covers transactions that were open while the last run read (their rows committed after it).
GRACE = timedelta(minutes=15)
# Attribution rows are derived from the ad logs: they go when the logs they come from go.
RETENTION = ad_log.AD_LOG_RETENTION
CHUNK = 50_000  # conversions per transaction
_PG_LOCK = 0x7A771B  # pg advisory lock: one run at a time
LEASE = timedelta(hours=1)  # SQLite: how long a run's lease holds if it never releases it

Progress = Callable[[str, int, int], None]  # (stage, done, total)


# --- time arithmetic both databases understand ------------------------------------------------------


class days_before(FunctionElement[datetime]):
    """`ts` minus `days` whole days of 86,400 seconds (no calendar or DST rules): ts - N * 1 day."""

    type = UTCDateTime()
    inherit_cache = True
    name = "days_before"

    def __init__(self, ts: ColumnElement[Any], days: int) -> None:
        if isinstance(days, bool) or not isinstance(days, int) or not 0 <= days <= 3650:
            raise ValueError("days must be an int from 0 to 3650")
        # A literal (the windows come from closed sets): part of the statement's cache key.
        super().__init__(ts, literal_column(str(days), Integer))


@compiles(days_before, "postgresql")
def _days_before_pg(element: days_before, compiler: SQLCompiler, **kw: Any) -> str:
    ts, days = list(element.clauses)
    return f"({compiler.process(ts, **kw)} - {compiler.process(days, **kw)} * interval '86400 seconds')"


@compiles(days_before, "sqlite")
def _days_before_sqlite(element: days_before, compiler: SQLCompiler, **kw: Any) -> str:
    ts, days = list(element.clauses)
    # Stored as 'YYYY-MM-DD HH:MM:SS.ffffff' text (UTCDateTime): the result in the same shape, so
    # that comparing the text compares the times.
    return (
        f"strftime('%Y-%m-%d %H:%M:%f000', {compiler.process(ts, **kw)}, "
        f"'-' || {compiler.process(days, **kw)} || ' days')"
    )


# --- what reports apply ------------------------------------------------------------------------------


def credited_expr(
    windows: Windows, attributions: FromClause | None = None
) -> tuple[ColumnElement[str | None], ColumnElement[int | None]]:
    """The credited interaction of an `ad_attributions` row under `windows`, as SQL expressions:
    (kind: 'click' | 'engagement' | 'view' | NULL, the credited ad's id or NULL). Click beats engagement
    beats view, each inside its window (a touch exactly N days before the conversion is inside an N-day
    window); a view window of 0 days credits no view. `attributions`: an alias of the table, if the
    report's query uses one."""
    a = ad_attributions if attributions is None else attributions
    t = a.c.event_time

    def inside(at: ColumnElement[Any], days: int) -> ColumnElement[bool]:
        if days <= 0:
            return false()
        return and_(at.is_not(None), at >= days_before(t, days))

    in_click = inside(a.c.click_at, windows.click_days)
    in_engagement = inside(a.c.engagement_at, windows.engagement_days)
    in_view = inside(a.c.view_at, windows.view_days)
    kind: ColumnElement[str | None] = case(
        (in_click, literal("click")),
        (in_engagement, literal("engagement")),
        (in_view, literal("view")),
        else_=null(),
    )
    ad_id: ColumnElement[int | None] = case(
        (in_click, a.c.click_ad_id),
        (in_engagement, a.c.engagement_ad_id),
        (in_view, a.c.view_ad_id),
        else_=null(),
    )
    return kind, ad_id


# --- the run ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunResult:
    considered: int  # conversions (re)evaluated
    inserted: int
    updated: int
    deleted: int
    full: bool  # no watermark (first run) or `since` given
    skipped: bool = False  # another run held the lock (PostgreSQL)


_scratch = MetaData()
_todo = Table(
    "tmp_attribution_todo", _scratch, Column("event_id", BigInteger, primary_key=True), prefixes=["TEMPORARY"]
)
# The work list numbered in the order of the conversions' people: chunks are ranges of `n`, so the
# lookups of one chunk walk the ad logs' (person, account, time) indexes in order, not at random.
_order = Table(
    "tmp_attribution_order",
    _scratch,
    Column("n", Integer, primary_key=True),
    Column("event_id", BigInteger, nullable=False),
    prefixes=["TEMPORARY"],
)
_cand = Table(
    "tmp_attribution_cand",
    _scratch,
    Column("n", Integer, primary_key=True),
    Column("event_id", BigInteger, nullable=False),
    Column("ad_account_id", BigInteger),
    Column("match_user_id", BigInteger),  # the event's own person (None: click id only)
    Column("user_id", BigInteger),
    Column("person_key", String(40)),
    Column("event_name", String(20)),
    Column("event_time", UTCDateTime),
    Column("value", Numeric(18, 4)),
    Column("currency", String(3)),
    Column("id_click_id", String(32)),  # the click the event's click id names
    Column("id_click_at", UTCDateTime),
    Column("user_click_at", UTCDateTime),  # the person's last click
    Column("engagement_at", UTCDateTime),
    Column("view_at", UTCDateTime),
    prefixes=["TEMPORARY"],
)
_ROW_COLUMNS = (
    "event_id",
    "ad_account_id",
    "user_id",
    "person_key",
    "event_name",
    "event_time",
    "value",
    "currency",
    "click_ad_id",
    "click_at",
    "click_id",
    "engagement_ad_id",
    "engagement_at",
    "view_ad_id",
    "view_at",
)
_final = Table(
    "tmp_attribution_final",
    _scratch,
    *(
        Column(c.name, c.type, primary_key=c.name == "event_id")
        for c in ad_attributions.c
        if c.name in _ROW_COLUMNS
    ),
    prefixes=["TEMPORARY"],
)
_SCRATCH = (_todo, _order, _cand, _final)
# What a recomputation may change (the event's own fields never change).
_CHANGEABLE = (
    "user_id",
    "person_key",
    "click_ad_id",
    "click_at",
    "click_id",
    "engagement_ad_id",
    "engagement_at",
    "view_ad_id",
    "view_at",
)


@dataclass(frozen=True)
class _Marks:
    last_event_id: int | None
    last_run_at: datetime | None
    last_log_at: datetime | None


def _marks(conn: Connection) -> _Marks:
    rows = {r.name: r for r in conn.execute(select(attribution_progress))}
    events, logs = rows.get("events"), rows.get("ad_logs")
    return _Marks(
        None if events is None or events.value is None else int(events.value),
        None if events is None else events.at,
        None if logs is None else logs.at,
    )


def _save_mark(conn: Connection, name: str, value: int | None, at: datetime | None) -> None:
    done = conn.execute(
        update(attribution_progress).where(attribution_progress.c.name == name).values(value=value, at=at)
    ).rowcount
    if not done:
        conn.execute(insert(attribution_progress).values(name=name, value=value, at=at))


def _analyze(conn: Connection, *tables: Table) -> None:
    """PostgreSQL never analyzes temporary tables on its own: without statistics the planner took a
    50,000-row chunk for a handful of rows and chose nested loops over seq scans (minutes a chunk)."""
    if conn.dialect.name == "postgresql":
        for t in tables:
            conn.execute(text(f"ANALYZE {t.name}"))


def _drop_scratch(conn: Connection) -> None:
    for t in reversed(_SCRATCH):
        conn.execute(text(f"DROP TABLE IF EXISTS {t.name}"))


def _qualified(e: FromClause) -> ColumnElement[bool]:
    """A conversion consent allowed to attribute when it arrived, with someone or a click to match."""
    return and_(
        e.c.attributable.is_(true()),
        e.c.event_name.in_(CONVERSION_KINDS),
        or_(e.c.user_id.is_not(None), e.c.click_id.is_not(None)),
    )


def _add_todo(conn: Connection, ids: Any) -> None:
    """Add the event ids `ids` (a select of one column) to the work list, once each."""
    sub = ids.subquery()
    conn.execute(
        insert(_todo).from_select(
            ["event_id"],
            select(sub.c[0]).distinct().where(~exists().where(_todo.c.event_id == sub.c[0])),
        )
    )


def _fill_todo(conn: Connection, marks: _Marks, top_id: int, since: datetime | None) -> bool:
    """The conversions this run (re)evaluates; True when it is a full pass."""
    e = advertiser_events.event_log()
    base = select(e.c.id).where(_qualified(e), e.c.id <= top_id)
    if marks.last_event_id is None:
        _add_todo(conn, base)
        return True
    new = e.c.id > marks.last_event_id
    if marks.last_run_at is not None:
        new = or_(new, e.c.received_at >= marks.last_run_at - GRACE)
    if since is not None:
        _add_todo(conn, base.where(or_(new, e.c.event_time >= since)))
        # Rows whose event no longer qualifies are re-evaluated too (and so deleted).
        a = ad_attributions
        _add_todo(conn, select(a.c.event_id).where(a.c.event_time >= since))
        return True
    # (Two statements, not one OR: each reads through its own index.)
    _add_todo(conn, base.where(e.c.id > marks.last_event_id))
    if marks.last_run_at is not None:
        _add_todo(conn, base.where(e.c.received_at >= marks.last_run_at - GRACE))
    if marks.last_log_at is not None:
        cutoff = marks.last_log_at - GRACE
        logs = ad_log.touch_logs()
        for log in (logs.clicks, logs.engagements, logs.impressions):
            # The touches recorded since (few), by person and account, first: the conversions are
            # then found through the events' person index (never a scan of every conversion).
            # (Grouped by `user_id + 0`: SQLite would otherwise walk the whole person index to group
            # in order instead of reading the recent rows through the time index. NULL persons match
            # no event.)
            person = (log.c.user_id + 0).label("user_id")
            recent = (
                select(
                    person,
                    log.c.ad_account_id,
                    func.min(log.c.at).label("first"),
                    func.max(log.c.at).label("last"),
                )
                .where(log.c.at >= cutoff)
                .group_by(person, log.c.ad_account_id)
                .subquery()
            )
            by_person = and_(
                e.c.user_id == recent.c.user_id,
                e.c.ad_account_id == recent.c.ad_account_id,
                e.c.event_time >= recent.c.first,
                days_before(e.c.event_time, MAX_WINDOW_DAYS) <= recent.c.last,
            )
            _add_todo(conn, base.join_from(recent, e, by_person))
            if log is logs.clicks:
                # (Grouped, so that it is read first: the few recent clicks, then the events naming
                # them through their click-id index.)
                click = (log.c.click_id + literal("")).label("click_id")  # (the time index: as above)
                clicked = (
                    select(click, log.c.ad_account_id, func.min(log.c.at).label("at"))
                    .where(log.c.at >= cutoff)
                    .group_by(click, log.c.ad_account_id)
                    .subquery()
                )
                by_click = and_(
                    e.c.click_id == clicked.c.click_id,
                    e.c.ad_account_id == clicked.c.ad_account_id,
                    e.c.event_time >= clicked.c.at,
                    days_before(e.c.event_time, MAX_WINDOW_DAYS) <= clicked.c.at,
                )
                _add_todo(conn, base.join_from(clicked, e, by_click))
    return False


def _number(conn: Connection) -> int:
    """Number the work list in the order of the conversions' people (_order); how many there are."""
    e = advertiser_events.event_log()
    t = _todo
    conn.execute(
        insert(_order).from_select(
            ["n", "event_id"],
            select(
                func.row_number().over(order_by=(func.coalesce(e.c.user_id, 0), t.c.event_id)),
                t.c.event_id,
            ).select_from(t.outerjoin(e, e.c.id == t.c.event_id)),
        )
    )
    _analyze(conn, _todo, _order)
    return int(conn.execute(select(func.count()).select_from(_order)).scalar_one())


def _compute(conn: Connection, lo: int, hi: int, *, analyze: bool) -> None:
    """The candidates of the conversions lo < n <= hi of the work list, into _final."""
    conn.execute(delete(_cand))
    conn.execute(delete(_final))
    e = advertiser_events.event_log()
    logs = ad_log.touch_logs()
    k = logs.clicks.alias("k")  # the click the event's click id names
    start = days_before(e.c.event_time, MAX_WINDOW_DAYS)

    def in_window(at: ColumnElement[Any]) -> ColumnElement[bool]:
        return and_(at <= e.c.event_time, at >= start)

    def last_at(log: Table) -> Any:
        t = log.alias()
        return (
            select(func.max(t.c.at))
            .where(t.c.user_id == e.c.user_id, t.c.ad_account_id == e.c.ad_account_id, in_window(t.c.at))
            .scalar_subquery()
        )

    person_key = case(
        (e.c.user_id.is_not(None), literal("u:") + cast(e.c.user_id, String)),
        (k.c.user_id.is_not(None), literal("u:") + cast(k.c.user_id, String)),
        else_=literal("b:") + k.c.browser_key,
    )
    chunk = select(_order.c.n, _order.c.event_id).where(_order.c.n > lo, _order.c.n <= hi).subquery()
    candidates = (
        select(
            chunk.c.n,
            e.c.id,
            e.c.ad_account_id,
            e.c.user_id,
            func.coalesce(e.c.user_id, k.c.user_id),
            person_key,
            e.c.event_name,
            e.c.event_time,
            e.c.value,
            e.c.currency,
            k.c.click_id,
            k.c.at,
            last_at(logs.clicks),
            last_at(logs.engagements),
            last_at(logs.impressions),
        )
        .select_from(chunk)
        .join(e, e.c.id == chunk.c.event_id)
        .outerjoin(
            k, and_(k.c.click_id == e.c.click_id, k.c.ad_account_id == e.c.ad_account_id, in_window(k.c.at))
        )
        .where(_qualified(e), or_(e.c.user_id.is_not(None), k.c.click_id.is_not(None)))
        # In the people's order (PostgreSQL evaluates the lookups after sorting, SQLite scans in order).
        .order_by(chunk.c.n)
    )
    conn.execute(
        insert(_cand).from_select(
            [
                "n",
                "event_id",
                "ad_account_id",
                "match_user_id",
                "user_id",
                "person_key",
                "event_name",
                "event_time",
                "value",
                "currency",
                "id_click_id",
                "id_click_at",
                "user_click_at",
                "engagement_at",
                "view_at",
            ],
            candidates,
        )
    )
    if analyze:  # (the chunks are alike: the first one's statistics serve the rest)
        _analyze(conn, _cand)

    c = _cand
    cl, g, im = logs.clicks.alias("cl"), logs.engagements.alias("g"), logs.impressions.alias("im")
    use_id_click = and_(
        c.c.id_click_at.is_not(None), or_(c.c.user_click_at.is_(None), c.c.id_click_at >= c.c.user_click_at)
    )
    # Ties (two touches at the same instant) are broken by the larger id: the same answer every run.
    person_click = (
        select(cl.c.click_id)
        .where(
            cl.c.user_id == c.c.match_user_id,
            cl.c.ad_account_id == c.c.ad_account_id,
            cl.c.at == c.c.user_click_at,
        )
        .order_by(cl.c.click_id.desc())
        .limit(1)
        .scalar_subquery()
    )

    def ad_at(t: FromClause, at: ColumnElement[Any]) -> Any:
        return (
            select(t.c.ad_id)
            .where(t.c.user_id == c.c.match_user_id, t.c.ad_account_id == c.c.ad_account_id, t.c.at == at)
            .order_by(t.c.ad_id.desc())
            .limit(1)
            .scalar_subquery()
        )

    chosen = (
        select(
            c.c.event_id,
            c.c.ad_account_id,
            c.c.user_id,
            c.c.person_key,
            c.c.event_name,
            c.c.event_time,
            c.c.value,
            c.c.currency,
            case((use_id_click, c.c.id_click_at), else_=c.c.user_click_at).label("click_at"),
            case((use_id_click, c.c.id_click_id), else_=person_click).label("click_id"),
            c.c.engagement_at,
            ad_at(g, c.c.engagement_at).label("engagement_ad_id"),
            c.c.view_at,
            ad_at(im, c.c.view_at).label("view_ad_id"),
        )
        .where(
            c.c.person_key.is_not(None),
            or_(
                c.c.id_click_at.is_not(None),
                c.c.user_click_at.is_not(None),
                c.c.engagement_at.is_not(None),
                c.c.view_at.is_not(None),
            ),
        )
        .order_by(c.c.n)
        .subquery()
    )
    ck = logs.clicks.alias("ck")
    click_ad = select(ck.c.ad_id).where(ck.c.click_id == chosen.c.click_id).scalar_subquery()
    conn.execute(
        insert(_final).from_select(
            list(_ROW_COLUMNS),
            select(
                chosen.c.event_id,
                chosen.c.ad_account_id,
                chosen.c.user_id,
                chosen.c.person_key,
                chosen.c.event_name,
                chosen.c.event_time,
                chosen.c.value,
                chosen.c.currency,
                click_ad,
                chosen.c.click_at,
                chosen.c.click_id,
                chosen.c.engagement_ad_id,
                chosen.c.engagement_at,
                chosen.c.view_ad_id,
                chosen.c.view_at,
            ),
        )
    )
    if analyze:
        _analyze(conn, _final)


def _apply(conn: Connection, lo: int, hi: int, now: datetime, *, empty: bool) -> tuple[int, int, int]:
    """Make ad_attributions agree with _final for the chunk, writing only what differs:
    (inserted, updated, deleted). `empty`: the table had no rows when the run began (a first run)."""
    a, f, o = ad_attributions, _final, _order
    if empty:
        conn.execute(
            insert(a).from_select(
                [*_ROW_COLUMNS, "computed_at"],
                select(*(f.c[n] for n in _ROW_COLUMNS), literal(now, UTCDateTime())),
            )
        )
        return int(conn.execute(select(func.count()).select_from(f)).scalar_one()), 0, 0
    # Driven from the chunk's side: the chunk's conversions that no longer have a row to keep, each
    # looked up in ad_attributions by its key.
    gone = select(o.c.event_id).where(o.c.n > lo, o.c.n <= hi, ~exists().where(f.c.event_id == o.c.event_id))
    deleted = conn.execute(delete(a).where(a.c.event_id.in_(gone))).rowcount
    updated = conn.execute(
        update(a)
        .where(a.c.event_id == f.c.event_id, or_(*(a.c[n].is_distinct_from(f.c[n]) for n in _CHANGEABLE)))
        .values({**{n: f.c[n] for n in _CHANGEABLE}, "computed_at": now})
    ).rowcount
    missing = ~exists().where(a.c.event_id == f.c.event_id)
    # (Counted first: psycopg reports no row count for an INSERT ... SELECT.)
    inserted = conn.execute(select(func.count()).select_from(f).where(missing)).scalar_one()
    conn.execute(
        insert(a).from_select(
            [*_ROW_COLUMNS, "computed_at"],
            select(*(f.c[n] for n in _ROW_COLUMNS), literal(now, UTCDateTime())).where(missing),
        )
    )
    return int(inserted or 0), int(updated or 0), int(deleted or 0)


def _take_lease(conn: Connection, now: datetime) -> bool:
    """SQLite: one run at a time across processes, by a lease row (a crashed run's lease runs out)."""
    p = attribution_progress
    with conn.begin():
        # A write first: it waits for other writers (the busy timeout) instead of failing on a stale read.
        got = conn.execute(
            update(p).where(p.c.name == "lock", or_(p.c.at.is_(None), p.c.at <= now)).values(at=now + LEASE)
        ).rowcount
        if got:
            return True
        if conn.execute(select(p.c.name).where(p.c.name == "lock")).first() is not None:
            return False
        conn.execute(insert(p).values(name="lock", value=None, at=now + LEASE))
        return True


def _release_lease(conn: Connection) -> None:
    p = attribution_progress
    with conn.begin():
        conn.execute(update(p).where(p.c.name == "lock").values(at=None))


def run(
    engine: Engine, now: datetime, *, since: datetime | None = None, progress: Progress | None = None
) -> RunResult:
    """Bring ad_attributions up to date with the events and ad logs stored now (see the module's
    docstring). `since`: recompute every conversion from that time on. One run at a time: a run that
    finds another going does nothing (`skipped`)."""
    with engine.connect() as conn:
        postgres = conn.dialect.name == "postgresql"
        if postgres:
            locked = bool(conn.execute(select(func.pg_try_advisory_lock(_PG_LOCK))).scalar())
            conn.commit()
        else:
            locked = _take_lease(conn, now)
        if not locked:
            return RunResult(0, 0, 0, 0, since is not None, skipped=True)
        try:
            return _run(conn, now, since, progress)
        finally:
            if conn.in_transaction():
                conn.rollback()
            with conn.begin():
                _drop_scratch(conn)
            if postgres:
                conn.execute(select(func.pg_advisory_unlock(_PG_LOCK)))
                conn.commit()
            else:
                _release_lease(conn)


def _run(conn: Connection, now: datetime, since: datetime | None, progress: Progress | None) -> RunResult:
    e = advertiser_events.event_log()
    logs = ad_log.touch_logs()
    with conn.begin():
        _drop_scratch(conn)
        _scratch.create_all(conn)
        marks = _marks(conn)
        top_id = int(conn.execute(select(func.coalesce(func.max(e.c.id), 0))).scalar_one())
        log_tops = [
            conn.execute(select(func.max(t.c.at))).scalar()
            for t in (logs.clicks, logs.engagements, logs.impressions)
        ]
        top_log_at = max((t for t in log_tops if t is not None), default=marks.last_log_at)
        full = _fill_todo(conn, marks, top_id, since)
        total = _number(conn)
        empty = conn.execute(select(ad_attributions.c.event_id).limit(1)).first() is None
    chunks = [(lo, min(lo + CHUNK, total)) for lo in range(0, total, CHUNK)]
    if progress is not None:
        progress("attribution", 0, total)
    inserted = updated = deleted = done = 0
    for lo, hi in chunks:
        with conn.begin():
            _compute(conn, lo, hi, analyze=lo == 0)
            i, u, d = _apply(conn, lo, hi, now, empty=empty)
        inserted, updated, deleted, done = inserted + i, updated + u, deleted + d, hi
        if progress is not None:
            progress("attribution", done, total)
    with conn.begin():
        _save_mark(conn, "events", top_id, now)
        _save_mark(conn, "ad_logs", None, top_log_at)
    return RunResult(total, inserted, updated, deleted, full)


# --- personal data ------------------------------------------------------------------------------------


def export(conn: Connection, user_id: int) -> list[dict[str, Any]]:
    """The person's attributed conversions: which ad interactions each could be credited to."""
    a = ad_attributions
    rows = conn.execute(
        select(
            a.c.event_id,
            a.c.ad_account_id,
            a.c.event_name,
            a.c.event_time,
            a.c.click_ad_id,
            a.c.click_at,
            a.c.engagement_ad_id,
            a.c.engagement_at,
            a.c.view_ad_id,
            a.c.view_at,
        )
        .where(a.c.user_id == user_id)
        .order_by(a.c.event_time, a.c.event_id)
    ).mappings()
    return [{k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in r.items()} for r in rows]


def erase(conn: Connection, user_id: int) -> int:
    return int(conn.execute(delete(ad_attributions).where(ad_attributions.c.user_id == user_id)).rowcount)


def sweep(conn: Connection, now: datetime) -> int:
    """Rows of conversions older than RETENTION (the ad logs they were derived from are gone too), and
    rows whose event is no longer stored (the table has no foreign keys: attribution_tables)."""
    a, e = ad_attributions, advertiser_events.event_log()
    cutoff = now - RETENTION
    n = conn.execute(delete(a).where(a.c.event_time < cutoff)).rowcount
    n += conn.execute(delete(a).where(~exists().where(e.c.id == a.c.event_id))).rowcount
    return int(n)
