"""What a server worker keeps for its whole life stays out of the cycle collector's full passes (they
stopped a worker for 200-450 ms on the Gowalla catalogue): the heap alive after start is frozen, and the
per-worker caches that fill up under traffic hold only values the collector stops tracking."""

from __future__ import annotations

import gc
import weakref

from fastapi.testclient import TestClient

from tastegraph.bootstrap import System
from tastegraph.catalog import content
from tastegraph.server import compose
from tests.helpers import demo_world, popular_pin, trained_model


def test_the_server_freezes_its_startup_heap_and_tests_do_not(system: System) -> None:
    gc.unfreeze()
    try:
        with TestClient(compose(system, run_sweeper=False)):
            assert gc.get_freeze_count() == 0
        with TestClient(compose(system, run_sweeper=False, freeze_heap=True)):
            assert gc.get_freeze_count() > 1000
    finally:
        gc.unfreeze()


def test_walk_and_pin_caches_hold_only_untracked_values(client: TestClient, system: System) -> None:
    demo_world(system)
    model = trained_model(system)
    query = popular_pin(system, 3)
    assert client.get(f"/v1/pins/{query}/related?limit=10").status_code == 200
    walk = model.walks.get(int(model.pin_index([query])[0]))
    assert walk is not None and walk[1], "the walk keeps the boards linking its results"
    with system.read() as conn:
        facts = content.pin_facts(conn, [query])
    assert isinstance(facts[query]["topics"], tuple)
    for _ in range(3):  # a tuple is untracked in the pass after its items are: one pass per level
        gc.collect()
    assert not any(gc.is_tracked(link) for link in walk[1].values())
    assert not gc.is_tracked(walk[1])
    assert not gc.is_tracked(facts[query])
    # Callers still get a list of topics of their own.
    with system.read() as conn:
        assert isinstance(content.get_pins(conn, [query])[query]["topics"], list)


def test_a_model_replaced_after_the_freeze_is_freed(system: System) -> None:
    """Frozen objects are never cycle-collected, so a reloaded (or erased) model must go by reference
    counting alone, or every reload would keep the old model, and the people in it, in memory."""
    demo_world(system)
    model = trained_model(system)
    model.walks.put(0, (model.pin_ids[:3], {}))
    old, old_artifact = weakref.ref(model), weakref.ref(model.artifact)
    del model
    gc.collect()
    gc.freeze()
    gc.disable()
    try:
        assert system.models.reload() is not None
        assert old() is None and old_artifact() is None
    finally:
        gc.enable()
        gc.unfreeze()
