"""Advertiser pages: a signed-in person's advertisers, their tag, API tokens (created, shown once,
revoked), audiences with rounded sizes, and the event counts. Everything else goes through the API."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from tastegraph.ads import accounts, audiences
from tastegraph.bootstrap import System
from tastegraph.collect import advertiser_events
from tastegraph.edge.deps import CallerDep, SystemDep
from tastegraph.kernel import NotFound, TastegraphError

if TYPE_CHECKING:
    from tastegraph.usecases.callers import Caller
    from tastegraph.web.rendering import Pages

FormStr = Annotated[str, Form()]


def _redirect(location: str) -> RedirectResponse:
    return RedirectResponse(location, status_code=303)


def _overview(system: System, user_id: int) -> list[dict[str, Any]]:
    now = system.clock.now()
    out = []
    with system.read() as conn:
        for account in accounts.accounts_owned_by(conn, user_id):
            out.append(
                {
                    "account": account,
                    "tokens": accounts.list_tokens(conn, account.id),
                    "audiences": [a.public() for a in audiences.list_for(conn, account.id)],
                    "events": advertiser_events.summary(conn, account.id, now - timedelta(days=30)),
                }
            )
    return out


def routes(pages: Pages) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    def render(request: Request, system: System, caller: Caller, **extra: Any) -> Response:
        assert caller.user_id is not None
        context = {
            "advertisers": _overview(system, caller.user_id),
            "platform": system.settings.public_origin.rstrip("/"),
            **extra,
        }
        status = int(context.pop("status", 200))
        return pages.render(request, "advertisers.html", caller, context, status=status)

    @router.get("/advertisers", response_class=HTMLResponse)
    def advertisers_page(request: Request, system: SystemDep, caller: CallerDep) -> Response:
        if caller.user_id is None:
            return _redirect("/signin?next=/advertisers")
        return render(request, system, caller)

    @router.post("/advertisers", response_class=HTMLResponse)
    def create_advertiser(
        request: Request,
        system: SystemDep,
        caller: CallerDep,
        name: FormStr = "",
        website: FormStr = "",
        csrf_token: FormStr = "",
    ) -> Response:
        pages.csrf.check(request, csrf_token)
        if caller.user_id is None:
            return _redirect("/signin?next=/advertisers")
        try:
            with system.write() as conn:
                account, token = accounts.create_account(
                    conn, name, system.clock.now(), owner_user_id=caller.user_id, website=website or None
                )
        except TastegraphError as exc:
            return render(request, system, caller, form_error=exc.message, form_name=name, status=422)
        return render(request, system, caller, new_token={"account_id": account.id, "token": token.token})

    def owned(system: System, user_id: int, ad_account_id: int) -> None:
        with system.read() as conn:
            if not accounts.owns(conn, user_id, ad_account_id):
                raise NotFound("no such ad account among yours")

    @router.post("/advertisers/{ad_account_id:int}/tokens", response_class=HTMLResponse)
    def create_token(
        ad_account_id: int,
        request: Request,
        system: SystemDep,
        caller: CallerDep,
        label: FormStr = "",
        csrf_token: FormStr = "",
    ) -> Response:
        pages.csrf.check(request, csrf_token)
        if caller.user_id is None:
            return _redirect("/signin?next=/advertisers")
        owned(system, caller.user_id, ad_account_id)
        with system.write() as conn:
            token = accounts.create_token(conn, ad_account_id, system.clock.now(), label[:80])
        return render(request, system, caller, new_token={"account_id": ad_account_id, "token": token.token})

    @router.post("/advertisers/{ad_account_id:int}/tokens/{token_id:int}/revoke")
    def revoke_token(
        ad_account_id: int,
        token_id: int,
        request: Request,
        system: SystemDep,
        caller: CallerDep,
        csrf_token: FormStr = "",
    ) -> Response:
        pages.csrf.check(request, csrf_token)
        if caller.user_id is None:
            return _redirect("/signin?next=/advertisers")
        owned(system, caller.user_id, ad_account_id)
        with system.write() as conn:
            accounts.revoke_token(conn, ad_account_id, token_id, system.clock.now())
        return _redirect(f"/advertisers?notice=token_revoked#account-{ad_account_id}")

    return router
