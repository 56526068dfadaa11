"""CLI commands beside a running server: the server runs them on its warehouse (ADR 0020).

A DuckDB warehouse file admits one process. When ``journeylens serve`` holds it, read-only
commands are sent to the server (found through its marker file, or ``--server URL``), which
runs the very same command on its own lens and returns the output; the CLI prints it and
exits with the command's status, so ``--json`` shapes and error shapes are unchanged.
Commands that write (ingest, demo, serve) fail with one error that says what to do instead.

    POST /v1/cli  {"args": ["journey", "funnel", "--steps", "A,B", "--json"]}
    -> {"exit_code": 0, "stdout": "...", "stderr": ""}

The server side is :mod:`journeylens.surfaces.cli.remote_route`.
"""

from __future__ import annotations

import json
import sys
import urllib.error
import urllib.request
from typing import TYPE_CHECKING

import typer

from journeylens.errors import ParameterError, WarehouseError
from journeylens.surfaces.server_marker import read_marker

if TYPE_CHECKING:
    from journeylens.surfaces.cli.context import CliContext

#: Commands that only read the warehouse, so a server may run them for a local CLI.
REMOTE_COMMANDS: frozenset[str] = frozenset({
    "metrics", "metric-changes", "feedback-links", "cohorts", "customer", "identities", "quarantine",
    "properties", "freshness",
    "journey map", "journey channels", "journey conformance", "journey retention", "journey time-to-stage",
    "journey transitions", "journey variants", "journey funnel", "journey outcomes", "journey switch-impact",
    "journey funnel-vs-map",
    "journey show",
    "text sentiment", "text topics", "text pain-points",
    "annotation from-property",
})
#: Command groups whose first argument names a sub-command.
GROUPS: frozenset[str] = frozenset({"journey", "text", "user", "key", "annotation", "view"})
#: Commands that need the warehouse file to themselves: refused while a server holds it.
WAREHOUSE_WRITERS: frozenset[str] = frozenset({"ingest", "demo", "serve", "worker"})
TIMEOUT_SECONDS = 600.0
#: Where the root command keeps the sub-command's arguments (``ctx.meta``).
SUB_ARGS = "journeylens.sub_args"


def command_path(args: list[str]) -> str:
    """``"journey funnel"`` for ``["journey", "funnel", "--steps", ...]``."""
    words = [a for a in args if not a.startswith("-")][:2]
    if not words:
        return ""
    return " ".join(words) if words[0] in GROUPS and len(words) > 1 else words[0]


def held_by_server_error(location: str, url: str, command: str) -> WarehouseError:
    """The one error for a command that cannot run while a server holds the warehouse."""
    return WarehouseError(
        f"The warehouse {location} is held by the JourneyLens server at {url}, and `{command}` needs the file "
        f"to itself, so it cannot run beside the server. To add data, send it through the server "
        f"(POST {url}/v1/ingest/<table> with an API key, see docs/ingest.md), or stop the server and run "
        "the command again.",
        code="warehouse_held_by_server", details={"warehouse": location, "server": url, "command": command})


def forward(url: str, token: str | None, args: list[str]) -> tuple[int, str, str]:
    """Run ``args`` on the server at ``url``; returns ``(exit_code, stdout, stderr)``."""
    body = json.dumps({"args": args}).encode()
    request = urllib.request.Request(f"{url.rstrip('/')}/v1/cli", data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
            payload = json.loads(response.read())
    except urllib.error.HTTPError as exc:
        try:
            error = json.loads(exc.read()).get("error", {})
        except ValueError:
            error = {}
        raise WarehouseError(
            f"The server at {url} refused the command ({exc.code}): {error.get('message', exc.reason)}"
            + (" Pass an API key with --api-key or JOURNEYLENS_API_KEY." if exc.code == 401 else ""),
            code="server_refused", details={"server": url, "status": exc.code}) from exc
    except (urllib.error.URLError, OSError) as exc:
        raise WarehouseError(f"Cannot reach the JourneyLens server at {url}: {exc}. Is it running?",
                             code="server_unreachable", details={"server": url}) from exc
    return int(payload["exit_code"]), str(payload["stdout"]), str(payload["stderr"])


def route_beside_server(ctx: typer.Context, cli: CliContext, *, server: str | None, api_key: str | None) -> None:
    """Send the command to a server holding the warehouse, or point user/key commands at its
    app database; returns when the command should run here."""
    args = list(ctx.meta.get(SUB_ARGS, []))
    path = command_path(args)
    if not path or "--help" in args:
        return
    from journeylens.surfaces.cli.context import err_console

    marker = read_marker(cli.settings.warehouse)
    url = server or (marker.url if marker is not None else None)
    if url is None:
        return
    if path not in REMOTE_COMMANDS:
        if marker is None:
            raise ParameterError(f"`{path}` cannot run through --server; commands that can: "
                                 f"{', '.join(sorted(REMOTE_COMMANDS))}.", code="command_not_remote")
        if path.split()[0] in WAREHOUSE_WRITERS:
            raise held_by_server_error(marker.warehouse, marker.url, path)
        # Runs here (user, key, view, annotation, survey …): on the server's app database.
        if "app_database_url" not in cli.settings.model_fields_set:
            cli.settings = cli.settings.model_copy(update={"app_database_url": marker.app_database_url})
            err_console.print(f"[dim]Using the app database of the server at {marker.url}: "
                              f"{marker.app_database_url}[/dim]")
        return
    token = api_key or (marker.local_token if marker is not None and url == marker.url else None)
    code, out, err = forward(url, token, args)
    sys.stdout.write(out)
    sys.stderr.write(err)
    raise typer.Exit(code=code)
