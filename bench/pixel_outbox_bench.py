"""Measurement pixel outbox (issue 16): how fast the platform's server calls third-party measurement URLs,
and how long it takes to catch up after the receiver was down for 5 minutes.

Setup: one ad (made through the API) with MAX 3 impression URLs on a local receiver (a small asyncio HTTP
server in its own process answering 204 with keep-alive, counting requests). The sender is the server's
own (measure.pixels.Sender: leases, 8 calls at once, 200 rows a claim) on SQLite or PostgreSQL.

1. Queuing: the cost a counted event pays inside its transaction (read the ad's URLs, insert its rows),
   measured over separate transactions, one per event.
2. Throughput: `--events` events x `--urls` URLs queued, then sent with the receiver up: calls/s.
3. Outage: the receiver goes down; events keep coming at `--rate` events/s while the sender runs. The
   first `--outage-real` seconds are real (the sender meets refused connections: how often it tries a
   down host is measured); the rest of the 5-minute outage's backlog (`--outage` seconds at the same
   rate) is inserted as it would have been queued, spread over those minutes, and the sender's host
   state is left as 5 minutes of failures leave it (held back for its longest wait, HOST_BACKOFF_CAP).
   Then the receiver comes back; drain time = from its return until the outbox is empty (the first
   probe's wait is part of it). Every queued call must have reached the receiver exactly once.

    .venv/bin/python bench/pixel_outbox_bench.py                 # SQLite and PostgreSQL; updates docs
    .venv/bin/python bench/pixel_outbox_bench.py --quick         # a small run, one JSON line, docs untouched
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import io
import multiprocessing
import os
import random
import socket
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from bench.common import (
    machine_info,
    machine_line,
    md_table,
    print_json_line,
    replace_doc_section,
    scratch_database,
)

# --- the receiver ------------------------------------------------------------------------------------------


def _receive(port: int, count: Any, ready: Any) -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                if not head:
                    break
                with count.get_lock():
                    count.value += 1
                writer.write(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def main() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", port, reuse_address=True, backlog=512)
        ready.set()
        async with server:
            await server.serve_forever()

    asyncio.run(main())


class Receiver:
    def __init__(self) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.count = multiprocessing.Value("q", 0)
        self.process: multiprocessing.Process | None = None

    def up(self) -> None:
        ready = multiprocessing.Event()
        self.process = multiprocessing.Process(
            target=_receive, args=(self.port, self.count, ready), daemon=True
        )
        self.process.start()
        if not ready.wait(10):
            raise RuntimeError("the receiver did not start")

    def down(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.join()
            self.process = None

    def received(self) -> int:
        return int(self.count.value)


# --- the platform side ---------------------------------------------------------------------------


def _png() -> str:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (40, 30), (40, 120, 200)).save(out, format="PNG")
    return base64.b64encode(out.getvalue()).decode()


def _setup(url: str, receiver: Receiver, urls: int, tmp: Path) -> tuple[Any, int]:
    from fastapi.testclient import TestClient

    from tastegraph.ads import accounts
    from tastegraph.bootstrap import build
    from tastegraph.catalog import content
    from tastegraph.config import Settings
    from tastegraph.db import make_engine, upgrade
    from tastegraph.server import compose

    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    settings = Settings(
        database_url=url,
        env="test",
        ikea_dir=None,
        rate_limit_enabled=False,
        measurement_insecure_hosts=f"127.0.0.1:{receiver.port}",
        model_dir=tmp / "models",
        media_dir=tmp / "media",
    )
    system = build(settings)
    now = system.clock.now()
    with system.write() as conn:
        content.ensure_topic(conn, "hiking", "Hiking")
        account, token = accounts.create_account(conn, "Bench", now, website="bench-shop.example")
    auth = {"Authorization": f"Bearer {token.token}"}
    base = f"/v1/ad_accounts/{account.id}"
    with TestClient(compose(system, run_sweeper=False), base_url="http://127.0.0.1:8000") as api:
        pin = api.post(
            f"{base}/pins",
            headers=auth,
            json={
                "title": "Bench lamp",
                "link": "https://bench-shop.example/lamp",
                "media_source": {"source_type": "image_base64", "content_type": "image/png", "data": _png()},
            },
        ).json()
        campaign = api.post(
            f"{base}/campaigns", headers=auth, json={"name": "B", "objective": "awareness"}
        ).json()
        group = api.post(
            f"{base}/ad_groups",
            headers=auth,
            json={
                "campaign_id": campaign["id"],
                "name": "B",
                "billable_event": "impression",
                "bid_in_micro": 1_000_000,
                "budget_in_micro": 50_000_000,
                "budget_type": "daily",
                "targeting_spec": {"interests": ["hiking"]},
            },
        ).json()
        pixel = f"http://127.0.0.1:{receiver.port}/p/{{n}}?ad={{ad_id}}&cb={{cachebuster}}&t={{timestamp}}"
        tracking = {"impression": [pixel.replace("{n}", str(i)) for i in range(urls)]}
        made = api.post(
            f"{base}/ads",
            headers=auth,
            json={"ad_group_id": group["id"], "pin_id": pin["id"], "tracking_urls": tracking},
        )
        assert made.status_code == 201, made.text
    return system, int(made.json()["id"])


def _queue(system: Any, ad_id: int, first: int, n: int, at: Any = None) -> None:
    """Queue n events' calls in one transaction (bulk, for building a backlog)."""
    from tastegraph.ads import ads
    from tastegraph.measure import pixels

    with system.write() as conn:
        tracking = ads.tracking_of(conn, ad_id)
        for i in range(first, first + n):
            when = at(i) if at else system.clock.now()
            pixels.enqueue(conn, "impression", pixels.event_key("impression", f"bench{i}"), tracking, when)


