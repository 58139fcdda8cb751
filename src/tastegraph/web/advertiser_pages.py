"""Advertiser pages: a signed-in person's advertisers, their tag, API tokens (created, shown once,
revoked), audiences with rounded sizes, and the event counts; and for each ad account they own, its
Promoted Pins (/advertisers/{id}/promoted): campaigns, ad groups and ads with their status, today's spend
and delivery insights, forms to create and change them, and a Pin image upload.

Who may act: the signed-in owner of the ad account (usecases.ad_accounts.ad_caller_for_owner), never
anyone else — another person's account, or an object of an account other than the one in the path, is
a 404 as if it did not exist. Every form carries the page's CSRF token. The forms call the same use
cases as the API (usecases.ad_campaigns); money is typed in the account's currency (e.g. 2.50) and
kept in micro-units."""

from __future__ import annotations

import base64
import re
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Request, Response, UploadFile
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from tastegraph.bootstrap import System
from tastegraph.edge.deps import CallerDep, SystemDep
from tastegraph.kernel import InvalidInput, TastegraphError
from tastegraph.usecases import ad_accounts as account_cases
from tastegraph.usecases import ad_campaigns as ad_cases
from tastegraph.usecases.callers import Caller
from tastegraph.web.rendering import FormStr, Pages, redirect, sentence, signed_in, signed_in_form

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

    promoted_routes(router, pages)
    return router


# --- Promoted Pins --------------------------------------------------------------------------------------

FormList = Annotated[list[str], Form()]
MICRO = Decimal(1_000_000)
MAX_MONEY = Decimal(2**53 - 1) / MICRO
_SPLIT = re.compile(r"[,\n]")


def _field(api_field: str | None) -> str:
    """The page's input for a use case's error field: `targeting_spec.interests[1]` -> interests."""
    if not api_field:
        return ""
    if api_field.startswith("media_source"):
        return "image"
    if api_field.startswith("targeting_spec."):
        api_field = api_field.removeprefix("targeting_spec.")
    name = re.split(r"[.\[]", api_field, maxsplit=1)[0]
    return name.removesuffix("_in_micro")


def _money(text: str, field: str, required: bool = True) -> int | None:
    """An amount typed in the account's currency ("2.50") in micro-units; blank is None when optional."""
    text = text.strip().replace(" ", "")
    if not text:
        if required:
            raise InvalidInput("give an amount, e.g. 2.50", field=field)
        return None
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise InvalidInput("give an amount as a number, e.g. 2.50", field=field) from None
    if not amount.is_finite() or amount <= 0:
        raise InvalidInput("the amount must be more than 0", field=field)
    if amount > MAX_MONEY or (amount * MICRO) != (amount * MICRO).to_integral_value():
        raise InvalidInput("at most 6 decimals, and not that large", field=field)
    return int(amount * MICRO)


def _words(text: str) -> list[str]:
    return [w.strip() for w in _SPLIT.split(text) if w.strip()]


def _ids(values: list[str], field: str) -> list[int]:
    out = []
    for i, v in enumerate(values):
        if not v.isdigit() or len(v) > 18:
            raise InvalidInput("choose from the list", field=f"{field}[{i}]")
        out.append(int(v))
    return out


def _one_id(value: str, field: str) -> int:
    return _ids([value], field)[0]


def _frequency_cap(impressions: str, days: str) -> dict[str, int] | None:
    if not impressions.strip():
        return None
    if not impressions.strip().isdigit() or len(impressions.strip()) > 6:
        raise InvalidInput("give a whole number of impressions (1-1,000)", field="frequency_cap")
    if days not in ("1", "7", "30"):
        raise InvalidInput("the window is 1, 7 or 30 days", field="frequency_cap")
    return {"impressions": int(impressions), "days": int(days)}


def _group_fields(form: dict[str, Any]) -> dict[str, Any]:
    """The ad group's fields from its form (the same for creating and changing one)."""
    return {
        "name": form["name"],
        "status": form["status"],
        "billable_event": form["billable_event"],
        "bid_in_micro": _money(form["bid"], "bid"),
        "budget_in_micro": _money(form["budget"], "budget"),
        "pacing_delivery_type": form["pacing_delivery_type"],
        "placement": form["placement"],
        "frequency_cap": _frequency_cap(form["frequency_cap_impressions"], form["frequency_cap_days"]),
        "targeting_spec": {
            "interests": _words(form["interests"]),
            "keywords": _words(form["keywords"]),
            "audience_include": _ids(form["audience_include"], "audience_include"),
            "audience_exclude": _ids(form["audience_exclude"], "audience_exclude"),
            "expanded": form["expanded"] == "on",
        },
    }


def group_form(
    name: FormStr = "",
    status: FormStr = "active",
    billable_event: FormStr = "impression",
    bid: FormStr = "",
    budget: FormStr = "",
    pacing_delivery_type: FormStr = "standard",
    placement: FormStr = "all",
    frequency_cap_impressions: FormStr = "",
    frequency_cap_days: FormStr = "1",
    interests: FormStr = "",
    keywords: FormStr = "",
    audience_include: FormList = [],  # noqa: B006 (FastAPI copies defaults)
    audience_exclude: FormList = [],  # noqa: B006
    expanded: FormStr = "",
) -> dict[str, Any]:
    return dict(locals())


