"""The server-rendered pages, the save-button script, and generated placeholder images.

Every page calls the same functions as the JSON API (`api.routes.*`), so there is one code path for
signing in, changing settings, the feed and its reasons. Every asset is served by the app itself: no
CDN, no external fonts. Forms are plain HTML POSTs protected by `web.csrf`, answered with a redirect.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from xml.sax.saxutils import escape

from fastapi import APIRouter, FastAPI, Form, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from tastegraph.api.context import CallerDep, SystemDep, sign_in, sign_out
from tastegraph.api.context import delete_account as erase_and_forget_browser
from tastegraph.api.middleware import PAGE_CSP
from tastegraph.api.routes import feed as feed_routes
from tastegraph.api.routes import offsite as offsite_routes
from tastegraph.api.schemas import SignUp
from tastegraph.bootstrap import System
from tastegraph.catalog import accounts, content
from tastegraph.consent import BROWSER_SETTING, GPC_SOURCE, Reason
from tastegraph.demo import TOPICS as DEMO_TOPICS
from tastegraph.kernel import CsrfFailed, NotFound, RateLimited, TastegraphError, Unavailable
from tastegraph.kernel.urls import domain_of
from tastegraph.usecases import accounts as account_cases
from tastegraph.usecases import privacy_center
from tastegraph.usecases.callers import Caller
from tastegraph.web import advertiser_pages
from tastegraph.web.csrf import FIELD as CSRF_FIELD
from tastegraph.web.csrf import CsrfTokens

HERE = Path(__file__).parent
STATIC = HERE / "static"
TEMPLATES = HERE / "templates"
FEED_SIZE = 40

templates = Jinja2Templates(directory=TEMPLATES)

# Fixed texts for ?notice=..., so a link can never make a page say something we did not write.
NOTICES: dict[str, str] = {
    "welcome": "Welcome to Tastegraph! Your account is ready.",
    "signed_in": "You're signed in.",
    "signed_out": "You're signed out. See you soon.",
    "settings_saved": "Your setting is saved.",
    "token_revoked": "The token is revoked: it stops working at once.",
    "browser_saved": "Your choice for this browser is saved.",
    "deleted": "Your account and everything about it has been deleted.",
}

SETTING_LABELS: dict[str, str] = {
    "personalization": "Use sites you visit to improve recommendations",
    BROWSER_SETTING: "Allow personalization using sites I visit (this browser, signed out)",
    "ads_advertiser_data": "Use info from advertisers to improve ads",
}

SOURCE_LABELS: dict[str, str] = {
    "sign-up": "Account created (default)",
    "api": "App or API",
    "browser": "This browser, while signed out",
    "privacy-center": "Privacy center",
    "global_privacy_control": "Your browser's Global Privacy Control signal",
}

VALUE_LABELS: dict[str | None, str] = {"true": "On", "false": "Off", None: "—"}


def setting_label(setting: str) -> str:
    """A ledger row's setting as a person reads it ("advertiser_data:Acme" is one advertiser's switch)."""
    if setting.startswith("advertiser_data:"):
        return f"Use info from {setting.split(':', 1)[1]}"
    return SETTING_LABELS.get(setting, setting)


# --- placeholder images ------------------------------------------------------------------------------

# (background top, background bottom, shape colour) per demo topic; other topics get a colour from a hash.
TOPIC_COLOURS: dict[str, tuple[str, str, str]] = {
    "home-decor": ("#f6d7c3", "#e9a988", "#fff4ea"),
    "cooking": ("#ffd59e", "#f08a4b", "#fff3dc"),
    "fashion": ("#f7c6d9", "#d9749c", "#fff0f6"),
    "travel": ("#bfe3f2", "#4f9fcf", "#f2fbff"),
    "diy-crafts": ("#e4d4f4", "#9a7bd0", "#fbf7ff"),
    "beauty": ("#fbd3cf", "#e88a8a", "#fff5f4"),
    "fitness": ("#c9f0d6", "#4cb87a", "#f0fff5"),
    "gardening": ("#d8ecc0", "#76a955", "#f7fff0"),
    "outdoors": ("#cfe5d3", "#3f7d5c", "#eef8f0"),
    "photography": ("#d5d9e8", "#5d6b94", "#f4f6fc"),
    "parenting": ("#fde7b0", "#e3b23c", "#fffaf0"),
    "cars": ("#d9dde2", "#6b7785", "#f5f7f9"),
}
DEMO_TOPIC_NAMES: dict[str, str] = dict(DEMO_TOPICS)
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
_HEIGHTS = (400, 520, 460, 580)


def _hash_colours(topic: str) -> tuple[str, str, str]:
    hue = int(hashlib.sha256(topic.encode()).hexdigest()[:4], 16) % 360
    return (f"hsl({hue},60%,86%)", f"hsl({hue},45%,55%)", f"hsl({hue},70%,96%)")


def topic_label(slug: str) -> str:
    """A topic's display name: the demo world's name when it has one, else the slug made readable."""
    if slug in DEMO_TOPIC_NAMES:
        return DEMO_TOPIC_NAMES[slug]
    words = slug.replace("-", " ").strip()
    return (words[:1].upper() + words[1:]) if words else "Idea"


def placeholder_svg(topic: str, k: int, label: str | None = None, *, square: bool = False) -> str:
    """A pleasant generated picture: the topic's colours, a simple shape chosen by `k`, and a label.
    400 wide and, unless `square`, one of a few heights (so a feed of them looks like a real one)."""
    top, bottom, shape = TOPIC_COLOURS.get(topic) or _hash_colours(topic)
    w, h = 400, 400 if square else _HEIGHTS[k % len(_HEIGHTS)]
    cx = 120 + (k * 53) % 160
    cy = 110 + (k * 37) % 90
    variant = k % 6
    if variant == 0:  # sun over hills
        art = (
            f'<circle cx="{cx}" cy="{cy}" r="54" fill="{shape}" opacity=".9"/>'
            f'<path d="M0 {h - 150} Q {w * 0.3} {h - 250} {w * 0.55} {h - 160} T {w} {h - 190} V {h} H 0Z" '
            f'fill="{bottom}" opacity=".55"/>'
            f'<path d="M0 {h - 110} Q {w * 0.45} {h - 190} {w} {h - 100} V {h} H 0Z" fill="{bottom}"/>'
        )
    elif variant == 1:  # overlapping circles
        art = "".join(
            f'<circle cx="{cx + dx}" cy="{h / 2 + dy}" r="{r}" fill="{shape}" opacity="{o}"/>'
            for dx, dy, r, o in ((-40, -30, 110, ".55"), (60, 40, 90, ".7"), (0, 90, 60, ".9"))
        )
    elif variant == 2:  # waves
        art = "".join(
            f'<path d="M0 {y} Q 100 {y - 40} 200 {y} T 400 {y} V {h} H 0Z" fill="{shape}" opacity="{o}"/>'
            for y, o in ((h * 0.45, ".35"), (h * 0.6, ".5"), (h * 0.75, ".8"))
        )
    elif variant == 3:  # stacked blocks
        art = "".join(
            f'<rect x="{x}" y="{y}" width="{bw}" height="{bh}" rx="18" fill="{shape}" opacity="{o}"/>'
            for x, y, bw, bh, o in (
                (70, h - 170, 260, 90, ".9"),
                (110, h - 260, 180, 80, ".75"),
                (150, h - 335, 100, 65, ".6"),
            )
        )
    elif variant == 4:  # a leaf / drop
        art = (
            f'<path d="M{w / 2} {h * 0.18} C {w * 0.85} {h * 0.42} {w * 0.8} {h * 0.78} {w / 2} {h * 0.8} '
            f'C {w * 0.2} {h * 0.78} {w * 0.15} {h * 0.42} {w / 2} {h * 0.18}Z" '
            f'fill="{shape}" opacity=".85"/>'
            f'<path d="M{w / 2} {h * 0.3} V {h * 0.74}" stroke="{bottom}" stroke-width="6" '
            f'stroke-linecap="round" opacity=".6"/>'
        )
    else:  # a scatter of dots
        art = "".join(
            f'<circle cx="{(k * 31 + i * 67) % 360 + 20}" cy="{(k * 17 + i * 89) % (h - 140) + 40}" '
            f'r="{14 + (i * 7 + k) % 30}" fill="{shape}" opacity=".{5 + i % 5}"/>'
            for i in range(9)
        )
    name = (label or topic_label(topic))[:40]
    text = escape(name)
    grad = f"g-{topic}-{k}"
    # The label sits on a translucent dark pill, so it reads on light and dark shapes alike.
    pill_w = round(len(name) * 12.4 + 32)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" '
        f'role="img" aria-label="{text}">'
        f'<defs><linearGradient id="{grad}" x1="0" y1="0" x2="0" y2="1">'
        f'<stop offset="0" stop-color="{top}"/><stop offset="1" stop-color="{bottom}"/>'
        "</linearGradient></defs>"
        f'<rect width="{w}" height="{h}" fill="url(#{grad})"/>{art}'
        f'<rect x="18" y="{h - 60}" width="{pill_w}" height="38" rx="19" fill="#1b1410" fill-opacity=".34"/>'
        f'<text x="33" y="{h - 34}" font-family="system-ui, -apple-system, Segoe UI, Roboto, sans-serif" '
        f'font-size="20" font-weight="700" fill="#ffffff">{text}</text></svg>'
    )


def _svg_response(svg: str) -> Response:
    return Response(
        svg, media_type="image/svg+xml", headers={"Cache-Control": "public, max-age=86400, immutable"}
    )


_DEMO_IMAGE = re.compile(r"^/static/demo-img/[a-z0-9][a-z0-9-]{0,39}/(\d{1,4})\.svg$")


def image_size(src: str) -> tuple[int, int] | None:
    """Width and height of a generated picture (so the page can reserve its space), else None."""
    match = _DEMO_IMAGE.match(src)
    if match is None:
        return None
    return 400, _HEIGHTS[int(match.group(1)) % len(_HEIGHTS)]


def image_src(pin: Mapping[str, Any]) -> str:
    """The Pin's image if we serve it ourselves; a generated picture otherwise, so that showing a Pin
    never makes the browser call a third party."""
    url = str(pin.get("image_url") or "")
    if url.startswith("/") and not url.startswith("//"):
        return url
    topics = pin.get("topics") or []
    topic = str(topics[0]) if topics else "idea"
    return f"/static/demo-img/{topic}/{int(pin.get('id') or 0) % 24}.svg"


# --- helpers -----------------------------------------------------------------------------------------


def _safe_next(value: str | None) -> str:
    """Only local paths: never redirect to another site."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/"


