"""The server-rendered pages, mounted on the app: one module per page group, each an adapter that
parses the form or query, calls one use case (tastegraph.usecases) and renders a template.

Every asset is served by the app itself: no CDN, no external fonts. Forms are plain HTML POSTs
protected by `web.csrf`, answered with a redirect.

| module | pages |
|---|---|
| `feed_pages` | `/` (home feed), `/pins/{id}` (a Pin, why it is shown, related Pins) |
| `board_pages` | `/boards/{id}`, `/boards/new`, `/users/{id}`, and the Save button's and boards' forms |
| `pin_it_pages` | `/save` (the Pin It popup: sign in or up, pick a board, save), `/media/<key>` |
| `account_pages` | `/signup`, `/signin`, `/signout` |
| `privacy_pages` | `/settings` (+ advertisers, deletion), `/privacy` (the signed-out choice) |
| `tuner_pages` | `/feed-tuner` (what shapes my feed, each removable), `/pins/{id}/hide` and `/unhide` |
| `advertiser_pages` | `/advertisers` (tag, tokens, audiences), `/advertisers/{id}/promoted` (Promoted Pins) |
| `report_pages` | `/advertisers/{id}/reports` (charts, table, CSV download) |
| `search_pages` | `/search?q=` (search results with what matched and why) |
| `offsite_pages` | `/widget/frame` (the save button's frame), `/pins/{id}/visit` (to the Pin's site) |
| `assets` | `/widget.js`, `/tag.js`, `/static/demo-img/...`, `/ikea-images/...` |
| `error_pages` | friendly HTML errors on page paths |
"""

from __future__ import annotations

from fastapi import FastAPI, Request, Response
from fastapi.staticfiles import StaticFiles

from tastegraph.bootstrap import System
from tastegraph.edge.csp import PAGE_CSP as PAGE_CSP
from tastegraph.web import (
    account_pages,
    advertiser_pages,
    assets,
    board_pages,
    feed_pages,
    offsite_pages,
    pin_it_pages,
    privacy_pages,
    report_pages,
    search_pages,
    tuner_pages,
)
from tastegraph.web.error_pages import install_error_pages
from tastegraph.web.images import placeholder_svg as placeholder_svg
from tastegraph.web.rendering import STATIC, Pages, SignInFirst, redirect


def install(app: FastAPI, system: System) -> None:
    pages = Pages(system)
    app.state.pages = pages
    install_error_pages(app, pages)

    async def sign_in_first(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, SignInFirst)
        return redirect(f"/signin?next={exc.back_to}")

    app.add_exception_handler(SignInFirst, sign_in_first)
    groups = (
        feed_pages,
        account_pages,
        privacy_pages,
        advertiser_pages,
        board_pages,
        tuner_pages,
        pin_it_pages,
        offsite_pages,
    )
    for group in groups:
        app.include_router(group.routes(pages))
    app.include_router(search_pages.routes(pages))  # issue 14: search by words
    app.include_router(report_pages.routes(pages))  # issue 16: advertiser reports
    app.include_router(assets.routes())  # before the /static mount: /static/demo-img/... is generated
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
