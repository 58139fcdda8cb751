"""A Gowalla-sized catalogue in the service's own tables, from a LightGCN-format file.

Each line `user item item ...` of train.txt becomes a person (`demo{user+1}@demo.tastegraph.test`, the
demo password, personalization on) and their saves; each item becomes a Pin (id = item + 1). Gowalla has
no topics, domains, boards, follows or clicks, so the loader makes them up, seeded, just enough that every
home-feed source has work to do:

* topics: items are numbered in order of first appearance, so nearby ids were checked in by the same
  people; each block of 64 ids gets a topic (one in five items another one, and one in five a second
  topic), which keeps a person's saves topical;
* domains: each Pin links to one of its topic's demo sites (so off-site visits to those sites find Pins);
* boards: a person's items, in file order, are cut into 1-6 boards of about 20 Pins;
* follows: 1-5 people and 0-4 boards per person, skewed to popular ones;
* engagement: 2-8 close-ups or clicks per person in the last 14 days, mostly on their own saves;
* a few hundred Pins are recent with at most 3 saves, so the cold-start source finds new Pins.

Rows go in through each domain's bulk loaders: big executemany batches (SQLite) or COPY (PostgreSQL),
with a progress bar.

    .venv/bin/python bench/gowalla_catalogue.py --url sqlite:///gowalla.db [--train FILE] [--users N]
"""

from __future__ import annotations

import argparse
import bisect
import functools
import itertools
import os
import random
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import Connection

from bench.common import REPO


def _gowalla_train() -> Path:
    """../shared/data/gowalla/train.txt next to the repository (or the working directory, when the code
    runs from an exported snapshot); TASTEGRAPH_GOWALLA_TRAIN overrides."""
    if os.environ.get("TASTEGRAPH_GOWALLA_TRAIN"):
        return Path(os.environ["TASTEGRAPH_GOWALLA_TRAIN"])
    places = [base.parent / "shared" / "data" / "gowalla" / "train.txt" for base in (REPO, Path.cwd())]
    return next((p for p in places if p.is_file()), places[0])


GOWALLA_TRAIN = _gowalla_train()
EMAIL_DOMAIN = "demo.tastegraph.test"  # the demo world's, so bench.common.sign_in_users works
CHUNK = 20_000
DAY = 86_400
WINDOW = 60 * DAY
RECENT = 14 * DAY
TOPIC_BLOCK = 64

Progress = Callable[[str, int, int], None]


def read_lightgcn(path: Path, max_users: int | None = None) -> list[tuple[int, list[int]]]:
    """(user, items) per non-empty line, the first `max_users` users only if given."""
    rows: list[tuple[int, list[int]]] = []
    with path.open() as f:
        for line in f:
            parts = line.split()
            if len(parts) < 2:
                continue
            rows.append((int(parts[0]), [int(p) for p in parts[1:]]))
            if max_users is not None and len(rows) >= max_users:
                break
    return rows


class _Zipf:
    def __init__(self, items: Sequence[int], exponent: float = 1.0, offset: float = 5.0) -> None:
        self.items = list(items)
        self.cum = list(itertools.accumulate((r + offset) ** -exponent for r in range(len(self.items))))

    def draw(self, rng: random.Random) -> int:
        return self.items[bisect.bisect(self.cum, rng.random() * self.cum[-1])]