def _queue_cost(system: Any, ad_id: int, n: int) -> float:
    """Microseconds a counted event spends queuing its calls, in a transaction of its own each."""
    from tastegraph.ads import ads
    from tastegraph.measure import pixels

    spent = 0.0
    for i in range(n):
        with system.write() as conn:
            start = time.perf_counter()
            tracking = ads.tracking_of(conn, ad_id)
            pixels.enqueue(conn, "impression", f"impression:cost{i}", tracking, system.clock.now())
            spent += time.perf_counter() - start
    return spent / n * 1e6


def _pending(system: Any) -> int:
    from tastegraph.measure import pixels

    with system.read() as conn:
        return int(pixels.pending(conn))


def _clear(system: Any) -> None:
    from tastegraph.measure.pixel_tables import pixel_outbox

    with system.write() as conn:
        conn.execute(pixel_outbox.delete())


async def _drain_all(sender: Any, system: Any, timeout: float) -> float:
    """Run the sender as the server does until nothing is pending: seconds taken."""
    start = time.perf_counter()
    while _pending(system):
        stats = await sender.run_once()
        if stats.claimed == 0 or stats.claimed == stats.deferred:
            await asyncio.sleep(0.2)
        if time.perf_counter() - start > timeout:
            raise RuntimeError(f"not drained after {timeout} s: {_pending(system)} pending")
    return time.perf_counter() - start


async def _outage(system: Any, ad_id: int, receiver: Receiver, args: argparse.Namespace) -> dict[str, Any]:
    from tastegraph.measure import pixels

    sender = pixels.Sender(system.engine, system.clock, system.settings.measurement_insecure_host_set)
    receiver.down()
    before = receiver.received()
    attempts = 0
    queued = 0
    start = time.perf_counter()
    tick = 0.2
    next_at = start
    # The real part of the outage: events arrive at the rate, the sender keeps trying.
    while time.perf_counter() - start < args.outage_real:
        n = int(args.rate * tick)
        await asyncio.to_thread(_queue, system, ad_id, 10_000_000 + queued, n)
        queued += n
        stats = await sender.run_once()
        attempts += stats.retried
        next_at += tick
        await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
    real = time.perf_counter() - start
    # The rest of the outage's backlog, as it would have been queued over those minutes.
    rest = int(args.rate * (args.outage - real))
    now = system.clock.now()
    span = args.outage - real

    def when(i: int) -> Any:
        return now - timedelta(seconds=span * (1 - (i - 20_000_000) / max(rest, 1)))

    for first in range(0, rest, 5_000):
        await asyncio.to_thread(_queue, system, ad_id, 20_000_000 + first, min(5_000, rest - first), when)
    queued += rest
    # After five minutes of refused connections the host is held back for its longest wait.
    host = f"127.0.0.1:{receiver.port}"
    if args.held_back:  # as the sender's probes leave it: the longest wait, with jitter
        state = sender._hosts.setdefault(host, pixels._HostState())
        state.failures = 12
        state.down_until = time.monotonic() + pixels.HOST_BACKOFF_CAP * (0.5 + 0.5 * random.random())
    backlog = _pending(system)
    receiver.up()
    drained = await _drain_all(sender, system, timeout=args.outage * 2 + 120)
    await sender.close()
    calls = queued * args.urls
    received = receiver.received() - before
    return {
        "rate_events_per_s": args.rate,
        "outage_s": args.outage,
        "outage_real_s": round(real, 1),
        "attempts_while_down": attempts,
        "attempts_while_down_per_s": round(attempts / real, 1),
        "backlog_calls": backlog,
        "drain_s": round(drained, 1),
        "calls_expected": calls,
        "calls_received": received,
        "exactly_once": received == calls,
        "held_back_at_start": args.held_back,
    }


