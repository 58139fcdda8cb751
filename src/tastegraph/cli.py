"""The command line: tastegraph db upgrade | demo | serve | sweep."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console

from tastegraph.config import Settings

app = typer.Typer(help="Tastegraph: consent-first personalization.", no_args_is_help=True)
db_app = typer.Typer(help="Database commands.", no_args_is_help=True)
app.add_typer(db_app, name="db")
console = Console(stderr=True)


def _settings() -> Settings:
    return Settings()


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply every database migration (creates the database if needed)."""
    from tastegraph.db import current_revision, make_engine, upgrade

    settings = _settings()
    engine = make_engine(settings.database_url)
    upgrade(engine)
    console.print(f"database at revision [bold]{current_revision(engine)}[/bold]")
    engine.dispose()


@app.command()
def sweep() -> None:
    """Run retention once: delete off-site visits older than the window, and expired sessions."""
    from tastegraph.bootstrap import build

    system = build(_settings())
    deleted = system.sweep()
    print(json.dumps({"deleted": deleted}))
    system.dispose()


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes.")] = 1,
) -> None:
    """Serve the configured database over HTTP."""
    import uvicorn

    uvicorn.run(
        "tastegraph.server:make_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
        access_log=False,
        proxy_headers=False,
    )


def main() -> None:
    app()
