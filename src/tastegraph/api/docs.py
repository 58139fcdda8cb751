"""The API's documentation pages, /docs (Swagger UI) and /redoc, served entirely from the app's own files.

FastAPI's own pages load Swagger UI and ReDoc from a CDN (telling it who reads our docs) and start Swagger
UI with an inline script, which the pages' CSP (`script-src 'self'`) refuses. Here the vendored bundles
come from the `fastapi-offline` package and a small local file starts Swagger UI.
"""

from __future__ import annotations

import functools
from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

from tastegraph.edge.csp import PAGE_CSP

ASSETS = "/docs-assets"
# ReDoc styles itself with <style> elements it adds at run time, which `style-src 'self'` refuses. Its
# style engine adds them empty and fills them through the CSSOM (which CSP does not govern), and its
# scrollbar adds one fixed sheet: /redoc's policy admits exactly those two (the empty text's hash and
# that sheet's, from the pinned fastapi-offline bundle; tests/e2e/test_docs.py fails should it change).
REDOC_STYLE_HASHES = (
    "'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='",
    "'sha256-QMIg+bpjm3JdElJ388KYke01izlUW0UoNOeKjpMxdgc='",
)
REDOC_CSP = PAGE_CSP.replace("style-src 'self'", "style-src 'self' " + " ".join(REDOC_STYLE_HASHES))
# ReDoc's sidebar shows its maker's logo from their CDN; our copy shows none (an image that fails to load
# is hidden), so reading our docs tells no one.
REDOCLY_LOGO = b"https://cdn.redoc.ly/redoc/logo-mini.svg"
OWN = Path(__file__).parent / "docs_static"


def _vendor_dir() -> Path:
    return Path(str(files("fastapi_offline") / "static"))


def _page(title: str, head: str, body: str) -> str:
    return f"""<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>{title}</title>
  <link rel="icon" href="{ASSETS}/vendor/favicon.png">
  <link rel="stylesheet" href="{ASSETS}/docs.css">
  {head}
</head>
<body>
  {body}
</body>
</html>
"""


def swagger_html(openapi_url: str, title: str) -> str:
    return _page(
        f"{title} - Swagger UI",
        f'<link rel="stylesheet" href="{ASSETS}/vendor/swagger-ui.css">',
        f'<div id="swagger-ui" data-openapi-url="{openapi_url}"></div>\n'
        f'  <script src="{ASSETS}/vendor/swagger-ui-bundle.js"></script>\n'
        f'  <script src="{ASSETS}/swagger-init.js"></script>',
    )


def redoc_html(openapi_url: str, title: str) -> str:
    # ReDoc reads its options from the element's attributes: no start-up script of ours. Its search runs
    # in a worker made from a blob: URL, which `script-src 'self'` refuses: search is off.
    return _page(
        f"{title} - ReDoc",
        "",
        f'<redoc spec-url="{openapi_url}" disable-search="true"></redoc>\n'
        f'  <script src="{ASSETS}/redoc.standalone.js"></script>',
    )


@functools.cache
def redoc_bundle() -> bytes:
    return (_vendor_dir() / "redoc.standalone.js").read_bytes().replace(REDOCLY_LOGO, b"data:,")


def install(app: FastAPI) -> None:
    openapi_url = app.openapi_url or "/openapi.json"
    title = app.title
    headers = {"Content-Security-Policy": PAGE_CSP}

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return HTMLResponse(swagger_html(openapi_url, title), headers=headers)

    @app.get("/redoc", include_in_schema=False)
    async def redoc() -> HTMLResponse:
        return HTMLResponse(redoc_html(openapi_url, title), headers={"Content-Security-Policy": REDOC_CSP})

    @app.get(f"{ASSETS}/redoc.standalone.js", include_in_schema=False)
    async def redoc_js() -> Response:
        cache = {"Cache-Control": "public, max-age=3600"}
        return Response(redoc_bundle(), media_type="application/javascript", headers=cache)

    # The more specific mount first: /docs-assets/vendor/... are the vendored bundles.
    app.mount(f"{ASSETS}/vendor", StaticFiles(directory=_vendor_dir()), name="docs-vendor")
    app.mount(ASSETS, StaticFiles(directory=OWN), name="docs-assets")
