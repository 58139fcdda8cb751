"""The spend store in the database: `ad_spend_counters`, `ad_reservations`, `ad_frequency`.

Each call is one transaction. On SQLite that transaction begins IMMEDIATE (db.engine), so it holds the
database's one write lock from its first statement: calls from every process run one after another.
On PostgreSQL rows are locked in one order — the reservation's own row, then the frequency rows by
(subject, scope), then the budget rows by key — so concurrent calls queue behind each other and never
deadlock; a missing counter row is inserted (ON CONFLICT DO NOTHING) before it is locked, and a budget
is held with a conditional UPDATE (… WHERE spent + reserved + amount <= limit), which PostgreSQL
re-evaluates on the row's newest version after waiting for its lock.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite

from tastegraph.ads.spend._model import (
    KEPT_DAYS,
    Budget,
    ChargeOutcome,
    FrequencyCap,
    Reservation,
    ReserveOutcome,
    Spend,
    check_price,
    check_reservation_id,
    check_reserve,
    check_time,
    dated,
    window_count,
)
from tastegraph.ads.tables import ad_frequency, ad_reservations, ad_spend_counters
from tastegraph.kernel.fastsql import Query, bind_time

RESERVED, CHARGED = "reserved", "charged"
# Frequency rows outlive their last serve by the kept days plus one for the advertiser's time zone.
FREQUENCY_RETENTION = timedelta(days=KEPT_DAYS + 1)


class _Refused(Exception):
    def __init__(self, outcome: ReserveOutcome) -> None:
        self.outcome = outcome


class _ReserveQueries:
    """`reserve`'s statements, for the driver (kernel.fastsql). Each UPDATE returns its key: a row
    count is not what the driver reports for every statement, a returned row is."""

    def __init__(self, dialect: Any) -> None:
        r, c, f = ad_reservations.c, ad_spend_counters.c, ad_frequency.c
        self.insert_reservation = Query(
            dialect.insert(ad_reservations)
            .values(
                id=bindparam("id"),
                amount=bindparam("amount"),
                budget_keys=bindparam("budget_keys"),
                state=bindparam("state"),
                created_at=bindparam("created_at"),
                expires_at=bindparam("expires_at"),
            )
            .on_conflict_do_nothing(index_elements=[r.id])
            .returning(r.id)
        )
        self.insert_counter = Query(
            dialect.insert(ad_spend_counters)
            .values(key=bindparam("key"), spent=0, reserved=0, updated_at=bindparam("updated_at"))
            .on_conflict_do_nothing(index_elements=[c.key])
            .returning(c.key)  # (the driver fetches rows: every statement here returns some)
        )
        self.hold = Query(
            update(ad_spend_counters)
            .where(
                c.key == bindparam("key"), c.spent + c.reserved + bindparam("amount") <= bindparam("limit")
            )
            .values(reserved=c.reserved + bindparam("amount"), updated_at=bindparam("updated_at"))
            .returning(c.key)
        )
        self.insert_frequency = Query(
            dialect.insert(ad_frequency)
            .values(
                subject=bindparam("subject"),
                scope=bindparam("scope"),
                user_id=bindparam("user_id"),
                days=bindparam("days"),
                updated_at=bindparam("updated_at"),
            )
            .on_conflict_do_nothing(index_elements=[f.subject, f.scope])
            .returning(f.subject)
        )
        # reserve_many: every counter and frequency row of a page's ads locked at once, in one order.
        self.lock_counters = Query(
            select(c.key, c.spent, c.reserved)
            .where(c.key.in_(bindparam("keys", expanding=True)))
            .order_by(c.key)
            .with_for_update()
        )
        self.lock_frequencies = Query(
            select(f.subject, f.scope, f.days)
            .where(
                f.subject.in_(bindparam("subjects", expanding=True)),
                f.scope.in_(bindparam("scopes", expanding=True)),
            )
            .order_by(f.subject, f.scope)
            .with_for_update()
        )
        self.add_hold = Query(
            update(ad_spend_counters)
            .where(c.key == bindparam("key"))
            .values(reserved=c.reserved + bindparam("amount"), updated_at=bindparam("updated_at"))
            .returning(c.key)
        )
        self.served = Query(
            select(f.subject, f.scope, f.days).where(
                f.subject.in_(bindparam("subjects", expanding=True)),
                f.scope.in_(bindparam("scopes", expanding=True)),
            )
        )
        self.lock_frequency = Query(
            select(f.days)
            .where(f.subject == bindparam("subject"), f.scope == bindparam("scope"))
            .with_for_update()
        )
        self.set_frequency = Query(
            update(ad_frequency)
            .where(f.subject == bindparam("subject"), f.scope == bindparam("scope"))
            .values(days=bindparam("days"), updated_at=bindparam("updated_at"))
            .returning(f.subject)
        )


class DatabaseSpend:
    def __init__(self, engine: Engine, read_options: dict[str, object] | None = None) -> None:
        self.engine = engine
        # db.engine.READ_ONLY for the reads: a plain transaction on SQLite takes the write lock.
        self.read_options = read_options or {}
        self._dialect: Any = postgresql if engine.dialect.name == "postgresql" else sqlite
        self._postgres = engine.dialect.name == "postgresql"
        self._queries = _ReserveQueries(self._dialect)

    # --- serving -----------------------------------------------------------------------------------

    def reserve(
        self,
        reservation_id: str,
        amount_micro: int,
        budgets: Sequence[Budget],
        caps: Sequence[FrequencyCap],
        *,
        now: datetime,
        expires_at: datetime,
    ) -> ReserveOutcome:
        # Every served ad runs this (a home feed page: up to four), so its statements go through the
        # driver (kernel.fastsql): SQLAlchemy's statement building cost 4-5 ms a call, SQLite 0.3 ms.
        check_reserve(reservation_id, amount_micro, budgets, caps, now, expires_at)
        ordered = sorted(budgets, key=lambda b: b.key)
        q = self._queries
        try:
            with self.engine.begin() as conn:
                at = bind_time(conn, now)
                created = q.insert_reservation.rows(
                    conn,
                    {
                        "id": reservation_id,
                        "amount": amount_micro,
                        "budget_keys": json.dumps([b.key for b in ordered]),
                        "state": RESERVED,
                        "created_at": at,
                        "expires_at": bind_time(conn, expires_at),
                    },
                )
                if not created:
                    raise ValueError(f"reservation_id: {reservation_id!r} was used before")
                for cap in sorted(caps, key=lambda c: (c.subject.key, c.scope)):
                    if not self._count_serve(conn, cap, at):
                        raise _Refused("frequency")
                for b in ordered:
                    q.insert_counter.rows(conn, {"key": b.key, "updated_at": at})
                    held = q.hold.rows(
                        conn, {"key": b.key, "amount": amount_micro, "limit": b.limit_micro, "updated_at": at}
                    )
                    if not held:
                        raise _Refused("budget")
        except _Refused as refused:  # rolled back: nothing was held or counted
            return refused.outcome
        return "reserved"

    def reserve_many(self, items: Sequence[Reservation], *, now: datetime) -> list[ReserveOutcome]:
        """One transaction for a page's ads: every budget counter and frequency row they touch is created
        if missing and locked first, in one order (so two pages never wait on each other in a cycle);
        each ad is then decided, in order, against the locked values plus the holds and serves of the
        ads before it; the writes follow. A refusal writes nothing for its ad and ends the page."""
        if not items:
            return []
        for item in items:
            check_reserve(
                item.reservation_id, item.amount_micro, item.budgets, item.caps, now, item.expires_at
            )
        q = self._queries
        keys = sorted({b.key for item in items for b in item.budgets})
        caps = {(c.subject.key, c.scope): c for item in items for c in item.caps}
        with self.engine.begin() as conn:
            at = bind_time(conn, now)
            for key in keys:
                q.insert_counter.rows(conn, {"key": key, "updated_at": at})
            for (subject, scope), cap in sorted(caps.items()):
                q.insert_frequency.rows(
                    conn,
                    {
                        "subject": subject,
                        "scope": scope,
                        "user_id": cap.subject.user_id,
                        "days": "{}",
                        "updated_at": at,
                    },
                )
            used = {
                k: int(spent) + int(held) for k, spent, held in q.lock_counters.rows(conn, {"keys": keys})
            }
            days: dict[tuple[str, str], dict[int, int]] = {}
            if caps:
                params = {"subjects": sorted({k[0] for k in caps}), "scopes": sorted({k[1] for k in caps})}
                for subject, scope, stored in q.lock_frequencies.rows(conn, params):
                    if (subject, scope) in caps:
                        parsed = json.loads(stored) if isinstance(stored, str) else stored
                        days[(subject, scope)] = {int(d): int(n) for d, n in parsed.items()}
            outcomes: list[ReserveOutcome] = []
            accepted: list[Reservation] = []
            for item in items:
                outcome = self._decide(item, used, days)
                outcomes.append(outcome)
                if outcome != "reserved":
                    break
                accepted.append(item)
            counted = {(c.subject.key, c.scope): c.today.toordinal() for item in accepted for c in item.caps}
            self._write(conn, accepted, days, counted, at)
        return outcomes

    @staticmethod
    def _decide(
        item: Reservation, used: dict[str, int], days: dict[tuple[str, str], dict[int, int]]
    ) -> ReserveOutcome:
        """`reserve`'s rules on the locked values; on "reserved" the values are updated in place."""
        for cap in item.caps:
            counts = days.setdefault((cap.subject.key, cap.scope), {})
            if window_count(counts, cap.today.toordinal(), cap.days) + 1 > cap.cap:
                return "frequency"
        for b in item.budgets:
            if used.get(b.key, 0) + item.amount_micro > b.limit_micro:
                return "budget"
        for cap in item.caps:
            counts = days[(cap.subject.key, cap.scope)]
            today = cap.today.toordinal()
            counts[today] = counts.get(today, 0) + 1
        for key in {b.key for b in item.budgets}:
            used[key] = used.get(key, 0) + item.amount_micro
        return "reserved"

    def _write(
        self,
        conn: Connection,
        accepted: list[Reservation],
        days: dict[tuple[str, str], dict[int, int]],
        counted: dict[tuple[str, str], int],
        at: Any,
    ) -> None:
        q = self._queries
        holds: dict[str, int] = defaultdict(int)
        for item in accepted:
            ordered = sorted({b.key for b in item.budgets})
            created = q.insert_reservation.rows(
                conn,
                {
                    "id": item.reservation_id,
                    "amount": item.amount_micro,
                    "budget_keys": json.dumps(ordered),
                    "state": RESERVED,
                    "created_at": at,
                    "expires_at": bind_time(conn, item.expires_at),
                },
            )
            if not created:  # rolls the whole page back
                raise ValueError(f"reservation_id: {item.reservation_id!r} was used before")
            for key in ordered:
                holds[key] += item.amount_micro
        for key in sorted(holds):
            q.add_hold.rows(conn, {"key": key, "amount": holds[key], "updated_at": at})
        for (subject, scope), today in sorted(counted.items()):
            kept = {d: n for d, n in sorted(days[(subject, scope)].items()) if d > today - KEPT_DAYS}
            q.set_frequency.rows(
                conn,
                {
                    "subject": subject,
                    "scope": scope,
                    "days": json.dumps({str(d): n for d, n in kept.items()}),
                    "updated_at": at,
                },
            )

    def _count_serve(self, conn: Connection, cap: FrequencyCap, at: Any) -> bool:
        """Count one serve for the cap if its window has room (the row stays locked until commit)."""
        q = self._queries
        key = {"subject": cap.subject.key, "scope": cap.scope}
        q.insert_frequency.rows(conn, {**key, "user_id": cap.subject.user_id, "days": "{}", "updated_at": at})
        ((stored,),) = q.lock_frequency.rows(conn, key)
        if isinstance(stored, str):  # SQLite gives JSON as text; psycopg parses it
            stored = json.loads(stored)
        today = cap.today.toordinal()
        days = {int(d): int(n) for d, n in stored.items() if int(d) > today - KEPT_DAYS}
        if window_count(days, today, cap.days) + 1 > cap.cap:
            return False
        days[today] = days.get(today, 0) + 1
        counted = json.dumps({str(d): n for d, n in sorted(days.items())})
        q.set_frequency.rows(conn, {**key, "days": counted, "updated_at": at})
        return True

    def charge(self, reservation_id: str, price_micro: int, now: datetime) -> ChargeOutcome:
        check_reservation_id(reservation_id)
        check_price(price_micro)
        check_time("now", now)
        with self.engine.begin() as conn:
            r = ad_reservations.c
            row = conn.execute(
                select(r.amount, r.budget_keys, r.state, r.expires_at)
                .where(r.id == reservation_id)
                .with_for_update()
            ).first()
            if row is None:
                return "expired"
            if row.state == CHARGED:
                return "duplicate"
            keys: list[str] = list(row.budget_keys)
            if row.expires_at < now:
                self._free(conn, {k: int(row.amount) for k in keys}, now)
                conn.execute(delete(ad_reservations).where(r.id == reservation_id))
                return "expired"
            if price_micro > row.amount:
                raise ValueError(f"price_micro: {price_micro} is over the {row.amount} reserved")
            c = ad_spend_counters.c
            for key in sorted(keys):
                conn.execute(
                    update(ad_spend_counters)
                    .where(c.key == key)
                    .values(reserved=c.reserved - row.amount, spent=c.spent + price_micro, updated_at=now)
                )
            conn.execute(
                update(ad_reservations).where(r.id == reservation_id).values(state=CHARGED, price=price_micro)
            )
            return "charged"

    def release(self, reservation_id: str, now: datetime) -> bool:
        check_reservation_id(reservation_id)
        check_time("now", now)
        with self.engine.begin() as conn:
            r = ad_reservations.c
            row = conn.execute(
                select(r.amount, r.budget_keys, r.state).where(r.id == reservation_id).with_for_update()
            ).first()
            if row is None or row.state != RESERVED:
                return False
            self._free(conn, {k: int(row.amount) for k in row.budget_keys}, now)
            conn.execute(delete(ad_reservations).where(r.id == reservation_id))
            return True

    def release_expired(self, now: datetime, batch: int = 500) -> int:
        check_time("now", now)
        freed = 0
        r = ad_reservations.c
        while True:
            with self.engine.begin() as conn:
                due = select(r.id).where(r.expires_at < now).order_by(r.expires_at, r.id).limit(batch)
                if self._postgres:  # two sweepers never take the same rows (nor wait on each other)
                    due = due.with_for_update(skip_locked=True)
                gone = conn.execute(
                    delete(ad_reservations).where(r.id.in_(due)).returning(r.state, r.amount, r.budget_keys)
                ).all()
                totals: dict[str, int] = defaultdict(int)
                for state, amount, keys in gone:
                    if state == RESERVED:
                        freed += 1
                        for k in keys:
                            totals[k] += int(amount)
                self._free(conn, totals, now)
            if len(gone) < batch:
                return freed

    def _free(self, conn: Connection, amounts: dict[str, int], now: datetime) -> None:
        c = ad_spend_counters.c
        for key in sorted(amounts):  # the one lock order
            conn.execute(
                update(ad_spend_counters)
                .where(c.key == key)
                .values(reserved=c.reserved - amounts[key], updated_at=now)
            )

    # --- reading -----------------------------------------------------------------------------------

    def spent(self, keys: Sequence[str]) -> dict[str, Spend]:
        out = {k: Spend(0, 0) for k in keys}
        if not keys:
            return out
        c = ad_spend_counters.c
        with self.engine.connect() as conn:
            conn = conn.execution_options(**self.read_options)
            for key, spent, reserved in conn.execute(
                select(c.key, c.spent, c.reserved).where(c.key.in_(list(set(keys))))
            ):
                out[key] = Spend(int(spent), int(reserved))
        return out

    def served(self, caps: Sequence[FrequencyCap]) -> list[int]:
        if not caps:
            return []
        wanted = {(c.subject.key, c.scope) for c in caps}
        params = {"subjects": sorted({s for s, _ in wanted}), "scopes": sorted({s for _, s in wanted})}
        with self.engine.connect() as conn:
            conn = conn.execution_options(**self.read_options)
            rows = self._queries.served.rows(conn, params)  # on every page with a capped ad: the driver
        found = {}
        for subject, scope, days in rows:
            if isinstance(days, str):  # SQLite gives JSON as text; psycopg parses it
                days = json.loads(days)
            found[(subject, scope)] = {int(d): int(n) for d, n in days.items()}
        return [
            window_count(found.get((c.subject.key, c.scope), {}), c.today.toordinal(), c.days) for c in caps
        ]

    # --- privacy -----------------------------------------------------------------------------------

    def export_person(self, conn: Connection, user_id: int) -> list[dict[str, object]]:
        f = ad_frequency.c
        rows = conn.execute(select(f.scope, f.days).where(f.user_id == user_id).order_by(f.scope)).all()
        return [{"scope": scope, "served_per_day": dated(days)} for scope, days in rows]

    def erase_person(self, conn: Connection, user_id: int) -> int:
        return conn.execute(delete(ad_frequency).where(ad_frequency.c.user_id == user_id)).rowcount

    def sweep(self, conn: Connection, now: datetime) -> int:
        cutoff = now - FREQUENCY_RETENTION
        return conn.execute(delete(ad_frequency).where(ad_frequency.c.updated_at < cutoff)).rowcount
