"""``journeylens serve``: the HTTP API, the collector (and the dashboard) in one uvicorn process.

One process on purpose: the embedded DuckDB warehouse allows one writing process, and the
collector's loader writes from inside the server.
"""

from __future__ import annotations

import os
from typing import Annotated

import typer

from journeylens.surfaces.cli.context import console, get_ctx

APP_FACTORY = "journeylens.surfaces.api.app:create_app"


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)


def serve(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option("--host", help="Address to bind (default JOURNEYLENS_HOST).")] = None,
    port: Annotated[int | None, typer.Option("--port", "-p", help="Port (default JOURNEYLENS_PORT).")] = None,
    reload: Annotated[bool, typer.Option("--reload", help="Restart when source files change (development).")] = False,
    log_level: Annotated[str, typer.Option("--log-level", help="uvicorn log level.")] = "info",
) -> None:
    """Run the HTTP API and event collector (one worker: the warehouse has one writer)."""
    import uvicorn

    from journeylens.surfaces.api.app import create_app

    cli = get_ctx(ctx)
    settings = cli.settings
    bind_host = host or settings.host
    bind_port = port if port is not None else settings.port
    console.print(f"JourneyLens serving on [bold]http://{bind_host}:{bind_port}[/bold] "
                  f"(warehouse {settings.warehouse}, spool {settings.collector_spool})")
    if reload:
        # uvicorn re-imports the app in a child process: hand the options over by environment.
        for name, value in {"WAREHOUSE": cli.warehouse, "JOURNEY": cli.journey, "TIMEZONE": cli.timezone}.items():
            if value:
                os.environ[f"JOURNEYLENS_{name}"] = str(value)
        uvicorn.run(APP_FACTORY, factory=True, host=bind_host, port=bind_port, reload=True,
                    log_level=log_level, workers=1)
        return
    uvicorn.run(create_app(settings, run_worker=settings.worker_in_serve), host=bind_host, port=bind_port, log_level=log_level, workers=1)
