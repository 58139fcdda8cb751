"""Who is calling a use case. The adapters build these from what they authenticated (cookies, an API
token, a CLI flag); a use case trusts nothing else about the caller."""

from __future__ import annotations

from dataclasses import dataclass

from tastegraph.consent import RequestSignals


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
