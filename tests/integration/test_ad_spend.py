"""Promoted Pins' spend and frequency counters (ads.spend) on every store: SQLite, PostgreSQL (when
TASTEGRAPH_TEST_POSTGRES_URL is set) and Redis (when one answers): reservations, charges once, expiry
and release, and budgets and caps that hold exactly under several processes and threads at once."""

from __future__ import annotations

import multiprocessing
import random
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, insert, select, text

from tastegraph.ads.spend import (
    Budget,
    DatabaseSpend,
    FrequencyCap,
    RedisSpend,
    Reservation,
    SpendStore,
    Subject,
    day_key,
    lifetime_key,
)
from tastegraph.ads.tables import ad_frequency
from tastegraph.bootstrap import build
from tastegraph.catalog.tables import users
from tastegraph.db import make_engine, upgrade
from tastegraph.kernel import FrozenClock
from tests.conftest import BACKENDS, START, make_settings
from tests.helpers import REDIS_URL, counter_stores

STORES = [*BACKENDS, *(["redis"] if "redis" in counter_stores() else [])]
TODAY = date(2026, 6, 1)
HOUR = timedelta(hours=1)


@dataclass
class Backend:
    kind: str  # sqlite | postgresql | redis
    store: SpendStore
    engine: Engine  # the database (for Redis: a SQLite file holding the users, and the conn privacy passes)
    url: str  # the database's URL, or Redis's
    prefix: str  # Redis keys' prefix


def _redis_prefix() -> str:
    return f"tastegraph-test-{uuid.uuid4().hex}:ads:"


