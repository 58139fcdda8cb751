"""Search by words: `/search?q=` (results with what matched and why). The header of every page
(templates/base.html) has the search box that leads here."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from tastegraph.edge.deps import CallerDep, SystemDep
from tastegraph.kernel import InvalidInput
from tastegraph.usecases import boards
from tastegraph.usecases import search as search_usecase
from tastegraph.web.images import image_size, image_src
from tastegraph.web.rendering import Pages

RESULTS = 30


def routes(pages: Pages) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/search", response_class=HTMLResponse)
    def search_page(request: Request, system: SystemDep, caller: CallerDep, q: str = "") -> Response:
        if not q.strip():  # the page itself, before anything is typed
            return pages.render(request, "search.html", caller, {"q": "", "search_q": "", "asked": False})
        try:
            page = search_usecase.search(system, caller, q, RESULTS)
        except InvalidInput as exc:
            shown = q[: search_usecase.MAX_QUERY_CHARS]
            context = {"q": shown, "search_q": shown, "asked": True, "problem": exc.message}
            return pages.render(request, "search.html", caller, context, status=422)
        save = boards.save_state(system, caller.user_id, [item.pin["id"] for item in page.items])
        cards = []
        for item in page.items:
            src = image_src(item.pin)
            cards.append(
                {
                    "pin": item.pin,
                    "image": src,
                    "size": image_size(src),
                    "matches": [str(m["text"]) for m in item.matches],
                    "reasons": [str(r["text"]) for r in item.reasons if r.get("text")],
                    "promoted": item.promoted,
                }
            )
        return pages.render(
            request,
            "search.html",
            caller,
            {
                "q": page.query,
                "search_q": page.query,
                "asked": True,
                "cards": cards,
                "personalized": page.personalized,
                "note": page.personalization_note,
                "save": save,
                "back": "/search?" + urlencode({"q": page.query}),
            },
        )

    return router
