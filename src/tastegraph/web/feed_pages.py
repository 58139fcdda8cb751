"""The home feed and one Pin with why it is shown. (The page the save button on other sites opens is
web.pin_it_pages.)"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from tastegraph.edge.deps import CallerDep, SystemDep
from tastegraph.usecases import home_feed
from tastegraph.web.images import image_size, image_src, topic_label
from tastegraph.web.rendering import Pages

FEED_SIZE = 40


def routes(pages: Pages) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/", response_class=HTMLResponse)
    def home(request: Request, system: SystemDep, caller: CallerDep) -> Response:
        feed = home_feed.feed(system, caller, FEED_SIZE)
        cards = []
        for entry in feed.items:
            pin = entry.pin
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

    @router.get("/pins/{pin_id:int}", response_class=HTMLResponse)
    def pin_page(pin_id: int, request: Request, system: SystemDep, caller: CallerDep) -> Response:
        shown = home_feed.pin_with_reasons(system, caller, pin_id)  # NotFound -> the 404 page
        pin = shown.pin
        return pages.render(
            request,
            "pin.html",
            caller,
            {
                "pin": pin,
                "image": image_src(pin),
                "reasons": [str(r["text"]) for r in shown.reasons if r.get("text")],
                "topics": [(t, topic_label(t, shown.topic_names.get(t))) for t in pin["topics"]],
            },
        )

    return router
