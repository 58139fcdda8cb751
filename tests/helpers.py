"""Small hand-made catalogues and API helpers for tests."""

from __future__ import annotations

from dataclasses import dataclass, field

from fastapi.testclient import TestClient

from tastegraph.bootstrap import System
from tastegraph.catalog import content


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


def sign_up_in(client: TestClient, email: str = "ann@example.com", password: str = "correct horse") -> int:
    r = client.post("/v1/users", json={"email": email, "password": password})
    assert r.status_code == 201, r.text
    r = client.post("/v1/sessions", json={"email": email, "password": password})
    assert r.status_code == 200, r.text
    return int(r.json()["user_id"])


def offsite_reasons(feed: dict[str, object]) -> list[dict[str, object]]:
    items = feed["items"]
    assert isinstance(items, list)
    return [r for item in items for r in item["reasons"] if r["kind"] == "offsite_visit"]
