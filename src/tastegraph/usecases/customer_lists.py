"""Customer lists: an advertiser's emails or phone numbers, uploaded (JSON or streamed CSV; hashed, or
plain and hashed on arrival) or matched by private set intersection in two rounds. Either way the list
is matched and discarded: only the counts and an audience of the matched people whose settings allow it
are kept.

Uploads and PSI rounds are batch work (`long_running`: exempt from the statement timeout). They block
for seconds: an async adapter runs them on a worker thread.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from tastegraph.ads import customer_lists
from tastegraph.bootstrap import System
from tastegraph.identity import psi
from tastegraph.usecases.audiences import AudienceView
from tastegraph.usecases.callers import AdCaller

MAX_RECORDS = customer_lists.MAX_RECORDS


@dataclass(frozen=True)
class RecordError:
    field: str  # records[i]
    message: str


@dataclass(frozen=True)
class CustomerListSaved:
    id: int
    uploaded: int
    matched: int  # records that named one of our people
    invalid: int
    errors: list[RecordError]  # the first few invalid records
    audience_id: int
    audience: AudienceView


@dataclass(frozen=True)
class PsiStarted:
    """Round 1's answer: everyone's identifier of the kind, blinded with the platform's secret."""

    session_id: str
    kind: str
    count: int
    points: str  # base64 of 32-byte points, concatenated
    expires_at: str  # ISO 8601: round 2 must come before


def _saved(result: customer_lists.SavedList) -> CustomerListSaved:
    return CustomerListSaved(
        id=result["id"],
        uploaded=result["uploaded"],
        matched=result["matched"],
        invalid=result["invalid"],
        errors=[RecordError(e["field"], e["message"]) for e in result["errors"]],
        audience_id=result["audience_id"],
        audience=AudienceView(**result["audience"]),
    )


def upload(
    system: System, caller: AdCaller, kind: str, hashed: bool, name: str, records: Iterable[object]
) -> CustomerListSaved:
    """Match a stream of records (up to a million, consumed as they arrive) and save the result, in one
    transaction: nothing is kept when it fails (a bad kind, no valid record, too many records)."""
    with system.write(long_running=True) as conn:
        matcher = customer_lists.Matcher(conn, system.identity, customer_lists.kind_of(kind), hashed)
        matcher.feed(records)
        matcher.finish()
        result = customer_lists.save(
            conn, system.consent, caller.ad_account_id, matcher.result(), name, system.clock.now()
        )
    return _saved(result)


def upload_csv(
    system: System, caller: AdCaller, kind: str, hashed: bool, name: str, chunks: Iterable[bytes]
) -> CustomerListSaved:
    """`upload` of a CSV body as it streams in: UTF-8, the first column, an optional header row."""
    records = customer_lists.csv_records(customer_lists.decode_lines(chunks))
    return upload(system, caller, kind, hashed, name, records)


def start_psi(system: System, caller: AdCaller, kind: str, name: str) -> PsiStarted:
    """Round 1. The blinding (or reading the prepared points) happens outside the write transaction;
    everyone's points are read and stored."""
    identifier_kind = customer_lists.kind_of(kind)
    with system.read(long_running=True) as conn:
        round1 = system.identity.blinded_people(conn, identifier_kind, system.clock.now(), _blinder(system))
    with system.write(long_running=True) as conn:
        started = customer_lists.psi_start(
            conn, round1, caller.ad_account_id, identifier_kind, name, system.clock.now()
        )
    return PsiStarted(**started)


def finish_psi(
    system: System, caller: AdCaller, session_id: str, records: str, people: str
) -> CustomerListSaved:
    """Round 2: the advertiser's records as H(x)^a (shuffled) and round 1's points raised to a, in the
    order sent, both base64. Match outside any transaction, then forget the session (once: a concurrent
    finish gets NotFound) and make the audience."""
    record_points = psi.decode(records, "records")
    people_points = psi.decode(people, "people")
    with system.read() as conn:
        session = customer_lists.psi_session(conn, caller.ad_account_id, session_id, system.clock.now())
    result = customer_lists.psi_match(session, record_points, people_points, _blinder(system))
    with system.write(long_running=True) as conn:
        saved = customer_lists.psi_finish(
            conn, system.consent, caller.ad_account_id, session, result, system.clock.now()
        )
    return _saved(saved)


def _blinder(system: System) -> psi.Blinder:
    return psi.Blinder(system.settings.psi_workers)
