"""Normalization and hashing test vectors (identity.normalize): the rules advertisers must follow to
meet our people's hashes, including the tricky cases."""

from __future__ import annotations

import hashlib

import pytest

from tastegraph.identity.normalize import (
    IdentifierKind,
    hashed_identifier,
    is_sha256_hex,
    normalize,
    plain_hash,
)
from tastegraph.kernel import InvalidInput

E, P, X = IdentifierKind.EMAIL, IdentifierKind.PHONE, IdentifierKind.EXTERNAL_ID
FN, LN, CITY = IdentifierKind.FIRST_NAME, IdentifierKind.LAST_NAME, IdentifierKind.CITY


def sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


VALID = [
    # emails: trimmed, lower-cased, NFC; plus signs and dots kept
    (E, "ann@example.com", "ann@example.com"),
    (E, "  Ann.Lee@Example.COM \t", "ann.lee@example.com"),
    (E, "A+Promo@X.COM", "a+promo@x.com"),
    (E, "a.b+c+d@sub.example.co.uk", "a.b+c+d@sub.example.co.uk"),
    (E, "Ünïcode@Exämple.de", "ünïcode@exämple.de"),
    # the same address with combining marks (NFD) meets the precomposed one
    (E, "U\u0308ni\u0308code@Exa\u0308mple.de", "ünïcode@exämple.de"),
    # phones: digits with the country code, no "+", no "00", no trunk zero
    (P, "+1 (650) 555-1234", "16505551234"),
    (P, "+1-650-555-1234", "16505551234"),
    (P, "16505551234", "16505551234"),
    (P, "  +1 650 555 1234  ", "16505551234"),
    (P, "001 650 555 1234", "16505551234"),
    (P, "+44 (0)20 7946 0958", "442079460958"),
    (P, "0044 20 7946 0958", "442079460958"),
    (P, "442079460958", "442079460958"),
    (P, "+49 030 1234567", "49301234567"),
    # Italy keeps its leading zero after the country code: it is part of the number
    (P, "+39 06 6988 0000", "390669880000"),
    (P, "0039 06 69880000", "390669880000"),
    # Arabic-Indic and full-width digits
    (P, "+\u0661 \u0666\u0665\u0660 \u0665\u0665\u0665 \u0661\u0662\u0663\u0664", "16505551234"),
    (P, "\uff0b\uff11\uff16\uff15\uff10\uff15\uff15\uff15\uff11\uff12\uff13\uff14", "16505551234"),
    # names and cities: lower-cased, punctuation and symbols gone, accents kept
    (FN, "  José   María ", "josé maría"),
    (LN, "O'Brien-Smith", "obriensmith"),
    (LN, "MÜLLER", "müller"),
    (CITY, "São Paulo", "sãopaulo"),
    (CITY, "New York, NY", "newyorkny"),
    (CITY, "Zu\u0308rich!", "zürich"),
    # external ids: trimmed, otherwise as is (case kept)
    (X, "  Cust-0042 ", "Cust-0042"),
]


@pytest.mark.parametrize(("kind", "raw", "expected"), VALID)
def test_valid_values_normalize_and_hash(kind: IdentifierKind, raw: str, expected: str) -> None:
    assert normalize(kind, raw) == expected
    assert plain_hash(kind, raw) == sha(expected)
    assert hashed_identifier(kind, raw) == sha(expected)


INVALID = [
    (E, "not-an-email"),
    (E, "a@b"),
    (E, "a b@c.de"),
    (E, "a@@b.de"),
    (E, "x@y.co."),
    (E, ""),
    (E, "   "),
    (E, "a" * 320 + "@x.com"),
    # control characters and lone surrogates (from JSON "\\ud800") are not text: refused, not a crash
    (E, "an\x00n@example.com"),
    (E, "\ud800@example.com"),
    (X, "cust\x00-1"),
    # no country code: refused, never guessed
    (P, "(650) 555-1234"),
    (P, "650-555-1234"),
    # a national number with its trunk zero and no country code
    (P, "020 7946 0958"),
    (P, "+1 555"),
    (P, "+"),
    (P, "call me"),
    (P, "+1 650 555 1234\x00"),
    (P, ""),
    (FN, "!!!"),
    (CITY, "  ,. "),
    (X, "   "),
]


@pytest.mark.parametrize(("kind", "raw"), INVALID)
def test_invalid_values_are_refused_with_the_field(kind: IdentifierKind, raw: str) -> None:
    assert normalize(kind, raw) is None
    with pytest.raises(InvalidInput) as err:
        hashed_identifier(kind, raw, field="user_data.em[0]")
    assert err.value.field == "user_data.em[0]"
    with pytest.raises(InvalidInput):
        plain_hash(kind, raw)


def test_hashes_are_taken_as_sent_and_lower_cased() -> None:
    digest = sha("ann@example.com")
    assert hashed_identifier(E, digest) == digest
    assert hashed_identifier(E, digest.upper()) == digest
    assert hashed_identifier(P, " " + digest.upper() + " ") == digest
    assert is_sha256_hex(digest.upper())
    # 63 or 65 hex digits, or a non-hex letter, is not a hash, and not an email either
    for bad in (digest[:-1], digest + "a", "g" + digest[1:]):
        assert not is_sha256_hex(bad)
        with pytest.raises(InvalidInput):
            hashed_identifier(E, bad)


def test_plain_hash_never_takes_a_value_as_already_hashed() -> None:
    # Our own people's identifiers are always plain: a 64-hex "email" is not an email.
    with pytest.raises(InvalidInput):
        plain_hash(E, sha("x@y.de"))


def test_non_strings_are_refused() -> None:
    for value in (None, 5, ["a@b.co"], b"a@b.co"):
        with pytest.raises(InvalidInput):
            hashed_identifier(E, value, field="em")


def test_equivalent_spellings_meet_on_one_hash() -> None:
    phones = ["+44 (0)20 7946 0958", "0044 20 7946 0958", "+44 20 7946 0958", "442079460958"]
    assert len({hashed_identifier(P, p) for p in phones}) == 1
    emails = [" ANN@example.com", "ann@EXAMPLE.com ", sha("ann@example.com").upper()]
    assert len({hashed_identifier(E, e) for e in emails}) == 1
    # ...and a plus address is its own address
    assert hashed_identifier(E, "ann+x@example.com") != hashed_identifier(E, "ann@example.com")
