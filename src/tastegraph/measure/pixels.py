"""Third-party measurement pixels called from the platform's server (TASTEGRAPH_MEASUREMENT_PIXELS=server).

How a call happens:

1. **Queued with the count.** When an impression, click or engagement is recorded for the first time,
   the use case calls `enqueue` in the same transaction: one `pixel_outbox` row per tracking URL of the
   ad for that event, its macros expanded (ads.tracking_urls.expand). A duplicate or refused report is
   never recorded, so it queues nothing; (event, URL index) is unique, so a URL is queued at most once
   per event.
2. **Claimed with a lease.** A `Sender` (one per server process, and one in `tastegraph sweep`) claims
   due rows: on PostgreSQL with `FOR UPDATE SKIP LOCKED`, so several processes never claim the same row;
   on SQLite the claim is one write transaction (one writer at a time). A claim holds for LEASE; a
   process that dies mid-batch leaves its rows to be claimed again when the lease ends.
3. **Called with nothing of the person.** A GET with a short timeout (TIMEOUT), no cookies, no
   Referer, no X-Forwarded-For or any address of the person, and the platform's fixed User-Agent
   (USER_AGENT); redirects are not followed (a 3xx answer counts as received). The host is resolved
   here and every address must be public (catalog.media_fetch.is_public_address) unless its host:port
   is one TASTEGRAPH_MEASUREMENT_INSECURE_HOSTS allows; the connection goes to the checked address, so
   a second DNS answer cannot point the call into our own network.
4. **Retried, at most once delivered.** An answer 2xx/3xx is `sent`. A connection that could not be
   made (refused, reset before the request, DNS failure, connect timeout) and the answers 408, 425, 429
   and 5xx are retried with exponential backoff and jitter (BACKOFF_BASE doubling up to BACKOFF_CAP);
   the host is then held back for a while (HOST_BACKOFF_BASE doubling up to HOST_BACKOFF_CAP), so a
   receiver that is down gets a few probes instead of the whole backlog, and the backlog goes out as
   soon as one probe gets through. A request that went out and got no answer within TIMEOUT is
   `unconfirmed` and not repeated: the receiver may have counted it, and a URL is called at most once
   per event. Other 4xx answers are `refused`. After GIVE_UP_AFTER (24 h) a row is `gave_up`.
5. **Deleted.** Done rows are deleted DONE_KEPT (3 days) after they are done by `sweep` (run from
   `tastegraph sweep` and the server's retention sweep).
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import random
import secrets
import socket
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Any, Literal

import httpx
from sqlalchemy import Connection, Engine, delete, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from tastegraph.ads.ads import Tracking
from tastegraph.ads.tracking_urls import Event, expand, host_port
from tastegraph.catalog.media_fetch import is_public_address
from tastegraph.kernel import Clock
from tastegraph.measure.pixel_tables import pixel_outbox

log = logging.getLogger("tastegraph.measure.pixels")

USER_AGENT = "TastegraphMeasurement/1.0 (server-side measurement pixel; no personal data)"
TIMEOUT = 5.0  # seconds, to connect and to answer
LEASE = timedelta(seconds=120)
GIVE_UP_AFTER = timedelta(hours=24)
BACKOFF_BASE = 2.0  # seconds, doubled each attempt
BACKOFF_CAP = 600.0
HOST_BACKOFF_BASE = 1.0
HOST_BACKOFF_CAP = 30.0
DONE_KEPT = timedelta(days=3)
BATCH = 200
# Calls at once per process, on threads of the sender's own (httpx's synchronous client: on this
# machine its asyncio client makes fewer calls per second the more it makes at once).
CONCURRENCY = 8
DNS_CACHE_SECONDS = 60.0
MAX_ADDRESSES = 4  # of a host's checked addresses, tried in turn when one refuses the connection
RETRY_STATUSES = frozenset({408, 425, 429})

Outcome = Literal["sent", "unconfirmed", "refused", "retry", "deferred"]


def event_key(event: Event, token_id: str, kind: str | None = None) -> str:
    """The key an event is counted by (ads.ad_log: one impression and one click per token, one
    engagement per token and kind)."""
    return f"{event}:{kind}:{token_id}" if kind else f"{event}:{token_id}"


def enqueue(conn: Connection, event: Event, key: str, tracking: Tracking | None, at: datetime) -> int:
    """Queue the ad's URLs for one counted event, in the caller's transaction: rows queued (0 when the
    ad has no URL for the event, or the event was queued already)."""
    if tracking is None or not tracking.urls[event]:
        return 0
    rows = []
    for index, url in enumerate(tracking.urls[event]):
        expanded = expand(url, tracking.ids, at)
        _scheme, host, port = host_port(expanded)
        rows.append(
            {
                "event_key": key,
                "url_index": index,
                "ad_id": tracking.ids.ad_id,
                "event": event,
                "url": expanded,
                "host": f"{host}:{port}",
                "created_at": at,
                "next_attempt_at": at,
                "attempts": 0,
            }
        )
    maker = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    statement = maker(pixel_outbox).on_conflict_do_nothing().returning(pixel_outbox.c.id)
    return len(conn.execute(statement, rows).all()) if len(rows) > 1 else _one(conn, statement, rows[0])


def _one(conn: Connection, statement: Any, row: dict[str, Any]) -> int:
    return 1 if conn.execute(statement.values(**row)).first() is not None else 0


@dataclass(frozen=True)
class Claimed:
    id: int
    url: str
    host: str
    attempts: int
    created_at: datetime


def claim(
    conn: Connection,
    now: datetime,
    lease_id: str,
    limit: int = BATCH,
    skip_hosts: Sequence[str] = (),
) -> list[Claimed]:
    """Lease up to `limit` due rows (oldest due first) to `lease_id` until now + LEASE."""
    t = pixel_outbox
    due = (
        select(t.c.id)
        .where(
            t.c.done_at.is_(None),
            t.c.next_attempt_at <= now,
            or_(t.c.lease_until.is_(None), t.c.lease_until <= now),
        )
        .order_by(t.c.next_attempt_at)
        .limit(limit)
    )
    if skip_hosts:
        due = due.where(t.c.host.not_in(list(skip_hosts)))
    if conn.dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    rows = conn.execute(
        update(t)
        .where(t.c.id.in_(due.scalar_subquery()))
        .values(lease_id=lease_id, lease_until=now + LEASE)
        .returning(t.c.id, t.c.url, t.c.host, t.c.attempts, t.c.created_at)
    ).all()
    return [Claimed(int(r.id), r.url, r.host, int(r.attempts), r.created_at) for r in rows]


@dataclass(frozen=True)
class Result:
    row: Claimed
    outcome: Outcome
    error: str | None = None
    retry_at: datetime | None = None  # retry, deferred: when to try again


def backoff(attempts: int, rng: random.Random) -> float:
    """Seconds before the next try after `attempts` failed ones: exponential with jitter (half to all
    of the doubled step)."""
    step: float = min(BACKOFF_CAP, BACKOFF_BASE * 2.0 ** min(attempts, 30))
    return step * (0.5 + 0.5 * rng.random())


def record(conn: Connection, lease_id: str, results: Sequence[Result], now: datetime) -> None:
    """Write a batch's outcomes (only rows this lease still holds): one statement per final outcome,
    one per row to try again (each has its own time)."""
    t = pixel_outbox
    done: dict[str, list[int]] = {}
    for r in results:
        outcome: str = r.outcome
        if outcome in ("retry", "deferred") and now - r.row.created_at >= GIVE_UP_AFTER:
            outcome = "gave_up"
        if outcome in ("retry", "deferred"):
            values: dict[str, Any] = {
                "lease_id": None,
                "lease_until": None,
                "next_attempt_at": r.retry_at or now,
            }
            if outcome == "retry":
                values["attempts"] = r.row.attempts + 1
            if r.error is not None:
                values["last_error"] = r.error[:200]
            conn.execute(update(t).where(t.c.id == r.row.id, t.c.lease_id == lease_id).values(**values))
        elif r.error is not None or outcome == "gave_up":
            attempts = r.row.attempts + (0 if r.outcome == "deferred" else 1)
            conn.execute(
                update(t)
                .where(t.c.id == r.row.id, t.c.lease_id == lease_id)
                .values(
                    lease_id=None,
                    lease_until=None,
                    done_at=now,
                    outcome=outcome,
                    attempts=attempts,
                    last_error=None if r.error is None else r.error[:200],
                )
            )
        else:
            done.setdefault(outcome, []).append(r.row.id)
    for outcome, ids in done.items():
        for chunk in range(0, len(ids), 500):
            conn.execute(
                update(t)
                .where(t.c.id.in_(ids[chunk : chunk + 500]), t.c.lease_id == lease_id)
                .values(
                    lease_id=None, lease_until=None, done_at=now, outcome=outcome, attempts=t.c.attempts + 1
                )
            )


def release(conn: Connection, lease_id: str) -> None:
    """Give back whatever this lease still holds (a sender that stops)."""
    t = pixel_outbox
    conn.execute(update(t).where(t.c.lease_id == lease_id).values(lease_id=None, lease_until=None))


def sweep(conn: Connection, now: datetime) -> int:
    """Delete rows done more than DONE_KEPT ago."""
    t = pixel_outbox
    return int(conn.execute(delete(t).where(t.c.done_at < now - DONE_KEPT)).rowcount)


def backlog(conn: Connection) -> dict[str, int]:
    """Rows not done yet, and done rows by outcome (operators' view; counts only)."""
    t = pixel_outbox
    out = {"pending": 0}
    for outcome, n in conn.execute(select(t.c.outcome, func.count()).group_by(t.c.outcome)):
        out["pending" if outcome is None else str(outcome)] = int(n)
    return out


def pending(conn: Connection, now: datetime | None = None) -> int:
    """Rows not done yet (due by `now`, when given)."""
    t = pixel_outbox
    where: list[Any] = [t.c.done_at.is_(None)]
    if now is not None:
        where.append(t.c.next_attempt_at <= now)
    return int(conn.execute(select(func.count()).where(*where)).scalar_one())


# --- sending --------------------------------------------------------------------------------------------


@dataclass
class _HostState:
    failures: int = 0
    down_until: float = 0.0  # time.monotonic()


@dataclass
class Stats:
    claimed: int = 0
    sent: int = 0
    unconfirmed: int = 0
    refused: int = 0
    retried: int = 0
    deferred: int = 0

    def add(self, other: Stats) -> None:
        for name in ("claimed", "sent", "unconfirmed", "refused", "retried", "deferred"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


Resolve = Callable[[str, int], list[str]]  # (host, port) -> addresses


def _system_resolve(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


@dataclass
class Sender:
    """Sends the outbox's due rows; one per process. `insecure_hosts`: host:port pairs that may be plain
    http and resolve to non-public addresses (tests, staging)."""

    engine: Engine
    clock: Clock
    insecure_hosts: frozenset[str] = frozenset()
    timeout: float = TIMEOUT
    concurrency: int = CONCURRENCY
    batch: int = BATCH
    resolve: Resolve = _system_resolve
    transport: httpx.BaseTransport | None = None
    rng: random.Random = field(default_factory=random.Random)
    _hosts: dict[str, _HostState] = field(default_factory=dict)
    _dns: dict[str, tuple[list[str], float]] = field(default_factory=dict)
    _client: httpx.Client | None = None
    _pool: ThreadPoolExecutor | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _threads(self) -> ThreadPoolExecutor:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.concurrency, thread_name_prefix="pixels")
        return self._pool

    def _http(self) -> httpx.Client:
        with self._lock:
            return self._client or self._new_client()

    def _new_client(self) -> httpx.Client:
        if self._client is None:
            self._client = httpx.Client(
                timeout=httpx.Timeout(self.timeout),
                follow_redirects=False,
                trust_env=False,  # no proxy from the environment: it would connect where we did not check
                # A jar that keeps nothing: a receiver's Set-Cookie never comes back on a later call.
                cookies=CookieJar(policy=DefaultCookiePolicy(allowed_domains=[])),
                headers={"User-Agent": USER_AGENT, "Accept": "*/*"},
                limits=httpx.Limits(
                    max_connections=self.concurrency, max_keepalive_connections=self.concurrency
                ),
                transport=self.transport,
            )
        return self._client

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            await asyncio.to_thread(pool.shutdown)
        if self._client is not None:
            self._client.close()
            self._client = None

    def _down_hosts(self) -> list[str]:
        now = time.monotonic()
        with self._lock:
            return [h for h, s in self._hosts.items() if s.down_until > now]

    def _host_failed(self, host: str) -> float:
        """Hold the host back; seconds until it may be tried again."""
        with self._lock:
            state = self._hosts.setdefault(host, _HostState())
            now = time.monotonic()
            if state.down_until > now:  # calls already in flight when it went down: one round, one step
                return state.down_until - now
            state.failures += 1
            wait = min(HOST_BACKOFF_CAP, HOST_BACKOFF_BASE * 2.0 ** min(state.failures - 1, 30))
            wait *= 0.5 + 0.5 * self.rng.random()
            state.down_until = now + wait
            return wait

    def _host_ok(self, host: str) -> None:
        with self._lock:
            self._hosts.pop(host, None)

    def _target(self, url: str) -> tuple[list[str], dict[str, str], dict[str, Any]] | str:
        """(URLs to connect to: the same URL at each checked address, headers, extensions), or why the
        URL may not be called."""
        scheme, host, port = host_port(url)
        insecure_ok = f"{host}:{port}" in self.insecure_hosts
        if scheme != "https" and not insecure_ok:
            return "refused: not https"
        try:
            literal = ipaddress.ip_address(host.strip("[]"))
            found = [str(literal)]
        except ValueError:
            found = self._resolved(host, port)
        if not found:
            raise OSError(f"{host} has no address")
        addresses = [ipaddress.ip_address(a.split("%", 1)[0]) for a in found]
        # Every address must be public: a name answering one public and one private address could
        # otherwise be tried on the private one.
        if not insecure_ok and not all(is_public_address(a) for a in addresses):
            return "refused: the host's address is not public"
        parsed = httpx.URL(url)
        connect = [str(parsed.copy_with(host=str(a), port=port)) for a in addresses[:MAX_ADDRESSES]]
        default = port == (443 if scheme == "https" else 80)
        host_header = host if default else f"{host}:{port}"
        return connect, {"Host": host_header}, {"sni_hostname": host}

    def _resolved(self, host: str, port: int) -> list[str]:
        """The host's addresses, kept DNS_CACHE_SECONDS (the calls then go to these checked addresses)."""
        key = f"{host}:{port}"
        with self._lock:
            cached = self._dns.get(key)
        if cached is not None and cached[1] > time.monotonic():
            return cached[0]
        found = list(self.resolve(host, port))
        with self._lock:
            if len(self._dns) > 10_000:
                self._dns.clear()
            self._dns[key] = (found, time.monotonic() + DNS_CACHE_SECONDS)
        return found

    def _get(self, target: tuple[list[str], dict[str, str], dict[str, Any]]) -> httpx.Response:
        """One request, to the checked addresses in turn (the next only when one refuses to connect)."""
        connect_urls, headers, extensions = target
        refused: httpx.ConnectError | None = None
        for connect_url in connect_urls:
            try:
                return self._http().get(connect_url, headers=headers, extensions=extensions)
            except httpx.ConnectError as exc:
                refused = exc
        assert refused is not None
        raise refused

    def _call(self, row: Claimed) -> Result:
        now = self.clock.now()
        if row.host in self._down_hosts():
            return Result(row, "deferred", None, now + timedelta(seconds=self._wait(row.host)))
        try:
            target = self._target(row.url)
        except (OSError, UnicodeError) as exc:  # DNS failure: try again later
            wait = self._host_failed(row.host)
            return Result(row, "retry", f"resolve: {exc}", now + timedelta(seconds=wait))
        if isinstance(target, str):
            return Result(row, "refused", target)
        try:
            response = self._get(target)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            wait = self._host_failed(row.host)
            return Result(row, "retry", f"connect: {type(exc).__name__}", now + timedelta(seconds=wait))
        except httpx.ReadTimeout:
            return Result(row, "unconfirmed", "no answer in time")
        except httpx.HTTPError as exc:  # the connection broke before an answer (reset, closed, ...)
            wait = self._host_failed(row.host)
            return Result(row, "retry", f"{type(exc).__name__}", now + timedelta(seconds=wait))
        status = response.status_code
        if status < 400:
            self._host_ok(row.host)
            return Result(row, "sent")
        if status in RETRY_STATUSES or status >= 500:
            self._host_failed(row.host)
            wait = backoff(row.attempts, self.rng)
            return Result(row, "retry", f"HTTP {status}", now + timedelta(seconds=wait))
        self._host_ok(row.host)
        return Result(row, "refused", f"HTTP {status}")

    def _wait(self, host: str) -> float:
        state = self._hosts.get(host)
        if state is None:
            return 0.0
        return max(0.0, state.down_until - time.monotonic()) + self.rng.random()

    async def run_once(self) -> Stats:
        """Claim one batch of due rows, call them, record the outcomes. What happened."""
        lease_id = secrets.token_urlsafe(12)
        now = self.clock.now()
        skip = self._down_hosts()

        def claim_batch() -> list[Claimed]:
            with self.engine.begin() as conn:
                return claim(conn, now, lease_id, self.batch, skip)

        rows = await asyncio.to_thread(claim_batch)
        stats = Stats(claimed=len(rows))
        if not rows:
            return stats
        loop = asyncio.get_running_loop()
        pool = self._threads()
        try:
            results = await asyncio.gather(*(loop.run_in_executor(pool, self._call, r) for r in rows))
        except BaseException:
            await asyncio.to_thread(self._release, lease_id)
            raise

        def write() -> None:
            with self.engine.begin() as conn:
                record(conn, lease_id, results, self.clock.now())

        await asyncio.to_thread(write)
        for r in results:
            if r.outcome == "retry":
                stats.retried += 1
            elif r.outcome == "deferred":
                stats.deferred += 1
            else:
                setattr(stats, r.outcome, getattr(stats, r.outcome) + 1)
        return stats

    def _release(self, lease_id: str) -> None:
        with self.engine.begin() as conn:
            release(conn, lease_id)

    async def drain(self, *, max_seconds: float = 60.0) -> Stats:
        """Send what is due now until nothing due is left to send or `max_seconds` passed (rows that
        must wait for a retry stay queued)."""
        total = Stats()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max_seconds
        while loop.time() < deadline:
            stats = await self.run_once()
            total.add(stats)
            if stats.claimed == 0 or stats.claimed == stats.deferred:
                break
        return total

    async def run_forever(self, idle_seconds: float = 1.0) -> None:
        """The server's background task: send, and when nothing was due, wait `idle_seconds`."""
        try:
            while True:
                try:
                    stats = await self.run_once()
                except asyncio.CancelledError:
                    raise
                except Exception:  # the rows stay queued; their lease ends and they are claimed again
                    log.exception("sending measurement pixels failed")
                    stats = Stats()
                if stats.claimed == 0 or stats.claimed == stats.deferred:
                    await asyncio.sleep(idle_seconds)
                else:
                    await asyncio.sleep(0)
        finally:
            await self.close()
