"""Pinterest's official Python client (`pinterest-api-sdk`) sends conversions to our API as an
advertiser would: `Conversion.send_conversion_events` with PINTEREST_API_URI pointed at this server's
/v1 and the ad account's token. A good batch, a batch with a failed event, and test=true all come back
in a shape the client reads; what was stored is checked in the database."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import uvicorn
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tastegraph.bootstrap import System
from tastegraph.collect.tables import advertiser_events
from tastegraph.server import compose
from tests.integration.ads_support import Acct, ad_account, send, sha

pytest.importorskip("pinterest")

# Runs in a child process: the client reads PINTEREST_API_URI when it is imported.
CLIENT = r"""
import json, os, sys
from pinterest.ads.conversion_events import Conversion
from pinterest.client import PinterestSDKClient

spec = json.loads(sys.argv[1])
client = PinterestSDKClient.create_client_with_token(os.environ["PINTEREST_ACCESS_TOKEN"])
events = [
    Conversion.create_conversion_event(
        event_name=e["event_name"],
        action_source="web",
        event_time=e["event_time"],
        event_id=e["event_id"],
        user_data={"em": [e["em"]]},
        custom_data={"currency": "USD", "value": "24.50"},
    )
    for e in spec["events"]
]
answer = Conversion.send_conversion_events(
    ad_account_id=spec["ad_account_id"], conversion_events=events, test=spec["test"], client=client
)
print(json.dumps({
    "received": answer.num_events_received,
    "processed": answer.num_events_processed,
    "events": [
        {"status": e.status, "error": e.get("error_message"), "warning": e.get("warning_message")}
        for e in answer.events
    ],
}))
"""


@pytest.fixture
def server(system: System) -> Iterator[str]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(compose(system, run_sweeper=False), log_level="warning", lifespan="on")
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not running.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    running.should_exit = True
    thread.join(timeout=10)


def _send(url: str, acct: Acct, events: list[dict[str, Any]], test: bool = False) -> dict[str, Any]:
    env = {**os.environ, "PINTEREST_API_URI": url + "/v1", "PINTEREST_ACCESS_TOKEN": acct.token}
    spec = json.dumps({"ad_account_id": str(acct.id), "events": events, "test": test})
    done = subprocess.run(
        [sys.executable, "-c", CLIENT, spec],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return dict(json.loads(done.stdout))


def _stored(system: System, acct: Acct) -> int:
    with system.read() as conn:
        return int(
            conn.execute(
                select(func.count()).where(advertiser_events.c.ad_account_id == acct.id)
            ).scalar_one()
        )


def test_pinterests_client_sends_conversions_and_reads_our_answers(system: System, server: str) -> None:
    acct = ad_account(system, "Trailpeak", website="trailpeak.example")
    now = int(system.clock.now().timestamp())

    def event(event_id: str, **over: Any) -> dict[str, Any]:
        return {
            "event_name": "checkout",
            "event_time": now,
            "event_id": event_id,
            "em": sha(f"{event_id}@x.example"),
            **over,
        }

    good = _send(server, acct, [event("sdk-1"), event("sdk-2", event_name="add_to_cart")])
    assert good == {
        "received": 2,
        "processed": 2,
        "events": [{"status": "processed", "error": None, "warning": None}] * 2,
    }
    assert _stored(system, acct) == 2

    # Eight days old: refused by us (at most 7), not by the client; the batch's other events still count,
    # and a repeat is accounted for with a warning.
    stale = now - int(timedelta(days=8).total_seconds())
    mixed = _send(server, acct, [event("sdk-3"), event("sdk-4", event_time=stale), event("sdk-1")])
    assert (mixed["received"], mixed["processed"]) == (3, 2)
    first, failed, repeat = mixed["events"]
    assert first == {"status": "processed", "error": None, "warning": None}
    assert failed["status"] == "failed" and failed["error"].startswith("data[1].event_time")
    assert repeat["status"] == "processed" and "duplicate" in repeat["warning"]
    assert _stored(system, acct) == 3

    checked = _send(server, acct, [event("sdk-5")], test=True)
    assert checked["received"] == 1 and checked["events"][0]["status"] == "processed"
    assert _stored(system, acct) == 3  # test=true stores nothing


def test_pinterests_field_names_map_onto_ours_and_its_extra_identifiers_are_not_kept(
    client: TestClient, system: System
) -> None:
    acct = ad_account(system, "Trailpeak", website="trailpeak.example")
    body = {
        "event_name": "search",
        "action_source": "app_ios",
        "event_time": int(system.clock.now().timestamp()),
        "event_id": "pin-names-1",
        "user_data": {"em": [sha("a@x.example")], "hashed_maids": [sha("maid")], "fn": [sha("ann")]},
        "custom_data": {"search_string": "two-person tent", "num_items": 2, "opt_out_type": "LDP"},
        "app_name": "Trailpeak",
        "device_model": None,
        "wifi": True,
    }
    out = send(client, acct, [body])
    assert out["events"][0]["outcome"] == "processed", out
    with system.read() as conn:
        row = conn.execute(
            select(advertiser_events).where(advertiser_events.c.event_id == "pin-names-1")
        ).one()
    assert (row.search_query, row.order_quantity, row.limited_data_processing) == ("two-person tent", 2, True)
    assert sha("maid") not in str(tuple(row)) and sha("ann") not in str(tuple(row))
    bad = send(client, acct, [{**body, "event_id": "pin-names-2", "wifi": "yes"}])
    assert bad["events"][0]["outcome"] == "failed" and bad["events"][0]["error"]["field"] == "data[0].wifi"
