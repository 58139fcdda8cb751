"""The privacy center (signed in: settings, advertisers' data about me, the consent history, deleting
the account) and the signed-out browser choice."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from tastegraph.edge.cookies import browser_allows, set_browser_choice
from tastegraph.edge.cookies import delete_account as erase_and_forget_browser
from tastegraph.edge.deps import CallerDep, SystemDep
from tastegraph.usecases import accounts as account_cases
from tastegraph.usecases import privacy_center
from tastegraph.usecases.privacy_center import BROWSER_SETTING
from tastegraph.web.rendering import FormStr, Pages, redirect, when

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


def routes(pages: Pages) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    csrf = pages.csrf

    @router.get("/settings", response_class=HTMLResponse)
    def settings_page(request: Request, system: SystemDep, caller: CallerDep) -> Response:
        if caller.user_id is None:
            return redirect("/signin?next=/settings")
        overview = privacy_center.settings_overview(system, caller)
        rows = [
            {
                "when": when(e.changed_at),
                "setting": setting_label(e.setting),
                "old": VALUE_LABELS.get(e.old_value, e.old_value or "—"),
                "new": VALUE_LABELS.get(e.new_value, e.new_value),
                "source": SOURCE_LABELS.get(e.source, e.source),
            }
            for e in overview.history
        ]
        return pages.render(
            request,
            "settings.html",
            caller,
            {
                "personalization": overview.settings["personalization"],
                "ads_advertiser_data": overview.settings["ads_advertiser_data"],
                "ads_off_by_gpc": overview.ads_off_by_gpc,
                "advertisers": overview.advertisers,
                "history": rows,
                # When the browser itself says no (DNT, GPC, opt-out cookie), say so next to the setting.
                "browser_note": overview.browser_refuses,
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
            return redirect("/signin?next=/settings")
        # Each toggle is its own form; `setting` says which one was sent (an unchecked box sends nothing).
        on = {"personalization": personalization, "ads_advertiser_data": ads_advertiser_data}
        name = setting if setting in on else "personalization"
        change: dict[str, object] = {name: on[name] in ("on", "true", "1")}
        account_cases.change_settings(system, caller.user_id, change, "privacy-center", caller.browser_id)
        return redirect("/settings?notice=settings_saved" + ("#ads" if name != "personalization" else ""))

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
            return redirect("/signin?next=/settings")
        privacy_center.set_advertiser_choice(system, caller.user_id, ad_account_id, allow == "yes")
        return redirect("/settings?notice=settings_saved#ads")

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
            return redirect("/signin?next=/settings")
        if confirm != "yes":
            return redirect("/settings?confirm=missing#delete")
        response = redirect("/?notice=deleted")
        erase_and_forget_browser(system, request, response, caller.user_id)
        return response

    @router.get("/privacy", response_class=HTMLResponse)
    def privacy_page(request: Request, system: SystemDep, caller: CallerDep) -> Response:
        signals = caller.signals
        return pages.render(
            request,
            "privacy.html",
            caller,
            {
                "allow": browser_allows(request),
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
        response = redirect("/privacy?notice=browser_saved")
        set_browser_choice(system, request, response, caller, allow in ("on", "true", "1"))
        return response

    return router
