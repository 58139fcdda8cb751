"""What every page shares: the templates, who is signed in, the CSRF token, the fixed notices, the
pages' security headers, small helpers for forms and redirects, and the dependencies that check a
form's CSRF token (`checked_form`) and send signed-out visitors to sign in (`signed_in`,
`signed_in_form`)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Form, Request, Response
from fastapi.responses import RedirectResponse
from fastapi.templating import Jinja2Templates

from tastegraph.bootstrap import System
from tastegraph.edge.csp import page_csp
from tastegraph.edge.deps import CallerDep
from tastegraph.kernel import NotFound, TastegraphError
from tastegraph.kernel.urls import domain_of
from tastegraph.usecases import accounts as account_cases
from tastegraph.usecases.callers import Caller
from tastegraph.web.csrf import FIELD as CSRF_FIELD
from tastegraph.web.csrf import CsrfTokens

HERE = Path(__file__).parent
STATIC = HERE / "static"
TEMPLATES = HERE / "templates"

templates = Jinja2Templates(directory=TEMPLATES)
FormStr = Annotated[str, Form()]

# Fixed texts for ?notice=..., so a link can never make a page say something we did not write.
NOTICES: dict[str, str] = {
    "welcome": "Welcome to Tastegraph! Your account is ready.",
    "signed_in": "You're signed in.",
    "signed_out": "You're signed out. See you soon.",
    "settings_saved": "Your setting is saved.",
    "token_revoked": "The token is revoked: it stops working at once.",
    "browser_saved": "Your choice for this browser is saved.",
    "deleted": "Your account and everything about it has been deleted.",
    # Feed controls (web.tuner_pages)
    "pin_hidden": "Hidden. You'll see fewer ideas like it.",
    "pin_unhidden": "The idea is back in your feed.",
    "site_removed": "Your visits to that site are deleted and no longer shape your feed.",
    "topic_removed": "That topic no longer shapes your feed.",
    "topic_restored": "That topic shapes your feed again.",
    "unfollowed": "Unfollowed. It no longer shapes your feed.",
    "searches_cleared": "Your search history is cleared.",
    # Ads you hid (web.privacy_pages)
    "hide_removed": "Done: that ad can be shown to you again.",
    "hide_gone": "That hide was already undone.",
    # Promoted Pins (web.advertiser_pages)
    "campaign_saved": "The campaign is saved.",
    "ad_group_saved": "The ad group is saved.",
    "pin_uploaded": "The Pin is uploaded: you can now make an ad of it.",
    "ad_saved": "The ad is saved.",
}


def safe_next(value: str | None) -> str:
    """Only local paths: never redirect to another site."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/"


def redirect(location: str) -> RedirectResponse:
    return RedirectResponse(location, status_code=303)


def when(value: datetime | str) -> str:
    dt = datetime.fromisoformat(value) if isinstance(value, str) else value
    return dt.strftime("%-d %b %Y, %H:%M UTC")


def site_host(url: str) -> str:
    try:
        return domain_of(url)
    except TastegraphError:
        return ""


def sentence(message: str) -> str:
    message = message.strip()
    if not message:
        return "Something went wrong."
    message = message[:1].upper() + message[1:]
    return message if message.endswith((".", "!", "?")) else message + "."


class Pages:
    """Rendering shared by every page: who is signed in, the CSRF token, the notice."""

    def __init__(self, system: System) -> None:
        self.system = system
        self.csrf = CsrfTokens(
            system.settings.secret_key, secure_cookie=system.settings.cookies_always_secure
        )

    def user(self, caller: Caller | None) -> account_cases.User | None:
        if caller is None or caller.user_id is None:
            return None
        try:
            return account_cases.profile(self.system, caller.user_id)
        except NotFound:
            return None

    def render(
        self,
        request: Request,
        name: str,
        caller: Caller | None,
        context: Mapping[str, object] | None = None,
        status: int = 200,
    ) -> Response:
        token, new_cookie = self.csrf.token(request)
        notice = NOTICES.get(request.query_params.get("notice", ""))
        ctx: dict[str, object] = {
            "user": self.user(caller),
            "csrf_field": CSRF_FIELD,
            "csrf_token": token,
            "notice": notice,
            "path": request.url.path,
            **(context or {}),
        }
        response = templates.TemplateResponse(request, name, ctx, status_code=status)
        response.headers["Cache-Control"] = "no-store"
        settings = self.system.settings
        csp = page_csp(settings.measurement_pixels, settings.measurement_insecure_host_set)
        response.headers["Content-Security-Policy"] = csp
        if new_cookie is not None:
            self.csrf.set_cookie(request, response, new_cookie)
        return response

    def error(self, request: Request, status: int, title: str, message: str) -> Response:
        return self.render(
            request, "error.html", None, {"status": status, "title": title, "message": message}, status=status
        )


class SignInFirst(Exception):
    """A signed-out visitor asked for a page or sent a form that needs an account: answered (web.pages)
    with a redirect to sign in that comes back to `back_to`."""

    def __init__(self, back_to: str) -> None:
        super().__init__(back_to)
        self.back_to = back_to


def checked_form(request: Request, caller: CallerDep, csrf_token: FormStr = "") -> Caller:
    """The caller of a form a page posts, once the form's CSRF token is this browser's (CsrfFailed, an
    error page, otherwise). A dependency: `dependencies=[Depends(checked_form)]` on the route."""
    pages: Pages = request.app.state.pages
    pages.csrf.check(request, csrf_token)
    return caller


def _user_id(caller: Caller, back_to: str) -> int:
    if caller.user_id is None:
        raise SignInFirst(back_to)
    return caller.user_id


def signed_in(back_to: str) -> Any:
    """A dependency: the signed-in person's id; a signed-out visitor is sent to sign in and come back to
    `back_to` (SignInFirst)."""

    def signed_in_user(caller: CallerDep) -> int:
        return _user_id(caller, back_to)

    return Depends(signed_in_user)


def signed_in_form(back_to: str) -> Any:
    """`signed_in` for a form's POST, after `checked_form`: a bad CSRF token is refused first."""

    def signed_in_form_user(caller: Annotated[Caller, Depends(checked_form)]) -> int:
        return _user_id(caller, back_to)

    return Depends(signed_in_form_user)
