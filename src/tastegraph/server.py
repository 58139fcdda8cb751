"""The ASGI entry point uvicorn imports (one System per worker process)."""

from __future__ import annotations

from fastapi import FastAPI

from tastegraph.api import create_app
from tastegraph.bootstrap import build
from tastegraph.config import Settings


def make_app() -> FastAPI:
    return create_app(build(Settings()))
