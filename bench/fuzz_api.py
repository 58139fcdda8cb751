"""Fuzz every API route with schemathesis against the in-process app, as three callers: signed out,
signed in (session cookie) and an ad account (its API token), and count requests and failures per check.

    python bench/fuzz_api.py [--examples N] [--database-url URL] [--no-write]

Data that the schema allows must be accepted and data it refuses must be refused (positive and negative
generation), every answer must be documented and match its documented schema, and nothing may be a 500.
The test-clock routes (/v1/test/...) are left out: they exist only on test servers. The figures go to
docs/benchmarks.md under "API fuzzing"; tests/integration/test_api_fuzz.py runs a small bounded pass.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import hypothesis
import hypothesis.errors
import schemathesis
from hypothesis import HealthCheck, Phase
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    negative_data_rejection,
    positive_data_acceptance,
    response_schema_conformance,
    status_code_conformance,
)

REPO = Path(__file__).resolve().parent.parent
if str(REPO / "src") not in sys.path:
    sys.path.insert(0, str(REPO / "src"))

from fastapi import FastAPI  # noqa: E402

from tastegraph.ads import accounts  # noqa: E402
from tastegraph.bootstrap import System, build  # noqa: E402
from tastegraph.config import Settings  # noqa: E402
from tastegraph.db import make_engine, upgrade  # noqa: E402
from tastegraph.identity import SESSION_COOKIE  # noqa: E402
from tastegraph.kernel import FrozenClock  # noqa: E402
from tastegraph.server import compose  # noqa: E402

CHECKS = {
    "not_a_server_error": not_a_server_error,
    "status_code_conformance": status_code_conformance,
    "response_schema_conformance": response_schema_conformance,
    "negative_data_rejection": negative_data_rejection,
    "positive_data_acceptance": positive_data_acceptance,
}
EXCLUDED_PREFIX = "/v1/test/"  # the test clock: present only when TASTEGRAPH_TEST_CLOCK=1
START = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


@dataclass
class Caller:
    """Who sends the requests; `renew` makes it again after a request that ended it (sign-out, deletion,
    revoking its own token)."""

    name: str
    headers: dict[str, str] = field(default_factory=dict)
    cookies: dict[str, str] = field(default_factory=dict)
    path_parameters: dict[str, Any] = field(default_factory=dict)
    renew: Callable[[], None] = lambda: None


@dataclass
class Tally:
    requests: int = 0
    failures: Counter[str] = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=dict)
    statuses: Counter[int] = field(default_factory=Counter)
    # check -> "METHOD /path" of every operation it failed on (any caller)
    failed_operations: dict[str, set[str]] = field(default_factory=dict)

    def record(self, check: str, where: str, operation: str, detail: str) -> None:
        self.failures[check] += 1
        self.failed_operations.setdefault(check, set()).add(operation)
        seen = self.examples.setdefault(check, [])
        if len(seen) < 20 and not any(s.startswith(where) for s in seen):
            seen.append(f"{where}: {detail}")

    def as_dict(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "failures": {name: self.failures.get(name, 0) for name in CHECKS},
            "statuses": dict(sorted(self.statuses.items())),
            "failed_operations": {k: sorted(v) for k, v in sorted(self.failed_operations.items())},
        }


def fuzz_settings(database_url: str, model_dir: Path) -> Settings:
    return Settings(
        database_url=database_url,
        env="test",
        test_clock=True,
        ikea_dir=None,
        model_dir=model_dir,
        rate_limit_enabled=False,
        ads_rate_limit_enabled=False,
    )


def callers(system: System, app: FastAPI) -> list[Caller]:
    """Signed out; signed in as a person with a board; an ad account acting on its own id."""
    from fastapi.testclient import TestClient

    signed_in = Caller("signed in")
    counter = iter(range(1, 10**9))

    def new_session() -> None:
        email = f"fuzz{next(counter)}@example.com"
        with TestClient(app, base_url="http://127.0.0.1:8000") as client:
            client.post("/v1/users", json={"email": email, "password": "fuzzing password"})
            r = client.post("/v1/sessions", json={"email": email, "password": "fuzzing password"})
            signed_in.cookies = {SESSION_COOKIE: r.cookies[SESSION_COOKIE]}

    new_session()
    signed_in.renew = new_session

    with system.write() as conn:
        now = system.clock.now()
        account, token = accounts.create_account(conn, "Fuzz shop", now, website="shop.example")
    advertiser = Caller("ad account", path_parameters={"ad_account_id": account.id})

    def new_token() -> None:
        with system.write() as conn:
            made = accounts.create_token(conn, account.id, system.clock.now(), "fuzz")
        advertiser.headers = {"Authorization": f"Bearer {made.token}"}

    advertiser.headers = {"Authorization": f"Bearer {token.token}"}
    advertiser.renew = new_token
    return [Caller("signed out"), signed_in, advertiser]


def _ended_the_caller(method: str, path: str, status: int) -> bool:
    return status == 204 and (method, path) in {
        ("DELETE", "/v1/me"),
        ("DELETE", "/v1/sessions"),
        ("DELETE", "/v1/ad_accounts/{ad_account_id}/tokens/{token_id}"),
    }


def fuzz(
    app: FastAPI, system: System, examples: int, *, deadline: float | None = None, only: str = ""
) -> Tally:
    """Each operation (whose path contains `only`), each caller, positive and negative data: up to
    `examples` cases each; stops generating once `deadline` (time.monotonic()) has passed."""
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    tally = Tally()
    operations = [result.ok() for result in schema.get_all_operations()]
    for caller in callers(system, app):
        for operation in operations:
            if operation.path.startswith(EXCLUDED_PREFIX) or only not in operation.path:
                continue
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                if deadline is not None and time.monotonic() > deadline:
                    return tally
                params = {k: v for k, v in caller.path_parameters.items() if k in _path_names(operation)}
                strategy = operation.as_strategy(mode, path_parameters=params or None)
                _run_cases(strategy, caller, tally, examples)
    return tally


def _path_names(operation: Any) -> set[str]:
    return {p.name for p in operation.path_parameters}


def _run_cases(strategy: Any, caller: Caller, tally: Tally, examples: int) -> None:
    @hypothesis.settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @hypothesis.given(strategy)
    def run(case: Any) -> None:
        response = case.call(headers=caller.headers, cookies=caller.cookies)
        tally.requests += 1
        tally.statuses[response.status_code] += 1
        operation = f"{case.operation.method.upper()} {case.operation.path}"
        where = f"{caller.name} {operation}"
        for name, check in CHECKS.items():
            try:
                case.validate_response(response, checks=[check], headers=caller.headers)
            except FailureGroup as exc:  # a failed check: counted, the run goes on
                tally.record(name, where, operation, f"{response.status_code} {_first_line(exc)}")
        if _ended_the_caller(case.operation.method.upper(), case.operation.path, response.status_code):
            caller.renew()

    # Unsatisfiable: nothing in this operation can be made invalid (negative mode), so no cases.
    with contextlib.suppress(hypothesis.errors.Unsatisfiable):
        run()


def _first_line(exc: BaseException) -> str:
    """The failure's title and the answer's body, from schemathesis's report."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    wanted = [line for line in lines if line.startswith(("- ST", "`", "Received", "curl"))]
    return " / ".join(wanted)[:900]


