"""The cookies both HTTP adapters (the API and the pages) read and set: the session, the browser id (a
first-party cookie the save button also sends from other sites), the signed-out choice, the device
cookie; who the request says it is (`visitor_of`); and the account use cases' results as cookies."""

from __future__ import annotations

from fastapi import Request, Response

from tastegraph.bootstrap import System
from tastegraph.usecases import accounts as account_cases
from tastegraph.usecases import offsite
from tastegraph.usecases.callers import (
    BROWSER_COOKIE,
    DEVICE_COOKIE,
    OPT_OUT_COOKIE,
    SESSION_COOKIE,
    Caller,
    RequestSignals,
    Visitor,
    valid_browser_id,
)


def visitor_of(request: Request) -> Visitor:
    return Visitor(
        request.cookies.get(SESSION_COOKIE),
        valid_browser_id(read_cross_site_cookie(request, BROWSER_COOKIE)),
        RequestSignals.from_request(
            request.headers, {OPT_OUT_COOKIE: read_cross_site_cookie(request, OPT_OUT_COOKIE) or ""}
        ),
    )


LOCAL_SUFFIX = "_local"


def _https(request: Request, system: System) -> bool:
    return request.url.scheme == "https" or system.settings.cookies_always_secure


def read_cross_site_cookie(request: Request, name: str) -> str | None:
    """A cross-site cookie, or its plain-http twin (see `set_cross_site_cookie`)."""
    return request.cookies.get(name) or request.cookies.get(name + LOCAL_SUFFIX)


def browser_allows(request: Request, system: System) -> bool:
    """This browser's signed-out choice: personalization from sites it visits, unless it opted out (or,
    where consent defaults are opt-in, until it said yes)."""
    return offsite.browser_allows(system, visitor_of(request).signals)


def set_session_cookie(response: Response, request: Request, system: System, token: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=system.settings.session_days * 86400,
        httponly=True,
        secure=_https(request, system),
        samesite="lax",
        path="/",
    )


def set_cross_site_cookie(
    response: Response, request: Request, system: System, name: str, value: str, max_age: int
) -> None:
    """Cookies the save button needs on third-party pages: SameSite=None, which browsers accept only
    with Secure. Over plain http (local development) Secure cookies are kept by browsers on loopback but
    never sent back by non-browser HTTP clients, so a SameSite=Lax twin named `<name>_local` goes along."""
    response.set_cookie(name, value, max_age=max_age, httponly=True, secure=True, samesite="none", path="/")
    if not _https(request, system):
        response.set_cookie(
            name + LOCAL_SUFFIX, value, max_age=max_age, httponly=True, samesite="lax", path="/"
        )


def clear_cookie(response: Response, request: Request, system: System, name: str) -> None:
    response.delete_cookie(name, path="/", httponly=True, secure=_https(request, system), samesite="lax")
    if name != SESSION_COOKIE:
        response.delete_cookie(name, path="/", httponly=True, secure=True, samesite="none")
        response.delete_cookie(name + LOCAL_SUFFIX, path="/", httponly=True, samesite="lax")


def set_browser_cookie(response: Response, request: Request, system: System, browser_id: str) -> None:
    set_cross_site_cookie(response, request, system, BROWSER_COOKIE, browser_id, 400 * 24 * 3600)


# --- off-site visits without third-party cookies (issue 14) ---------------------------------------


def partition_id_of(request: Request) -> str | None:
    """The partitioned cookie (CHIPS) the save button's frame sends from a site, if it is one of ours."""
    return offsite.valid_partition_id(request.cookies.get(offsite.PARTITION_COOKIE))


def set_partition_cookie(response: Response, system: System, partition_id: str) -> None:
    """A cookie the browser keeps apart for each top-level site (`Partitioned`, which needs Secure and
    SameSite=None; Chromium keeps Secure cookies from http://127.0.0.1 and localhost too). It lives no
    longer than the off-site retention window and is never renewed, so a partition is short-lived."""
    # Written by hand: Starlette's `partitioned=` needs Python 3.14's http.cookies. The id is hex.
    age = system.settings.offsite_retention_days * 86400
    response.headers.append(
        "set-cookie",
        f"{offsite.PARTITION_COOKIE}={partition_id}; Max-Age={age}; Path=/; HttpOnly; Secure; "
        "SameSite=None; Partitioned",
    )


def set_device_cookie(response: Response, request: Request, system: System, value: str) -> None:
    """This browser signed in to the account before: it is not held back by that account's lockout."""
    response.set_cookie(
        DEVICE_COOKIE,
        value,
        max_age=365 * 24 * 3600,
        httponly=True,
        secure=_https(request, system),
        samesite="lax",
        path="/",
    )


# --- accounts: the use cases' results as cookies (shared by the API and the pages) -------------------


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def sign_in(
    system: System, request: Request, response: Response, email: str, password: str, caller: Caller
) -> int:
    """usecases.accounts.sign_in, then the session, browser and device cookies on `response`."""
    signed = account_cases.sign_in(
        system,
        email,
        password,
        browser_id=caller.browser_id,
        address=client_address(request),
        device_cookie=request.cookies.get(DEVICE_COOKIE),
    )
    set_session_cookie(response, request, system, signed.session_token)
    set_browser_cookie(response, request, system, signed.browser_id)
    set_device_cookie(response, request, system, signed.device_cookie)
    return signed.user_id


def sign_out(system: System, request: Request, response: Response, caller: Caller) -> None:
    """usecases.accounts.sign_out, then forget the session and the browser id in the browser."""
    account_cases.sign_out(system, caller.session_token, caller.browser_id)
    clear_cookie(response, request, system, SESSION_COOKIE)
    clear_cookie(response, request, system, BROWSER_COOKIE)


def delete_account(system: System, request: Request, response: Response, user_id: int) -> dict[str, int]:
    """usecases.accounts.delete_account; the browser forgets the session and the browser id too, so
    nothing later can be tied to the deleted account's browser."""
    counts = account_cases.delete_account(system, user_id)
    clear_cookie(response, request, system, SESSION_COOKIE)
    clear_cookie(response, request, system, BROWSER_COOKIE)
    return counts


def set_browser_choice(
    system: System, request: Request, response: Response, caller: Caller, allow: bool
) -> None:
    """usecases.offsite.set_browser_choice (logged; unchecking deletes what this browser reported while
    signed out), then the opt-out cookie set or cleared."""
    offsite.set_browser_choice(system, caller, allow, browser_allows(request, system))
    value = offsite.choice_cookie_value(system, allow)
    if value is None:
        clear_cookie(response, request, system, OPT_OUT_COOKIE)
    else:
        set_cross_site_cookie(response, request, system, OPT_OUT_COOKIE, value, 5 * 365 * 86400)