GroupForm = Annotated[dict[str, Any], Depends(group_form)]


def promoted_routes(router: APIRouter, pages: Pages) -> None:
    def page_of(ad_account_id: int) -> str:
        return f"/advertisers/{ad_account_id}/promoted"

    def render(
        request: Request,
        system: System,
        caller: Caller,
        ad_account_id: int,
        *,
        form: str = "",
        error: TastegraphError | None = None,
        values: dict[str, Any] | None = None,
    ) -> Response:
        account = account_cases.ad_caller_for_owner(system, caller, ad_account_id)
        context = {
            "o": ad_cases.overview(system, account),
            "error_form": form if error else "",
            "error_field": _field(error.field) if error else "",
            "error_message": sentence(error.message) if error else "",
            "values": values or {},
        }
        status = error.status if error else 200
        return pages.render(request, "promoted.html", caller, context, status=status)

    signed_in_here = signed_in("/advertisers")
    form_here = signed_in_form("/advertisers")

    @router.get(
        "/advertisers/{ad_account_id:int}/promoted",
        response_class=HTMLResponse,
        dependencies=[signed_in_here],
    )
    def promoted_page(ad_account_id: int, request: Request, system: SystemDep, caller: CallerDep) -> Response:
        return render(request, system, caller, ad_account_id)

    @router.post("/advertisers/{ad_account_id:int}/promoted/campaigns", dependencies=[form_here])
    def create_campaign(
        ad_account_id: int,
        request: Request,
        system: SystemDep,
        caller: CallerDep,
        name: FormStr = "",
        objective: FormStr = "",
        status: FormStr = "active",
        daily_spend_cap: FormStr = "",
    ) -> Response:
        account = account_cases.ad_caller_for_owner(system, caller, ad_account_id)
        values = {"name": name, "objective": objective, "status": status, "daily_spend_cap": daily_spend_cap}
        try:
            fields: dict[str, Any] = {"name": name, "objective": objective, "status": status}
            if cap := _money(daily_spend_cap, "daily_spend_cap", required=False):
                fields["daily_spend_cap"] = cap
            made = ad_cases.create_campaign(system, account, fields)
        except TastegraphError as exc:
            return render(
                request, system, caller, ad_account_id, form="new-campaign", error=exc, values=values
            )
        return redirect(f"{page_of(ad_account_id)}?notice=campaign_saved#campaign-{made.id}")

    @router.post(
        "/advertisers/{ad_account_id:int}/promoted/campaigns/{campaign_id:int}", dependencies=[form_here]
    )
    def change_campaign(
        ad_account_id: int,
        campaign_id: int,
        request: Request,
        system: SystemDep,
        caller: CallerDep,
        name: FormStr = "",
        status: FormStr = "",
        daily_spend_cap: FormStr = "",
    ) -> Response:
        account = account_cases.ad_caller_for_owner(system, caller, ad_account_id)
        values = {"name": name, "status": status, "daily_spend_cap": daily_spend_cap}
        try:
            changes = {
                "name": name,
                "status": status,
                "daily_spend_cap": _money(daily_spend_cap, "daily_spend_cap", required=False),
            }
            ad_cases.change_campaign(system, account, campaign_id, changes)
        except TastegraphError as exc:
            form = f"campaign-{campaign_id}"
            return render(request, system, caller, ad_account_id, form=form, error=exc, values=values)
        return redirect(f"{page_of(ad_account_id)}?notice=campaign_saved#campaign-{campaign_id}")

    @router.post("/advertisers/{ad_account_id:int}/promoted/ad_groups", dependencies=[form_here])
    def create_ad_group(
        ad_account_id: int,
        request: Request,
        system: SystemDep,
        caller: CallerDep,
        form: GroupForm,
        campaign_id: FormStr = "",
    ) -> Response:
        account = account_cases.ad_caller_for_owner(system, caller, ad_account_id)
        values = {**form, "campaign_id": campaign_id}
        try:
            fields = {
                **_group_fields(form),
                "campaign_id": _one_id(campaign_id, "campaign_id"),
                "budget_type": "daily",
            }
            made = ad_cases.create_ad_group(system, account, fields)
        except TastegraphError as exc:
            return render(request, system, caller, ad_account_id, form="new-group", error=exc, values=values)
        return redirect(f"{page_of(ad_account_id)}?notice=ad_group_saved#group-{made['id']}")

    @router.post(
        "/advertisers/{ad_account_id:int}/promoted/ad_groups/{ad_group_id:int}", dependencies=[form_here]
    )
    def change_ad_group(
        ad_account_id: int,
        ad_group_id: int,
        request: Request,
        system: SystemDep,
        caller: CallerDep,
        form: GroupForm,
    ) -> Response:
        account = account_cases.ad_caller_for_owner(system, caller, ad_account_id)
        try:
            changes = _group_fields(form)
            del changes["billable_event"]  # fixed once made (the form shows it, cannot send it)
            ad_cases.change_ad_group(system, account, ad_group_id, changes)
        except TastegraphError as exc:
            where = f"group-{ad_group_id}"
            return render(request, system, caller, ad_account_id, form=where, error=exc, values=form)
        return redirect(f"{page_of(ad_account_id)}?notice=ad_group_saved#group-{ad_group_id}")

    @router.post("/advertisers/{ad_account_id:int}/promoted/pins", dependencies=[form_here])
    async def upload_pin(
        ad_account_id: int,
        request: Request,
        system: SystemDep,
        caller: CallerDep,
        image: Annotated[UploadFile | None, File()] = None,
        title: FormStr = "",
        description: FormStr = "",
        link: FormStr = "",
        topics: FormStr = "",
    ) -> Response:
        values = {"title": title, "description": description, "link": link, "topics": topics}
        error: TastegraphError | None = None
        data = b""
        content_type = ""
        if image is None or not image.filename:
            error = InvalidInput("choose an image file (JPEG, PNG or WebP)", field="media_source.data")
        else:
            content_type = (image.content_type or "").lower()
            data = await image.read(ad_cases.MAX_IMAGE_BYTES + 1)
        return await run_in_threadpool(
            _finish_upload, request, system, caller, ad_account_id, values, error, content_type, data
        )

    def _finish_upload(
        request: Request,
        system: System,
        caller: Caller,
        ad_account_id: int,
        values: dict[str, Any],
        error: TastegraphError | None,
        content_type: str,
        data: bytes,
    ) -> Response:
        account = account_cases.ad_caller_for_owner(system, caller, ad_account_id)
        try:
            if error is not None:
                raise error
            if content_type not in ad_cases.IMAGE_FORMATS:
                raise InvalidInput("the image is a JPEG, PNG or WebP file", field="media_source.content_type")
            if len(data) > ad_cases.MAX_IMAGE_BYTES:
                raise InvalidInput(
                    f"the image is over {ad_cases.MAX_IMAGE_BYTES // (1024 * 1024)} MB",
                    field="media_source.data",
                )
            new = ad_cases.NewAdPin(
                title=values["title"],
                description=values["description"],
                link=values["link"],
                topics=_words(values["topics"]),
                content_type=content_type,  # type: ignore[arg-type]  # checked just above
                data=base64.b64encode(data).decode(),
            )
            made = ad_cases.create_pin(system, account, new)
        except TastegraphError as exc:
            return render(request, system, caller, ad_account_id, form="new-pin", error=exc, values=values)
        return redirect(f"{page_of(ad_account_id)}?notice=pin_uploaded#pin-{made.id}")

    @router.post("/advertisers/{ad_account_id:int}/promoted/ads", dependencies=[form_here])
    def create_ad(
        ad_account_id: int,
        request: Request,
        system: SystemDep,
        caller: CallerDep,
        ad_group_id: FormStr = "",
        pin_id: FormStr = "",
        name: FormStr = "",
        status: FormStr = "active",
        destination_url: FormStr = "",
    ) -> Response:
        account = account_cases.ad_caller_for_owner(system, caller, ad_account_id)
        values = {"ad_group_id": ad_group_id, "pin_id": pin_id, "name": name, "status": status}
        values["destination_url"] = destination_url
        try:
            fields: dict[str, Any] = {
                "ad_group_id": _one_id(ad_group_id, "ad_group_id"),
                "pin_id": _one_id(pin_id, "pin_id"),
                "status": status,
            }
            if name.strip():
                fields["name"] = name
            if destination_url.strip():
                fields["destination_url"] = destination_url.strip()
            made = ad_cases.create_ad(system, account, fields)
        except TastegraphError as exc:
            return render(request, system, caller, ad_account_id, form="new-ad", error=exc, values=values)
        return redirect(f"{page_of(ad_account_id)}?notice=ad_saved#ad-{made.id}")

    @router.post("/advertisers/{ad_account_id:int}/promoted/ads/{ad_id:int}", dependencies=[form_here])
    def change_ad(
        ad_account_id: int,
        ad_id: int,
        request: Request,
        system: SystemDep,
        caller: CallerDep,
        name: FormStr = "",
        status: FormStr = "",
        destination_url: FormStr = "",
    ) -> Response:
        account = account_cases.ad_caller_for_owner(system, caller, ad_account_id)
        values = {"name": name, "status": status, "destination_url": destination_url}
        try:
            changes = {"name": name, "status": status, "destination_url": destination_url.strip() or None}
            ad_cases.change_ad(system, account, ad_id, changes)
        except TastegraphError as exc:
            return render(
                request, system, caller, ad_account_id, form=f"ad-{ad_id}", error=exc, values=values
            )
        return redirect(f"{page_of(ad_account_id)}?notice=ad_saved#ad-{ad_id}")
