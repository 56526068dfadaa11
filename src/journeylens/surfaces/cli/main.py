"""Entry point of the ``journeylens`` command.

Command groups register themselves: each module in ``COMMAND_MODULES`` exposes
``register(app)``. Add a module there rather than growing this file.
"""

from __future__ import annotations

import importlib
import logging
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from journeylens.errors import JourneyLensError, engine_error
from journeylens.settings import Settings
from journeylens.surfaces.cli.context import CliContext, fail
from journeylens.surfaces.cli.remote import SUB_ARGS, route_beside_server

COMMAND_MODULES: tuple[str, ...] = (
    "user_cmd",
    "serve_cmd",
    "demo_cmd",
    "journey_cmd",
    "analyses_cmd",
    "ingest_cmd",
    "metrics_cmd",
    "journey_analyses_cmd",
    "switch_impact_cmd",
    "outcomes_cmd",
    "alert_cmd",
    "tickets_cmd",
    "marketing_cmd",
    "departures_cmd",
    "programme_cmd",
    "models_cmd",
    "trust_cmd",
    "worker_cmd",
    "survey_cmd",
    "customer_cmd",
    "text_cmd",
)

class _Root(TyperGroup):
    """Keeps the sub-command's arguments (click clears them before the root callback runs)."""

    def invoke(self, ctx: Any) -> Any:  # typer's (vendored) click Context
        protected = getattr(ctx, "_protected_args", None)
        ctx.meta[SUB_ARGS] = [*(ctx.protected_args if protected is None else protected), *ctx.args]
        return super().invoke(ctx)


app = typer.Typer(
    name="journeylens",
    cls=_Root,
    help="JourneyLens: customer-journey analytics and CX management.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def main(
    ctx: typer.Context,
    warehouse: Annotated[str | None, typer.Option(
        "--warehouse", "-w", envvar="JOURNEYLENS_WAREHOUSE",
        help="DuckDB file path or Ibis URL (duckdb://PATH, pyspark://DIR).")] = None,
    journey: Annotated[Path | None, typer.Option(
        "--journey", "-j", envvar="JOURNEYLENS_JOURNEY", help="Journey definition YAML.")] = None,
    timezone: Annotated[str | None, typer.Option(
        "--timezone", help="Time zone of naive timestamps (default UTC).")] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log progress details.")] = False,
    server: Annotated[str | None, typer.Option(
        "--server", envvar="JOURNEYLENS_SERVER",
        help="Run read-only commands on this JourneyLens server (found by itself when it holds the warehouse).")]
        = None,
    api_key: Annotated[str | None, typer.Option(
        "--api-key", envvar="JOURNEYLENS_API_KEY", help="API key for --server (read scope).")] = None,
) -> None:
    if isinstance(ctx.obj, CliContext) and ctx.obj.remote:
        return  # a server runs this command for a CLI beside it, on its own lens
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, stream=sys.stderr)
    overrides: dict[str, Any] = {k: v for k, v in {"warehouse": warehouse, "journey": journey,
                                                   "timezone": timezone}.items() if v}
    ctx.obj = CliContext(warehouse=warehouse, journey=journey, timezone=timezone,
                         settings=Settings(**overrides))
    if not ctx.resilient_parsing:
        route_beside_server(ctx, ctx.obj, server=server, api_key=api_key)


for _name in COMMAND_MODULES:
    importlib.import_module(f"journeylens.surfaces.cli.{_name}").register(app)


def run() -> None:
    """Console entry point with the one error path for JourneyLensError."""
    try:
        app(standalone_mode=True)
    except JourneyLensError as exc:  # pragma: no cover - exercised through subprocess tests
        try:
            fail(exc, as_json="--json" in sys.argv)
        except typer.Exit as done:
            sys.exit(done.exit_code)
    except Exception as exc:  # an engine error we can explain (out of memory) is not a traceback
        error = engine_error(exc)
        if error is None:
            raise
        try:
            fail(error, as_json="--json" in sys.argv)
        except typer.Exit as done:
            sys.exit(done.exit_code)


if __name__ == "__main__":  # pragma: no cover
    run()
