"""Helpers shared by test modules (which never import from one another): small hand-made catalogues,
signing in, the pages' forms, the recommendation tests' demo world and model, the counter stores and
running a benchmark script."""

from __future__ import annotations

import functools
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select

from tastegraph.bootstrap import System
from tastegraph.catalog import content
from tastegraph.catalog.tables import pins
from tastegraph.demo import DEMO_PASSWORD, WorldSize, load_world
from tastegraph.identity import SESSION_COOKIE
from tastegraph.recommend import Model, model_store, train
from tastegraph.recommend.model_store import Artifact

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class MiniWorld:
    topics: dict[str, int] = field(default_factory=dict)
    pins_by_domain: dict[str, list[int]] = field(default_factory=dict)


SITES = {
    "trailpeak-gear.com": "outdoors",
    "summitcamp.shop": "outdoors",
    "simmerandsage.com": "cooking",
    "loomandlinen.com": "home-decor",
}


def mini_world(system: System, pins_per_site: int = 6) -> MiniWorld:
    """A few sites, each with Pins in its topic, plus some popular Pins saved by a curator."""
    world = MiniWorld()
    now = system.clock.now()
    with system.write() as conn:
        for slug in sorted(set(SITES.values())):
            world.topics[slug] = content.ensure_topic(conn, slug, slug.replace("-", " ").title())
        for domain, topic in SITES.items():
            ids = [
                content.create_pin(
                    conn,
                    title=f"{topic} idea {i} from {domain}",
                    link_url=f"https://{domain}/item-{i}",
                    image_url=f"/static/demo-img/{topic}/{i}.svg",
                    now=now,
                    topic_ids=[world.topics[topic]],
                )
                for i in range(pins_per_site)
            ]
            world.pins_by_domain[domain] = ids
    return world


# --- signing in ---------------------------------------------------------------------------------------
# Every test that needs someone signed in uses these; only tests of the sign-in route itself (wrong
# passwords, limits, cookie flags, what a deleted account gets) call POST /v1/sessions on their own.

PASSWORD = "correct horse"


def sign_in(client: TestClient, email: str = "ann@example.com", password: str = PASSWORD) -> int:
    """Sign `client` in through the API as the account with this email and password; its user id."""
    r = client.post("/v1/sessions", json={"email": email, "password": password})
    assert r.status_code == 200, r.text
    return int(r.json()["user_id"])


def sign_up_in(client: TestClient, email: str = "ann@example.com", password: str = PASSWORD) -> int:
    """Make an account through the API and sign `client` in as it; its user id."""
    r = client.post("/v1/users", json={"email": email, "password": password})
    assert r.status_code == 201, r.text
    return sign_in(client, email, password)


def sign_in_demo(client: TestClient, n: int) -> int:
    """Sign `client` in as demo person `n` of the demo world; their user id."""
    return sign_in(client, f"demo{n}@demo.tastegraph.test", DEMO_PASSWORD)


def signed_in(client: TestClient, system: System, user_id: int) -> TestClient:
    """Another browser on the same app, signed in as `user_id` with a session made directly (for people
    inserted without a password, e.g. tests.integration.ads_support.people)."""
    with system.write() as conn:
        token = system.identity.start_session(conn, user_id, system.clock.now())
    other = TestClient(client.app, base_url=str(client.base_url))
    other.cookies.set(SESSION_COOKIE, token)
    return other


# --- the pages' forms ----------------------------------------------------------------------------------

_TOKEN = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')


def csrf_token(client: TestClient, path: str) -> str:
    r = client.get(path)
    assert r.status_code == 200, r.text
    match = _TOKEN.search(r.text)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def page_sign_up(
    client: TestClient, email: str = "bea@example.com", password: str = "a good password"
) -> None:
    """Sign up (and so in) through the sign-up page's form."""
    token = csrf_token(client, "/signup")
    r = client.post(
        "/signup",
        data={"email": email, "password": password, "display_name": "Bea", "csrf_token": token},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    assert r.headers["location"] == "/?notice=welcome"


def offsite_reasons(feed: dict[str, object]) -> list[dict[str, object]]:
    items = feed["items"]
    assert isinstance(items, list)
    return [r for item in items for r in item["reasons"] if r["kind"] == "offsite_visit"]


# --- the recommendation tests' world and model ---------------------------------------------------------

DEMO_SEED = 3


def demo_world(system: System) -> None:
    """The seeded demo world (400 Pins, 60 people) the recommendation tests train on."""
    with system.write() as conn:
        load_world(conn, DEMO_SEED, system.clock.now(), WorldSize(pins=400, users=60))


def train_artifact(system: System) -> Artifact:
    with system.read() as conn:
        return train(conn, system.consent, system.clock.now())


def trained_model(system: System) -> Model:
    """A model trained on what is stored now, saved and loaded as the system's current model."""
    model_store.save(system.models.model_dir, train_artifact(system))
    model = system.models.reload()
    assert model is not None
    return model


def popular_pin(system: System, rank: int = 0) -> int:
    with system.read() as conn:
        return int(
            conn.execute(
                select(pins.c.id).order_by(pins.c.save_count.desc(), pins.c.id).offset(rank).limit(1)
            ).scalar_one()
        )


# --- shared counter stores -----------------------------------------------------------------------------

REDIS_URL = os.environ.get("TASTEGRAPH_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@functools.cache
def counter_stores() -> list[str]:
    """The shared counter stores to test: the database, and Redis when one answers at REDIS_URL."""
    try:
        import redis

        up = bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping())
    except Exception:
        up = False
    return ["database", "redis"] if up else ["database"]


# --- benchmark scripts -------------------------------------------------------------------------------


def run_bench(script: str, *args: str, timeout: int = 300) -> dict[str, object]:
    """Run bench/<script> and return the JSON of its last output line."""
    out = subprocess.run(
        [sys.executable, str(ROOT / "bench" / script), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    result: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    return result
