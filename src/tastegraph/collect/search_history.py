"""Searches kept as engagement (kind "search"), written in batches off the request path.

A signed-in search that consent allows to be kept is queued in memory (`add`) and the response says it
was kept; a background thread writes the queue every `interval` seconds in one transaction, so a
search costs no write transaction of its own (on SQLite, one writer at a time: a write per search
queued every search behind the other processes' writes). Nothing acknowledged is lost or outlives an
erasure:

* `close` (server shutdown) stops the thread and writes what is queued;
* a failed write puts its rows back at the front of the queue for the next one;
* `flush` writes everything queued before it was called before it returns (the export and erasure use
  cases call it first); `pending` and `forget` are this process's queued searches of one person (the
  privacy registry's export and erasure of them);
* clearing a person's searches (the feed tuner) drops their queued ones too, with the writer held;
* a batch is written only for people who still exist, checked in the transaction that writes it: a
  search queued in another server process when the person was erased is dropped, not written back.

Between two writes a person's newest searches are in this process's memory only: another server
process's export or feed tuner can miss up to `interval` seconds of them, and a search queued in another
process in the second before the person cleared their searches is written after the clear.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Engine, insert

from tastegraph.catalog import lookups
from tastegraph.collect.engagement import EngagementRecord, Kind
from tastegraph.collect.tables import engagement_events
from tastegraph.kernel.ids import new_event_id

log = logging.getLogger("tastegraph.collect.search_history")

QUERY_CHARS = 200  # engagement_events.query


@dataclass(frozen=True, slots=True)
class QueuedSearch:
    event_id: str
    user_id: int
    query: str
    at: datetime


class SearchHistory:
    """The queue of one process (bootstrap makes one per System)."""

    def __init__(self, engine: Engine, interval: float = 1.0, *, background: bool = True) -> None:
        self.engine = engine
        self.interval = interval
        self.background = background
        self._queue: list[QueuedSearch] = []
        self._lock = threading.Lock()  # the queue
        self._writing = threading.Lock()  # one write at a time, so `flush` waits for one under way
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._closed = False
        self.written = 0
        self.dropped = 0  # queued for people erased meanwhile

    def add(self, user_id: int, query: str, now: datetime) -> None:
        """Keep `query` as the person's search at `now` (written within `interval` seconds)."""
        item = QueuedSearch(new_event_id(), user_id, query[:QUERY_CHARS], now)
        with self._lock:
            self._queue.append(item)
            start = self.background and self._thread is None and not self._closed
            if start:
                self._thread = threading.Thread(target=self._run, name="search-history", daemon=True)
        if start and self._thread is not None:
            self._thread.start()
        if self._closed:  # after shutdown began: nothing will write it later
            self.flush()

    def __len__(self) -> int:
        return len(self._queue)

    def flush(self) -> int:
        """Write everything queued now, in one transaction; the number of searches written. On failure
        the rows go back to the queue and the error is raised."""
        with self._writing:
            with self._lock:
                batch, self._queue = self._queue, []
            if not batch:
                return 0
            try:
                with self.engine.connect() as conn, conn.begin():
                    written = self._write(conn, batch)
            except BaseException:
                with self._lock:
                    self._queue[:0] = batch
                raise
            self.written += written
            self.dropped += len(batch) - written
            return written

    def write_soon(self) -> None:
        """`flush`, logging instead of raising (a read that would list the queued searches)."""
        try:
            self.flush()
        except Exception:
            log.exception("writing queued searches failed; they stay queued")

    @contextmanager
    def held(self) -> Iterator[None]:
        """No batch is written while the block runs (one under way finishes first): for deleting a
        person's searches (clearing them) without a batch taken before the delete landing after it."""
        with self._writing:
            yield

    def _write(self, conn: Connection, batch: list[QueuedSearch]) -> int:
        alive = lookups.existing_users(conn, {s.user_id for s in batch})
        rows = [
            {
                "event_id": s.event_id,
                "user_id": s.user_id,
                "kind": Kind.SEARCH.value,
                "pin_id": None,
                "board_id": None,
                "target_user_id": None,
                "query": s.query,
                "occurred_at": s.at,
                "received_at": s.at,
            }
            for s in batch
            if s.user_id in alive
        ]
        if rows:
            conn.execute(insert(engagement_events), rows)
        return len(rows)

    def pending(self, _conn: Connection, user_id: int) -> list[EngagementRecord]:
        """The person's searches queued in this process, not yet written (their data export)."""
        with self._lock:
            mine = [s for s in self._queue if s.user_id == user_id]
        return [
            {
                "event_id": s.event_id,
                "kind": Kind.SEARCH.value,
                "pin_id": None,
                "board_id": None,
                "target_user_id": None,
                "query": s.query,
                "occurred_at": s.at.isoformat(),
            }
            for s in reversed(mine)  # newest first, as engagement.export
        ]

    def forget(self, _conn: Connection, user_id: int) -> int:
        """Drop the person's queued searches (erasure); how many."""
        with self._lock:
            before = len(self._queue)
            self._queue = [s for s in self._queue if s.user_id != user_id]
            return before - len(self._queue)

    def close(self) -> None:
        """Stop the background writer and write what is queued (server shutdown)."""
        self._closed = True
        self._wake.set()
        thread = self._thread
        if thread is not None:
            thread.join(timeout=30.0)
        self.flush()

    def _run(self) -> None:
        while not self._closed:
            self._wake.wait(self.interval)
            if self._closed:
                return  # close() writes the rest
            try:
                self.flush()
            except Exception:  # the rows are queued again; the next round retries
                log.exception("writing queued searches failed; retrying in %.1f s", self.interval)
