"""Advertisers, ad accounts and the API tokens that act for exactly one ad account."""

from __future__ import annotations

import re
import secrets
import unicodedata
import zoneinfo
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any, TypedDict

import pycountry
from sqlalchemy import Connection, insert, select, update

from tastegraph.ads.tables import ad_accounts, ad_tokens, advertisers
from tastegraph.kernel import InvalidInput, NotFound
from tastegraph.kernel.ids import sha256_hex
from tastegraph.kernel.tables import inserted_id
from tastegraph.kernel.urls import site_name

TOKEN_PREFIX = "tgad_"
DEFAULT_CURRENCY = "USD"
DEFAULT_TIMEZONE = "UTC"


def currency_code(value: str, field: str = "currency") -> str:
    """An ISO 4217 currency code (pycountry's list), upper-cased."""
    code = value.strip().upper()
    if not re.fullmatch(r"[A-Z]{3}", code) or pycountry.currencies.get(alpha_3=code) is None:
        raise InvalidInput("the currency must be an ISO 4217 code such as USD or EUR", field=field)
    return code


def timezone_name(value: str, field: str = "timezone") -> str:
    """An IANA time zone name such as Europe/Berlin (the system's tz database)."""
    name = value.strip()
    if name not in _zones():
        raise InvalidInput("the time zone must be an IANA name such as America/New_York", field=field)
    return name


@cache
def _zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones()) | {"UTC"}


class AdAccountJson(TypedDict):
    id: int
    name: str
    tag_id: str
    website_domain: str | None
    currency: str  # ISO 4217: money is in micro-units of it
    timezone: str  # IANA: the account's "day" for budgets and frequency caps
    created_at: str  # ISO 8601


class TokenRow(TypedDict):
    """An API token as listed: never its value."""

    id: int
    prefix: str
    label: str
    created_at: str  # ISO 8601
    revoked_at: str | None


@dataclass(frozen=True)
class AdAccount:
    id: int
    advertiser_id: int
    name: str
    tag_id: str
    website_domain: str | None
    created_at: datetime
    currency: str = DEFAULT_CURRENCY
    timezone: str = DEFAULT_TIMEZONE

    def as_dict(self) -> AdAccountJson:
        return {
            "id": self.id,
            "name": self.name,
            "tag_id": self.tag_id,
            "website_domain": self.website_domain,
            "currency": self.currency,
            "timezone": self.timezone,
            "created_at": self.created_at.isoformat(),
        }


@dataclass(frozen=True)
class NewToken:
    id: int
    token: str  # shown once; only its hash is stored


def refuse_control_characters(text: str, field: str) -> None:
    """Names and labels are text a person typed: NUL and other control characters are refused (and
    PostgreSQL could not store NUL)."""
    if not text.isprintable() and any(unicodedata.category(ch) == "Cc" and not ch.isspace() for ch in text):
        raise InvalidInput("control characters (such as NUL) are not allowed", field=field)


def clean_name(name: str, field: str = "name") -> str:
    refuse_control_characters(name, field)
    text = " ".join(name.split())
    if not text:
        raise InvalidInput("give a name", field=field)
    if len(text) > 120:
        raise InvalidInput("a name is at most 120 characters", field=field)
    return text


def create_account(
    conn: Connection,
    name: str,
    now: datetime,
    *,
    owner_user_id: int | None = None,
    website: str | None = None,
    tag_id: str | None = None,
    currency: str = DEFAULT_CURRENCY,
    timezone: str = DEFAULT_TIMEZONE,
) -> tuple[AdAccount, NewToken]:
    """A new advertiser with one ad account and its first API token. The currency and time zone are
    fixed from then on (budgets and spend are kept in them)."""
    clean = clean_name(name)
    domain = site_name(website, field="website") if website else None
    money = currency_code(currency)
    zone = timezone_name(timezone)
    advertiser_id = inserted_id(
        conn.execute(insert(advertisers).values(name=clean, owner_user_id=owner_user_id, created_at=now))
    )
    account_id = inserted_id(
        conn.execute(
            insert(ad_accounts).values(
                advertiser_id=advertiser_id,
                name=clean,
                tag_id=tag_id or secrets.token_hex(8),
                website_domain=domain,
                currency=money,
                timezone=zone,
                created_at=now,
            )
        )
    )
    token = create_token(conn, int(account_id), now, label="first token")
    return get_account(conn, int(account_id)), token


