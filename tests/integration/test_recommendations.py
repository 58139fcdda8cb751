"""Trained models in the service: training under consent, loading and reloading, related Pins, boards
and people to follow, the model and cold-start feed sources, and that saved or hidden Pins never return."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import insert, select

from tastegraph.bootstrap import System, build
from tastegraph.catalog import content
from tastegraph.catalog.tables import board_follows, board_pins, boards, user_follows
from tastegraph.collect.tables import offsite_visits
from tastegraph.db import make_engine, upgrade
from tastegraph.kernel import FrozenClock
from tastegraph.recommend import model_store
from tastegraph.recommend.sources import load_profile, viewer_topics
from tastegraph.server import compose
from tests.conftest import make_settings
from tests.helpers import (
    demo_world,
    popular_pin,
    sign_in_demo,
    sign_up_in,
    train_artifact,
    trained_model,
)


def _saved_by(system: System, user_id: int) -> set[int]:
    with system.read() as conn:
        rows = conn.execute(select(board_pins.c.pin_id).where(board_pins.c.saved_by == user_id)).scalars()
        return {int(p) for p in rows}


def _visit(user_id: int, domain: str, at: datetime, n: int) -> dict[str, Any]:
    return {
        "event_id": f"train-visit-{user_id}-{n}",
        "user_id": user_id,
        "url": f"https://{domain}/page",
        "domain": domain,
        "visited_at": at,
        "received_at": at,
    }


# --- training ----------------------------------------------------------------------------------------


def test_training_uses_only_what_consent_allows(client: TestClient, system: System) -> None:
    demo_world(system)
    now = system.clock.now()
    ann = sign_up_in(client, "ann@example.com")
    bob_client = TestClient(client.app, base_url=str(client.base_url))
    bob = sign_up_in(bob_client, "bob@example.com")
    assert bob_client.patch("/v1/me/settings", json={"personalization": False}).status_code == 200
    clicked, hidden, saved = popular_pin(system, 0), popular_pin(system, 1), popular_pin(system, 2)
    events = [
        {"kind": "click", "pin_id": clicked},
        {"kind": "closeup", "pin_id": hidden},
        {"kind": "hide", "pin_id": hidden},
        {"kind": "save", "pin_id": saved},
    ]
    assert client.post("/v1/engagement", json={"events": events}).status_code == 200
    assert (
        bob_client.post("/v1/engagement", json={"events": [{"kind": "save", "pin_id": saved}]}).status_code
        == 200
    )
    # Stored visits (written directly: consent would have refused Bob's at collection).
    with system.write() as conn:
        conn.execute(
            insert(offsite_visits),
            [
                _visit(ann, "trailpeak-gear.com", now - timedelta(days=2), 1),
                _visit(ann, "summitcamp.shop", now - timedelta(days=31), 2),  # past the 30-day window
                _visit(bob, "simmerandsage.com", now - timedelta(days=1), 3),  # Personalization off
            ],
        )
    artifact = train_artifact(system)
    counts = artifact.meta["counts"]
    assert artifact.arrays["domains"].tolist() == ["trailpeak-gear.com"]
    assert (counts["users_with_offsite"], counts["users_offsite_refused"], counts["visits_used"]) == (1, 1, 1)
    assert artifact.meta["offsite_expires_at"] == (now - timedelta(days=2) + timedelta(days=30)).isoformat()
    user_ids, pin_ids = artifact.arrays["user_ids"].tolist(), artifact.arrays["pin_ids"].tolist()
    m = artifact.csr("interactions")
    n_pins = len(pin_ids)

    def row(user_id: int) -> dict[str, float]:
        r = m[user_ids.index(user_id)]
        names = [
            str(pin_ids[c]) if c < n_pins else f"domain:{artifact.arrays['domains'][c - n_pins]}"
            for c in r.indices
        ]
        return dict(zip(names, r.data.tolist(), strict=True))

    assert row(ann) == {str(saved): 1.0, str(clicked): 0.5, "domain:trailpeak-gear.com": 0.5}  # no hide
    assert row(bob) == {str(saved): 1.0}  # no domain column: consent refused


def test_cli_train_writes_versions_and_prunes(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    env = {**os.environ, "TASTEGRAPH_DATABASE_URL": url, "TASTEGRAPH_MODEL_DIR": str(tmp_path / "models")}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "tastegraph.cli", "train", *args],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )

    empty = cli()
    assert empty.returncode == 2 and "nothing to train on" in empty.stderr
    system = build(make_settings(url))
    demo_world(system)
    system.dispose()
    first = cli("--rank", "16")
    assert first.returncode == 0, first.stderr
    out = json.loads(first.stdout.strip().splitlines()[-1])
    assert out["counts"]["pins"] == 400 and Path(out["path"]).is_dir()
    # No ads in the demo world: the pCTR model is the organic prior, and the command says so.
    assert out["ad_ctr"]["kind"] == "organic_prior" and "0 logged ad impressions" in out["ad_ctr"]["reason"]
    assert Path(out["ad_ctr"]["path"]) == tmp_path / "models" / "ad_ctr.npz" and "pCTR model" in first.stderr
    second = cli("--rank", "16", "--keep", "1")
    assert second.returncode == 0, second.stderr
    again = json.loads(second.stdout.strip().splitlines()[-1])
    assert again["version"] > out["version"] and again["pruned"] == [out["version"]]
    assert model_store.versions(tmp_path / "models") == [again["version"]]
    assert not [p for p in (tmp_path / "models").iterdir() if p.name.startswith(".")]


def test_training_is_deterministic_under_a_seed(system: System) -> None:
    demo_world(system)
    a, b = train_artifact(system), train_artifact(system)
    assert set(a.arrays) == set(b.arrays)
    for name in a.arrays:
        assert np.array_equal(a.arrays[name], b.arrays[name]), name


# --- loading -----------------------------------------------------------------------------------------


ADMIN_TOKEN = "an-admin-token-for-tests-0123456789"


@pytest.fixture
def admin_client(system: System) -> Iterator[TestClient]:
    """A client of a server with an admin token, sending it with every request."""
    system.settings.admin_token = SecretStr(ADMIN_TOKEN)
    app = compose(system, run_sweeper=False)
    auth = {"authorization": f"Bearer {ADMIN_TOKEN}"}
    with TestClient(app, base_url="http://127.0.0.1:8000", headers=auth) as c:
        yield c


def test_reload_endpoint_switches_to_the_newest_model(admin_client: TestClient, system: System) -> None:
    client = admin_client
    demo_world(system)
    user = sign_in_demo(client, 1)
    assert client.post("/v1/admin/reload-model").json() == {
        "loaded": False,
        "version": None,
        "created_at": None,
        "offsite_expires_at": None,
        "counts": {},
    }
    feed = client.get("/v1/feed/home?limit=100").json()
    assert not [r for i in feed["items"] for r in i["reasons"] if r["kind"] == "similar_taste"]
    path = model_store.save(system.models.model_dir, train_artifact(system))
    # Written but not yet loaded: the server keeps what it has until told.
    assert system.models.current(system.clock.now()) is None
    status = client.post("/v1/admin/reload-model").json()
    assert status["loaded"] is True and status["version"] == path.name and status["counts"]["pins"] == 400
    feed = client.get("/v1/feed/home?limit=100").json()
    taste = [r for i in feed["items"] for r in i["reasons"] if r["kind"] == "similar_taste"]
    assert taste, "the model's source shows once the model is loaded"
    engaged = _saved_by(system, user) | _engaged_by(system, user)
    assert all(r["pin_id"] in engaged and r["pin_title"] in r["text"] for r in taste)


def _engaged_by(system: System, user_id: int) -> set[int]:
    from tastegraph.collect.tables import engagement_events

    with system.read() as conn:
        rows = conn.execute(select(engagement_events.c.pin_id).where(engagement_events.c.user_id == user_id))
        return {int(p) for p in rows.scalars() if p is not None}


@pytest.mark.parametrize(
    ("env", "token", "present"),
    [("test", None, False), ("development", None, False), ("test", ADMIN_TOKEN, True)],
)
def test_reload_route_only_with_an_admin_token(
    database_url: str, tmp_path: Path, env: str, token: str | None, present: bool
) -> None:
    system = build(make_settings(database_url, env=env, admin_token=token, model_dir=tmp_path / "m"))
    with TestClient(compose(system, run_sweeper=False), base_url="http://127.0.0.1:8000") as c:
        r = c.post("/v1/admin/reload-model", headers={"authorization": f"Bearer {ADMIN_TOKEN}"})
        assert (r.status_code == 200) is present
        assert r.status_code == (200 if present else 404)
    system.dispose()


def test_without_a_model_everything_still_works(client: TestClient, system: System) -> None:
    demo_world(system)
    sign_in_demo(client, 2)
    pin = popular_pin(system)
    for path in (
        f"/v1/pins/{pin}/related",
        "/v1/recommendations/boards",
        "/v1/recommendations/people",
        "/v1/feed/home",
    ):
        r = client.get(path)
        assert r.status_code == 200 and r.json()["items"], path
        assert all(i["reasons"] and all(x["text"] for x in i["reasons"]) for i in r.json()["items"]), path


# --- endpoints ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("with_model", [True, False])
def test_related_pins_name_a_board_that_links_them(
    client: TestClient, system: System, with_model: bool
) -> None:
    demo_world(system)
    if with_model:
        trained_model(system)
    query = popular_pin(system, 3)
    r = client.get(f"/v1/pins/{query}/related?limit=10")
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    assert len(items) == 10 and query not in [i["pin_id"] for i in items]
    with system.read() as conn:
        on_board = {
            (int(b), int(p)) for b, p in conn.execute(select(board_pins.c.board_id, board_pins.c.pin_id))
        }
        names = dict(conn.execute(select(boards.c.id, boards.c.name)).all())
    together = [(i["pin_id"], x) for i in items for x in i["reasons"] if x["kind"] == "saved_together"]
    assert together
    for pin_id, reason in together:
        board = reason["board_id"]
        assert (board, pin_id) in on_board and reason["board_name"] == names[board]
        assert reason["text"] == f"Saved to boards like “{names[board]}”"
        assert reason["shares_board"] == ((board, query) in on_board)
        assert reason["boards"] == sum(1 for b, p in on_board if p == query and (b, pin_id) in on_board)
    assert client.get("/v1/pins/999999/related").status_code == 404
    assert client.get(f"/v1/pins/{query}/related?limit=0").status_code == 422
    assert client.get(f"/v1/pins/{query}/related?limit=101").status_code == 422


def test_related_pins_are_deterministic(client: TestClient, system: System, clock: FrozenClock) -> None:
    demo_world(system)
    version = trained_model(system).version
    query = popular_pin(system, 5)
    first = client.get(f"/v1/pins/{query}/related?limit=20").json()
    assert len(first["items"]) == 20
    assert client.get(f"/v1/pins/{query}/related?limit=20").json() == first
    # A second training of the same data, loaded afresh, answers the same.
    clock.advance(timedelta(minutes=1))
    assert trained_model(system).version != version
    assert client.get(f"/v1/pins/{query}/related?limit=20").json() == first


@pytest.mark.parametrize("with_model", [True, False])
def test_boards_to_follow(client: TestClient, system: System, with_model: bool) -> None:
    demo_world(system)
    if with_model:
        trained_model(system)
    assert client.get("/v1/recommendations/boards").status_code == 401
    user = sign_in_demo(client, 4)
    r = client.get("/v1/recommendations/boards?limit=10")
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    assert items
    with system.read() as conn:
        own = {int(b) for b in conn.execute(select(boards.c.id).where(boards.c.owner_id == user)).scalars()}
        followed = {
            int(b)
            for b in conn.execute(
                select(board_follows.c.board_id).where(board_follows.c.user_id == user)
            ).scalars()
        }
        on_board = {
            (int(b), int(p)) for b, p in conn.execute(select(board_pins.c.board_id, board_pins.c.pin_id))
        }
    for item in items:
        assert item["board_id"] not in own | followed and item["board"]["id"] == item["board_id"]
        (reason,) = item["reasons"]
        assert reason["kind"] == "board_match" and reason["pins"] >= 1
        assert (item["board_id"], reason["pin_id"]) in on_board
        assert reason["pin_title"] in reason["text"] and "like ones you saved" in reason["text"]


@pytest.mark.parametrize("with_model", [True, False])
def test_people_to_follow(client: TestClient, system: System, with_model: bool) -> None:
    demo_world(system)
    if with_model:
        trained_model(system)
    assert client.get("/v1/recommendations/people").status_code == 401
    user = sign_in_demo(client, 6)
    r = client.get("/v1/recommendations/people?limit=10")
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    assert items
    mine = _saved_by(system, user)
    with system.read() as conn:
        followed = {
            int(u)
            for u in conn.execute(
                select(user_follows.c.followee_id).where(user_follows.c.follower_id == user)
            ).scalars()
        }
        topics = {t[1] for t in viewer_topics(conn, load_profile(conn, user, []))}
    for item in items:
        other = item["user_id"]
        assert other != user and other not in followed and item["user"]["display_name"]
        (reason,) = item["reasons"]
        if reason["kind"] == "saved_same_pin":
            both = mine & _saved_by(system, other)
            assert reason["pin_id"] in both and reason["pins"] == len(both)
            assert reason["pin_title"] in reason["text"]
        else:
            assert reason["kind"] == "shared_topic" and reason["topic"] in topics


def test_model_reads_visits_only_when_this_request_allows(client: TestClient, system: System) -> None:
    demo_world(system)
    now = system.clock.now()
    with system.write() as conn:  # people in training who visited the shop
        rows = [_visit(n, "trailpeak-gear.com", now - timedelta(days=1), n) for n in range(1, 21)]
        conn.execute(insert(offsite_visits), rows)
    trained_model(system)
    sign_up_in(client, "new@example.com")  # no saves yet, and not in the model
    r = client.post("/v1/offsite/visits", json={"url": "https://trailpeak-gear.com/tents"})
    assert r.json()["stored"] is True
    feed = client.get("/v1/feed/home?limit=50").json()["items"]
    via_model = [(i["pin_id"], r) for i in feed for r in i["reasons"] if r.get("via") == "similar_taste"]
    assert via_model, "people who visit the shop like these"
    pin_id, reason = via_model[0]
    assert reason["kind"] == "offsite_visit" and reason["domain"] == "trailpeak-gear.com"
    assert (
        reason["text"].startswith("You visited trailpeak-gear.com")
        and "people who visit it" in reason["text"]
    )
    assert reason in client.get(f"/v1/pins/{pin_id}/why").json()["reasons"]
    # Consent is decided for this request: with Do Not Track the model sees no visit either.
    for headers in ({"DNT": "1"}, {"Sec-GPC": "1"}):
        feed = client.get("/v1/feed/home?limit=50", headers=headers).json()["items"]
        assert not [r for i in feed for r in i["reasons"] if r["kind"] == "offsite_visit"]


# --- never again: saved or hidden Pins ---------------------------------------------------------------


def test_saved_and_hidden_pins_are_never_recommended_again(client: TestClient, system: System) -> None:
    demo_world(system)
    trained_model(system)  # trained before the save and the hide: exclusion must come from live data
    user = sign_in_demo(client, 8)
    query = popular_pin(system, 2)
    related = [i["pin_id"] for i in client.get(f"/v1/pins/{query}/related?limit=10").json()["items"]]
    feed = client.get("/v1/feed/home?limit=100").json()["items"]
    taste = [i["pin_id"] for i in feed if any(r["kind"] == "similar_taste" for r in i["reasons"])]
    to_save, to_hide = related[0], taste[0]
    events = [{"kind": "save", "pin_id": to_save}, {"kind": "hide", "pin_id": to_hide}]
    assert client.post("/v1/engagement", json={"events": events}).status_code == 200
    gone = _saved_by(system, user) | {to_hide}
    related = [i["pin_id"] for i in client.get(f"/v1/pins/{query}/related?limit=100").json()["items"]]
    feed_ids = [i["pin_id"] for i in client.get("/v1/feed/home?limit=100").json()["items"]]
    assert related and feed_ids
    assert not gone & set(related) and not gone & set(feed_ids)
    assert client.get(f"/v1/pins/{to_hide}/why").json()["reasons"] == []
    # Related Pins of the saved Pin itself do not offer it back either, nor any other save.
    around = [i["pin_id"] for i in client.get(f"/v1/pins/{to_save}/related?limit=100").json()["items"]]
    assert to_save not in around and not gone & set(around)


# --- cold start --------------------------------------------------------------------------------------


def test_a_brand_new_pin_reaches_people_through_its_topics(client: TestClient, system: System) -> None:
    demo_world(system)
    trained_model(system)
    user = sign_in_demo(client, 10)
    now = system.clock.now()
    with system.read() as conn:
        topic_id, slug, name, _ = viewer_topics(conn, load_profile(conn, user, []))[0]
    with system.write() as conn:
        fresh = content.create_pin(
            conn,
            title="Brand-new idea",
            link_url="https://example.com/new",
            image_url="/x.svg",
            now=now,
            topic_ids=[topic_id],
        )
        stale = content.create_pin(
            conn,
            title="Old unloved idea",
            link_url="https://example.com/old",
            image_url="/y.svg",
            now=now - timedelta(days=15),
            topic_ids=[topic_id],
        )
    feed = client.get("/v1/feed/home?limit=50").json()["items"]
    reasons = {i["pin_id"]: i["reasons"] for i in feed}
    assert fresh in reasons, "a Pin nobody engaged with yet is in the feed of people in its topic"
    (new,) = [r for r in reasons[fresh] if r["kind"] == "new_in_topic"]
    assert (new["topic"], new["topic_name"], new["saves"]) == (slug, name, 0)
    assert new["text"] == f"New in {name}, a topic you engage with."
    assert not any(r["kind"] == "new_in_topic" for r in reasons.get(stale, []))
    # A new Pin (unknown to the model, saved by nobody) still has related Pins, through its topic.
    related = client.get(f"/v1/pins/{fresh}/related?limit=5").json()["items"]
    assert len(related) == 5
    assert all(r["kind"] == "same_topic" and r["topic"] == slug for i in related for r in i["reasons"])


# --- the artifact as personal data -------------------------------------------------------------------


def test_model_with_offsite_data_retires_with_retention(
    client: TestClient, system: System, clock: FrozenClock
) -> None:
    demo_world(system)
    user = sign_in_demo(client, 12)
    now = clock.now()
    with system.write() as conn:
        conn.execute(insert(offsite_visits), [_visit(user, "trailpeak-gear.com", now - timedelta(days=3), 1)])
    model = trained_model(system)
    assert model.offsite_expires_at == now + timedelta(days=27)
    clock.advance(timedelta(days=26))
    assert system.models.current(clock.now()) is model
    clock.advance(timedelta(days=1))
    assert system.models.current(clock.now()) is None  # live sources from now on
    assert client.get("/v1/feed/home").status_code == 200
    r = client.post("/v1/test/sweep")
    assert r.json()["deleted"]["models"] == 1
    assert model_store.versions(system.models.model_dir) == []


def test_export_and_erasure_cover_trained_models(client: TestClient, system: System) -> None:
    demo_world(system)
    user = sign_in_demo(client, 14)
    model = trained_model(system)
    exported = client.get("/v1/me/export").json()["models"]
    assert [e["version"] for e in exported] == [model.version]
    assert set(exported[0]["pin_ids"]) >= _saved_by(system, user)
    assert client.delete("/v1/me").status_code == 204
    assert model_store.versions(system.models.model_dir) == []
    assert system.models.current(system.clock.now()) is None


def test_gpc_on_the_feed_and_related_pins_is_honored(client: TestClient, system: System) -> None:
    """The hot read routes look the caller up in their own transaction; a signed-in request with GPC
    still turns "Use info from advertisers" off first, and is recorded, as on every other route."""
    demo_world(system)
    trained_model(system)
    query = popular_pin(system, 2)
    for n, path in ((3, "/v1/feed/home"), (4, f"/v1/pins/{query}/related")):
        sign_in_demo(client, n)
        assert client.get("/v1/me/settings").json()["ads_advertiser_data"] is True
        r = client.get(path, headers={"Sec-GPC": "1"})
        assert r.status_code == 200 and r.json()["items"]
        assert client.get("/v1/me/settings").json()["ads_advertiser_data"] is False
        ledger = client.get("/v1/me/consent-history").json()["items"]
        latest = (ledger[0]["setting"], ledger[0]["source"])
        assert latest == ("ads_advertiser_data", "global_privacy_control")
        # Without the signal nothing changes back, and the routes answer from one transaction.
        assert client.get(path).status_code == 200
        assert client.get("/v1/me/settings").json()["ads_advertiser_data"] is False
        client.delete("/v1/sessions")
