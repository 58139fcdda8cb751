"""Composes the whole web application (API + pages) and is the ASGI entry point uvicorn imports."""

from __future__ import annotations

from fastapi import FastAPI

from tastegraph.api import create_app
from tastegraph.bootstrap import System, build
from tastegraph.config import Settings
from tastegraph.web import pages


def compose(system: System, *, run_sweeper: bool = True, freeze_heap: bool = False) -> FastAPI:
    app = create_app(system, run_sweeper=run_sweeper, freeze_heap=freeze_heap)
    pages.install(app, system)
    return app


def make_app() -> FastAPI:
    """One System per worker process, from the environment (a process of its own: its startup heap
    is frozen, see api.app.freeze_startup_heap)."""
    return compose(build(Settings()), freeze_heap=True)
