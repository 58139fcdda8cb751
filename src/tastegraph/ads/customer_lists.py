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
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert

from tastegraph.ads import audiences
from tastegraph.ads.tables import customer_lists
from tastegraph.consent import ConsentService
from tastegraph.identity import IdentifierKind, IdentityService, is_sha256_hex, plain_hash
from tastegraph.kernel import InvalidInput, PayloadTooLarge
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


@dataclass
class Matcher:
    """Hashes, checks and matches records chunk by chunk; remembers only counts and matched people."""

    conn: Connection
    identity: IdentityService
    kind: IdentifierKind
    hashed: bool
    uploaded: int = 0
    invalid: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
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
    for chunk in chunks:
        buffer += decoder.decode(text_decoder.decode(chunk))
        *lines, buffer = buffer.split("\n")
        yield from lines
    buffer += decoder.decode(text_decoder.decode(b"", final=True), final=True)
    if buffer:
        yield buffer


def save(
    conn: Connection,
    consent: ConsentService,
    ad_account_id: int,
    matcher: Matcher,
    name: str,
    now: datetime,
    mode: str = "plain",
) -> dict[str, Any]:
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
    return {
        "id": int(list_id),
        "uploaded": matcher.uploaded,
        "matched": matcher.matched_records,
        "invalid": matcher.invalid,
        "errors": matcher.errors,
        "audience_id": audience.id,
        "audience": audience.public(),
    }
