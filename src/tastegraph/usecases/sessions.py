"""Who is asking: the visitor a request describes (its cookies and privacy headers) and the caller after
the session lookup. Framework-free, so the API (`api.context`) and the pages (`web.context`) resolve a
caller the same way from their own request objects."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import Connection

from tastegraph.bootstrap import System
from tastegraph.consent import OPT_OUT_COOKIE, RequestSignals
from tastegraph.identity import BROWSER_COOKIE, SESSION_COOKIE, valid_browser_id
from tastegraph.usecases.callers import Caller, Visitor

# Over plain http a cross-site cookie has a SameSite=Lax twin (api.context.set_cross_site_cookie).
LOCAL_SUFFIX = "_local"


def cross_site_cookie(cookies: Mapping[str, str], name: str) -> str | None:
    """A cross-site cookie, or its plain-http twin `<name>_local`."""
    return cookies.get(name) or cookies.get(name + LOCAL_SUFFIX)


def visitor_from(headers: Mapping[str, str], cookies: Mapping[str, str]) -> Visitor:
    """The visitor as the request says: session cookie, a well-formed browser id, and the consent
    signals (DNT, GPC, the signed-out opt-out cookie)."""
    return Visitor(
        cookies.get(SESSION_COOKIE),
        valid_browser_id(cross_site_cookie(cookies, BROWSER_COOKIE)),
        RequestSignals.from_request(
            headers, {OPT_OUT_COOKIE: cross_site_cookie(cookies, OPT_OUT_COOKIE) or ""}
        ),
    )


def caller_in(system: System, conn: Connection, visitor: Visitor) -> Caller | None:
    """The caller, looked up in the route's own read transaction; None when the request's GPC signal
    must first turn a setting off (a write): then use `resolve_caller`, which does that."""
    user_id = system.identity.user_for_session(conn, visitor.session_token, system.clock.now())
    if user_id is not None and system.consent.gpc_changes_settings(conn, user_id, visitor.signals):
        return None
    return Caller(user_id, visitor.browser_id, visitor.session_token, visitor.signals)


def resolve_caller(system: System, visitor: Visitor) -> Caller:
    """The caller in a transaction of its own; a signed-in person's browser sending GPC turns their
    sharing setting off first (logged in the consent ledger)."""
    token, signals = visitor.session_token, visitor.signals
    with system.read() as conn:
        user_id = system.identity.user_for_session(conn, token, system.clock.now())
        gpc_pending = user_id is not None and system.consent.gpc_changes_settings(conn, user_id, signals)
    if gpc_pending and user_id is not None:
        with system.write() as conn:
            system.consent.honor_gpc(conn, user_id, system.clock.now())
    return Caller(user_id, visitor.browser_id, token, signals)
