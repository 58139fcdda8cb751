"""Limits around the advertiser API: a streamed customer list over the body limit is refused with 413
and writes nothing (never buffered); wrong tokens are rate limited per client address; ids beyond 64
bits are a 4xx anywhere, never a 500."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tastegraph.bootstrap import System, build
from tastegraph.kernel import FrozenClock
from tastegraph.server import compose
from tests.conftest import make_settings
from tests.integration.ads_support import ad_account, row_counts, sha


@pytest.fixture
def small_limits(
    database_url: str, clock: FrozenClock, tmp_path: Path
) -> Iterator[tuple[TestClient, System]]:
    settings = make_settings(
        database_url,
        model_dir=tmp_path / "models",
        customer_list_max_body_bytes=20_000,
        ads_auth_failures_per_minute=3,
    )
    system = build(settings, clock=clock)
    with TestClient(compose(system, run_sweeper=False), base_url="http://127.0.0.1:8000") as client:
        yield client, system
    system.dispose()


def test_a_streamed_list_over_the_limit_is_refused_and_writes_nothing(
    small_limits: tuple[TestClient, System],
) -> None:
    client, system = small_limits
    acct = ad_account(system)
    before = row_counts(system)

    def chunks() -> Iterator[bytes]:  # no Content-Length: the body arrives chunked
        for i in range(1000):
            yield (sha(f"p{i}@example.com") + "\n").encode()

    r = client.post(
        f"/v1/ad_accounts/{acct.id}/customer_lists",
        params={"kind": "email", "hashed": "true"},
        content=chunks(),
        headers={**acct.auth, "Content-Type": "text/csv"},
    )
    assert r.status_code == 413, r.text
    assert row_counts(system) == before
    # Under the limit, the same way, it works.
    small = "".join(sha(f"p{i}@example.com") + "\n" for i in range(100)).encode()
    r = client.post(
        f"/v1/ad_accounts/{acct.id}/customer_lists",
        params={"kind": "email", "hashed": "true"},
        content=iter([small[:3000], small[3000:]]),
        headers={**acct.auth, "Content-Type": "text/csv"},
    )
    assert r.status_code == 201 and r.json()["uploaded"] == 100


def test_wrong_tokens_are_rate_limited(small_limits: tuple[TestClient, System]) -> None:
    client, system = small_limits
    acct = ad_account(system)
    bad = {"Authorization": "Bearer tgad_not-a-real-token"}
    codes = [client.get(f"/v1/ad_accounts/{acct.id}", headers=bad).status_code for _ in range(5)]
    assert codes[:3] == [401, 401, 401] and codes[3:] == [429, 429]
    r = client.get(f"/v1/ad_accounts/{acct.id}", headers=bad)
    assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1


def test_ids_beyond_64_bits_are_refused_not_crashed(client: TestClient) -> None:
    huge = 2**70
    r = client.get(f"/v1/pins/{huge}/related")
    assert r.status_code in (404, 422), r.text
    r = client.get(f"/v1/pins/{huge}/why")
    assert r.status_code in (401, 404, 422), r.text
    page = client.get(f"/pins/{huge}")
    assert page.status_code == 404 and "text/html" in page.headers["content-type"]


def test_page_addresses_are_kept_without_query_or_fragment(client: TestClient, system: System) -> None:
    from sqlalchemy import select

    from tastegraph.collect.tables import advertiser_events
    from tests.integration.ads_support import event, send, statuses

    acct = ad_account(system)
    url = "https://shop.example/thanks?email=someone%40example.com&order=17#receipt"
    good = event(system, "e-url-1", event_source_url=url)
    bad = event(system, "e-url-2", event_source_url="http://[::1")
    result = send(client, acct, [good, bad])
    assert statuses(result) == ["processed", "failed"]
    assert result["events"][1]["error"]["field"] == "data[1].event_source_url"
    with system.read() as conn:
        stored = conn.execute(select(advertiser_events.c.page_url)).scalars().all()
    assert stored == ["https://shop.example/thanks"]
