"""Advertiser pages: a signed-in person's advertisers, their tag, API tokens (created, shown once,
revoked), audiences with rounded sizes, and the event counts. Everything else goes through the API."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from tastegraph.bootstrap import System
from tastegraph.edge.deps import CallerDep, SystemDep
from tastegraph.kernel import TastegraphError
from tastegraph.usecases import ad_accounts as account_cases
from tastegraph.usecases.callers import Caller
from tastegraph.web.rendering import FormStr, Pages, redirect, signed_in, signed_in_form

# Every advertiser page is for a signed-in person; a signed-out visitor is sent to sign in and come back.
SIGNED_IN = signed_in("/advertisers")
SIGNED_IN_FORM = signed_in_form("/advertisers")  # and a form's CSRF token is checked first


def routes(pages: Pages) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    def render(request: Request, system: System, caller: Caller, **extra: Any) -> Response:
        context = {
            # the template reads the overview's fields (usecases.ad_accounts.AdAccountOverview)
            "advertisers": account_cases.advertiser_overview(system, caller),
            "platform": system.settings.public_origin.rstrip("/"),
            **extra,
        }
        status = int(context.pop("status", 200))
        return pages.render(request, "advertisers.html", caller, context, status=status)

    @router.get("/advertisers", response_class=HTMLResponse, dependencies=[SIGNED_IN])
    def advertisers_page(request: Request, system: SystemDep, caller: CallerDep) -> Response:
        return render(request, system, caller)

    @router.post("/advertisers", response_class=HTMLResponse, dependencies=[SIGNED_IN_FORM])
    def create_advertiser(
        request: Request,
        system: SystemDep,
        caller: CallerDep,
        name: FormStr = "",
        website: FormStr = "",
        currency: FormStr = "USD",
        timezone: FormStr = "UTC",
    ) -> Response:
        try:
            new = account_cases.create_advertiser(
                system, caller, name, website or None, currency or "USD", timezone or "UTC"
            )
        except TastegraphError as exc:
            return render(request, system, caller, form_error=exc.message, form_name=name, status=422)
        return render(
            request, system, caller, new_token={"account_id": new.account.id, "token": new.token.token}
        )

    @router.post(
        "/advertisers/{ad_account_id:int}/tokens", response_class=HTMLResponse, dependencies=[SIGNED_IN_FORM]
    )
    def create_token(
        ad_account_id: int, request: Request, system: SystemDep, caller: CallerDep, label: FormStr = ""
    ) -> Response:
        account = account_cases.ad_caller_for_owner(system, caller, ad_account_id)
        token = account_cases.create_token(system, account, label[:80])
        return render(request, system, caller, new_token={"account_id": ad_account_id, "token": token.token})

    @router.post(
        "/advertisers/{ad_account_id:int}/tokens/{token_id:int}/revoke", dependencies=[SIGNED_IN_FORM]
    )
    def revoke_token(ad_account_id: int, token_id: int, system: SystemDep, caller: CallerDep) -> Response:
        account = account_cases.ad_caller_for_owner(system, caller, ad_account_id)
        account_cases.revoke_token(system, account, token_id)
        return redirect(f"/advertisers?notice=token_revoked#account-{ad_account_id}")

    return router