def create_token(conn: Connection, ad_account_id: int, now: datetime, label: str = "") -> NewToken:
    get_account(conn, ad_account_id)
    refuse_control_characters(label, "label")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token_id = inserted_id(
        conn.execute(
            insert(ad_tokens).values(
                ad_account_id=ad_account_id,
                token_hash=sha256_hex(token),
                prefix=token[: len(TOKEN_PREFIX) + 4],
                label=label[:80],
                created_at=now,
            )
        )
    )
    return NewToken(int(token_id), token)


def revoke_token(conn: Connection, ad_account_id: int, token_id: int, now: datetime) -> None:
    n = conn.execute(
        update(ad_tokens)
        .where(
            ad_tokens.c.id == token_id,
            ad_tokens.c.ad_account_id == ad_account_id,
            ad_tokens.c.revoked_at.is_(None),
        )
        .values(revoked_at=now)
    ).rowcount
    if n == 0:
        raise NotFound("no such active token on this ad account", field="token_id")


def list_tokens(conn: Connection, ad_account_id: int) -> list[TokenRow]:
    rows = conn.execute(
        select(ad_tokens).where(ad_tokens.c.ad_account_id == ad_account_id).order_by(ad_tokens.c.id)
    ).mappings()
    return [
        {
            "id": r["id"],
            "prefix": r["prefix"],
            "label": r["label"],
            "created_at": r["created_at"].isoformat(),
            "revoked_at": None if r["revoked_at"] is None else r["revoked_at"].isoformat(),
        }
        for r in rows
    ]


def account_for_token(conn: Connection, token: str) -> int | None:
    """The ad account an active token acts for, or None."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    found = conn.execute(
        select(ad_tokens.c.ad_account_id).where(
            ad_tokens.c.token_hash == sha256_hex(token), ad_tokens.c.revoked_at.is_(None)
        )
    ).scalar_one_or_none()
    return None if found is None else int(found)


_TAG_ID = re.compile(r"[0-9A-Za-z_-]{1,32}")


def account_for_tag(conn: Connection, tag_id: str) -> int | None:
    if _TAG_ID.fullmatch(tag_id) is None:  # tag ids we issue are short and plain (NUL cannot be queried)
        return None
    found = conn.execute(select(ad_accounts.c.id).where(ad_accounts.c.tag_id == tag_id)).scalar_one_or_none()
    return None if found is None else int(found)


def _account(row: Any) -> AdAccount:
    return AdAccount(
        int(row.id),
        int(row.advertiser_id),
        row.name,
        row.tag_id,
        row.website_domain,
        row.created_at,
        row.currency,
        row.timezone,
    )


def get_account(conn: Connection, ad_account_id: int) -> AdAccount:
    row = conn.execute(select(ad_accounts).where(ad_accounts.c.id == ad_account_id)).first()
    if row is None:
        raise NotFound("no such ad account")
    return _account(row)


def accounts_owned_by(conn: Connection, user_id: int) -> list[AdAccount]:
    rows = conn.execute(
        select(ad_accounts)
        .join(advertisers, advertisers.c.id == ad_accounts.c.advertiser_id)
        .where(advertisers.c.owner_user_id == user_id)
        .order_by(ad_accounts.c.id)
    )
    return [_account(r) for r in rows]


def owns(conn: Connection, user_id: int, ad_account_id: int) -> bool:
    return any(a.id == ad_account_id for a in accounts_owned_by(conn, user_id))


def names(conn: Connection, ad_account_ids: list[int]) -> dict[int, str]:
    if not ad_account_ids:
        return {}
    rows = conn.execute(
        select(ad_accounts.c.id, ad_accounts.c.name).where(ad_accounts.c.id.in_(ad_account_ids))
    )
    return {int(r.id): r.name for r in rows}


# --- personal data: the person who manages an advertiser --------------------------------------------


def export(conn: Connection, user_id: int) -> list[AdAccountJson]:
    return [a.as_dict() for a in accounts_owned_by(conn, user_id)]


def erase(conn: Connection, user_id: int) -> int:
    """The advertiser stays (its data is the advertiser's); it just loses its manager."""
    return conn.execute(
        update(advertisers).where(advertisers.c.owner_user_id == user_id).values(owner_user_id=None)
    ).rowcount
