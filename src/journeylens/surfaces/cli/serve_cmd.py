"""``journeylens serve``: the HTTP API, the collector (and the dashboard) in one uvicorn process.

One process on purpose: the embedded DuckDB warehouse allows one writing process, and the
collector's loader writes from inside the server.
"""

from __future__ import annotations

import os
import secrets
import socket
from typing import Annotated

import typer
import uvicorn

from journeylens.settings import Settings
from journeylens.surfaces.cli.context import console, get_ctx
from journeylens.surfaces.server_marker import ServerMarker, remove_marker, write_marker

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
    local_token = secrets.token_urlsafe(32)
    app = create_app(settings, run_worker=settings.worker_in_serve, local_token=local_token)
    config = uvicorn.Config(app, host=bind_host, port=bind_port, log_level=log_level, workers=1)
    _MarkedServer(config, settings=settings, local_token=local_token).run()


class _MarkedServer(uvicorn.Server):
    """A uvicorn server that leaves a marker next to its DuckDB warehouse while it listens,
    so CLI commands run beside it find it (:mod:`journeylens.surfaces.server_marker`)."""

    def __init__(self, config: uvicorn.Config, *, settings: Settings, local_token: str):
        super().__init__(config)
        self._settings = settings
        self._local_token = local_token
        self._marker: ServerMarker | None = None

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        bound = [s.getsockname() for server in self.servers for s in server.sockets]
        if not bound or self.should_exit:
            return
        host, port = bound[0][0], bound[0][1]
        host = "127.0.0.1" if host in ("0.0.0.0", "::") else host
        url = f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
        settings = self._settings
        self._marker = write_marker(settings.warehouse, url=url, app_database_url=settings.app_database_url,
                                    journey=str(settings.journey) if settings.journey else None,
                                    local_token=self._local_token)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        remove_marker(self._marker)
        await super().shutdown(sockets=sockets)
