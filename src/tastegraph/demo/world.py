"""A deterministic demo world: topics, people, Pins, boards, saves, follows and engagement.

`demo.generate` builds every row in memory from one seed (same seed and `now`, identical rows); this
module checks the catalogue is empty and loads the rows through each domain's bulk loaders (big
executemany batches: row-at-a-time inserts would take minutes for a large world).
"""

from __future__ import annotations

import functools
import random
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import Connection

from tastegraph import catalog, collect, consent, identity
from tastegraph.demo.generate import DEMO_EMAIL_DOMAIN, WorldSize, generate
from tastegraph.demo.vocabulary import TOPICS
from tastegraph.kernel import Conflict, InvalidInput

Progress = Callable[[str, int, int], None]
Loader = Callable[..., int]

# Who stores each generated table (`generate.TABLES`), in insertion (foreign-key) order.
_LOADERS: dict[str, Loader] = {
    "users": catalog.bulk.add_users,
    "user_settings": consent.bulk.add_settings,
    "person_identifiers": identity.bulk.add_identifiers,
    "pins": catalog.bulk.add_pins,
    "pin_topics": catalog.bulk.tag_pins,
    "boards": catalog.bulk.add_boards,
    "board_pins": catalog.bulk.add_saves,
    "board_follows": catalog.bulk.add_board_follows,
    "user_follows": catalog.bulk.add_user_follows,
    "engagement_events": collect.bulk.add_engagement_events,
}


def load_world(
    conn: Connection,
    seed: int,
    now: datetime,
    size: WorldSize = WorldSize(),
    progress: Progress | None = None,
) -> dict[str, int]:
    """Fill an empty catalogue with a seeded world and return how many rows went into each table."""
    if now.tzinfo is None:
        raise InvalidInput("`now` must be a timezone-aware datetime", field="now")
    if size.pins < 1 or size.users < 1:
        raise InvalidInput("a demo world needs at least one Pin and one user", field="size")
    _require_empty(conn)
    report = progress or _no_progress
    report("topics", 0, len(TOPICS))
    topic_ids, new_topics = catalog.bulk.ensure_topics(conn, TOPICS)
    report("topics", len(TOPICS), len(TOPICS))
    report("generate", 0, 1)
    world = generate(random.Random(seed), seed, now, size, topic_ids, catalog.bulk.max_ids(conn))
    report("generate", 1, 1)
    counts = {"topics": new_topics}
    for name, rows in world.items():
        counts[name] = _LOADERS[name](conn, rows, progress=functools.partial(report, name))
    # The triggers filled the search indexes row by row: merge them (search by words, issue 14).
    catalog.search.optimize_indexes(conn)
    return counts


def _no_progress(stage: str, done: int, total: int) -> None:
    return None


def _require_empty(conn: Connection) -> None:
    if catalog.bulk.has_pins(conn):
        raise Conflict("the catalogue already has Pins; the demo world loads only into an empty catalogue")
    if catalog.bulk.demo_users_exist(conn, DEMO_EMAIL_DOMAIN):
        raise Conflict("demo users already exist; the demo world is already loaded")


def catalogue_size(conn: Connection) -> int:
    """How many Pins the catalogue has (the CLI loads the demo world only into an empty one)."""
    return catalog.bulk.pin_count(conn)
