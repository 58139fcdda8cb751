"""Sign up, sign in and sign out (usecases.accounts; the cookies as edge.cookies sets them for the API)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import HTMLResponse

from tastegraph.bootstrap import System
from tastegraph.edge.cookies import sign_in, sign_out
from tastegraph.edge.deps import CallerDep, SystemDep
from tastegraph.kernel import RateLimited, TastegraphError
from tastegraph.usecases import accounts as account_cases
from tastegraph.web.rendering import FormStr, Pages, checked_form, redirect, safe_next, sentence


def form_choices(
    system: System, shown: str, personalization: str, ads_advertiser_data: str
) -> dict[str, bool]:
    """The two settings as a sign-up form sent them. The form always carries them (an unticked box sends
    nothing, so the `consent_choices` marker says the person saw them); without it the deployment's
    defaults apply."""
    if not shown:
        return account_cases.signup_defaults(system)
    return {"personalization": personalization == "on", "ads_advertiser_data": ads_advertiser_data == "on"}


def routes(pages: Pages) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/signup", response_class=HTMLResponse)
    def signup_form(request: Request, system: SystemDep, caller: CallerDep) -> Response:
        if caller.user_id is not None:
            return redirect("/")
        defaults = account_cases.signup_defaults(system)
        return pages.render(request, "signup.html", caller, {"form": {}, "error": None, "choices": defaults})

    @router.post("/signup", dependencies=[Depends(checked_form)])
    def signup(
        request: Request,
        system: SystemDep,
        caller: CallerDep,
        email: FormStr = "",
        password: FormStr = "",
        display_name: FormStr = "",
        consent_choices: FormStr = "",
        personalization: FormStr = "",
        ads_advertiser_data: FormStr = "",
    ) -> Response:
        form = {"email": email, "display_name": display_name}
        name = display_name.strip() or None
        choices = form_choices(system, consent_choices, personalization, ads_advertiser_data)
        if account_cases.too_long(email, password, name):
            return pages.render(
                request,
                "signup.html",
                caller,
                {
                    "form": form,
                    "error": "That's too long: use a shorter email, name or password.",
                    "choices": choices,
                },
                status=422,
            )
        try:
            account_cases.sign_up(system, email, password, name, choices=choices if consent_choices else None)
        except TastegraphError as exc:
            return pages.render(
                request,
                "signup.html",
                caller,
                {"form": form, "error": sentence(exc.message), "field": exc.field, "choices": choices},
                status=exc.status,
            )
        response = redirect("/?notice=welcome")
        sign_in(system, request, response, email, password, caller)
        return response

    @router.get("/signin", response_class=HTMLResponse)
    def signin_form(request: Request, caller: CallerDep, next: str = "/") -> Response:
        if caller.user_id is not None:
            return redirect(safe_next(next))
        return pages.render(
            request, "signin.html", caller, {"form": {}, "error": None, "next": safe_next(next)}
        )

    @router.post("/signin", dependencies=[Depends(checked_form)])
    def signin(
        request: Request,
        system: SystemDep,
        caller: CallerDep,
        email: FormStr = "",
        password: FormStr = "",
        next: FormStr = "/",
    ) -> Response:
        target = safe_next(next)
        response = redirect(target if target != "/" else "/?notice=signed_in")
        try:
            sign_in(system, request, response, email, password, caller)
        except TastegraphError as exc:
            page = pages.render(
                request,
                "signin.html",
                caller,
                {"form": {"email": email}, "error": sentence(exc.message), "next": target},
                status=exc.status,
            )
            if isinstance(exc, RateLimited):
                page.headers["Retry-After"] = str(exc.retry_after_seconds)
            return page
        return response

    @router.post("/signout", dependencies=[Depends(checked_form)])
    def signout(request: Request, system: SystemDep, caller: CallerDep) -> Response:
        response = redirect("/?notice=signed_out")
        sign_out(system, request, response, caller)
        return response

    return router
