"""Private set intersection at 1,000,000 people x 1,000,000 records, through the service's own functions on
a real SQLite database (no HTTP: what the two rounds' requests run, in the order they run them).

Setup (not timed): a scratch database at head with N people, each with a hashed email
(person{i}@example.com). The advertiser's list holds N emails, half of them the platform's people.

* prepare (offline, what `tastegraph sweep` runs daily): a new key, everyone blinded under it;
* online, prepared: round 1 reads the prepared points (IdentityService.blinded_people), stores the session
  and encodes the answer; the advertiser's helper (psi.advertiser_round, 2 processes) blinds its list and
  the platform's points; round 2 finds the matches (psi_match, 2 processes) and saves the audience;
* online, cold (`--cold`): the same with no prepared key, so round 1 blinds everyone on request (what every
  session did before keys were kept for a day).

    .venv/bin/python bench/psi.py            # full run (prepared and cold); updates the docs section "psi"
    .venv/bin/python bench/psi.py --quick    # smoke test: 20,000 x 20,000, one JSON line, docs untouched
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
    machine_info,
    machine_line,
    md_table,
    print_json_line,
    replace_doc_section,
    scratch_database,
    wait_for_quiet,
)


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _load_people(url: str, n: int) -> None:
    from tastegraph import catalog, identity
    from tastegraph.db import make_engine, upgrade

    engine = make_engine(url)
    upgrade(engine)
    now = datetime.now(UTC)
    step = 50_000
    with engine.begin() as conn:
        for start in range(0, n, step):
            ids = range(start + 1, min(n, start + step) + 1)
            catalog.bulk.add_users(
                conn,
                [
                    {
                        "id": i,
                        "email": f"person{i}@example.com",
                        "password_hash": "-",
                        "display_name": f"Person {i}",
                        "is_demo": True,
                        "created_at": now,
                    }
                    for i in ids
                ],
                chunk=step,
            )
            identity.bulk.add_identifiers(
                conn,
                [
                    {"user_id": i, "kind": "email", "hash": _sha(f"person{i}@example.com"), "added_at": now}
                    for i in ids
                ],
                chunk=step,
            )
    engine.dispose()


class Stopwatch:
    def __init__(self) -> None:
        self.stages: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        yield
        self.stages[name] = time.perf_counter() - started
        print(f"[psi]   {name}: {self.stages[name]:.1f} s", file=sys.stderr)


def _session(system: Any, account: int, records: list[str]) -> dict[str, Any]:
    """Both rounds as the API routes run them, timed stage by stage."""
    from tastegraph.ads import customer_lists
    from tastegraph.identity import IdentifierKind, psi

    blinder = psi.Blinder(2)
    kind = IdentifierKind.EMAIL
    watch = Stopwatch()
    started = time.perf_counter()
    with watch.stage("platform round 1"):
        with system.read() as conn:
            round1 = system.identity.blinded_people(conn, kind, system.clock.now(), blinder)
        with system.write() as conn:
            first = customer_lists.psi_start(conn, round1, account, kind, "bench", system.clock.now())
    with watch.stage("advertiser"):
        own, theirs = psi.advertiser_round(records, psi.decode(first["points"], "points"), blinder)
        body = {"records": psi.encode(own), "people": psi.encode(theirs)}
    with watch.stage("platform round 2: matching"):
        with system.read() as conn:
            session = customer_lists.psi_session(conn, account, first["session_id"], system.clock.now())
        result = customer_lists.psi_match(
            session, psi.decode(body["records"], "records"), psi.decode(body["people"], "people"), blinder
        )
    protocol = time.perf_counter() - started
    with watch.stage("platform round 2: audience saved"), system.write() as conn:
        saved = customer_lists.psi_finish(conn, system.consent, account, session, result, system.clock.now())
    return {
        "stages": watch.stages,
        "protocol_s": protocol,
        "total_s": time.perf_counter() - started,
        "matched": saved["matched"],
        "uploaded": saved["uploaded"],
    }


def run(n: int, cold: bool, quiet: Callable[[], Any]) -> dict[str, Any]:
    from tastegraph.ads import accounts
    from tastegraph.bootstrap import build
    from tastegraph.config import Settings

    records = [_sha(f"person{i}@example.com") for i in range(n // 2 + 1, n // 2 + n + 1)]
    with scratch_database("sqlite", "bench_psi") as db:
        print(f"[psi] loading {n:,} people", file=sys.stderr)
        _load_people(db.url, n)
        system = build(Settings(database_url=db.url, psi_workers=2))
        try:
            with system.write() as conn:
                account, _ = accounts.create_account(conn, "Bench shop", system.clock.now())
            out: dict[str, Any] = {"size": n}
            if cold:
                quiet()
                print("[psi] online, cold (no prepared key)", file=sys.stderr)
                out["cold"] = _session(system, account.id, records)
            quiet()
            print("[psi] prepare (offline)", file=sys.stderr)
            started = time.perf_counter()
            prepared = system.prepare_psi()
            out["prepare_s"] = time.perf_counter() - started
            assert prepared["blinded"] == n, prepared
            quiet()
            print("[psi] online, prepared", file=sys.stderr)
            out["prepared"] = _session(system, account.id, records)
            expected = n - n // 2
            for mode in ("cold", "prepared"):
                if mode in out:
                    assert out[mode]["matched"] == expected and out[mode]["uploaded"] == n, out[mode]
            return out
        finally:
            system.dispose()


def render(r: dict[str, Any]) -> str:
    info = machine_info()
    n = r["size"]
    rows = []
    for mode, label in (
        ("prepared", "prepared key (the default once `tastegraph sweep` has run)"),
        ("cold", "cold: no prepared key, round 1 blinds everyone"),
    ):
        if mode not in r:
            continue
        s = r[mode]["stages"]
        rows.append(
            [
                label,
                f"{s['platform round 1']:.1f}",
                f"{s['advertiser']:.1f}",
                f"{s['platform round 2: matching']:.1f}",
                f"**{r[mode]['protocol_s']:.1f}**",
                f"{s['platform round 2: audience saved']:.1f}",
                f"{r[mode]['total_s']:.1f}",
            ]
        )
    table = md_table(
        [
            "online path",
            "platform round 1 s",
            "advertiser s",
            "round 2 matching s",
            "protocol s",
            "audience saved s",
            "total s",
        ],
        rows,
    )
    return f"""## Private set intersection: {n:,} people x {n:,} records

- Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC
- {machine_line(info)}
- Command: `.venv/bin/python bench/psi.py`
- {n:,} people with a hashed email in a SQLite database; the advertiser's list has {n:,} emails,
  {n - n // 2:,} of them people's. The service's own functions in the order the two HTTP rounds run them
  (no network: the rounds would move about 43 MB and 86 MB of base64 on top); 2 processes for the
  platform's blinding and 2 for the advertiser's, one side at a time, on the same 2 cores.
- Offline preparation (a new key for the day; everyone blinded under it, stored): **{r["prepare_s"]:.1f} s**.

{table}

"protocol" is everything up to knowing the matches (target: 120 s); "audience saved" then writes the
audience and the list's counts in one transaction.
"""


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="smoke test: 20,000 x 20,000, docs untouched")
    parser.add_argument("--size", type=int, default=None)
    parser.add_argument("--no-cold", action="store_true", help="skip the cold (unprepared) run")
    args = parser.parse_args()
    n = args.size or (20_000 if args.quick else 1_000_000)
    result = run(n, cold=not args.no_cold, quiet=(lambda: None) if args.quick else wait_for_quiet)
    if not args.quick and args.size is None:
        replace_doc_section("psi", render(result))
    print_json_line(
        {
            "size": n,
            "prepare_s": round(result["prepare_s"], 1),
            **{
                f"{mode}_protocol_s": round(result[mode]["protocol_s"], 1)
                for mode in ("prepared", "cold")
                if mode in result
            },
            "matched": result["prepared"]["matched"],
        }
    )


if __name__ == "__main__":
    main()
