"""Feed controls' pages: hiding a Pin from its card or its page (and undoing it), and "Tune your home
feed" (`/feed-tuner`) with a form per removal.

Every form is a plain CSRF-checked POST answered with a redirect, so it works without script;
static/feed_controls.js sends the hide and undo forms in the background (`Accept: application/json`
gets 204 instead of the redirect) and removes or restores the card in place."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from tastegraph.edge.deps import CallerDep, SystemDep
from tastegraph.kernel import NotFound
from tastegraph.usecases import feed_tuner
from tastegraph.web.rendering import FormStr, Pages, redirect, safe_next, signed_in, signed_in_form, when

REASON_LABELS: dict[str | None, str] = {
    None: "No reason given",
    "not_interested": "Not interested",
    "seen_it": "Seen it already",
    "offensive": "Offensive or inappropriate",
}

TunerFormUser = Annotated[int, signed_in_form("/feed-tuner")]


def _done(request: Request, back: str, notice: str) -> Response:
    """204 for the page script's background request; else back where the form came from."""
    if "application/json" in request.headers.get("accept", ""):
        return Response(status_code=204)
    path = safe_next(back)
    anchor = ""
    if "#" in path:
        path, anchor = path.split("#", 1)
        anchor = "#" + anchor
    sep = "&" if "?" in path else "?"
    return redirect(f"{path}{sep}notice={notice}{anchor}")


def routes(pages: Pages) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.post("/pins/{pin_id:int}/hide")
    def hide_pin(
        pin_id: int,
        request: Request,
        system: SystemDep,
        user_id: Annotated[int, signed_in_form("/")],
        reason: FormStr = "",
        next: FormStr = "/",
    ) -> Response:
        feed_tuner.hide(system, user_id, pin_id, reason or None)  # unknown reason: 422 page
        return _done(request, next, "pin_hidden")

    @router.post("/pins/{pin_id:int}/unhide")
    def unhide_pin(
        pin_id: int,
        request: Request,
        system: SystemDep,
        user_id: Annotated[int, signed_in_form("/")],
        next: FormStr = "/",
    ) -> Response:
        feed_tuner.unhide(system, user_id, pin_id)
        return _done(request, next, "pin_unhidden")

    @router.get("/feed-tuner", response_class=HTMLResponse, dependencies=[signed_in("/feed-tuner")])
    def tuner_page(request: Request, system: SystemDep, caller: CallerDep) -> Response:
        t = feed_tuner.tuner(system, caller)
        down = {(d["kind"], d["value"]): d for d in t.toned_down}
        return pages.render(
            request,
            "feed_tuner.html",
            caller,
            {
                "sites": [
                    {
                        **s,
                        "last": when(s["last_visited_at"]),
                        "first": when(s["first_visited_at"]),
                        "down": down.get(("site", s["domain"])),
                    }
                    for s in t.sites
                ],
                "sites_used": t.sites_used,
                "sites_note": t.sites_note,
                "retention_days": system.settings.offsite_retention_days,
                "topics": [{**x, "down": down.get(("topic", x["topic"]))} for x in t.topics],
                "removed_topics": [{**x, "when": when(x["removed_at"])} for x in t.removed_topics],
                "boards": [{**b, "when": when(b["followed_at"])} for b in t.boards],
                "people": [{**p, "when": when(p["followed_at"])} for p in t.people],
                "searches": [{**s, "when": when(s["searched_at"])} for s in t.searches],
                "hidden": [
                    {"pin": h, "reason": REASON_LABELS.get(h.reason, h.reason), "when": when(h.hidden_at)}
                    for h in t.hidden
                ],
                "down_sites": [d for d in t.toned_down if d["kind"] == "site"],
            },
        )

    @router.post("/feed-tuner/sites/remove")
    def remove_site(
        request: Request, system: SystemDep, user_id: TunerFormUser, domain: FormStr = ""
    ) -> Response:
        feed_tuner.remove_site(system, user_id, domain)
        return _done(request, "/feed-tuner#sites", "site_removed")

    @router.post("/feed-tuner/topics/remove")
    def remove_topic(
        request: Request, system: SystemDep, user_id: TunerFormUser, topic: FormStr = ""
    ) -> Response:
        feed_tuner.remove_topic(system, user_id, topic)
        return _done(request, "/feed-tuner#topics", "topic_removed")

    @router.post("/feed-tuner/topics/restore")
    def restore_topic(
        request: Request, system: SystemDep, user_id: TunerFormUser, topic: FormStr = ""
    ) -> Response:
        feed_tuner.restore_topic(system, user_id, topic)
        return _done(request, "/feed-tuner#topics", "topic_restored")

    @router.post("/feed-tuner/boards/remove")
    def unfollow_board(
        request: Request, system: SystemDep, user_id: TunerFormUser, board_id: FormStr = ""
    ) -> Response:
        feed_tuner.unfollow_board(system, user_id, _id(board_id))
        return _done(request, "/feed-tuner#boards", "unfollowed")

    @router.post("/feed-tuner/people/remove")
    def unfollow_person(
        request: Request, system: SystemDep, user_id: TunerFormUser, person_id: FormStr = ""
    ) -> Response:
        feed_tuner.unfollow_person(system, user_id, _id(person_id))
        return _done(request, "/feed-tuner#people", "unfollowed")

    @router.post("/feed-tuner/searches/clear")
    def clear_searches(request: Request, system: SystemDep, user_id: TunerFormUser) -> Response:
        feed_tuner.clear_searches(system, user_id)
        return _done(request, "/feed-tuner#searches", "searches_cleared")

    return router


def _id(value: str) -> int:
    """A form's id field; anything else names nothing (NotFound: the 404 page)."""
    if not value.isdigit() or not 0 < int(value) < 2**63:
        raise NotFound("nothing has that id", field="id")
    return int(value)
