"""Customer lists: an advertiser's emails or phone numbers (hashed, or plain and hashed on arrival),
matched against people's hashed identifiers. The result is an audience of the matched people whose
settings allow it; only the counts are kept, never the list.

Records are consumed as a stream (`Matcher.feed` per chunk), so a million-row upload is matched in
bounded memory and nothing of it is written anywhere.
"""

from __future__ import annotations

import codecs
import csv
import io
import secrets
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TypedDict

import numpy as np
from sqlalchemy import Connection, delete, insert, select

from tastegraph.ads import audiences
from tastegraph.ads.accounts import refuse_control_characters
from tastegraph.ads.tables import customer_list_matches, customer_lists, psi_sessions
from tastegraph.consent import ConsentService
from tastegraph.identity import IdentifierKind, IdentityService, is_sha256_hex, plain_hash, psi
from tastegraph.kernel import InvalidInput, MalformedBody, NotFound, PayloadTooLarge
from tastegraph.kernel.tables import inserted_id

MAX_RECORDS = 1_000_000
CHUNK = 5000
MAX_REPORTED_ERRORS = 10
KINDS = {"email": IdentifierKind.EMAIL, "phone": IdentifierKind.PHONE}
_HEADERS = {
    "email",
    "emails",
    "em",
    "phone",
    "phones",
    "ph",
    "hash",
    "hashed_email",
    "hashed_phone",
    "sha256",
}


def kind_of(value: object) -> IdentifierKind:
    if value not in KINDS:
        raise InvalidInput('kind must be "email" or "phone"', field="kind")
    return KINDS[str(value)]


class InvalidRecord(TypedDict):
    field: str  # records[i]
    message: str


@dataclass
class MatchResult:
    kind: IdentifierKind
    uploaded: int
    matched_records: int
    matched_people: set[int]
    invalid: int = 0
    errors: list[InvalidRecord] = field(default_factory=list)


@dataclass
class Matcher:
    """Hashes, checks and matches records chunk by chunk; remembers only counts and matched people."""

    conn: Connection
    identity: IdentityService
    kind: IdentifierKind
    hashed: bool
    uploaded: int = 0
    invalid: int = 0
    errors: list[InvalidRecord] = field(default_factory=list)
    matched_people: set[int] = field(default_factory=set)
    matched_records: int = 0
    _pending: list[str] = field(default_factory=list)

    def feed(self, records: Iterable[object]) -> None:
        for record in records:
            self.uploaded += 1
            if self.uploaded > MAX_RECORDS:
                raise PayloadTooLarge(f"a customer list has at most {MAX_RECORDS:,} records")
            digest = self._hash(record)
            if digest is not None:
                self._pending.append(digest)
                if len(self._pending) >= CHUNK:
                    self._match()

    def finish(self) -> None:
        if self._pending:
            self._match()
        if self.uploaded == 0:
            raise InvalidInput("the list has no records", field="records")
        if self.invalid == self.uploaded:
            raise InvalidInput(
                f"no record is a valid {'SHA-256 hex digest' if self.hashed else self.kind.value}",
                field=self.errors[0]["field"] if self.errors else "records",
            )

    def result(self) -> MatchResult:
        return MatchResult(
            self.kind, self.uploaded, self.matched_records, self.matched_people, self.invalid, self.errors
        )

    def _hash(self, record: object) -> str | None:
        problem: str | None = None
        digest: str | None = None
        if not isinstance(record, str):
            problem = "expected a string"
        elif self.hashed:
            if is_sha256_hex(record):
                digest = record.strip().lower()
            else:
                problem = "not a SHA-256 hex digest (send hashed: false for plain values)"
        else:
            try:
                digest = plain_hash(self.kind, record)
            except InvalidInput as exc:
                problem = exc.message
        if problem is not None:
            self.invalid += 1
            if len(self.errors) < MAX_REPORTED_ERRORS:
                self.errors.append({"field": f"records[{self.uploaded - 1}]", "message": problem})
        return digest

    def _match(self) -> None:
        found = self.identity.match_hashes(self.conn, self.kind, self._pending)
        # Each record that names one of our people counts; a person listed twice is one member.
        self.matched_records += sum(1 for h in self._pending if h in found)
        self.matched_people.update(found.values())
        self._pending.clear()