def _redirect(location: str) -> RedirectResponse:
    return RedirectResponse(location, status_code=303)


def _when(value: datetime | str) -> str:
    dt = datetime.fromisoformat(value) if isinstance(value, str) else value
    return dt.strftime("%-d %b %Y, %H:%M UTC")


def _site_host(url: str) -> str:
    try:
        return domain_of(url)
    except TastegraphError:
        return ""


def is_page_path(path: str) -> bool:
    return not (path.startswith("/v1/") or path in ("/v1", "/healthz", "/readyz"))


class Pages:
    """Rendering shared by every page: who is signed in, the CSRF token, the notice."""

    def __init__(self, system: System) -> None:
        self.system = system
        self.csrf = CsrfTokens(
            system.settings.secret_key, secure_cookie=system.settings.cookies_always_secure
        )

    def user(self, caller: Caller | None) -> dict[str, Any] | None:
        if caller is None or caller.user_id is None:
            return None
        with self.system.read() as conn:
            try:
                return dict(accounts.get_user(conn, caller.user_id))
            except NotFound:
                return None

    def render(
        self,
        request: Request,
        name: str,
        caller: Caller | None,
        context: dict[str, Any] | None = None,
        status: int = 200,
    ) -> Response:
        token, new_cookie = self.csrf.token(request)
        notice = NOTICES.get(request.query_params.get("notice", ""))
        ctx: dict[str, Any] = {
            "user": self.user(caller),
            "csrf_field": CSRF_FIELD,
            "csrf_token": token,
            "notice": notice,
            "path": request.url.path,
            **(context or {}),
        }
        response = templates.TemplateResponse(request, name, ctx, status_code=status)
        response.headers["Cache-Control"] = "no-store"
        response.headers["Content-Security-Policy"] = PAGE_CSP
        if new_cookie is not None:
            self.csrf.set_cookie(request, response, new_cookie)
        return response

    def error(self, request: Request, status: int, title: str, message: str) -> Response:
        return self.render(
            request, "error.html", None, {"status": status, "title": title, "message": message}, status=status
        )