def _drop_redis_keys(prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(match=prefix + "*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture(params=STORES)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    kind = request.param
    if kind == "postgresql":
        url = request.getfixturevalue("pg_database")
        engine = make_engine(url)
        with engine.begin() as conn:
            conn.execute(text("TRUNCATE ad_spend_counters, ad_reservations, ad_frequency, users CASCADE"))
    else:
        url = f"sqlite:///{tmp_path / 'spend.db'}"
        engine = make_engine(url)
        upgrade(engine)
    if kind == "redis":
        prefix = _redis_prefix()
        yield Backend(kind, RedisSpend(REDIS_URL, prefix), engine, REDIS_URL, prefix)
        _drop_redis_keys(prefix)
    else:
        yield Backend(kind, DatabaseSpend(engine), engine, url, "")
    engine.dispose()


def _person(engine: Engine, email: str = "ann@example.com") -> int:
    with engine.begin() as conn:
        result = conn.execute(
            insert(users).values(email=email, password_hash="x", display_name="Ann", created_at=START)
        )
        key = result.inserted_primary_key
        assert key is not None
        return int(key[0])


def _reserve(
    store: SpendStore,
    rid: str,
    amount: int,
    budgets: list[Budget],
    caps: list[FrequencyCap] | None = None,
    now: datetime = START,
) -> str:
    return store.reserve(rid, amount, budgets, caps or [], now=now, expires_at=now + HOUR)


# --- semantics ---------------------------------------------------------------------------------------


def test_a_reservation_holds_its_price_and_is_charged_once(backend: Backend) -> None:
    s = backend.store
    day, life = day_key("ag", 1, TODAY), lifetime_key("ag", 1)
    assert day == "ag:1:d:2026-06-01" and life == "ag:1:life"
    budgets = [Budget(day, 1_000), Budget(life, 5_000)]
    assert _reserve(s, "t1", 400, budgets) == "reserved"
    assert s.spent([day, life, "nothing"]) == {day: (0, 400), life: (0, 400), "nothing": (0, 0)}
    assert s.charge("t1", 250, START + timedelta(minutes=5)) == "charged"  # the rest of the hold is freed
    assert s.spent([day, life]) == {day: (250, 0), life: (250, 0)}
    assert s.charge("t1", 250, START + timedelta(minutes=6)) == "duplicate"
    assert s.spent([day]) == {day: (250, 0)}
    assert s.release("t1", START) is False  # charged: nothing to free
    with pytest.raises(ValueError, match="reservation_id"):
        _reserve(s, "t1", 10, budgets)  # a token's reservation is made once


def test_budgets_are_all_or_nothing_and_exact(backend: Backend) -> None:
    s = backend.store
    group, campaign = Budget("ag:1:d:2026-06-01", 1_000), Budget("c:1:d:2026-06-01", 600)
    assert _reserve(s, "a", 600, [group, campaign]) == "reserved"  # exactly the campaign's limit
    assert _reserve(s, "b", 1, [group, campaign]) == "budget"
    assert s.spent([group.key, campaign.key]) == {group.key: (0, 600), campaign.key: (0, 600)}
    assert _reserve(s, "c", 400, [group]) == "reserved"  # the group alone has 400 left
    assert _reserve(s, "d", 1, [group]) == "budget"
    assert s.release("a", START) is True
    assert s.release("a", START) is False
    assert s.spent([group.key, campaign.key]) == {group.key: (0, 400), campaign.key: (0, 0)}
    assert _reserve(s, "b", 600, [group, campaign]) == "reserved"  # a refused id was never used
    # A lowered limit (below what is held) refuses everything, and changes nothing already held.
    assert _reserve(s, "e", 1, [Budget(group.key, 500)]) == "budget"
    assert s.spent([group.key]) == {group.key: (0, 1_000)}


def test_a_charge_after_expiry_charges_nothing_and_frees_the_hold(backend: Backend) -> None:
    s = backend.store
    key = "ag:7:life"
    assert _reserve(s, "late", 300, [Budget(key, 1_000)]) == "reserved"
    assert s.charge("late", 300, START + HOUR) == "charged"  # at the expiry itself: still valid
    assert _reserve(s, "later", 300, [Budget(key, 1_000)]) == "reserved"
    assert s.charge("later", 300, START + HOUR + timedelta(seconds=1)) == "expired"
    assert s.charge("later", 300, START + HOUR + timedelta(seconds=2)) == "expired"
    assert s.charge("never-made", 1, START) == "expired"
    assert s.spent([key]) == {key: (300, 0)}


def test_release_expired_frees_held_reservations_and_forgets_charged_ones(backend: Backend) -> None:
    s = backend.store
    key = "ag:2:life"
    for i in range(5):
        assert (
            _reserve(s, f"r{i}", 100, [Budget(key, 10_000)], now=START + timedelta(minutes=i)) == "reserved"
        )
    assert s.charge("r0", 60, START + timedelta(minutes=1)) == "charged"
    assert s.release("r1", START) is True
    assert s.release_expired(START + timedelta(minutes=30)) == 0  # none expired yet
    # r2 expires at 13:02, r3 at 13:03, r4 at 13:04: at 13:03:30 r2 and r3 have.
    assert s.release_expired(START + HOUR + timedelta(minutes=3, seconds=30)) == 2
    assert s.spent([key]) == {key: (60, 100)}
    assert s.charge("r4", 100, START + HOUR + timedelta(minutes=3, seconds=40)) == "charged"
    assert s.release_expired(START + 2 * HOUR) == 0  # only charged ones left: forgotten, none freed
    assert s.charge("r0", 60, START + 2 * HOUR) == "expired"  # forgotten: the token expired long ago
    assert s.spent([key]) == {key: (160, 0)}


def test_release_expired_works_in_batches(backend: Backend) -> None:
    s = backend.store
    key = "ag:3:life"
    for i in range(7):
        assert _reserve(s, f"b{i}", 10, [Budget(key, 1_000)]) == "reserved"
    assert s.release_expired(START + 2 * HOUR, batch=3) == 7
    assert s.spent([key]) == {key: (0, 0)}


def test_a_price_over_the_reserved_amount_is_refused_and_changes_nothing(backend: Backend) -> None:
    s = backend.store
    key = "ag:4:life"
    assert _reserve(s, "p", 100, [Budget(key, 1_000)]) == "reserved"
    with pytest.raises(ValueError, match="price_micro"):
        s.charge("p", 101, START)
    assert s.spent([key]) == {key: (0, 100)}
    assert s.charge("p", 100, START) == "charged"


@pytest.mark.parametrize(
    ("amount", "budgets", "caps", "field"),
    [
        (0, [Budget("k", 10)], [], "amount_micro"),
        (-5, [Budget("k", 10)], [], "amount_micro"),
        (2**53, [Budget("k", 2**60)], [], "amount_micro"),
        (5, [], [], "budgets"),
        (5, [Budget("k k", 10)], [], "budgets"),
        (5, [Budget("k", 10), Budget("k", 20)], [], "budgets"),
        (5, [Budget("k", -1)], [], "budgets"),
        (5, [Budget("k", 10)], [FrequencyCap(Subject(), "ag:1", 1, 7, TODAY)], "subject"),
        (5, [Budget("k", 10)], [FrequencyCap(Subject(1, "b"), "ag:1", 1, 7, TODAY)], "subject"),
        (5, [Budget("k", 10)], [FrequencyCap(Subject(browser_id="a*b"), "ag:1", 1, 7, TODAY)], "subject"),
        (5, [Budget("k", 10)], [FrequencyCap(Subject(browser_id="b"), "ag:1", 1, 31, TODAY)], "days"),
        (5, [Budget("k", 10)], [FrequencyCap(Subject(browser_id="b"), "", 1, 7, TODAY)], "scope"),
    ],
)
def test_bad_arguments_are_refused_and_change_nothing(
    backend: Backend, amount: int, budgets: list[Budget], caps: list[FrequencyCap], field: str
) -> None:
    with pytest.raises(ValueError, match=field):
        _reserve(backend.store, "bad", amount, budgets, caps)
    assert backend.store.spent(["k"]) == {"k": (0, 0)}
    assert _reserve(backend.store, "bad", 5, [Budget("k", 10)]) == "reserved"  # the id was not used


def test_frequency_caps_count_serves_in_a_sliding_window_of_advertiser_days(backend: Backend) -> None:
    s = backend.store
    browser = Subject(browser_id="b0d1e5")
    budget = [Budget("ag:9:life", 10**9)]

    def cap(day: date, n: int = 2) -> FrequencyCap:
        return FrequencyCap(browser, "ag:9", n, 7, day)

    assert _reserve(s, "f1", 10, budget, [cap(TODAY)]) == "reserved"
    assert s.release("f1", START) is True  # released unseen: the serve still counts
    assert _reserve(s, "f2", 10, budget, [cap(TODAY + timedelta(days=3))]) == "reserved"
    assert _reserve(s, "f3", 10, budget, [cap(TODAY + timedelta(days=6))]) == "frequency"
    assert s.spent(["ag:9:life"]) == {"ag:9:life": (0, 10)}  # a capped serve holds no budget
    assert s.served([cap(TODAY + timedelta(days=6)), cap(TODAY + timedelta(days=7))]) == [2, 1]
    # Seven days on, the first serve has left the window; a higher cap lets one more through at once.
    assert _reserve(s, "f4", 10, budget, [cap(TODAY + timedelta(days=7))]) == "reserved"
    assert _reserve(s, "f5", 10, budget, [cap(TODAY + timedelta(days=7))]) == "frequency"
    assert _reserve(s, "f6", 10, budget, [cap(TODAY + timedelta(days=7), n=3)]) == "reserved"
    # A server whose clock is a day behind still counts the serves "tomorrow" already had.
    assert s.served([cap(TODAY + timedelta(days=6))]) == [4]
    # A refused budget counts no serve; another subject or scope has its own count.
    assert _reserve(s, "f7", 10, [Budget("empty", 0)], [cap(TODAY + timedelta(days=30), n=1)]) == "budget"
    assert s.served([cap(TODAY + timedelta(days=30))]) == [0]
    other = FrequencyCap(Subject(browser_id="other"), "ag:9", 1, 1, TODAY)
    assert _reserve(s, "f8", 10, budget, [other, FrequencyCap(browser, "ag:10", 1, 30, TODAY)]) == "reserved"


def test_a_persons_frequency_counts_are_exported_and_erased(backend: Backend) -> None:
    s = backend.store
    ann, bob = _person(backend.engine), _person(backend.engine, "bob@example.com")
    budget = [Budget("ag:1:life", 10**9)]
    for i, (who, scope) in enumerate(
        [(Subject(ann), "ag:1"), (Subject(ann), "ag:1"), (Subject(ann), "ag:2"), (Subject(bob), "ag:1")]
    ):
        assert _reserve(s, f"e{i}", 1, budget, [FrequencyCap(who, scope, 5, 30, TODAY)]) == "reserved"
    browser = FrequencyCap(Subject(browser_id=f"{ann}"), "ag:1", 5, 30, TODAY)  # a browser id like an id
    assert _reserve(s, "e9", 1, budget, [browser]) == "reserved"
    with backend.engine.begin() as conn:
        assert s.export_person(conn, ann) == [
            {"scope": "ag:1", "served_per_day": {"2026-06-01": 2}},
            {"scope": "ag:2", "served_per_day": {"2026-06-01": 1}},
        ]
        assert s.erase_person(conn, ann) == 2
        assert s.export_person(conn, ann) == []
    caps = [FrequencyCap(Subject(ann), sc, 5, 30, TODAY) for sc in ("ag:1", "ag:2")]
    assert s.served([*caps, FrequencyCap(Subject(bob), "ag:1", 5, 30, TODAY), browser]) == [0, 0, 1, 1]


def test_bootstrap_registers_the_frequency_counters_with_privacy(backend: Backend, tmp_path: Path) -> None:
    extra: dict[str, object] = {}
    if backend.kind == "redis":
        extra = {"redis_url": REDIS_URL, "redis_key_prefix": backend.prefix.removesuffix("ads:")}
    db_url = str(backend.engine.url.render_as_string(hide_password=False))
    system = build(make_settings(db_url, model_dir=tmp_path / "m", **extra), clock=FrozenClock(START))
    try:
        assert isinstance(system.ad_spend, RedisSpend if backend.kind == "redis" else DatabaseSpend)
        ann = _person(backend.engine)
        cap = FrequencyCap(Subject(ann), "ag:1", 3, 7, TODAY)
        assert _reserve(system.ad_spend, "boot", 1, [Budget("k", 5)], [cap]) == "reserved"
        assert backend.store.served([cap]) == [1]  # the same counters the test's store sees
        with system.write() as conn:
            assert system.privacy.export(conn, ann)["ad_frequency"] == [
                {"scope": "ag:1", "served_per_day": {"2026-06-01": 1}}
            ]
            assert system.privacy.erase(conn, ann)["ad_frequency"] == 1
        assert backend.store.served([cap]) == [0]
    finally:
        system.dispose()


def test_the_database_sweep_deletes_counts_no_window_reaches(backend: Backend) -> None:
    if backend.kind == "redis":
        pytest.skip("Redis expires them itself")
    s = backend.store
    budget = [Budget("k", 100)]
    old = FrequencyCap(Subject(browser_id="b1"), "ag:1", 1, 30, TODAY)
    assert _reserve(s, "old", 1, budget, [old]) == "reserved"
    new = FrequencyCap(Subject(browser_id="b2"), "ag:1", 1, 30, TODAY + timedelta(days=10))
    assert _reserve(s, "new", 1, budget, [new], now=START + timedelta(days=10)) == "reserved"
    with backend.engine.begin() as conn:
        assert s.sweep(conn, START + timedelta(days=32)) == 0
        assert s.sweep(conn, START + timedelta(days=32, seconds=1)) == 1
        assert conn.execute(select(func.count()).select_from(ad_frequency)).scalar_one() == 1


# --- under real concurrency ----------------------------------------------------------------------------

GROUP_A, GROUP_B = Budget("ag:1:d:2026-06-01", 2_000), Budget("ag:2:d:2026-06-01", 2_000)
CAMPAIGN = Budget("c:1:d:2026-06-01", 3_000)  # binds before the two groups' 4,000
CAPPED = Budget("ag:3:life", 10**12)
CAP = 5


def _open(kind: str, url: str, prefix: str) -> SpendStore:
    if kind == "redis":
        return RedisSpend(url, prefix)
    return DatabaseSpend(make_engine(url))


def hammer(
    kind: str, url: str, prefix: str, worker: int, threads: int, attempts: int, user_id: int, start_at: float
) -> tuple[list[tuple[str, str, int, str, int]], dict[str, int]]:
    """One process's share of the load: `threads` threads each making `attempts` reservations on the
    shared budgets or the capped person, charging (twice), releasing or keeping what they get. Returns
    (id, outcome, amount, what was done with it, price) for each attempt, and the most spent + reserved
    it saw on each shared budget."""
    store = _open(kind, url, prefix)
    results: list[tuple[str, str, int, str, int]] = []
    peak: dict[str, int] = {}
    watched = [GROUP_A.key, GROUP_B.key, CAMPAIGN.key]
    lock = threading.Lock()

    def run(thread: int) -> None:
        rng = random.Random(worker * 1000 + thread)
        mine = []
        time.sleep(max(0.0, start_at - time.time()))
        for i in range(attempts):
            rid = f"w{worker}-t{thread}-{i}"
            amount = rng.randint(20, 80)
            if i % 3 == 0:
                budgets, caps = [CAPPED], [FrequencyCap(Subject(user_id), "ag:3", CAP, 7, TODAY)]
            else:
                budgets, caps = [GROUP_A if i % 3 == 1 else GROUP_B, CAMPAIGN], []
            outcome = store.reserve(rid, amount, budgets, caps, now=START, expires_at=START + HOUR)
            done, price = "", 0
            if outcome == "reserved":
                # What every process sees committed must be within the limits at every moment, not
                # only at the end (a passing excess would be freed again by a later release).
                for key, (spent, held) in store.spent(watched).items():
                    peak[key] = max(peak.get(key, 0), spent + held)
                choice = rng.random()
                if choice < 0.3:
                    price = rng.randint(0, amount)
                    assert store.charge(rid, price, START) == "charged"
                    assert store.charge(rid, price, START) == "duplicate"
                    done = "charged"
                elif choice < 0.45:
                    assert store.release(rid, START) is True
                    done = "released"
                else:
                    done = "held"
            mine.append((rid, outcome, amount, done, price))
        with lock:
            results.extend(mine)

    pool = [threading.Thread(target=run, args=(t,)) for t in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return results, peak


def test_budgets_and_caps_hold_exactly_under_processes_and_threads(backend: Backend) -> None:
    user_id = _person(backend.engine)
    processes, threads, attempts = 3, 3, 30
    ctx = multiprocessing.get_context("spawn")
    start_at = time.time() + 4  # every worker imported and connected before the first request
    args = [
        (backend.kind, backend.url, backend.prefix, w, threads, attempts, user_id, start_at)
        for w in range(processes)
    ]
    with ctx.Pool(processes) as pool:
        shares = pool.starmap(hammer, args)
    results = [r for share, _ in shares for r in share]
    assert len(results) == processes * threads * attempts
    for b in (GROUP_A, GROUP_B, CAMPAIGN):
        assert max(peak.get(b.key, 0) for _, peak in shares) <= b.limit_micro, b.key

    expected: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for rid, outcome, amount, done, price in results:
        if outcome != "reserved":
            continue
        i = int(rid.rsplit("-", 1)[1])
        keys = [CAPPED.key] if i % 3 == 0 else [(GROUP_A if i % 3 == 1 else GROUP_B).key, CAMPAIGN.key]
        for key in keys:
            expected[key][0] += price if done == "charged" else 0
            expected[key][1] += amount if done == "held" else 0
    found = backend.store.spent([b.key for b in (GROUP_A, GROUP_B, CAMPAIGN, CAPPED)])
    for b in (GROUP_A, GROUP_B, CAMPAIGN, CAPPED):
        assert found[b.key] == tuple(expected[b.key]), b.key
        assert sum(found[b.key]) <= b.limit_micro, b.key
    outcomes = [(r[1], int(r[0].rsplit("-", 1)[1]) % 3 == 0) for r in results]
    # The campaign ran out (its 3,000 is far less than 180 requests ask for) and the cap held exactly.
    assert outcomes.count(("budget", False)) > 0
    assert outcomes.count(("reserved", True)) == CAP
    assert outcomes.count(("frequency", True)) == processes * threads * attempts // 3 - CAP
    assert backend.store.served([FrequencyCap(Subject(user_id), "ag:3", CAP, 7, TODAY)]) == [CAP]
    # When the tokens expire every hold is freed and what was charged stays.
    held = sum(1 for r in results if r[3] == "held")
    assert backend.store.release_expired(START + 2 * HOUR) == held
    after = backend.store.spent([CAMPAIGN.key])
    assert after[CAMPAIGN.key] == (expected[CAMPAIGN.key][0], 0)


# --- a page's ads in one call (reserve_many) -------------------------------------------------------


def _item(
    rid: str, amount: int, budgets: list[Budget], caps: list[FrequencyCap] | None = None
) -> Reservation:
    return Reservation(rid, amount, budgets, caps or [], START + HOUR)


def test_reserve_many_takes_a_page_in_order_and_stops_at_the_first_refusal(backend: Backend) -> None:
    s = backend.store
    user = _person(backend.engine)
    campaign = Budget("c:9:d:2026-06-01", 1_000)
    a, b = Budget("ag:91:d:2026-06-01", 800), Budget("ag:92:d:2026-06-01", 800)
    cap = FrequencyCap(Subject(user), "ag:93", 1, 1, TODAY)
    # The second ad sees the first's hold on the campaign: 600 + 500 > 1,000. The third is not tried.
    page = [_item("p1", 600, [a, campaign]), _item("p2", 500, [b, campaign]), _item("p3", 10, [b])]
    assert s.reserve_many(page, now=START) == ["reserved", "budget"]
    assert s.spent([a.key, b.key, campaign.key]) == {a.key: (0, 600), b.key: (0, 0), campaign.key: (0, 600)}
    assert s.release("p2", START) is False  # the refused one holds nothing
    # A cap filled by an earlier ad of the same page refuses the later one.
    capped = Budget("ag:93:life", 10**9)
    assert s.reserve_many([_item("p4", 5, [capped], [cap]), _item("p5", 5, [capped], [cap])], now=START) == [
        "reserved",
        "frequency",
    ]
    assert s.served([cap]) == [1] and s.spent([capped.key])[capped.key] == (0, 5)
    # What it reserved is charged and released like any reservation; an id used before rolls the page back.
    assert s.charge("p1", 300, START) == "charged"
    assert s.spent([campaign.key])[campaign.key] == (300, 0)
    with pytest.raises(ValueError, match="reservation_id"):
        s.reserve_many([_item("p6", 1, [b]), _item("p1", 1, [b])], now=START)
    assert s.spent([b.key])[b.key] == (0, 0) and s.release("p6", START) is False
    assert s.reserve_many([], now=START) == []


def test_reserve_many_agrees_with_reserving_one_by_one(backend: Backend) -> None:
    """Random pages on two copies of the same budgets and caps: one reserved ad by ad with `reserve`
    (stopping at the first refusal, as serving does), one with `reserve_many`: the same outcomes and
    the same counters."""
    s = backend.store
    user = _person(backend.engine)
    rng = random.Random(7)
    for page_no in range(40):
        size = rng.randint(1, 4)
        picks = rng.sample(range(6), size)
        pages: dict[str, list[Reservation]] = {"one": [], "many": []}
        for copy in pages:
            for g in picks:
                budgets = [Budget(f"{copy}:ag:{g}:d", 900 + 100 * g), Budget(f"{copy}:c:{g % 2}:d", 2_500)]
                caps = [FrequencyCap(Subject(user), f"{copy}:ag:{g}", 3, 7, TODAY)] if g < 2 else []
                pages[copy].append(_item(f"{copy}-{page_no}-{g}", 50 + 37 * g, budgets, caps))
        one: list[str] = []
        for item in pages["one"]:
            one.append(
                s.reserve(
                    item.reservation_id,
                    item.amount_micro,
                    item.budgets,
                    item.caps,
                    now=START,
                    expires_at=item.expires_at,
                )
            )
            if one[-1] != "reserved":
                break
        assert s.reserve_many(pages["many"], now=START) == one, page_no
    for g in range(6):
        keys = [f"one:ag:{g}:d", f"many:ag:{g}:d", f"one:c:{g % 2}:d", f"many:c:{g % 2}:d"]
        found = s.spent(keys)
        assert found[keys[0]] == found[keys[1]] and found[keys[2]] == found[keys[3]]
    for g in range(2):
        caps = [FrequencyCap(Subject(user), f"{copy}:ag:{g}", 3, 7, TODAY) for copy in ("one", "many")]
        served = s.served(caps)
        assert served[0] == served[1] == 3


def hammer_pages(kind: str, url: str, prefix: str, worker: int, attempts: int, start_at: float) -> list[str]:
    """Pages of two ads on the shared budgets, from one process: the outcomes, ad by ad."""
    store = _open(kind, url, prefix)
    rng = random.Random(worker)
    time.sleep(max(0.0, start_at - time.time()))
    out: list[str] = []
    for i in range(attempts):
        first, second = (GROUP_A, GROUP_B) if rng.random() < 0.5 else (GROUP_B, GROUP_A)
        page = [
            _item(f"pw{worker}-{i}-a", rng.randint(20, 80), [first, CAMPAIGN]),
            _item(f"pw{worker}-{i}-b", rng.randint(20, 80), [second, CAMPAIGN]),
        ]
        out += store.reserve_many(page, now=START)
    return out


def test_reserve_many_holds_budgets_exactly_across_processes(backend: Backend) -> None:
    processes, attempts = 3, 40
    ctx = multiprocessing.get_context("spawn")
    start_at = time.time() + 4
    with ctx.Pool(processes) as pool:
        shares = pool.starmap(
            hammer_pages,
            [(backend.kind, backend.url, backend.prefix, w, attempts, start_at) for w in range(processes)],
        )
    outcomes = [o for share in shares for o in share]
    assert "budget" in outcomes  # the campaign's 3,000 ran out
    found = backend.store.spent([GROUP_A.key, GROUP_B.key, CAMPAIGN.key])
    assert sum(found[CAMPAIGN.key]) <= CAMPAIGN.limit_micro
    assert found[CAMPAIGN.key][1] == found[GROUP_A.key][1] + found[GROUP_B.key][1]
    assert sum(found[GROUP_A.key]) <= GROUP_A.limit_micro and sum(found[GROUP_B.key]) <= GROUP_B.limit_micro