def csv_records(lines: Iterable[str]) -> Iterator[str]:
    """The first column of each row; a first row that is a column name is skipped; blank rows too."""
    first = True
    for row in csv.reader(lines):
        if not row or not row[0].strip():
            continue
        value = row[0].strip()
        if first and value.lower() in _HEADERS:
            first = False
            continue
        first = False
        yield value


def decode_lines(chunks: Iterable[bytes]) -> Iterator[str]:
    """UTF-8 lines from a byte stream (a BOM is dropped), without holding the whole body."""
    decoder = io.IncrementalNewlineDecoder(None, translate=True)
    text_decoder = codecs.getincrementaldecoder("utf-8-sig")()
    buffer = ""
    try:
        for chunk in chunks:
            buffer += decoder.decode(text_decoder.decode(chunk))
            *lines, buffer = buffer.split("\n")
            yield from lines
        buffer += decoder.decode(text_decoder.decode(b"", final=True), final=True)
    except UnicodeDecodeError as exc:
        raise MalformedBody("the list is not UTF-8 text: save the CSV as UTF-8") from exc
    if buffer:
        yield buffer


class SavedList(TypedDict):
    """An upload's counts (records matched, invalid records: the first few) and its audience."""

    id: int
    uploaded: int
    matched: int
    invalid: int
    errors: list[InvalidRecord]
    audience_id: int
    audience: audiences.AudiencePublic


def save(
    conn: Connection,
    consent: ConsentService,
    ad_account_id: int,
    matcher: MatchResult,
    name: str,
    now: datetime,
    mode: str = "plain",
) -> SavedList:
    """Record the upload's counts and make its audience (members: matched people consent allows)."""
    audience = audiences.create_from_people(
        conn,
        consent,
        ad_account_id,
        name or f"Customer list ({matcher.kind.value})",
        {"list_kind": matcher.kind.value, "mode": mode},
        matcher.matched_people,
        now,
    )
    list_id = inserted_id(
        conn.execute(
            insert(customer_lists).values(
                ad_account_id=ad_account_id,
                kind=matcher.kind.value,
                mode=mode,
                uploaded=matcher.uploaded,
                matched=matcher.matched_records,
                audience_id=audience.id,
                created_at=now,
            )
        )
    )
    matches = [{"customer_list_id": list_id, "user_id": uid} for uid in sorted(matcher.matched_people)]
    for start in range(0, len(matches), 5000):
        conn.execute(insert(customer_list_matches), matches[start : start + 5000])
    return {
        "id": int(list_id),
        "uploaded": matcher.uploaded,
        "matched": matcher.matched_records,
        "invalid": matcher.invalid,
        "errors": matcher.errors,
        "audience_id": audience.id,
        "audience": audience.public(),
    }


class ListMatch(TypedDict):
    """A customer list that named a person (never the list itself)."""

    customer_list_id: int
    ad_account_id: int
    kind: str
    mode: str
    uploaded_at: str  # ISO 8601


def lists_that_matched(conn: Connection, user_id: int) -> list[ListMatch]:
    """The customer lists that named this person (privacy center and export), newest first."""
    c = customer_lists.c
    rows = conn.execute(
        select(c.id, c.ad_account_id, c.kind, c.mode, c.created_at)
        .join(customer_list_matches, customer_list_matches.c.customer_list_id == c.id)
        .where(customer_list_matches.c.user_id == user_id)
        .order_by(c.created_at.desc(), c.id.desc())
    )
    return [
        {
            "customer_list_id": int(r.id),
            "ad_account_id": int(r.ad_account_id),
            "kind": r.kind,
            "mode": r.mode,
            "uploaded_at": r.created_at.isoformat(),
        }
        for r in rows
    ]


def erase_matches(conn: Connection, user_id: int) -> int:
    return conn.execute(
        delete(customer_list_matches).where(customer_list_matches.c.user_id == user_id)
    ).rowcount


