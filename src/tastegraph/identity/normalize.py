"""Normalizing and hashing personal identifiers: the one place these rules live.

Advertisers send emails, phone numbers and their own customer ids either already SHA-256 hashed (64 hex
digits of the hash of the *normalized* value) or in plain text; plain values are normalized and hashed
here on arrival and never stored. Our own people's identifiers are hashed by the same functions, so the
two sides meet on equal hashes.

Rules (docs/api.md, "Normalization"):

* email: Unicode NFC, surrounding white space trimmed, lower-cased. Must look like `local@domain.tld`
  (one "@", no white space inside). Plus signs and dots are kept: "a+b@x.com" is its own address.
* phone: digits only, with the country code and without a leading "+" or "00" and without the national
  trunk prefix ("+44 (0)20 7946 0958" -> "442079460958"). A number must say its country ("+1 ...",
  "001 ...", or digits that start with a country code) and be a valid number for it; "(650) 555-1234"
  alone is refused rather than guessed.
* first/last name and city: NFC, lower-cased, punctuation and symbols removed; names keep inner spaces
  collapsed to one, cities lose all spaces. Accented letters are kept (UTF-8).
* external id (the advertiser's own customer id): surrounding white space trimmed, otherwise as is.

A value that is 64 hexadecimal digits is taken as already hashed (and lower-cased); anything else must be
valid plain input or the field is refused.
"""

from __future__ import annotations

import re
import unicodedata
from enum import StrEnum

import phonenumbers

from tastegraph.kernel import InvalidInput
from tastegraph.kernel.ids import sha256_hex


class IdentifierKind(StrEnum):
    EMAIL = "email"
    PHONE = "phone"
    EXTERNAL_ID = "external_id"
    FIRST_NAME = "first_name"
    LAST_NAME = "last_name"
    CITY = "city"


_SHA256_HEX = re.compile(r"[0-9a-fA-F]{64}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")
MAX_PLAIN_LENGTH = 320


def is_sha256_hex(value: str) -> bool:
    return _SHA256_HEX.fullmatch(value.strip()) is not None


def normalize_email(value: str) -> str | None:
    text = unicodedata.normalize("NFC", value).strip().lower()
    return text if len(text) <= MAX_PLAIN_LENGTH and _EMAIL.fullmatch(text) else None


def normalize_phone(value: str) -> str | None:
    text = unicodedata.normalize("NFKC", value).strip()
    if not text:
        return None
    if text.startswith("00"):
        text = "+" + text[2:]
    elif not text.startswith("+"):
        # Digits without "+": they must already start with the country code.
        text = "+" + text
    try:
        number = phonenumbers.parse(text, None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164).lstrip("+")


def _letters_only(value: str) -> str:
    text = unicodedata.normalize("NFC", value).lower()
    kept = (" " if ch.isspace() else ch for ch in text if not unicodedata.category(ch).startswith(("P", "S")))
    return " ".join("".join(kept).split())


def normalize_name(value: str) -> str | None:
    text = _letters_only(value)
    return text if text and len(text) <= MAX_PLAIN_LENGTH else None


def normalize_city(value: str) -> str | None:
    text = _letters_only(value).replace(" ", "")
    return text if text and len(text) <= MAX_PLAIN_LENGTH else None


def normalize_external_id(value: str) -> str | None:
    text = value.strip()
    return text if text and len(text) <= MAX_PLAIN_LENGTH else None


_NORMALIZERS = {
    IdentifierKind.EMAIL: normalize_email,
    IdentifierKind.PHONE: normalize_phone,
    IdentifierKind.EXTERNAL_ID: normalize_external_id,
    IdentifierKind.FIRST_NAME: normalize_name,
    IdentifierKind.LAST_NAME: normalize_name,
    IdentifierKind.CITY: normalize_city,
}

_WHAT = {
    IdentifierKind.EMAIL: "an email address",
    IdentifierKind.PHONE: "a phone number with its country code",
    IdentifierKind.EXTERNAL_ID: "an id",
    IdentifierKind.FIRST_NAME: "a name",
    IdentifierKind.LAST_NAME: "a name",
    IdentifierKind.CITY: "a city",
}


def normalize(kind: IdentifierKind, value: str) -> str | None:
    """The normalized plain value, or None when `value` is not valid input of this kind."""
    if not value.isprintable() and any(unicodedata.category(ch) in ("Cc", "Cs") for ch in value.strip()):
        return None  # control characters (NUL...) or lone surrogates: not text anyone typed, not hashable
    return _NORMALIZERS[kind](value)


def hashed_identifier(kind: IdentifierKind, value: object, *, field: str | None = None) -> str:
    """A lower-case SHA-256 hex digest: `value` as sent if it already is one, else of its normal form.

    Raises InvalidInput (naming `field`) for a value that is neither.
    """
    if not isinstance(value, str):
        raise InvalidInput(f"expected a string: {_WHAT[kind]} or its SHA-256 hex digest", field=field)
    if is_sha256_hex(value):
        return value.strip().lower()
    plain = normalize(kind, value)
    if plain is None:
        raise InvalidInput(f"not {_WHAT[kind]} and not a SHA-256 hex digest", field=field)
    return sha256_hex(plain)


def plain_hash(kind: IdentifierKind, value: str, *, field: str | None = None) -> str:
    """Hash a value that is known to be plain (our own people's identifiers): never taken as a hash."""
    plain = normalize(kind, value)
    if plain is None:
        raise InvalidInput(f"not {_WHAT[kind]}", field=field)
    return sha256_hex(plain)
