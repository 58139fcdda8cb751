"""HTML pages. Filled in by the web layer; every asset is served by the app itself."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from tastegraph.bootstrap import System

STATIC = Path(__file__).parent / "static"


def install(app: FastAPI, system: System) -> None:
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
