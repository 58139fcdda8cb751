"""Sign-up, sign-in, sign-out, the account itself, settings and the consent ledger."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from tastegraph.api.context import (
    CallerDep,
    SameOriginJson,
    SystemDep,
    UserDep,
    clear_cookie,
    set_browser_cookie,
    set_device_cookie,
    set_session_cookie,
)
from tastegraph.api.openapi_errors import fails_with
from tastegraph.api.schemas import (
    Created,
    LedgerItem,
    LedgerOut,
    SessionOut,
    SettingsOut,
    SettingsPatch,
    SignIn,
    SignUp,
)
from tastegraph.bootstrap import System
from tastegraph.catalog import accounts
from tastegraph.identity import BROWSER_COOKIE, DEVICE_COOKIE, SESSION_COOKIE

router = APIRouter(prefix="/v1", tags=["accounts"], dependencies=[SameOriginJson])


def sign_up(system: System, body: SignUp) -> int:
    # The password is hashed before the transaction opens: tens of milliseconds of CPU must not hold
    # the database's write lock.
    password_hash = accounts.hash_password(body.password)
    with system.write() as conn:
        now = system.clock.now()
        user_id = accounts.create_user(
            conn, body.email, body.password, now, body.display_name, password_hash=password_hash
        )
        system.consent.initialize(conn, user_id, now)
        system.identity.set_identifiers(conn, user_id, now, email=body.email, phone=body.phone)
    return user_id


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def sign_in(
    system: System, request: Request, response: Response, email: str, password: str, browser_id: str | None
) -> int:
    """Check the limits and the password, open a session, and tie this browser to the account.

    The password hash is checked outside any transaction; an attempt over a limit is refused before
    it costs a hash (identity.signin_guard has the policy)."""
    guard = system.signin_guard
    attempt = guard.begin(
        accounts.normalized_or_empty(email), client_address(request), request.cookies.get(DEVICE_COOKIE)
    )
    with system.read() as conn:
        stored = accounts.stored_password(conn, email)
    user_id = accounts.check_password(stored, password)  # Unauthenticated: the attempt stays counted
    guard.succeeded(attempt)
    with system.write() as conn:
        now = system.clock.now()
        token = system.identity.start_session(conn, user_id, now)
        browser_id = system.identity.link(conn, browser_id, user_id, now)
    set_session_cookie(response, request, system, token)
    set_browser_cookie(response, request, system, browser_id)
    set_device_cookie(response, request, system, guard.device_cookie(attempt))
    return user_id


def sign_out(
    system: System, request: Request, response: Response, token: str | None, browser_id: str | None
) -> None:
    """End the session and untie the browser: what it reports from now on is nobody's until someone
    signs in on it, and then under a new browser id (identity.IdentityService.link)."""
    if token or browser_id:
        with system.write() as conn:
            if token:
                system.identity.end_session(conn, token)
            if browser_id:
                system.identity.unlink(conn, browser_id, system.clock.now())
    clear_cookie(response, request, system, SESSION_COOKIE)
    clear_cookie(response, request, system, BROWSER_COOKIE)


@router.post("/users", status_code=201, response_model=Created, summary="Sign up")
@fails_with(409)
def create_user(body: SignUp, system: SystemDep) -> Created:
    return Created(id=sign_up(system, body))


@router.post("/sessions", response_model=SessionOut, summary="Sign in (sets the session cookie)")
@fails_with(401)
def create_session(
    body: SignIn, request: Request, response: Response, system: SystemDep, caller: CallerDep
) -> SessionOut:
    return SessionOut(
        user_id=sign_in(system, request, response, body.email, body.password, caller.browser_id)
    )


@router.delete("/sessions", status_code=204, summary="Sign out")
def delete_session(request: Request, response: Response, system: SystemDep, caller: CallerDep) -> None:
    sign_out(system, request, response, caller.session_token, caller.browser_id)


@router.get("/me", summary="The signed-in account")
def me(system: SystemDep, user_id: UserDep) -> dict[str, object]:
    with system.read() as conn:
        user = accounts.get_user(conn, user_id)
    return {"id": user["id"], "email": user["email"], "display_name": user["display_name"]}


@router.get("/me/settings", response_model=SettingsOut)
def get_settings(system: SystemDep, user_id: UserDep) -> SettingsOut:
    with system.read() as conn:
        return SettingsOut(**system.consent.settings(conn, user_id))


def change_settings(
    system: System, user_id: int, changes: dict[str, object], source: str, browser_id: str | None
) -> dict[str, bool]:
    with system.write() as conn:
        return system.consent.change(
            conn, user_id, changes, source, system.clock.now(), browser_id=browser_id
        )


@router.patch("/me/settings", response_model=SettingsOut, summary="Change settings")
def patch_settings(
    body: SettingsPatch, system: SystemDep, user_id: UserDep, caller: CallerDep
) -> SettingsOut:
    changes = body.model_dump(exclude_none=True)
    return SettingsOut(**change_settings(system, user_id, changes, "api", caller.browser_id))


@router.get("/me/consent-history", response_model=LedgerOut, summary="Every change of a consent setting")
def consent_history(system: SystemDep, user_id: UserDep) -> LedgerOut:
    with system.read() as conn:
        entries = system.consent.history(conn, user_id)
    return LedgerOut(items=[LedgerItem(**e.as_dict()) for e in entries])


def delete_account(system: System, request: Request, response: Response, user_id: int) -> dict[str, int]:
    with system.write() as conn:
        counts = system.privacy.erase(conn, user_id)
    clear_cookie(response, request, system, SESSION_COOKIE)
    # Forget the browser id too: nothing later can be tied to the deleted account's browser.
    clear_cookie(response, request, system, BROWSER_COOKIE)
    return counts


@router.delete("/me", status_code=204, summary="Delete the account and everything about it")
def delete_me(request: Request, response: Response, system: SystemDep, user_id: UserDep) -> None:
    delete_account(system, request, response, user_id)
