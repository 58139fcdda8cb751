"""A bounded schemathesis pass over every route (bench/fuzz_api.py does the long run): signed out,
signed in and as an ad account, positive and negative data, on SQLite. No 500s, every answer documented
and matching its schema, valid data accepted and invalid data refused. The test clock is left out."""

from __future__ import annotations

import time
from pathlib import Path

from bench.fuzz_api import CHECKS, fuzz, sqlite_target

EXAMPLES = 3
BUDGET_SECONDS = 100  # generation stops here, so the test stays near its budget on a busy machine


def test_every_route_survives_fuzzing(tmp_path: Path) -> None:
    for target in sqlite_target(tmp_path):
        tally = fuzz(target.app, target.system, EXAMPLES, deadline=time.monotonic() + BUDGET_SECONDS)
    assert tally.requests > 300, tally.as_dict()
    failed = {name: tally.examples.get(name, []) for name in CHECKS if tally.failures.get(name)}
    assert not failed, "\n".join(f"{name}:\n  " + "\n  ".join(seen) for name, seen in failed.items())
