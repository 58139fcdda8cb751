"""The privacy center (signed in: settings, advertisers' data about me, the consent history, deleting
the account) and the signed-out browser choice."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import HTMLResponse

from tastegraph.edge.cookies import browser_allows, set_browser_choice
from tastegraph.edge.cookies import delete_account as erase_and_forget_browser
from tastegraph.edge.deps import CallerDep, SystemDep
from tastegraph.kernel import NotFound
from tastegraph.usecases import accounts as account_cases
from tastegraph.usecases import privacy_center, promoted_pins
from tastegraph.usecases.callers import Caller
from tastegraph.usecases.privacy_center import BROWSER_SETTING
from tastegraph.web.rendering import FormStr, Pages, checked_form, redirect, signed_in, signed_in_form, when

SETTING_LABELS: dict[str, str] = {
    "personalization": "Use sites you visit to improve recommendations",
    BROWSER_SETTING: "Allow personalization using sites I visit (this browser, signed out)",
    "ads_advertiser_data": "Use info from advertisers to improve ads",
}

SOURCE_LABELS: dict[str, str] = {
    "sign-up": "Account created (default)",
    "sign-up-choice": "Chosen when you signed up",
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


# The privacy center's forms: the signed-in person's id, once the form's CSRF token is checked; a
# signed-out visitor is sent to sign in and come back to /settings.
SettingsFormUser = Annotated[int, signed_in_form("/settings")]


def routes(pages: Pages) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/settings", response_class=HTMLResponse, dependencies=[signed_in("/settings")])
    def settings_page(request: Request, system: SystemDep, caller: CallerDep) -> Response:
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
        system: SystemDep,
        caller: CallerDep,
        user_id: SettingsFormUser,
        personalization: FormStr = "",
        ads_advertiser_data: FormStr = "",
        setting: FormStr = "personalization",
    ) -> Response:
        # Each toggle is its own form; `setting` says which one was sent (an unchecked box sends nothing).
        on = {"personalization": personalization, "ads_advertiser_data": ads_advertiser_data}
        name = setting if setting in on else "personalization"
        change: dict[str, object] = {name: on[name] in ("on", "true", "1")}
        account_cases.change_settings(system, user_id, change, "privacy-center", caller.browser_id)
        return redirect("/settings?notice=settings_saved" + ("#ads" if name != "personalization" else ""))

    @router.post("/settings/advertisers/{ad_account_id:int}")
    def advertiser_choice(
        ad_account_id: int, system: SystemDep, user_id: SettingsFormUser, allow: FormStr = ""
    ) -> Response:
        privacy_center.set_advertiser_choice(system, user_id, ad_account_id, allow == "yes")
        return redirect("/settings?notice=settings_saved#ads")

    @router.post("/settings/delete")
    def delete_account(
        request: Request, system: SystemDep, user_id: SettingsFormUser, confirm: FormStr = ""
    ) -> Response:
        if confirm != "yes":
            return redirect("/settings?confirm=missing#delete")
        response = redirect("/?notice=deleted")
        erase_and_forget_browser(system, request, response, user_id)
        return response

    @router.get("/privacy", response_class=HTMLResponse)
    def privacy_page(request: Request, system: SystemDep, caller: CallerDep) -> Response:
        signals = caller.signals
        return pages.render(
            request,
            "privacy.html",
            caller,
            {
                "allow": browser_allows(request, system),
                "opt_in": account_cases.consent_is_opt_in(system),
                "dnt": signals.do_not_track,
                "gpc": signals.global_privacy_control,
                "retention_days": system.settings.offsite_retention_days,
                # The person's (signed out: this browser's) hidden ads and advertisers, undoable here.
                "hidden_ads": [
                    {**h, "when": when(h["created_at"])} for h in promoted_pins.hidden_ads(system, caller)
                ],
            },
        )

    @router.post("/privacy/hidden-ads/{hide_id:int}/remove")
    def show_ads_again(
        hide_id: int, caller: Annotated[Caller, Depends(checked_form)], system: SystemDep
    ) -> Response:
        # Only the caller's own hides: anyone else's id is NotFound and changes nothing.
        try:
            promoted_pins.unhide(system, caller, hide_id)
        except NotFound:
            return redirect("/privacy?notice=hide_gone#hidden-ads")
        return redirect("/privacy?notice=hide_removed#hidden-ads")

    @router.post("/privacy", dependencies=[Depends(checked_form)])
    def privacy_choice(
        request: Request, system: SystemDep, caller: CallerDep, allow: FormStr = ""
    ) -> Response:
        response = redirect("/privacy?notice=browser_saved")
        set_browser_choice(system, request, response, caller, allow in ("on", "true", "1"))
        return response

    return router