# --- private set intersection (identity.psi): the platform's two steps ------------------------------

PSI_SESSION_TTL = timedelta(hours=1)


class PsiRound1(TypedDict):
    session_id: str
    kind: str
    count: int
    points: str  # base64 (psi.encode) of the sorted points
    expires_at: str  # ISO 8601


def psi_start(
    conn: Connection,
    round1: tuple[list[int], list[bytes], bytes],
    ad_account_id: int,
    kind: IdentifierKind,
    name: str,
    now: datetime,
) -> PsiRound1:
    """Round 1: `round1` is everyone's identifier of this kind blinded with the platform's secret
    (IdentityService.blinded_people, computed outside the write transaction); it is sent in the
    order of the points' values (a shuffle) that is kept (with the secret) until round 2."""
    refuse_control_characters(name, "name")  # refused now, not after both rounds (the audience's name)
    user_ids, points, secret = round1
    packed = b"".join(points)
    order = psi.value_order(packed)  # a shuffle: see psi.value_order
    session_id = secrets.token_hex(16)
    conn.execute(
        insert(psi_sessions).values(
            id=session_id,
            ad_account_id=ad_account_id,
            kind=kind.value,
            name=name,
            secret=secret,
            people=np.asarray(user_ids, dtype="<i8")[order].tobytes(),
            created_at=now,
            expires_at=now + PSI_SESSION_TTL,
        )
    )
    return {
        "session_id": session_id,
        "kind": kind.value,
        "count": len(user_ids),
        "points": psi.encode(psi.sort_points(packed)),
        "expires_at": (now + PSI_SESSION_TTL).isoformat(),
    }


@dataclass(frozen=True)
class PsiSession:
    id: str
    kind: IdentifierKind
    name: str
    secret: bytes
    people: np.ndarray  # user ids, in the order round 1 sent their points


def psi_session(conn: Connection, ad_account_id: int, session_id: str, now: datetime) -> PsiSession:
    row = conn.execute(
        select(psi_sessions).where(
            psi_sessions.c.id == session_id, psi_sessions.c.ad_account_id == ad_account_id
        )
    ).first()
    if row is None or row.expires_at <= now:
        raise NotFound(
            "no such private-set-intersection session (or it expired); start again", field="session_id"
        )
    return PsiSession(
        row.id, IdentifierKind(row.kind), row.name, bytes(row.secret), np.frombuffer(row.people, dtype="<i8")
    )


def psi_match(session: PsiSession, records: bytes, people_points: bytes, blinder: psi.Blinder) -> MatchResult:
    """Round 2's computation (no database): which of the session's people are on the list."""
    if len(people_points) != len(session.people) * psi.POINT_BYTES:
        raise InvalidInput(
            f"people must hold {len(session.people)} points, in the order they were sent", field="people"
        )
    uploaded = len(records) // psi.POINT_BYTES
    if uploaded == 0:
        raise InvalidInput("the list has no records", field="records")
    if uploaded > MAX_RECORDS:
        raise PayloadTooLarge(f"a customer list has at most {MAX_RECORDS:,} records")
    positions = psi.platform_matches(session.secret, records, people_points, blinder)
    return MatchResult(session.kind, uploaded, len(positions), {int(session.people[i]) for i in positions})


def psi_finish(
    conn: Connection,
    consent: ConsentService,
    ad_account_id: int,
    session: PsiSession,
    result: MatchResult,
    now: datetime,
) -> SavedList:
    """Round 2's write: forget the session (once: a concurrent finish of the same session gets 404) and
    make the audience."""
    gone = conn.execute(
        delete(psi_sessions).where(
            psi_sessions.c.id == session.id, psi_sessions.c.ad_account_id == ad_account_id
        )
    ).rowcount
    if gone != 1:
        raise NotFound("this private-set-intersection session was already used", field="session_id")
    return save(conn, consent, ad_account_id, result, session.name, now, mode="psi")


def sweep_psi_sessions(conn: Connection, now: datetime) -> int:
    return conn.execute(delete(psi_sessions).where(psi_sessions.c.expires_at <= now)).rowcount
