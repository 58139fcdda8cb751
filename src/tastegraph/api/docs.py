"""The API's documentation pages, /docs (Swagger UI) and /redoc, served entirely from the app's own files.

FastAPI's own pages load Swagger UI and ReDoc from a CDN (telling it who reads our docs) and start Swagger
UI with an inline script, which the pages' CSP (`script-src 'self'`) refuses. Here the vendored bundles
come from the `fastapi-offline` package and a small local file starts Swagger UI.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from tastegraph.api.middleware import PAGE_CSP

ASSETS = "/docs-assets"
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
    # ReDoc reads the spec-url attribute itself: no start-up script of ours.
    return _page(
        f"{title} - ReDoc",
        "",
        f'<redoc spec-url="{openapi_url}"></redoc>\n'
        f'  <script src="{ASSETS}/vendor/redoc.standalone.js"></script>',
    )


def install(app: FastAPI) -> None:
    openapi_url = app.openapi_url or "/openapi.json"
    title = app.title
    headers = {"Content-Security-Policy": PAGE_CSP}

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return HTMLResponse(swagger_html(openapi_url, title), headers=headers)

    @app.get("/redoc", include_in_schema=False)
    async def redoc() -> HTMLResponse:
        return HTMLResponse(redoc_html(openapi_url, title), headers=headers)

    # The more specific mount first: /docs-assets/vendor/... are the vendored bundles.
    app.mount(f"{ASSETS}/vendor", StaticFiles(directory=_vendor_dir()), name="docs-vendor")
    app.mount(ASSETS, StaticFiles(directory=OWN), name="docs-assets")
