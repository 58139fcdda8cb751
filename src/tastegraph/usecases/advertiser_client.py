"""The advertiser's side of a customer-list upload, run on the advertiser's own machine
(`tastegraph customer-list`): read the file, normalize and hash every value before anything is sent,
and, with private set intersection, blind the hashes so the platform never sees them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tastegraph.ads.customer_lists import csv_records, kind_of
from tastegraph.identity import hashed_identifier, plain_hash, psi
from tastegraph.kernel import TastegraphError

__all__ = ["hashed_records", "psi_decode", "psi_encode", "psi_round"]

psi_round = psi.advertiser_round
psi_encode = psi.encode
psi_decode = psi.decode


def hashed_records(
    path: Path, kind: str, hashed: bool, skipped: Callable[[TastegraphError], None]
) -> list[str]:
    """A customer file (one value per line or a CSV's first column) as SHA-256 hex digests; a value
    that is not a valid email or phone number (or, with `hashed`, not a SHA-256 hex digest) is passed to
    `skipped` and left out."""
    identifier = kind_of(kind)
    out: list[str] = []
    with path.open(encoding="utf-8-sig", newline="") as handle:
        for i, value in enumerate(csv_records(handle)):
            try:
                if hashed:
                    out.append(hashed_identifier(identifier, value, field=f"line {i + 1}"))
                else:
                    out.append(plain_hash(identifier, value, field=f"line {i + 1}"))
            except TastegraphError as exc:
                skipped(exc)
    return out
