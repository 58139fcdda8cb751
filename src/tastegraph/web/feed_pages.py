"""The home feed and one Pin with why it is shown. (The page the save button on other sites opens is
web.pin_it_pages.)"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from tastegraph.edge.deps import CallerDep, SystemDep
from tastegraph.usecases import boards
from tastegraph.usecases.feed_tuner import ToneDown
from tastegraph.web.board_pages import card, reason_texts
from tastegraph.web.images import image_size, image_src, topic_label
from tastegraph.web.rendering import Pages

FEED_SIZE = 40
RELATED_SIZE = 12


def toned_down_phrases(toned_down: list[ToneDown]) -> list[str]:
    """Feed controls: "from example.com", "about Outdoors" for the home page's note."""
    return [
        f"from {d['value']}" if d["kind"] == "site" else f"about {topic_label(d['value'])}"
        for d in toned_down
    ][:4]


def routes(pages: Pages) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/", response_class=HTMLResponse)
    def home(request: Request, system: SystemDep, caller: CallerDep) -> Response:
        shown = boards.feed_page(system, caller, FEED_SIZE)  # the feed and its Save buttons' state
        feed = shown.feed
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
                    "promoted": entry.promoted,
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
                "save": shown.save,
                "back": "/",
                "toned_down": toned_down_phrases(feed.toned_down),
            },
        )

    @router.get("/pins/{pin_id:int}", response_class=HTMLResponse)
    def pin_page(pin_id: int, request: Request, system: SystemDep, caller: CallerDep) -> Response:
        # The Pin, why it is shown, its related Pins and the Save state (NotFound -> the 404 page).
        whole = boards.pin_page(system, caller, pin_id, RELATED_SIZE)
        shown = whole.page
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
                "related": [card(r.pin, reason_texts(r), r.promoted) for r in whole.related],
                "save": whole.save,
                "back": f"/pins/{pin_id}",
            },
        )

    return router
