"""Two `tastegraph serve` processes sharing PostgreSQL and Redis, under concurrent load aimed at one small
budget and one capped person: the budget is never exceeded by more than 1 %, and the person never sees
the capped ad more often than its cap — wherever requests and impressions land.

Needs TASTEGRAPH_TEST_POSTGRES_URL and a Redis at TASTEGRAPH_TEST_REDIS_URL (skipped otherwise)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, func, select, text

from tastegraph.ads import spend
from tastegraph.ads.tables import ad_impressions
from tastegraph.bootstrap import System, build
from tastegraph.collect import EngagementIn, Kind, engagement
from tastegraph.config import Settings
from tastegraph.db import make_engine, normalize_url, upgrade
from tastegraph.identity.service import SESSION_COOKIE
from tests.conftest import PG_URL
from tests.helpers import REDIS_URL, counter_stores, mini_world
from tests.integration.ads_support import ad_account, people
from tests.integration.test_promoted_pins_objects import png

pytestmark = pytest.mark.skipif(
    not PG_URL or "redis" not in counter_stores(), reason="needs PostgreSQL and Redis"
)

BUDGET = 5_000  # micro: 50 impressions at the reserve price (100 micro each)
CAP = 3  # impressions a day for the capped ad group
SECRET = "two-servers-" + "k" * 32
BASE = "/v1/ad_accounts"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Deployment:
    urls: list[str]
    system: System
    procs: list[subprocess.Popen[bytes]]


@pytest.fixture
def deployment(tmp_path: Path) -> Iterator[Deployment]:
    assert PG_URL
    admin = create_engine(normalize_url(PG_URL), isolation_level="AUTOCOMMIT")
    name = f"tastegraph_two_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = f"{normalize_url(PG_URL).rsplit('/', 1)[0]}/{name}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    prefix = f"tgtest-{uuid.uuid4().hex[:8]}:"
    env = {
        **os.environ,
        "TASTEGRAPH_DATABASE_URL": url,
        "TASTEGRAPH_REDIS_URL": REDIS_URL,
        "TASTEGRAPH_REDIS_KEY_PREFIX": prefix,
        "TASTEGRAPH_SECRET_KEY": SECRET,
        "TASTEGRAPH_RATE_LIMIT_ENABLED": "false",  # every client here is 127.0.0.1
        "TASTEGRAPH_MODEL_DIR": str(tmp_path / "models"),
        "TASTEGRAPH_MEDIA_DIR": str(tmp_path / "media"),
        "TASTEGRAPH_IKEA_DIR": str(tmp_path / "no-ikea"),
    }
    system = build(
        Settings(
            database_url=url,
            redis_url=REDIS_URL,
            redis_key_prefix=prefix,
            secret_key=SECRET,
            model_dir=tmp_path / "models",
            media_dir=tmp_path / "media",
            ikea_dir=None,
        )
    )
    ports = [_free_port(), _free_port()]
    exe = Path(sys.executable).parent / "tastegraph"
    procs = [
        subprocess.Popen(
            [str(exe), "serve", "--port", str(p)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=open(tmp_path / f"serve-{p}.log", "wb"),  # noqa: SIM115 (closed with the process)
        )
        for p in ports
    ]
    urls = [f"http://127.0.0.1:{p}" for p in ports]
    try:
        deadline = time.monotonic() + 60
        for u in urls:
            while True:
                try:
                    if httpx.get(f"{u}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    logs = "".join(f.read_text() for f in tmp_path.glob("serve-*.log"))
                    raise RuntimeError(f"{u} did not start:\n{logs}")
                time.sleep(0.2)
        yield Deployment(urls, system, procs)
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=20)
        system.dispose()
        import redis

        client = redis.Redis.from_url(REDIS_URL)
        for key in client.scan_iter(match=f"{prefix}*"):
            client.delete(key)
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _promote(client: httpx.Client, auth: dict[str, str], topic: str, **group: Any) -> dict[str, Any]:
    r = client.post(
        "/pins",
        json={
            "title": f"Promo {topic}",
            "link": "https://trailpeak-gear.com/promo",
            "media_source": {"source_type": "image_base64", "content_type": "image/png", "data": png()},
        },
        headers=auth,
    )
    assert r.status_code == 201, r.text
    pin = r.json()
    r = client.post("/campaigns", json={"name": "c", "objective": "awareness"}, headers=auth)
    assert r.status_code == 201, r.text
    body = {
        "campaign_id": r.json()["id"],
        "name": f"g {topic}",
        "billable_event": "impression",
        "bid_in_micro": 4_000_000,
        "budget_type": "daily",
        "pacing_delivery_type": "accelerated",
        "targeting_spec": {"interests": [topic]},
        **group,
    }
    r = client.post("/ad_groups", json=body, headers=auth)
    assert r.status_code == 201, r.text
    made = r.json()
    r = client.post("/ads", json={"ad_group_id": made["id"], "pin_id": pin["id"]}, headers=auth)
    assert r.status_code == 201, r.text
    return {"group": made, "ad": r.json()}


def _session(system: System, user_id: int) -> str:
    with system.write() as conn:
        return system.identity.start_session(conn, user_id, system.clock.now())


def test_a_small_budget_and_a_frequency_cap_hold_across_two_servers(deployment: Deployment) -> None:
    system = deployment.system
    world = mini_world(system, pins_per_site=8)
    small_acct = ad_account(system, "Trailpeak", website="trailpeak-gear.com")
    capped_acct = ad_account(system, "Simmer", website="trailpeak-gear.com")
    with httpx.Client(base_url=f"{deployment.urls[0]}{BASE}/{small_acct.id}") as c:
        small = _promote(c, small_acct.auth, "outdoors", budget_in_micro=BUDGET)
    with httpx.Client(base_url=f"{deployment.urls[1]}{BASE}/{capped_acct.id}") as c:
        capped = _promote(
            c,
            capped_acct.auth,
            "cooking",
            budget_in_micro=50_000_000,
            frequency_cap={"impressions": CAP, "days": 1},
        )
    # Sixteen people interested in outdoors (the small budget's audience), one in cooking (the cap's).
    outdoor = [uid for uid, _ in people(system, 16, "outdoor")]
    (cook,) = [uid for uid, _ in people(system, 1, "cook")]
    now = system.clock.now()
    with system.write() as conn:
        for uid in outdoor:
            clicks = [EngagementIn(Kind.CLICK, pin_id=p) for p in world.pins_by_domain["summitcamp.shop"][:4]]
            engagement.record_engagement(conn, uid, clicks, now)
        clicks = [EngagementIn(Kind.CLICK, pin_id=p) for p in world.pins_by_domain["simmerandsage.com"][:4]]
        engagement.record_engagement(conn, cook, clicks, now)
    sessions = {uid: _session(system, uid) for uid in [*outdoor, cook]}

    served: dict[int, list[str]] = {small["ad"]["id"]: [], capped["ad"]["id"]: []}
    lock = threading.Lock()

    def browse(uid: int, rounds: int) -> None:
        """Alternate the servers: the feed from one, its ads reported in view to the other."""
        clients = [
            httpx.Client(base_url=u, cookies={SESSION_COOKIE: sessions[uid]}, timeout=30)
            for u in deployment.urls
        ]
        try:
            for i in range(rounds):
                feed_from, report_to = clients[i % 2], clients[(i + 1) % 2]
                r = feed_from.get("/v1/feed/home", params={"limit": 12})
                assert r.status_code == 200, r.text
                tokens = []
                for item in r.json()["items"]:
                    if item.get("promoted"):
                        with lock:
                            served.setdefault(item["promoted"]["ad_id"], []).append(item["promoted"]["token"])
                        tokens.append(item["promoted"]["token"])
                if tokens:
                    r = report_to.post("/v1/ads/impressions", json={"tokens": tokens})
                    assert r.status_code == 200, r.text
        finally:
            for c in clients:
                c.close()

    # Six threads on the capped person and twelve on the small budget's audience, at once.
    jobs = [(cook, 6)] * 6 + [(uid, 8) for uid in outdoor]
    with ThreadPoolExecutor(max_workers=18) as pool:
        for f in [pool.submit(browse, uid, n) for uid, n in jobs]:
            f.result()

    day = system.clock.now().date()  # the accounts' timezone is UTC
    small_key = spend.day_key("ag", small["group"]["id"], day)
    total = system.ad_spend.spent([small_key])[small_key]
    assert served[small["ad"]["id"]], "the small budget never served"
    # 16 people x 8 feeds would be 128 impressions: the budget of 50 stops it, within 1 %.
    assert total.spent + total.reserved <= BUDGET * 101 // 100
    assert total.spent >= BUDGET - 100 * 2  # and it is spent (every served ad here is reported in view)
    with system.read() as conn:
        recorded = conn.execute(
            select(func.count())
            .select_from(ad_impressions)
            .where(ad_impressions.c.ad_id == small["ad"]["id"])
        ).scalar_one()
        capped_seen = conn.execute(
            select(func.count())
            .select_from(ad_impressions)
            .where(ad_impressions.c.ad_id == capped["ad"]["id"], ad_impressions.c.user_id == cook)
        ).scalar_one()
    assert recorded * 100 == total.spent
    # 36 feeds for the capped person, from both servers at once: never more than the cap served.
    assert 1 <= len(served[capped["ad"]["id"]]) <= CAP
    assert capped_seen <= CAP
