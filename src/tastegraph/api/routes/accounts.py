"""Sign-up, sign-in, sign-out, the account itself, settings and the consent ledger."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from tastegraph.api.context import (
    CallerDep,
    SameOriginJson,
    SystemDep,
    UserDep,
    delete_account,
    sign_in,
    sign_out,
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
from tastegraph.usecases import accounts as account_cases

router = APIRouter(prefix="/v1", tags=["accounts"], dependencies=[SameOriginJson])


@router.post("/users", status_code=201, response_model=Created, summary="Sign up")
@fails_with(409)
def create_user(body: SignUp, system: SystemDep) -> Created:
    user_id = account_cases.sign_up(
        system, body.email, body.password, body.display_name, body.phone, body.consent_choices()
    )
    return Created(id=user_id)


@router.post("/sessions", response_model=SessionOut, summary="Sign in (sets the session cookie)")
@fails_with(401)
def create_session(
    body: SignIn, request: Request, response: Response, system: SystemDep, caller: CallerDep
) -> SessionOut:
    return SessionOut(user_id=sign_in(system, request, response, body.email, body.password, caller))


@router.delete("/sessions", status_code=204, summary="Sign out")
def delete_session(request: Request, response: Response, system: SystemDep, caller: CallerDep) -> None:
    sign_out(system, request, response, caller)


@router.get("/me", summary="The signed-in account")
def me(system: SystemDep, user_id: UserDep) -> dict[str, object]:
    user = account_cases.profile(system, user_id)
    return {"id": user["id"], "email": user["email"], "display_name": user["display_name"]}


@router.get("/me/settings", response_model=SettingsOut)
def get_settings(system: SystemDep, user_id: UserDep) -> SettingsOut:
    with system.read() as conn:
        return SettingsOut(**system.consent.settings(conn, user_id))


@router.patch("/me/settings", response_model=SettingsOut, summary="Change settings")
def patch_settings(
    body: SettingsPatch, system: SystemDep, user_id: UserDep, caller: CallerDep
) -> SettingsOut:
    changes = body.model_dump(exclude_none=True)
    return SettingsOut(**account_cases.change_settings(system, user_id, changes, "api", caller.browser_id))


@router.get("/me/consent-history", response_model=LedgerOut, summary="Every change of a consent setting")
def consent_history(system: SystemDep, user_id: UserDep) -> LedgerOut:
    with system.read() as conn:
        entries = system.consent.history(conn, user_id)
    return LedgerOut(items=[LedgerItem(**e.as_dict()) for e in entries])


@router.delete("/me", status_code=204, summary="Delete the account and everything about it")
def delete_me(request: Request, response: Response, system: SystemDep, user_id: UserDep) -> None:
    delete_account(system, request, response, user_id)
