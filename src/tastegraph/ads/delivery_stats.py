"""Delivery insights' counters: each process adds up what happened to the ad groups its requests
reached (ads.delivery.Outcome) and writes the sums every few seconds in one batch of upserts (the
server's background task; a request only writes them when that has not run for a while, e.g. in a
process without it), so a page view costs no write of its own. Counts only: nothing says who was
asked."""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypedDict
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from tastegraph.ads.delivery import Outcome
from tastegraph.ads.tables import ad_delivery_counts, ad_request_counts

FLUSH_SECONDS = 5.0
OVERDUE_SECONDS = 3 * FLUSH_SECONDS
METRICS = (
    "eligible",
    "lost_pacing",
    "lost_budget",
    "lost_frequency",
    "lost_auction",
    "served",
    "unusable",
)


class DeliveryTally:
    """This process's sums since the last flush."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._groups: Counter[tuple[str, int, str]] = Counter()
        self._requests: Counter[tuple[str, str]] = Counter()
        self._flushed = time.monotonic()

    def add(self, outcome: Outcome, placement: str, days: dict[int, str], now: datetime) -> None:
        """`days`: each reached ad group's advertiser day (YYYY-MM-DD)."""
        hour = now.astimezone(UTC).strftime("%Y-%m-%dT%H")
        with self._lock:
            self._requests[(hour, placement)] += 1
            for metric in METRICS:
                for gid in getattr(outcome, metric):
                    self._groups[(days[gid], gid, metric)] += 1

    def due(self) -> bool:
        return time.monotonic() - self._flushed >= FLUSH_SECONDS

    def overdue(self) -> bool:
        """No flush for several periods: nobody runs the background flush in this process."""
        return time.monotonic() - self._flushed >= OVERDUE_SECONDS

    def flush(self, engine: Engine) -> None:
        with self._lock:
            groups, requests = self._groups, self._requests
            self._groups, self._requests = Counter(), Counter()
            self._flushed = time.monotonic()
        if not groups and not requests:
            return
        try:
            with engine.begin() as conn:
                _add(
                    conn,
                    ad_request_counts,
                    [{"hour": h, "placement": p, "n": n} for (h, p), n in requests.items()],
                )
                _add(
                    conn,
                    ad_delivery_counts,
                    [{"day": d, "ad_group_id": g, "metric": m, "n": n} for (d, g, m), n in groups.items()],
                )
        except Exception:
            # Put them back for the next flush (ad groups are archived, never deleted, so a batch does
            # not fail for ever); the caller logs the failure.
            with self._lock:
                self._requests.update(requests)
                self._groups.update(groups)
            raise


def _add(conn: Connection, table: Any, rows: list[dict[str, Any]]) -> None:
    """Add each row's `n` to its counter: one upsert statement run for every row (executemany; a
    statement built per row cost 2 ms each, seconds for a busy period's thousands)."""
    if not rows:
        return
    maker = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    keys = [c.name for c in table.primary_key.columns]
    statement = maker(table)
    upsert = statement.on_conflict_do_update(
        index_elements=keys, set_={"n": table.c.n + statement.excluded.n}
    )
    # One lock order for every writer: no deadlocks between processes flushing at once.
    conn.execute(upsert, sorted(rows, key=lambda r: tuple(r[k] for k in keys)))


class DeliveryCounts(TypedDict):
    requests: int  # requests of its placement during the day
    eligible: int
    not_matched: int  # requests that its targeting did not match (or could not reach it)
    unusable: int  # requests it sat out because an included audience was too small to use
    lost_pacing: int
    lost_budget: int
    lost_frequency: int
    lost_auction: int
    served: int


def counts(conn: Connection, ad_group_id: int, day: date, timezone: str, placement: str) -> DeliveryCounts:
    found = dict(
        conn.execute(
            select(ad_delivery_counts.c.metric, ad_delivery_counts.c.n).where(
                ad_delivery_counts.c.ad_group_id == ad_group_id, ad_delivery_counts.c.day == day.isoformat()
            )
        ).all()
    )
    zone = ZoneInfo(timezone)
    start = datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(UTC)
    end = (datetime(day.year, day.month, day.day, tzinfo=zone) + timedelta(days=1)).astimezone(UTC)
    placements = ["browse", "search"] if placement == "all" else [placement]
    requests = conn.execute(
        select(func.coalesce(func.sum(ad_request_counts.c.n), 0)).where(
            ad_request_counts.c.hour >= start.strftime("%Y-%m-%dT%H"),
            ad_request_counts.c.hour < end.strftime("%Y-%m-%dT%H"),
            ad_request_counts.c.placement.in_(placements),
        )
    ).scalar_one()
    eligible = int(found.get("eligible", 0))
    unusable = int(found.get("unusable", 0))
    return {
        "requests": int(requests),
        "eligible": eligible,
        "not_matched": max(0, int(requests) - eligible - unusable),
        "unusable": unusable,
        "lost_pacing": int(found.get("lost_pacing", 0)),
        "lost_budget": int(found.get("lost_budget", 0)),
        "lost_frequency": int(found.get("lost_frequency", 0)),
        "lost_auction": int(found.get("lost_auction", 0)),
        "served": int(found.get("served", 0)),
    }