@dataclass
class FuzzTarget:
    app: FastAPI
    system: System


def sqlite_target(workdir: Path) -> Iterator[FuzzTarget]:
    url = f"sqlite:///{workdir / 'fuzz.db'}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    system = build(fuzz_settings(url, workdir / "models"), clock=FrozenClock(START))
    try:
        yield FuzzTarget(compose(system, run_sweeper=False), system)
    finally:
        system.dispose()


def write_section(tally: Tally, examples: int, seconds: float, database: str) -> None:
    sys.path.insert(0, str(REPO))
    from bench.common import machine_info, machine_line, md_table, replace_doc_section, source_version

    rows = [
        (
            f"`{name}`",
            tally.failures.get(name, 0),
            ", ".join(sorted(tally.failed_operations.get(name, ()))) or "-",
        )
        for name in CHECKS
    ]
    statuses = ", ".join(f"{code}: {n}" for code, n in sorted(tally.statuses.items()))
    body = (
        f"## API fuzzing (schemathesis)\n\nSource {source_version()}; {machine_line(machine_info())}.\n\n"
        f"`python bench/fuzz_api.py --examples {examples}` ({database}, in-process ASGI app, schemathesis "
        f"{schemathesis.SCHEMATHESIS_VERSION}): every route except the test clock's, as three callers "
        f"(signed out, signed in, an ad account), positive and negative data, up to {examples} cases "
        f"each. {tally.requests} requests in {seconds:.0f} s; statuses {statuses}.\n\n"
        + md_table(("check", "failed cases", "operations"), rows)
        + "\n"
    )
    replace_doc_section("api-fuzzing", body)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=100, help="cases per operation, caller and mode")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md")
    parser.add_argument("--only", default="", help="only paths containing this (implies --no-write)")
    args = parser.parse_args()
    began = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        for target in sqlite_target(Path(tmp)):
            tally = fuzz(target.app, target.system, args.examples, only=args.only)
    seconds = time.monotonic() - began
    if not (args.no_write or args.only):
        write_section(tally, args.examples, seconds, "SQLite")
    print(json.dumps({**tally.as_dict(), "seconds": round(seconds, 1), "examples": tally.examples}))


if __name__ == "__main__":
    main()