ERROR_TITLES: dict[int, str] = {
    400: "That request didn't look right",
    401: "Please sign in",
    403: "That didn't go through",
    404: "We couldn't find that page",
    405: "That page can't do that",
    409: "That already exists",
    413: "That was too much at once",
    415: "That request didn't look right",
    422: "Something needs fixing",
    429: "Slow down a little",
    503: "We'll be right back",
}


def _install_error_pages(app: FastAPI, pages: Pages) -> None:
    """Page paths get friendly HTML error pages; the API keeps its JSON errors (handled as before)."""
    Handler = Callable[[Request, Exception], Awaitable[Response]]

    def wrap(exc_class: type[Exception] | int, page: Callable[[Request, Exception], Response]) -> None:
        previous: Handler | None = app.exception_handlers.get(exc_class)  # type: ignore[assignment]

        async def handler(request: Request, exc: Exception) -> Response:
            if is_page_path(request.url.path) or previous is None:
                return page(request, exc)
            return await previous(request, exc)

        app.add_exception_handler(exc_class, handler)

    def domain_page(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, TastegraphError)
        if isinstance(exc, CsrfFailed):
            return pages.error(
                request,
                403,
                "That form had expired",
                "For your safety we only accept forms that came from a Tastegraph page you opened. "
                "Go back, reload the page and try again.",
            )
        response = pages.error(
            request,
            exc.status,
            ERROR_TITLES.get(exc.status, "Something went wrong"),
            exc.message[:1].upper() + exc.message[1:] + ".",
        )
        if isinstance(exc, RateLimited | Unavailable):
            response.headers["Retry-After"] = str(exc.retry_after_seconds)
        return response

    def http_page(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        status = exc.status_code
        if status == 404:
            message = "The page may have moved, or the link may be mistyped. Try the home feed instead."
        else:
            message = exc.detail if isinstance(exc.detail, str) else "Please try again."
        response = pages.error(request, status, ERROR_TITLES.get(status, "Something went wrong"), message)
        for key, value in (exc.headers or {}).items():
            response.headers[key] = value
        return response

    def validation_page(request: Request, exc: Exception) -> Response:
        return pages.error(
            request,
            404,
            ERROR_TITLES[404],
            "The page may have moved, or the link may be mistyped. Try the home feed instead.",
        )

    def unexpected_page(request: Request, exc: Exception) -> Response:
        try:
            return pages.error(
                request,
                500,
                "Something went wrong on our side",
                "We've noted it. Please try again in a moment.",
            )
        except Exception:  # never fail while reporting a failure
            return HTMLResponse("<h1>Something went wrong on our side</h1>", status_code=500)

    wrap(TastegraphError, domain_page)
    wrap(StarletteHTTPException, http_page)
    wrap(RequestValidationError, validation_page)
    wrap(OverflowError, validation_page)  # an id too large for the database: no such page
    wrap(DataError, validation_page)
    wrap(Exception, unexpected_page)


# --- routes ------------------------------------------------------------------------------------------

FormStr = Annotated[str, Form()]


def _routes(pages: Pages) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    csrf = pages.csrf

    # Home feed ---------------------------------------------------------------------------------------

    @router.get("/", response_class=HTMLResponse)
    def home(request: Request, system: SystemDep, caller: CallerDep) -> Response:
        feed = feed_routes.build_feed(system, caller, FEED_SIZE)
        cards = []
        for entry in feed.items:
            if entry.pin is None:
                continue
            pin = entry.pin.model_dump()
            src = image_src(pin)
            cards.append(
                {
                    "pin": pin,
                    "image": src,
                    "size": image_size(src),
                    "reasons": [str(r.get("text", "")) for r in entry.reasons if r.get("text")],
                    "offsite": any(r.get("kind") == "offsite_visit" for r in entry.reasons),
                }
            )
        return pages.render(
            request,
            "home.html",
            caller,
            {
                "cards": cards,
                "offsite_used": feed.offsite_data_used,
                "offsite_note": feed.offsite_data_note,
            },
        )

    # One Pin -----------------------------------------------------------------------------------------

    @router.get("/pins/{pin_id:int}", response_class=HTMLResponse)
    def pin_page(pin_id: int, request: Request, system: SystemDep, caller: CallerDep) -> Response:
        with system.read() as conn:
            pin = content.get_pin(conn, pin_id)  # NotFound -> the 404 page
            permit = feed_routes.offsite_permit(system, conn, caller)
            reasons = feed_routes.explain_pin(system, conn, caller, permit, pin_id)
        return pages.render(
            request,
            "pin.html",
            caller,
            {
                "pin": pin,
                "image": image_src(pin),
                "reasons": [str(r["text"]) for r in reasons if r.get("text")],
                "topics": [(t, topic_label(t)) for t in pin["topics"]],
            },
        )

    # Sign up / sign in / sign out --------------------------------------------------------------------

    @router.get("/signup", response_class=HTMLResponse)
    def signup_form(request: Request, caller: CallerDep) -> Response:
        if caller.user_id is not None:
            return _redirect("/")
        return pages.render(request, "signup.html", caller, {"form": {}, "error": None})

    @router.post("/signup")
    def signup(
        request: Request,
        system: SystemDep,
        caller: CallerDep,
        email: FormStr = "",
        password: FormStr = "",
        display_name: FormStr = "",
        csrf_token: FormStr = "",
    ) -> Response:
        csrf.check(request, csrf_token)
        form = {"email": email, "display_name": display_name}
        try:
            body = SignUp(email=email, password=password, display_name=display_name.strip() or None)
            account_cases.sign_up(system, body.email, body.password, body.display_name, body.phone)
        except ValidationError:
            return pages.render(
                request,
                "signup.html",
                caller,
                {
                    "form": form,
                    "error": "That's too long: use a shorter email, name or password.",
                },
                status=422,
            )
        except TastegraphError as exc:
            return pages.render(
                request,
                "signup.html",
                caller,
                {
                    "form": form,
                    "error": _sentence(exc.message),
                    "field": exc.field,
                },
                status=exc.status,
            )
        response = _redirect("/?notice=welcome")
        sign_in(system, request, response, email, password, caller)
        return response

    @router.get("/signin", response_class=HTMLResponse)
    def signin_form(request: Request, caller: CallerDep, next: str = "/") -> Response:
        if caller.user_id is not None:
            return _redirect(_safe_next(next))
        return pages.render(
            request, "signin.html", caller, {"form": {}, "error": None, "next": _safe_next(next)}
        )

    @router.post("/signin")
    def signin(
        request: Request,
        system: SystemDep,
        caller: CallerDep,
        email: FormStr = "",
        password: FormStr = "",
        next: FormStr = "/",
        csrf_token: FormStr = "",
    ) -> Response:
        csrf.check(request, csrf_token)
        target = _safe_next(next)
        response = _redirect(target if target != "/" else "/?notice=signed_in")
        try:
            sign_in(system, request, response, email, password, caller)
        except TastegraphError as exc:
            page = pages.render(
                request,
                "signin.html",
                caller,
                {
                    "form": {"email": email},
                    "error": _sentence(exc.message),
                    "next": target,
                },
                status=exc.status,
            )
            if isinstance(exc, RateLimited):
                page.headers["Retry-After"] = str(exc.retry_after_seconds)
            return page
        return response

    @router.post("/signout")
    def signout(request: Request, system: SystemDep, caller: CallerDep, csrf_token: FormStr = "") -> Response:
        csrf.check(request, csrf_token)
        response = _redirect("/?notice=signed_out")
        sign_out(system, request, response, caller)
        return response

    # Privacy center (signed in) ----------------------------------------------------------------------

    @router.get("/settings", response_class=HTMLResponse)
    def settings_page(request: Request, system: SystemDep, caller: CallerDep) -> Response:
        if caller.user_id is None:
            return _redirect("/signin?next=/settings")
        with system.read() as conn:
            current = system.consent.settings(conn, caller.user_id)
            history = system.consent.history(conn, caller.user_id)
            permit = feed_routes.offsite_permit(system, conn, caller)
        advertisers = privacy_center.advertisers_about(system, caller.user_id)
        last_ads_change = next((e for e in history if e.setting == "ads_advertiser_data"), None)
        turned_off_by_gpc = last_ads_change is not None and last_ads_change.source == GPC_SOURCE
        rows = [
            {
                "when": _when(e.changed_at),
                "setting": setting_label(e.setting),
                "old": VALUE_LABELS.get(e.old_value, e.old_value or "—"),
                "new": VALUE_LABELS.get(e.new_value, e.new_value),
                "source": SOURCE_LABELS.get(e.source, e.source),
            }
            for e in history
        ]
        # When the browser itself says no (DNT, GPC, opt-out cookie), say so next to the setting.
        browser_note = (
            permit.explain()
            if not permit.allowed and permit.reason is not Reason.PERSONALIZATION_OFF
            else None
        )
        return pages.render(
            request,
            "settings.html",
            caller,
            {
                "personalization": current["personalization"],
                "ads_advertiser_data": current["ads_advertiser_data"],
                "ads_off_by_gpc": turned_off_by_gpc and not current["ads_advertiser_data"],
                "advertisers": advertisers,
                "history": rows,
                "browser_note": browser_note,
                "retention_days": system.settings.offsite_retention_days,
                "delete_error": request.query_params.get("confirm") == "missing",
            },
        )

    @router.post("/settings")
    def change_settings(
        request: Request,
        system: SystemDep,
        caller: CallerDep,
        personalization: FormStr = "",
        ads_advertiser_data: FormStr = "",
        setting: FormStr = "personalization",
        csrf_token: FormStr = "",
    ) -> Response:
        csrf.check(request, csrf_token)
        if caller.user_id is None:
            return _redirect("/signin?next=/settings")
        # Each toggle is its own form; `setting` says which one was sent (an unchecked box sends nothing).
        on = {"personalization": personalization, "ads_advertiser_data": ads_advertiser_data}
        name = setting if setting in on else "personalization"
        change: dict[str, object] = {name: on[name] in ("on", "true", "1")}
        account_cases.change_settings(system, caller.user_id, change, "privacy-center", caller.browser_id)
        return _redirect("/settings?notice=settings_saved" + ("#ads" if name != "personalization" else ""))

    @router.post("/settings/advertisers/{ad_account_id:int}")
    def advertiser_choice(
        ad_account_id: int,
        request: Request,
        system: SystemDep,
        caller: CallerDep,
        allow: FormStr = "",
        csrf_token: FormStr = "",
    ) -> Response:
        csrf.check(request, csrf_token)
        if caller.user_id is None:
            return _redirect("/signin?next=/settings")
        privacy_center.set_advertiser_choice(system, caller.user_id, ad_account_id, allow == "yes")
        return _redirect("/settings?notice=settings_saved#ads")

    @router.post("/settings/delete")
    def delete_account(
        request: Request,
        system: SystemDep,
        caller: CallerDep,
        confirm: FormStr = "",
        csrf_token: FormStr = "",
    ) -> Response:
        csrf.check(request, csrf_token)
        if caller.user_id is None:
            return _redirect("/signin?next=/settings")
        if confirm != "yes":
            return _redirect("/settings?confirm=missing#delete")
        response = _redirect("/?notice=deleted")
        erase_and_forget_browser(system, request, response, caller.user_id)
        return response

    # Signed-out browser choice -----------------------------------------------------------------------

    @router.get("/privacy", response_class=HTMLResponse)
    def privacy_page(request: Request, system: SystemDep, caller: CallerDep) -> Response:
        signals = caller.signals
        return pages.render(
            request,
            "privacy.html",
            caller,
            {
                "allow": offsite_routes.browser_allows(request),
                "dnt": signals.do_not_track,
                "gpc": signals.global_privacy_control,
                "retention_days": system.settings.offsite_retention_days,
            },
        )

    @router.post("/privacy")
    def privacy_choice(
        request: Request, system: SystemDep, caller: CallerDep, allow: FormStr = "", csrf_token: FormStr = ""
    ) -> Response:
        csrf.check(request, csrf_token)
        response = _redirect("/privacy?notice=browser_saved")
        offsite_routes.set_browser_choice(
            system,
            request,
            response,
            caller,
            allow in ("on", "true", "1"),
            offsite_routes.browser_allows(request),
        )
        return response

    # Where the save button on other sites leads ------------------------------------------------------

    @router.get("/save", response_class=HTMLResponse)
    def save_page(request: Request, caller: CallerDep, url: str = "", title: str = "") -> Response:
        host = _site_host(url) if url else ""
        return pages.render(
            request,
            "save.html",
            caller,
            {"url": url if host else "", "host": host, "title": title[:200]},
        )

    # Assets ------------------------------------------------------------------------------------------

    @router.get("/widget.js")
    def widget_js() -> FileResponse:
        return FileResponse(
            STATIC / "widget.js",
            media_type="application/javascript",
            headers={"Cache-Control": "public, max-age=3600"},
        )

    @router.get("/tag.js")
    def tag_js() -> FileResponse:
        return FileResponse(
            STATIC / "tag.js",
            media_type="application/javascript",
            headers={"Cache-Control": "public, max-age=3600"},
        )

    @router.get("/static/demo-img/{topic}/{k}.svg")
    def demo_image(topic: str, k: str) -> Response:
        if not _SLUG.match(topic) or not k.isdigit() or len(k) > 4:
            raise NotFound("no such image", field="path")
        return _svg_response(placeholder_svg(topic, int(k)))

    @router.get("/ikea-images/{path:path}")
    def ikea_image(path: str, system: SystemDep) -> FileResponse:
        base = system.settings.ikea_dir
        if base is None or not _plain_relative_path(path):
            raise NotFound("no such image", field="path")
        root = base.resolve()
        target = (root / path).resolve()
        if (
            not target.is_relative_to(root)
            or not target.is_file()
            or target.suffix.lower() not in (".jpg", ".jpeg", ".png", ".webp", ".gif")
        ):
            raise NotFound("no such image", field="path")
        return FileResponse(target, headers={"Cache-Control": "public, max-age=86400"})

    return router


def _plain_relative_path(path: str) -> bool:
    """Only names below the image folder: no NUL (the file system refuses it with an error), no `..`
    or empty segments, no absolute path, no backslash."""
    segments = path.split("/")
    return (
        "\x00" not in path
        and "\\" not in path
        and all(segment not in ("", ".", "..") for segment in segments)
    )


def _sentence(message: str) -> str:
    message = message.strip()
    if not message:
        return "Something went wrong."
    message = message[:1].upper() + message[1:]
    return message if message.endswith((".", "!", "?")) else message + "."


def install(app: FastAPI, system: System) -> None:
    pages = Pages(system)
    app.state.pages = pages
    _install_error_pages(app, pages)
    app.include_router(_routes(pages))  # before the /static mount: /static/demo-img/... is generated
    app.include_router(advertiser_pages.routes(pages))
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
