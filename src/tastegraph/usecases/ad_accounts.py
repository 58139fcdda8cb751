"""Advertisers and their ad accounts: creating one (for a signed-in person, who owns it), the account and
its API tokens, who an API token or an owner's session acts for, and the overview the advertiser pages
show. A token's value is shown once, when it is made; only its hash is kept."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from tastegraph.ads import accounts, audiences
from tastegraph.ads.accounts import AdAccount, NewToken, TokenRow
from tastegraph.bootstrap import System
from tastegraph.collect import advertiser_events
from tastegraph.kernel import NotFound, Unauthenticated
from tastegraph.measure import settings as measurement
from tastegraph.usecases.advertiser_events import EventCount, event_counts
from tastegraph.usecases.audiences import AudienceView
from tastegraph.usecases.callers import AdCaller, Caller

OVERVIEW_DAYS = 30  # the event counts the advertiser pages show


@dataclass(frozen=True)
class TokenView:
    """An API token as listed: never its value."""

    id: int
    prefix: str  # the first characters, to tell tokens apart
    label: str
    created_at: str  # ISO 8601
    revoked_at: str | None


@dataclass(frozen=True)
class NewAdvertiser:
    account: AdAccount
    token: NewToken  # the account's first API token


@dataclass(frozen=True)
class AdAccountOverview:
    account: AdAccount
    tokens: list[TokenView]
    audiences: list[AudienceView]
    events: list[EventCount]  # the last OVERVIEW_DAYS


def _signed_in(caller: Caller) -> int:
    if caller.user_id is None:
        raise Unauthenticated("sign in first")
    return caller.user_id


def _tokens(rows: list[TokenRow]) -> list[TokenView]:
    return [TokenView(r["id"], r["prefix"], r["label"], r["created_at"], r["revoked_at"]) for r in rows]


# --- who acts for an ad account ---------------------------------------------------------------------


def ad_caller_for_token(system: System, token: str) -> AdCaller | None:
    """The ad account an active API token acts for, or None (unknown or revoked)."""
    with system.read() as conn:
        account_id = accounts.account_for_token(conn, token)
    return None if account_id is None else AdCaller(account_id)


def ad_caller_for_owner(system: System, caller: Caller, ad_account_id: int) -> AdCaller:
    """The ad account, acted for by the signed-in person who owns it; NotFound when they do not (so
    another owner's account looks like no account at all)."""
    user_id = _signed_in(caller)
    with system.read() as conn:
        if not accounts.owns(conn, user_id, ad_account_id):
            raise NotFound("no such ad account among yours")
    return AdCaller(ad_account_id)


# --- advertisers, accounts and tokens -----------------------------------------------------------------


def create_advertiser(
    system: System,
    caller: Caller | None,
    name: str,
    website: str | None,
    currency: str = accounts.DEFAULT_CURRENCY,
    timezone: str = accounts.DEFAULT_TIMEZONE,
) -> NewAdvertiser:
    """A new advertiser with one ad account and its first API token, managed by the signed-in person
    who creates it (`caller`), or by nobody here when the operator's CLI creates it (None). Raises
    InvalidInput for a bad name, website, currency (ISO 4217) or time zone (IANA)."""
    user_id = None if caller is None else _signed_in(caller)
    with system.write() as conn:
        account, token = accounts.create_account(
            conn,
            name,
            system.clock.now(),
            owner_user_id=user_id,
            website=website,
            currency=currency,
            timezone=timezone,
        )
    return NewAdvertiser(account, token)


def ad_account(system: System, caller: AdCaller) -> AdAccount:
    with system.read() as conn:
        return accounts.get_account(conn, caller.ad_account_id)


def ad_account_view(system: System, caller: AdCaller) -> dict[str, Any]:
    """The account as GET /v1/ad_accounts/{id} shows it: with its attribution windows and how its
    reports protect people (measure.settings)."""
    with system.read() as conn:
        account = accounts.get_account(conn, caller.ad_account_id)
        measured = measurement.get(conn, caller.ad_account_id)
    return {**account.as_dict(), **measured.as_dict()}


def update_ad_account(
    system: System, caller: AdCaller, *, attribution: dict[str, Any] | None, privacy: str | None
) -> dict[str, Any]:
    """PATCH /v1/ad_accounts/{id}: change the attribution windows and/or the report privacy mode (only
    the fields given; reports computed from now on follow them)."""
    with system.write() as conn:
        account = accounts.get_account(conn, caller.ad_account_id)
        measured = measurement.update(
            conn, caller.ad_account_id, attribution=attribution, privacy=privacy, now=system.clock.now()
        )
    return {**account.as_dict(), **measured.as_dict()}


def list_tokens(system: System, caller: AdCaller) -> list[TokenView]:
    with system.read() as conn:
        return _tokens(accounts.list_tokens(conn, caller.ad_account_id))


def create_token(system: System, caller: AdCaller, label: str = "") -> NewToken:
    """Another API token for the account; its value is in the result only."""
    with system.write() as conn:
        return accounts.create_token(conn, caller.ad_account_id, system.clock.now(), label)


def revoke_token(system: System, caller: AdCaller, token_id: int) -> None:
    """The token stops working at once. Raises NotFound for a token not active on this account."""
    with system.write() as conn:
        accounts.revoke_token(conn, caller.ad_account_id, token_id, system.clock.now())


def advertiser_overview(system: System, caller: Caller) -> list[AdAccountOverview]:
    """Every ad account the signed-in person owns, with its tokens, audiences and recent event counts,
    in one read transaction."""
    user_id = _signed_in(caller)
    since = system.clock.now() - timedelta(days=OVERVIEW_DAYS)
    out = []
    with system.read() as conn:
        for account in accounts.accounts_owned_by(conn, user_id):
            out.append(
                AdAccountOverview(
                    account,
                    _tokens(accounts.list_tokens(conn, account.id)),
                    [AudienceView.of(a) for a in audiences.list_for(conn, account.id)],
                    event_counts(advertiser_events.summary(conn, account.id, since)),
                )
            )
    return out
