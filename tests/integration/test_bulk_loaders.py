"""The domains' bulk loaders: every row given is stored, or the call raises; nothing is dropped silently.

Each loader runs on an empty database (SQLite, and PostgreSQL when configured, where `copy=True` takes
the COPY path), with and without COPY.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
from sqlalchemy import Connection, Engine, Table, func, select
from sqlalchemy.exc import IntegrityError, StatementError

from tastegraph import catalog, collect, consent, identity
from tastegraph.catalog.accounts import create_user
from tastegraph.catalog.content import create_board, create_pin
from tastegraph.catalog.tables import board_follows, board_pins, boards, pin_topics, pins, user_follows, users
from tastegraph.collect.tables import engagement_events
from tastegraph.consent.tables import user_settings
from tastegraph.db import make_engine
from tastegraph.identity.tables import person_identifiers
from tastegraph.kernel import InvalidInput
from tastegraph.kernel.bulk import insert_rows
from tests.conftest import START, _truncate_pg

Rows = list[dict[str, Any]]
IDS = (1, 2, 3)


def people() -> Rows:
    return [
        {
            "id": i,
            "email": f"p{i}@example.com",
            "password_hash": "-",
            "display_name": f"Person {i}",
            "is_demo": True,
            "created_at": START,
        }
        for i in IDS
    ]


def some_pins() -> Rows:
    return [
        {
            "id": i,
            "title": f"Pin {i}",
            "description": "",
            "image_url": "/static/x.svg",
            "link_url": f"https://shop.example/{i}",
            "domain": "shop.example",
            "creator_id": None,
            "save_count": 1,
            "created_at": START,
        }
        for i in IDS
    ]


def some_boards() -> Rows:
    return [
        {"id": i, "owner_id": i, "name": f"Board {i}", "description": "", "created_at": START} for i in IDS
    ]


def tags(conn: Connection) -> Rows:
    ids, _ = catalog.bulk.ensure_topics(conn, [("cooking", "Cooking")])
    return [{"pin_id": i, "topic_id": ids["cooking"]} for i in IDS]


# name: (loader, its table, what must be stored first, its rows)
Case = tuple[Callable[..., int], Table, tuple[str, ...], Callable[[Connection], Rows]]
CASES: dict[str, Case] = {
    "users": (catalog.bulk.add_users, users, (), lambda _: people()),
    "pins": (catalog.bulk.add_pins, pins, (), lambda _: some_pins()),
    "boards": (catalog.bulk.add_boards, boards, ("users",), lambda _: some_boards()),
    "pin_topics": (catalog.bulk.tag_pins, pin_topics, ("pins",), tags),
    "saves": (
        catalog.bulk.add_saves,
        board_pins,
        ("users", "pins", "boards"),
        lambda _: [{"board_id": i, "pin_id": i, "saved_by": i, "saved_at": START} for i in IDS],
    ),
    "board_follows": (
        catalog.bulk.add_board_follows,
        board_follows,
        ("users", "boards"),
        lambda _: [{"user_id": i, "board_id": i % 3 + 1, "created_at": START} for i in IDS],
    ),
    "user_follows": (
        catalog.bulk.add_user_follows,
        user_follows,
        ("users",),
        lambda _: [{"follower_id": i, "followee_id": i % 3 + 1, "created_at": START} for i in IDS],
    ),
    "settings": (
        consent.bulk.add_settings,
        user_settings,
        ("users",),
        lambda _: [{"user_id": i, "personalization": True, "updated_at": START} for i in IDS],
    ),
    "identifiers": (
        identity.bulk.add_identifiers,
        person_identifiers,
        ("users",),
        lambda _: [{"user_id": i, "kind": "email", "hash": f"{i:064x}", "added_at": START} for i in IDS],
    ),
    "engagement": (
        collect.bulk.add_engagement_events,
        engagement_events,
        ("users", "pins"),
        lambda _: [
            {
                "event_id": f"e-{i}",
                "user_id": i,
                "kind": "click",
                "pin_id": i,
                "occurred_at": START,
                "received_at": START,
            }
            for i in IDS
        ],
    ),
}
PREREQUISITES = {"users": people, "pins": some_pins, "boards": some_boards}
DUPLICATE = (IntegrityError, psycopg.errors.IntegrityError)  # COPY's errors come from the driver


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    if engine.dialect.name == "postgresql":
        _truncate_pg(engine)  # the run shares one PostgreSQL database: leave it as empty as it was found
    engine.dispose()


def prepared(conn: Connection, name: str) -> tuple[Callable[..., int], Table, Rows]:
    loader, table, needs, rows = CASES[name]
    for need in needs:
        CASES[need][0](conn, PREREQUISITES[need]())
    return loader, table, rows(conn)


def stored(engine: Engine, table: Table) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


@pytest.mark.parametrize("copy", [False, True], ids=["executemany", "copy"])
@pytest.mark.parametrize("name", list(CASES))
def test_every_row_is_stored_and_progress_is_reported(engine: Engine, name: str, copy: bool) -> None:
    seen: list[tuple[int, int]] = []
    with engine.begin() as conn:
        loader, table, rows = prepared(conn, name)
        assert loader(conn, rows, chunk=2, copy=copy, progress=lambda *p: seen.append(p)) == len(rows)
    assert stored(engine, table) == len(rows)
    assert seen == [(0, 3), (2, 3), (3, 3)]


@pytest.mark.parametrize("name", list(CASES))
def test_no_rows_store_nothing(engine: Engine, name: str) -> None:
    seen: list[tuple[int, int]] = []
    with engine.begin() as conn:
        loader, table, _ = prepared(conn, name)
        assert loader(conn, [], progress=lambda *p: seen.append(p)) == 0
    assert stored(engine, table) == 0 and seen == [(0, 0)]


@pytest.mark.parametrize("copy", [False, True], ids=["executemany", "copy"])
@pytest.mark.parametrize("name", list(CASES))
def test_an_unknown_column_is_refused_not_dropped(engine: Engine, name: str, copy: bool) -> None:
    with engine.begin() as conn:
        loader, table, rows = prepared(conn, name)
        rows[0]["colour"] = "blue"
        with pytest.raises(InvalidInput, match="colour"):
            loader(conn, rows, copy=copy)
        assert int(conn.execute(select(func.count()).select_from(table)).scalar_one()) == 0


@pytest.mark.parametrize("copy", [False, True], ids=["executemany", "copy"])
@pytest.mark.parametrize("name", list(CASES))
def test_a_repeated_row_raises_rather_than_being_skipped(engine: Engine, name: str, copy: bool) -> None:
    with pytest.raises(DUPLICATE), engine.begin() as conn:
        loader, _, rows = prepared(conn, name)
        loader(conn, [*rows, rows[0]], copy=copy)


@pytest.mark.parametrize("copy", [False, True], ids=["executemany", "copy"])
@pytest.mark.parametrize("name", list(CASES))
def test_a_row_missing_a_column_raises(engine: Engine, name: str, copy: bool) -> None:
    with pytest.raises((StatementError, InvalidInput)), engine.begin() as conn:
        loader, _, rows = prepared(conn, name)
        del rows[-1][next(iter(rows[-1]))]
        loader(conn, rows, copy=copy)


@pytest.mark.parametrize("copy", [False, True], ids=["executemany", "copy"])
def test_explicit_ids_leave_the_next_id_free(engine: Engine, copy: bool) -> None:
    with engine.begin() as conn:
        catalog.bulk.add_users(conn, people(), copy=copy)
        catalog.bulk.add_pins(conn, some_pins(), copy=copy)
        catalog.bulk.add_boards(conn, some_boards(), copy=copy)
        assert create_user(conn, "new@example.com", "a long password", START, "New") == 4
        link = "https://shop.example/new"
        assert create_pin(conn, title="New", link_url=link, image_url="/x.svg", now=START) == 4
        assert create_board(conn, 4, "Mine", START) == 4


def test_a_chunk_below_one_is_refused(engine: Engine) -> None:
    with engine.begin() as conn, pytest.raises(InvalidInput):
        insert_rows(conn, users, people(), chunk=0)


def test_the_catalogue_reads_loaders_need(engine: Engine) -> None:
    with engine.begin() as conn:
        assert not catalog.bulk.has_pins(conn) and catalog.bulk.pin_count(conn) == 0
        assert catalog.bulk.max_ids(conn) == {"users": 0, "pins": 0, "boards": 0}
        assert not catalog.bulk.demo_users_exist(conn, "demo.example")
        first, created = catalog.bulk.ensure_topics(conn, [("cooking", "Cooking"), ("travel", "Travel")])
        again, none = catalog.bulk.ensure_topics(conn, [("travel", "Travel"), ("cars", "Cars")])
        assert (created, none) == (2, 1) and again["travel"] == first["travel"]
        catalog.bulk.add_users(conn, people())
        catalog.bulk.add_pins(conn, some_pins())
        assert catalog.bulk.has_pins(conn) and catalog.bulk.pin_count(conn) == 3
        assert catalog.bulk.max_ids(conn) == {"users": 3, "pins": 3, "boards": 0}
        assert catalog.bulk.demo_users_exist(conn, "demo.example")  # they are marked is_demo
        assert sorted(catalog.bulk.pins_of_domain(conn, "shop.example")) == [
            (i, f"https://shop.example/{i}") for i in IDS
        ]
        assert catalog.bulk.pins_of_domain(conn, "elsewhere.example") == []