async def _throughput(
    system: Any, ad_id: int, receiver: Receiver, args: argparse.Namespace
) -> dict[str, Any]:
    from tastegraph.measure import pixels

    for first in range(0, args.events, 5_000):
        await asyncio.to_thread(_queue, system, ad_id, first, min(5_000, args.events - first))
    calls = args.events * args.urls
    sender = pixels.Sender(system.engine, system.clock, system.settings.measurement_insecure_host_set)
    before = receiver.received()
    seconds = await _drain_all(sender, system, timeout=600)
    await sender.close()
    received = receiver.received() - before
    return {
        "calls": calls,
        "seconds": round(seconds, 2),
        "calls_per_s": round(calls / seconds),
        "calls_received": received,
        "exactly_once": received == calls,
    }


def run_backend(backend: str, args: argparse.Namespace) -> dict[str, Any]:
    import tempfile

    receiver = Receiver()
    receiver.up()
    try:
        with scratch_database(backend, "pixel_outbox_bench") as db:
            tmp = Path(tempfile.mkdtemp(prefix="pixel-bench-"))
            system, ad_id = _setup(db.url, receiver, args.urls, tmp)
            try:
                cost = _queue_cost(system, ad_id, args.cost_events)
                _clear(system)
                throughput = asyncio.run(_throughput(system, ad_id, receiver, args))
                _clear(system)
                outage = asyncio.run(_outage(system, ad_id, receiver, args))
            finally:
                system.dispose()
            return {
                "backend": backend,
                "urls_per_event": args.urls,
                "queue_us_per_event": round(cost),
                "throughput": throughput,
                "outage": outage,
            }
    finally:
        receiver.down()


def docs(results: list[dict[str, Any]], args: argparse.Namespace, info: dict[str, str]) -> str:
    rows = []
    for r in results:
        t, o = r["throughput"], r["outage"]
        rows.append(
            [
                r["backend"],
                f"{r['queue_us_per_event']} µs",
                f"{t['calls_per_s']:,} ({t['calls']:,} calls in {t['seconds']} s)",
                f"{o['backlog_calls']:,}",
                f"{o['drain_s']} s",
                f"{o['attempts_while_down_per_s']}/s",
                "yes" if t["exactly_once"] and o["exactly_once"] else "NO",
                " → ".join(str(x) for x in r["load_average_1min"]),
            ]
        )
    table = md_table(
        [
            "database",
            "queuing, per counted event",
            "calls/s to a local receiver",
            f"backlog after a {args.outage // 60}-minute outage",
            "drain time after it returns",
            "tries while it is down",
            "every call received exactly once",
            "machine load (1-min average, before → after)",
        ],
        rows,
    )
    return f"""## Measurement pixels (issue 16)

`.venv/bin/python bench/pixel_outbox_bench.py` — {machine_line(info)}

One ad with {args.urls} impression URLs (its macros expanded per call) on a local receiver (an asyncio
HTTP server in its own process, 204 answers, keep-alive). The server's own sender (measure.pixels: leased
claims of 200 rows, 8 calls at once on its own threads, 5 s timeout). Throughput: {args.events:,} events
queued, then sent. Outage: the receiver is down while events keep coming at {args.rate} counted events/s
({args.rate * args.urls} calls/s); the first {args.outage_real} s are real (the sender meets refused
connections), the rest of the {args.outage} s backlog is queued as it would have been, and the sender's
state is what 5 minutes of failures leave (the host held back for its longest wait, 15-30 s with jitter).
Drain time runs from the receiver's return until the outbox is empty, so it includes that wait before the
first probe. Queuing: the time an event's transaction spends reading the ad's URLs and inserting its rows
(the price every counted impression, click or engagement pays in `server` mode).

{table}
"""


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--events", type=int, default=5_000)
    parser.add_argument("--urls", type=int, default=3)
    parser.add_argument("--rate", type=int, default=50, help="counted events/s during the outage")
    parser.add_argument("--outage", type=int, default=300, help="seconds the receiver is down")
    parser.add_argument("--outage-real", type=float, default=5.0, help="of which really waited")
    parser.add_argument("--cost-events", type=int, default=500)
    parser.add_argument(
        "--no-held-back",
        dest="held_back",
        action="store_false",
        help="do not start the drain from the host state 5 minutes of failures leave",
    )
    parser.add_argument("--quick", action="store_true", help="a small run; docs untouched")
    parser.add_argument("--no-docs", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.events, args.rate, args.outage, args.outage_real, args.cost_events = 200, 20, 20, 1.0, 20
        args.no_docs, args.held_back = True, False
    info = machine_info()
    results = []
    for backend in [b.strip() for b in args.backends.split(",") if b.strip()]:
        load_before = os.getloadavg()[0]
        result = run_backend(backend, args)
        result["load_average_1min"] = [round(load_before, 1), round(os.getloadavg()[0], 1)]
        results.append(result)
    if not args.no_docs:
        replace_doc_section("pixel-outbox", docs(results, args, info))
    print_json_line({"results": results})


if __name__ == "__main__":
    main()
