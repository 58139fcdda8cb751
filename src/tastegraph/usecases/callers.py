"""Who is calling a use case. The adapters build these from what they authenticated (cookies, an API
token, a CLI flag); a use case trusts nothing else about the caller."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import Connection

from tastegraph.bootstrap import System
from tastegraph.consent import OPT_OUT_COOKIE, Decision, Purpose, RequestSignals
from tastegraph.identity import BROWSER_COOKIE, DEVICE_COOKIE, SESSION_COOKIE, valid_browser_id

__all__ = [
    "BROWSER_COOKIE",
    "DEVICE_COOKIE",
    "OPT_OUT_COOKIE",
    "SESSION_COOKIE",
    "AdCaller",
    "Caller",
    "RequestSignals",
    "Visitor",
    "caller_in",
    "offsite_permit",
    "read_as_caller",
    "read_with",
    "resolve_caller",
    "valid_browser_id",
]

T = TypeVar("T")


@dataclass(frozen=True)
class Visitor:
    """Who is asking as the request itself says (cookies and privacy signals), before any lookup."""

    session_token: str | None
    browser_id: str | None
    signals: RequestSignals


@dataclass
class Caller:
    """A visitor after the lookup: the signed-in person (or None), this browser, and the request's
    consent signals (DNT, GPC, the signed-out opt-out)."""

    user_id: int | None
    browser_id: str | None
    session_token: str | None
    signals: RequestSignals


@dataclass(frozen=True)
class AdCaller:
    """An ad account, authenticated by one of its API tokens or by its owner's session."""

    ad_account_id: int


def caller_in(system: System, conn: Connection, visitor: Visitor) -> Caller | None:
    """The caller, looked up in the use case's own read transaction; None when the request's GPC signal
    must first turn a setting off (a write): then `resolve_caller`, which does that."""
    user_id = system.identity.user_for_session(conn, visitor.session_token, system.clock.now())
    if user_id is not None and system.consent.gpc_changes_settings(conn, user_id, visitor.signals):
        return None
    return Caller(user_id, visitor.browser_id, visitor.session_token, visitor.signals)


def resolve_caller(system: System, visitor: Visitor) -> Caller:
    """Who the visitor is; a GPC signal sent by a signed-in person turns their setting off first
    (docs/privacy.md: a privacy signal changes stored settings only for the person it authenticates)."""
    token, signals = visitor.session_token, visitor.signals
    with system.read() as conn:
        user_id = system.identity.user_for_session(conn, token, system.clock.now())
        gpc_pending = user_id is not None and system.consent.gpc_changes_settings(conn, user_id, signals)
    if gpc_pending and user_id is not None:
        with system.write() as conn:
            system.consent.honor_gpc(conn, user_id, system.clock.now())
    return Caller(user_id, visitor.browser_id, token, signals)


def read_as_caller(system: System, visitor: Visitor, work: Callable[[Connection, Caller], T]) -> T:
    """`work(conn, caller)` in one read transaction that also looks the caller up (one transaction for
    the hot reads); when the request's GPC signal must first turn a setting off, that write happens and
    `work` runs in a fresh read transaction."""
    with system.read() as conn:
        caller = caller_in(system, conn, visitor)
        if caller is not None:
            return work(conn, caller)
    caller = resolve_caller(system, visitor)
    with system.read() as conn:
        return work(conn, caller)


def read_with(system: System, who: Caller | Visitor, work: Callable[[Connection, Caller], T]) -> T:
    """`work` in one read transaction for a resolved caller or a visitor (looked up inside it)."""
    if isinstance(who, Visitor):
        return read_as_caller(system, who, work)
    with system.read() as conn:
        return work(conn, who)


def offsite_permit(system: System, conn: Connection, caller: Caller) -> Decision:
    """The consent decision that gates every read of off-site data for this caller, now."""
    return system.consent.decide(
        conn,
        Purpose.PERSONALIZE_WITH_OFFSITE,
        caller.user_id,
        caller.browser_id,
        caller.signals,
        system.clock.now(),
    )
