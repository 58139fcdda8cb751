"""The demo world: deterministic, internally consistent, fast; and the IKEA loader."""

from __future__ import annotations

import json
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine, Table, create_engine, func, select

import tastegraph.catalog.tables
import tastegraph.collect.tables
import tastegraph.consent.tables
import tastegraph.identity.tables  # noqa: F401  (registers its tables on the metadata)
from tastegraph.catalog.accounts import authenticate, create_user
from tastegraph.catalog.tables import board_pins, boards, pin_topics, pins, topics, users
from tastegraph.collect.tables import engagement_events
from tastegraph.consent.tables import user_settings
from tastegraph.demo import DEMO_PASSWORD, TOPIC_DOMAINS, WorldSize, load_ikea, load_world
from tastegraph.kernel import Conflict, InvalidInput, metadata

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
SMALL = WorldSize(pins=300, users=60)
REAL_IKEA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "ikea"


def new_engine(tmp_path: Path, name: str = "demo.db") -> Engine:
    engine = create_engine(f"sqlite:///{tmp_path / name}")
    metadata.create_all(engine)
    return engine


def load(engine: Engine, seed: int = 1, size: WorldSize = SMALL) -> dict[str, int]:
    with engine.begin() as conn:
        return load_world(conn, seed, NOW, size)


def all_rows(conn: Connection, table: Table) -> list[tuple[object, ...]]:
    return [tuple(r) for r in conn.execute(select(table).order_by(*table.primary_key.columns))]


@pytest.fixture
def world(tmp_path: Path) -> Engine:
    engine = new_engine(tmp_path)
    load(engine)
    return engine


def test_same_seed_gives_identical_rows_and_another_seed_does_not(tmp_path: Path) -> None:
    first, second, other = (new_engine(tmp_path, f"{n}.db") for n in ("a", "b", "c"))
    load(first, seed=42)
    load(second, seed=42)
    load(other, seed=43)
    tables = [users, pins, pin_topics, boards, board_pins, engagement_events]
    with first.connect() as a, second.connect() as b, other.connect() as c:
        for table in tables:
            assert all_rows(a, table) == all_rows(b, table), table.name
        assert all_rows(a, pins) != all_rows(c, pins)


def test_save_count_is_the_number_of_saves_and_saves_are_by_the_board_owner(world: Engine) -> None:
    with world.connect() as conn:
        saves = Counter(conn.execute(select(board_pins.c.pin_id)).scalars())
        counts = dict(conn.execute(select(pins.c.id, pins.c.save_count)).all())
        owners = dict(conn.execute(select(boards.c.id, boards.c.owner_id)).all())
        savers = conn.execute(select(board_pins.c.board_id, board_pins.c.saved_by)).all()
    assert sum(saves.values()) > 0
    assert counts == {pid: saves.get(pid, 0) for pid in counts}
    assert all(owners[board] == saver for board, saver in savers)