def build_rows(
    lines: list[tuple[int, list[int]]], topic_ids: dict[str, int], now: datetime, seed: int = 7
) -> dict[str, list[dict[str, Any]]]:
    """Every row of the catalogue, in foreign-key order (dict order)."""
    from tastegraph.demo import TOPIC_DOMAINS, TOPICS, demo_password_hash

    rng = random.Random(seed)
    slugs = [s for s, _ in TOPICS]
    names = dict(TOPICS)
    topic_w = list(itertools.accumulate((r + 1) ** -0.5 for r in range(len(slugs))))
    items = sorted({i for _, its in lines for i in its})
    pw = demo_password_hash()

    def at(age: int) -> datetime:
        return now - timedelta(seconds=age)

    rows: dict[str, list[dict[str, Any]]] = {
        k: []
        for k in (
            "users",
            "user_settings",
            "pins",
            "pin_topics",
            "boards",
            "board_pins",
            "board_follows",
            "user_follows",
            "engagement_events",
        )
    }
    user_age: dict[int, int] = {}
    for u, _ in lines:
        uid = u + 1
        age = rng.randrange(40 * DAY, WINDOW)
        user_age[uid] = age
        rows["users"].append(
            {
                "id": uid,
                "email": f"demo{uid}@{EMAIL_DOMAIN}",
                "password_hash": pw,
                "display_name": f"Gowalla user {u}",
                "is_demo": True,
                "created_at": at(age),
            }
        )
        rows["user_settings"].append({"user_id": uid, "personalization": True, "updated_at": at(age)})

    block_topic = {b: rng.choices(slugs, cum_weights=topic_w)[0] for b in {i // TOPIC_BLOCK for i in items}}
    pin_topic: dict[int, str] = {}
    pin_age: dict[int, int] = {}
    n_saves = Counter(i for _, its in lines for i in its)
    for i in items:
        pid = i + 1
        slug = block_topic[i // TOPIC_BLOCK]
        if rng.random() < 0.2:
            slug = rng.choices(slugs, cum_weights=topic_w)[0]
        pin_topic[pid] = slug
        domains = TOPIC_DOMAINS[slug]
        domain = rng.choices(
            domains, cum_weights=list(itertools.accumulate((r + 1) ** -0.7 for r in range(len(domains))))
        )[0]
        # A few rarely-saved Pins are new: the cold-start source's material.
        age = (
            rng.randrange(DAY, 10 * DAY)
            if n_saves[i] <= 3 and rng.random() < 0.1
            else rng.randrange(WINDOW, 2 * WINDOW)
        )
        pin_age[pid] = age
        rows["pins"].append(
            {
                "id": pid,
                "title": f"{names[slug]}: place {i}",
                "description": f"Checked in by {n_saves[i]} people.",
                "image_url": f"/static/demo-img/{slug}/{i % 24}.svg",
                "link_url": f"https://{domain}/place/{i}",
                "domain": domain,
                "creator_id": None,
                "save_count": n_saves[i],
                "created_at": at(age),
            }
        )
        tags = [slug]
        if rng.random() < 0.2:
            other = rng.choice(slugs)
            if other != slug:
                tags.append(other)
        rows["pin_topics"].extend({"pin_id": pid, "topic_id": topic_ids[t]} for t in tags)

    bid = 0
    boards_of: dict[int, list[int]] = {}
    board_popularity: Counter[int] = Counter()
    saved_by_user: dict[int, list[int]] = {}
    for u, its in lines:
        uid = u + 1
        nb = max(1, min(6, round(len(its) / 20)))
        size = -(-len(its) // nb)
        for k in range(nb):
            chunk = its[k * size : (k + 1) * size]
            if not chunk:
                continue
            bid += 1
            slug = Counter(pin_topic[i + 1] for i in chunk).most_common(1)[0][0]
            b_age = rng.randrange(max(1, user_age[uid] - 10 * DAY), user_age[uid] + 1)
            rows["boards"].append(
                {
                    "id": bid,
                    "owner_id": uid,
                    "name": f"{names[slug]} spots {k + 1}",
                    "description": "",
                    "created_at": at(b_age),
                }
            )
            boards_of.setdefault(uid, []).append(bid)
            board_popularity[bid] = len(chunk)
            for i in chunk:
                pid = i + 1
                age = rng.randrange(min(b_age, pin_age[pid]) + 1)
                rows["board_pins"].append(
                    {"board_id": bid, "pin_id": pid, "saved_by": uid, "saved_at": at(age)}
                )
            saved_by_user.setdefault(uid, []).extend(i + 1 for i in chunk)

    uids = list(user_age)
    popular_people = _Zipf(sorted(uids, key=lambda x: -len(saved_by_user.get(x, []))), 1.1)
    popular_boards = _Zipf([b for b, _ in board_popularity.most_common()], 1.0)
    pins_by_saves = _Zipf([i + 1 for i, _ in n_saves.most_common()], 1.0)
    owner = {b: uid for uid, bs in boards_of.items() for b in bs}
    n = 0
    for uid in uids:
        follows = {popular_people.draw(rng) for _ in range(rng.randint(1, 5))} - {uid}
        for target in sorted(follows):
            age = rng.randrange(min(user_age[uid], user_age[target]) + 1)
            rows["user_follows"].append({"follower_id": uid, "followee_id": target, "created_at": at(age)})
        followed = {popular_boards.draw(rng) for _ in range(rng.randint(0, 4))}
        for b in sorted(followed):
            if owner[b] != uid:
                rows["board_follows"].append(
                    {"user_id": uid, "board_id": b, "created_at": at(rng.randrange(DAY, 30 * DAY))}
                )
        saved = saved_by_user.get(uid, [])
        for _ in range(rng.randint(2, 8)):
            pid = rng.choice(saved) if saved and rng.random() < 0.65 else pins_by_saves.draw(rng)
            n += 1
            age = rng.randrange(min(RECENT, user_age[uid], pin_age[pid]) + 1)
            rows["engagement_events"].append(
                {
                    "event_id": f"gowalla-{seed}-{n}",
                    "user_id": uid,
                    "kind": "closeup" if rng.random() < 0.6 else "click",
                    "pin_id": pid,
                    "board_id": None,
                    "query": None,
                    "occurred_at": at(age),
                    "received_at": at(age),
                }
            )
    return rows


def _loaders() -> dict[str, Callable[..., int]]:
    """Who stores each table of `build_rows`."""
    from tastegraph import catalog, collect, consent

    return {
        "users": catalog.bulk.add_users,
        "user_settings": consent.bulk.add_settings,
        "pins": catalog.bulk.add_pins,
        "pin_topics": catalog.bulk.tag_pins,
        "boards": catalog.bulk.add_boards,
        "board_pins": catalog.bulk.add_saves,
        "board_follows": catalog.bulk.add_board_follows,
        "user_follows": catalog.bulk.add_user_follows,
        "engagement_events": collect.bulk.add_engagement_events,
    }


def insert_rows(conn: Connection, rows: dict[str, list[dict[str, Any]]], report: Progress) -> None:
    """Every table through its domain's bulk loader (COPY on PostgreSQL); ids carried by the rows move
    PostgreSQL's sequences past them."""
    loaders = _loaders()
    for name, table_rows in rows.items():
        loaders[name](conn, table_rows, chunk=CHUNK, copy=True, progress=functools.partial(report, name))
    from tastegraph import catalog

    catalog.search.optimize_indexes(conn)  # the triggers filled the search indexes row by row


def load_catalogue(
    url: str,
    train: Path = GOWALLA_TRAIN,
    max_users: int | None = None,
    now: datetime | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Migrate an empty database to head, load the catalogue, and leave planner statistics fresh."""
    from tastegraph.catalog.bulk import ensure_topics
    from tastegraph.db import make_engine, upgrade
    from tastegraph.demo import TOPICS

    report = progress or (lambda stage, done, total: None)
    started = time.perf_counter()
    now = now or datetime.now(UTC)
    lines = read_lightgcn(train, max_users)
    engine = make_engine(url)
    try:
        upgrade(engine)
        with engine.begin() as conn:
            topic_ids, _ = ensure_topics(conn, TOPICS)
            report("generate", 0, 1)
            rows = build_rows(lines, topic_ids, now)
            report("generate", 1, 1)
            insert_rows(conn, rows, report)
        if engine.dialect.name == "postgresql":
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("VACUUM ANALYZE")
        else:
            with engine.begin() as conn:
                conn.exec_driver_sql("ANALYZE")
    finally:
        engine.dispose()
    return {"rows": {k: len(v) for k, v in rows.items()}, "seconds": round(time.perf_counter() - started, 1)}


def rich_progress() -> tuple[Any, Progress]:
    """A rich progress display (on stderr) and the callback that drives it."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
    from rich.progress import Progress as Bar

    bar = Bar(
        TextColumn("{task.description:<18}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
    )
    tasks: dict[str, Any] = {}

    def report(stage: str, done: int, total: int) -> None:
        if stage not in tasks:
            tasks[stage] = bar.add_task(stage, total=total)
        bar.update(tasks[stage], completed=done, total=total)

    return bar, report


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--url", required=True, help="database URL (an empty database)")
    p.add_argument("--train", type=Path, default=GOWALLA_TRAIN)
    p.add_argument("--users", type=int, default=None, help="only the first N users")
    a = p.parse_args(argv)
    bar, report = rich_progress()
    with bar:
        result = load_catalogue(a.url, a.train, a.users, progress=report)
    print(result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
