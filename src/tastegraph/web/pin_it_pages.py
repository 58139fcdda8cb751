"""The Pin It popup: the window the Save button on other sites opens on the platform's origin
(`/save?url=&title=&media=&partition=`), signing in or up inside it, the save itself, and the image
copies it shows (`/media/<key>`). Parse, call usecases.pin_it (or the account use cases), render."""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import HTMLResponse

from tastegraph.edge.cookies import sign_in
from tastegraph.edge.deps import CallerDep, SystemDep
from tastegraph.kernel import Forbidden, NotFound, RateLimited, TastegraphError
from tastegraph.usecases import accounts as account_cases
from tastegraph.usecases import pin_it
from tastegraph.usecases.callers import Caller
from tastegraph.web.account_pages import form_choices
from tastegraph.web.rendering import FormStr, Pages, checked_form, redirect, sentence, site_host

MAX_PARAM = 2048


def _params(url: str, title: str, media: str, partition: str) -> dict[str, str]:
    """The popup's parameters, bounded, as they travel through sign-in (hidden fields) and back."""
    out = {"url": url[:MAX_PARAM], "title": title[: pin_it.MAX_TITLE * 2], "media": media[:MAX_PARAM]}
    token = pin_it.valid_partition_token(partition)
    if token:
        out["partition"] = token
    return out


def _back(params: dict[str, str]) -> str:
    return "/save?" + urlencode({k: v for k, v in params.items() if v})


def _check_origin(request: Request, system_origin: str) -> None:
    """A present Origin must be the platform's own (CSRF tokens are the main defence; this refuses a
    form posted from another site or a sandboxed frame even before the token is looked at)."""
    origin = request.headers.get("origin")
    if origin is None:
        return
    own = {system_origin.rstrip("/"), f"{request.url.scheme}://{request.url.netloc}"}
    try:
        parts = urlsplit(origin.strip())
    except ValueError as exc:
        raise Forbidden("this form must be sent from Tastegraph", field="origin") from exc
    if origin.strip().lower() == "null" or f"{parts.scheme}://{parts.netloc}" not in own:
        raise Forbidden("this form must be sent from Tastegraph", field="origin")


def routes(pages: Pages) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    def origin_checked(request: Request, system: SystemDep) -> None:
        _check_origin(request, system.settings.public_origin)

    def show(
        request: Request,
        caller: Caller,
        params: dict[str, str],
        *,
        popup: pin_it.Popup | None = None,
        error: str | None = None,
        status: int = 200,
        saved: pin_it.PinItSaved | None = None,
        form: dict[str, str] | None = None,
        choices: dict[str, bool] | None = None,
    ) -> Response:
        host = site_host(params.get("url", ""))
        response = pages.render(
            request,
            "save.html",
            caller,
            {
                "params": params,
                "host": host,
                "popup": popup,
                "error": error,
                "saved": saved,
                "form": form or {},
                "choices": choices or account_cases.signup_defaults(pages.system),
                "back": _back(params),
            },
            status=status,
        )
        if status == 429:
            response.headers["Retry-After"] = "60"
        return response

    @router.get("/save", response_class=HTMLResponse)
    def save_popup(
        request: Request,
        system: SystemDep,
        caller: CallerDep,
        url: str = "",
        title: str = "",
        media: str = "",
        partition: str = "",
    ) -> Response:
        params = _params(url, title, media, partition)
        if not url:
            return show(request, caller, params)
        if caller.user_id is None:  # sign in (or up) first, in this window; nothing is fetched yet
            return show(request, caller, params)
        try:
            popup = pin_it.popup(system, caller.user_id, url, title, media or None)
        except TastegraphError as exc:
            return show(request, caller, params, error=sentence(exc.message), status=exc.status)
        return show(request, caller, params, popup=popup)

    @router.post("/save", dependencies=[Depends(origin_checked), Depends(checked_form)])
    def save(
        request: Request,
        system: SystemDep,
        caller: CallerDep,
        url: FormStr = "",
        title: FormStr = "",
        media: FormStr = "",
        media_key: FormStr = "",
        board_id: FormStr = "",
        new_board: FormStr = "",
        partition: FormStr = "",
    ) -> Response:
        params = _params(url, title, media, partition)
        if caller.user_id is None:
            return show(request, caller, params, error="Sign in to save.", status=401)
        board: int | None = None
        if board_id.strip():
            if not board_id.strip().isdigit() or len(board_id.strip()) > 18:
                return show(request, caller, params, error="There is no such board.", status=404)
            board = int(board_id)
        req = pin_it.PinItRequest(
            page_url=url,
            title=title,
            media_url=media or None,
            media_key=media_key or None,
            board_id=board,
            new_board_name=None if board is not None else new_board,
            partition_token=params.get("partition"),
        )
        try:
            saved = pin_it.save_from_popup(system, caller, req)
        except TastegraphError as exc:
            return show(request, caller, params, error=sentence(exc.message), status=exc.status)
        return show(request, caller, params, saved=saved)

    @router.post("/save/signin", dependencies=[Depends(origin_checked), Depends(checked_form)])
    def popup_signin(
        request: Request,
        system: SystemDep,
        caller: CallerDep,
        email: FormStr = "",
        password: FormStr = "",
        url: FormStr = "",
        title: FormStr = "",
        media: FormStr = "",
        partition: FormStr = "",
    ) -> Response:
        params = _params(url, title, media, partition)
        response = redirect(_back(params))
        try:
            sign_in(system, request, response, email, password, caller)
        except TastegraphError as exc:
            page = show(
                request, caller, params, error=sentence(exc.message), status=exc.status, form={"email": email}
            )
            if isinstance(exc, RateLimited):
                page.headers["Retry-After"] = str(exc.retry_after_seconds)
            return page
        return response

    @router.post("/save/signup", dependencies=[Depends(origin_checked), Depends(checked_form)])
    def popup_signup(
        request: Request,
        system: SystemDep,
        caller: CallerDep,
        email: FormStr = "",
        password: FormStr = "",
        display_name: FormStr = "",
        url: FormStr = "",
        title: FormStr = "",
        media: FormStr = "",
        partition: FormStr = "",
        consent_choices: FormStr = "",
        personalization: FormStr = "",
        ads_advertiser_data: FormStr = "",
    ) -> Response:
        params = _params(url, title, media, partition)
        form = {"email": email, "display_name": display_name, "mode": "signup"}
        choices = form_choices(system, consent_choices, personalization, ads_advertiser_data)
        name = display_name.strip() or None
        if account_cases.too_long(email, password, name):
            error = "That's too long: use a shorter email, name or password."
            return show(request, caller, params, error=error, status=422, form=form, choices=choices)
        response = redirect(_back(params))
        try:
            account_cases.sign_up(system, email, password, name, choices=choices if consent_choices else None)
            sign_in(system, request, response, email, password, caller)
        except TastegraphError as exc:
            error = sentence(exc.message)
            return show(request, caller, params, error=error, status=exc.status, form=form, choices=choices)
        return response

    @router.get("/media/{key}")
    def media_file(key: str, system: SystemDep) -> Response:
        stored = pin_it.media_file(system, key)
        if stored is None:
            raise NotFound("no such image", field="path")
        return Response(
            stored.data,
            media_type=stored.content_type,
            headers={
                # Content-addressed: a key's bytes never change. (X-Content-Type-Options: nosniff
                # comes with every answer: api.middleware.SecurityHeaders.)
                "Cache-Control": "public, max-age=31536000, immutable",
                "Content-Security-Policy": "default-src 'none'; sandbox",
                "Cross-Origin-Resource-Policy": "same-origin",
            },
        )

    return router