def test_popularity_has_a_long_tail(tmp_path: Path) -> None:
    engine = new_engine(tmp_path)
    load(engine, size=WorldSize(pins=2000, users=400))
    with engine.connect() as conn:
        counts = sorted(conn.execute(select(pins.c.save_count)).scalars(), reverse=True)
    assert counts[0] >= 10 * max(1, counts[len(counts) // 2])
    assert counts[-1] == 0


def test_every_timestamp_is_within_the_last_sixty_days_and_saves_follow_what_they_save(world: Engine) -> None:
    oldest = NOW - timedelta(days=60)
    with world.connect() as conn:
        for column in (
            users.c.created_at,
            pins.c.created_at,
            board_pins.c.saved_at,
            engagement_events.c.occurred_at,
        ):
            low, high = conn.execute(select(func.min(column), func.max(column))).one()
            assert oldest <= low <= high <= NOW, column
        joined = (
            select(board_pins.c.saved_at, pins.c.created_at, boards.c.created_at)
            .join(pins, pins.c.id == board_pins.c.pin_id)
            .join(boards, boards.c.id == board_pins.c.board_id)
        )
        for saved_at, pin_created, board_created in conn.execute(joined):
            assert saved_at >= pin_created and saved_at >= board_created


def test_pins_look_like_real_pins(world: Engine) -> None:
    with world.connect() as conn:
        rows = conn.execute(select(pins)).mappings().all()
        topic_count = conn.execute(select(func.count()).select_from(topics)).scalar_one()
        created = conn.execute(select(func.count()).where(pins.c.creator_id.is_not(None))).scalar_one()
    all_domains = {d for domains in TOPIC_DOMAINS.values() for d in domains}
    assert topic_count >= 12
    assert 0 < created < len(rows) / 3
    for row in rows:
        assert row["link_url"].startswith(f"https://{row['domain']}/")
        assert row["link_url"].endswith(f"-{row['id']}")
        assert row["domain"] in all_domains
        assert row["image_url"].startswith("/static/demo-img/") and row["image_url"].endswith(".svg")
        assert not row["title"][0].islower() and "{" not in row["title"] + row["description"]


def test_the_domains_other_code_relies_on_exist() -> None:
    assert "trailpeak-gear.com" in TOPIC_DOMAINS["outdoors"]
    assert "simmerandsage.com" in TOPIC_DOMAINS["cooking"]
    assert all(6 <= len(domains) <= 10 for domains in TOPIC_DOMAINS.values())


def test_demo_users_can_sign_in_and_have_consent_defaults(world: Engine) -> None:
    with world.connect() as conn:
        assert authenticate(conn, "demo1@demo.tastegraph.test", DEMO_PASSWORD) == 1
        assert conn.execute(select(func.count()).where(users.c.is_demo.is_(False))).scalar_one() == 0
        settings = conn.execute(select(user_settings.c.personalization)).scalars().all()
    assert len(settings) == SMALL.users and all(settings)


def test_counts_match_the_rows_and_scale_with_the_size(tmp_path: Path) -> None:
    small, large = new_engine(tmp_path, "s.db"), new_engine(tmp_path, "l.db")
    small_counts = load(small, size=WorldSize(pins=200, users=40))
    large_counts = load(large, size=WorldSize(pins=800, users=160))
    assert (small_counts["pins"], small_counts["users"]) == (200, 40)
    assert (large_counts["pins"], large_counts["users"]) == (800, 160)
    for name in ("boards", "board_pins", "user_follows", "engagement_events"):
        assert large_counts[name] > 2 * small_counts[name], name
    with large.connect() as conn:
        for name, table in (("board_pins", board_pins), ("pin_topics", pin_topics), ("boards", boards)):
            assert conn.execute(select(func.count()).select_from(table)).scalar_one() == large_counts[name]
    assert 8 <= large_counts["board_pins"] / 160 <= 30  # roughly 10-20 saves a person


def test_a_small_world_loads_fast_and_reports_progress(tmp_path: Path) -> None:
    engine = new_engine(tmp_path)
    seen: list[tuple[str, int, int]] = []
    started = time.perf_counter()
    with engine.begin() as conn:
        load_world(conn, 5, NOW, WorldSize(pins=2000, users=300), lambda *step: seen.append(step))
    assert time.perf_counter() - started < 5
    assert ("pins", 2000, 2000) in seen and ("users", 300, 300) in seen


def test_loading_into_a_catalogue_with_pins_is_a_conflict(world: Engine) -> None:
    with world.begin() as conn, pytest.raises(Conflict):
        load_world(conn, 2, NOW, SMALL)


def test_people_who_signed_up_before_the_demo_keep_their_ids(tmp_path: Path) -> None:
    engine = new_engine(tmp_path)
    with engine.begin() as conn:
        mine = create_user(conn, "me@example.com", "a real password", NOW, "Me")
        load_world(conn, 1, NOW, SMALL)
        demo_ids = conn.execute(select(users.c.id).where(users.c.is_demo.is_(True))).scalars().all()
        assert authenticate(conn, "demo1@demo.tastegraph.test", DEMO_PASSWORD) == mine + 1
    assert min(demo_ids) == mine + 1 and len(demo_ids) == SMALL.users


def test_a_naive_now_is_refused(tmp_path: Path) -> None:
    with new_engine(tmp_path).begin() as conn, pytest.raises(InvalidInput):
        load_world(conn, 1, NOW.replace(tzinfo=None), SMALL)


def fake_ikea(tmp_path: Path) -> Path:
    folder = tmp_path / "ikea"
    (folder / "images" / "dining table").mkdir(parents=True)
    (folder / "images" / "dining table" / "001.jpg").write_bytes(b"jpeg")
    (folder / "images" / "002.jpg").write_bytes(b"jpeg")
    product = {"type": "Table", "color": "White", "size": "120 cm", "description": "Seats four."}
    products = [
        {**product, "product_id": "001.001.01", "name": "MELLTORP", "image": "images/dining table/001.jpg"},
        {**product, "product_id": "002.002.02", "name": "LACK", "image": "images/002.jpg", "description": ""},
        {**product, "product_id": "003.003.03", "name": "GONE", "image": "images/missing.jpg"},
        {**product, "product_id": "001.001.01", "name": "MELLTORP", "image": "images/dining table/001.jpg"},
    ]
    (folder / "products.json").write_text(json.dumps(products))
    return folder


def test_load_ikea_adds_products_once_as_home_decor_pins(tmp_path: Path) -> None:
    engine, folder = new_engine(tmp_path), fake_ikea(tmp_path)
    with engine.begin() as conn:
        assert load_ikea(conn, folder, NOW) == 2
        assert load_ikea(conn, folder, NOW) == 0
        rows = conn.execute(select(pins).order_by(pins.c.link_url)).mappings().all()
        slugs = (
            conn.execute(select(topics.c.slug).join(pin_topics, pin_topics.c.topic_id == topics.c.id))
            .scalars()
            .all()
        )
    assert [r["title"] for r in rows] == ["MELLTORP Table", "LACK Table"]
    first = rows[0]
    assert first["link_url"] == "https://www.ikea.com/p/001.001.01" and first["domain"] == "ikea.com"
    assert first["image_url"] == "/ikea-images/images/dining%20table/001.jpg"
    assert first["description"] == "Table, white, 120 cm. Seats four."
    assert rows[1]["description"] == "Table, white, 120 cm."
    assert slugs == ["home-decor", "home-decor"]


def test_load_ikea_after_the_world_reuses_the_home_decor_topic(world: Engine, tmp_path: Path) -> None:
    with world.begin() as conn:
        before = conn.execute(select(func.count()).select_from(topics)).scalar_one()
        assert load_ikea(conn, fake_ikea(tmp_path), NOW) == 2
        assert conn.execute(select(func.count()).select_from(topics)).scalar_one() == before


def test_load_ikea_without_products_loads_nothing(tmp_path: Path) -> None:
    with new_engine(tmp_path).begin() as conn:
        assert load_ikea(conn, tmp_path / "nowhere", NOW) == 0


@pytest.mark.skipif(not (REAL_IKEA / "products.json").is_file(), reason="shared IKEA data not present")
def test_load_ikea_loads_the_real_catalogue(tmp_path: Path) -> None:
    expected = len(json.loads((REAL_IKEA / "products.json").read_text()))
    with new_engine(tmp_path).begin() as conn:
        assert load_ikea(conn, REAL_IKEA, NOW) == expected
        assert load_ikea(conn, REAL_IKEA, NOW) == 0
