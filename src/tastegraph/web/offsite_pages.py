"""Off-site visits without third-party cookies (issue 14): the save button's frame, and the outbound
click from a Pin to its site.

- `/widget/frame` is the one page other sites may embed (its own CSP: `frame-ancestors` http and https).
  It carries no data: `widget-frame.js` reads its parameters, checks that the embedding page is the one
  it reports, asks the browser for storage access (`document.hasStorageAccess()`, and
  `requestStorageAccess()` on the person's click) and reports the visit from our own origin.
- `/pins/{id}/visit` sends the person to the Pin's site, with a short-lived click id (`tg_click`) when
  they are signed in and their settings and this request's signals allow it.
"""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from tastegraph.edge.csp import FRAME_CSP
from tastegraph.edge.deps import CallerDep, SystemDep
from tastegraph.usecases import offsite
from tastegraph.web.rendering import Pages

# Static: everything the frame needs comes from its own URL, read by its script, never echoed here.
FRAME_HTML = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">
<title>Tastegraph</title>
<link rel="stylesheet" href="/static/widget-frame.css">
</head>
<body>
<button type="button" id="tg-access" class="tg-access" hidden
  title="Let Tastegraph recognise you on this site, so your visits here can shape your feed"
  >Use my visits here</button>
<script src="/static/widget-frame.js"></script>
</body>
</html>
"""


def routes(pages: Pages) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/widget/frame", response_class=HTMLResponse)
    def widget_frame() -> Response:
        return HTMLResponse(
            FRAME_HTML,
            headers={"Content-Security-Policy": FRAME_CSP, "Cache-Control": "public, max-age=3600"},
        )

    @router.get("/pins/{pin_id:int}/visit")
    def visit_pin_site(pin_id: int, system: SystemDep, caller: CallerDep) -> Response:
        target = offsite.outbound_click(system, caller, pin_id)  # NotFound -> the 404 page
        # Every answer says Referrer-Policy: same-origin, so the site learns nothing of the Pin page.
        return RedirectResponse(target, status_code=303)

    return router
