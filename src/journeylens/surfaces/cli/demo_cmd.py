"""``journeylens demo``: generate the demo retail bank and load it into the warehouse."""

from __future__ import annotations

import shlex
from contextlib import nullcontext
from pathlib import Path
from typing import Annotated, Any

import typer

from journeylens.demo.build import DEFAULT_OUT_DIR, DemoReport, build_demo
from journeylens.demo.generator import DEFAULT_CUSTOMERS, DEFAULT_SEED
from journeylens.errors import JourneyLensError
from journeylens.surfaces.cli.context import (
    CliContext,
    console,
    emit_json,
    emit_table,
    fail,
    get_ctx,
)

#: Commands worth trying next on the demo (shown when the command is installed) and why.
NEXT_COMMANDS: tuple[tuple[str, str], ...] = (
    ("journey map", "reach and drop-off per stage and touchpoint: look at 'KYC document upload'"),
    ("metrics --touchpoint 'Mobile app login' --by month --metric csat", "CSAT falls after the app release"),
    ("metric-changes --touchpoint 'Mobile app login' --metric csat", "is the change significant?"),
    ("journey channels", "online/offline switching"),
    ("text pain-points", "what the comments complain about"),
    ("cohorts", "micro-journeys (online-only, offline-only, blended) and segments"),
    ("serve", "the dashboard and HTTP API"),
)


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)


def demo(
    ctx: typer.Context,
    customers: Annotated[int, typer.Option("--customers", "-n", help="Number of customers to generate.")] = DEFAULT_CUSTOMERS,
    seed: Annotated[int, typer.Option("--seed", help="Random seed (the same seed gives identical files).")] = DEFAULT_SEED,
    out: Annotated[Path, typer.Option("--out", "-o", help="Directory for the Parquet files and journey YAML.")] = DEFAULT_OUT_DIR,
    ingest: Annotated[bool, typer.Option("--ingest/--no-ingest", help="Load the files into the warehouse.")] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
    surveys: Annotated[bool, typer.Option(
        "--surveys/--no-surveys", help="Add the demo surveys to the app database and invite a few customers "
                                       "from their latest journeys (links printed; no SMTP needed).")] = False,
) -> None:
    """Generate a realistic omnichannel retail-bank dataset (with planted CX problems) and ingest it."""
    cli = get_ctx(ctx)
    if ingest and cli.warehouse is None and "warehouse" not in cli.settings.model_fields_set:
        # Making a warehouse is what this command is for: the default file (./journeylens.duckdb,
        # which other commands then find) is created rather than refused after generating.
        cli.warehouse = cli.settings.warehouse

    def open_lens(journey: Path) -> Any:
        if cli.journey is None:
            cli.journey = journey
        return cli.lens()

    try:
        with console.status("Generating the demo bank…", spinner="dots") if not as_json else nullcontext():
            report = build_demo(open_lens if ingest else None, customers=customers, seed=seed, out_dir=out)
    except JourneyLensError as exc:
        fail(exc, as_json=as_json)
        return
    links = _demo_surveys(cli) if surveys and ingest else []
    if as_json:
        emit_json(report.to_dict())
        return
    _render(report, cli, available=set(ctx.find_root().command.list_commands(ctx)))  # type: ignore[attr-defined]
    if links:
        console.print("\nSurvey invitations sent from the demo journeys (open one, answer, and see it on the "
                      "dashboard's Surveys page):")
        emit_table(links, columns=["survey", "customer_id", "touchpoint", "url"])


def _demo_surveys(cli: CliContext) -> list[dict[str, Any]]:
    from journeylens.demo.surveys import add_demo_surveys, send_demo_invitations
    from journeylens.operations.appdb import AppDatabase

    db = AppDatabase(cli.settings.app_database_url)
    add_demo_surveys(db)
    return [dict(row) for row in send_demo_invitations(cli.lens(), db)]


def _render(report: DemoReport, cli: CliContext, available: set[str]) -> None:
    rows = [{"table": name, "file": path.name, "rows": report.rows[name],
             **({k: report.ingested[name][k] for k in ("accepted", "duplicates", "quarantined")}
                if name in report.ingested else {})}
            for name, path in report.files.tables.items()]
    emit_table(rows, title=f"Demo bank: {report.customers:,} customers, {report.events:,} events, "
                           f"{report.feedback:,} survey responses")
    console.print(f"Generated in {report.generate_seconds:.1f} s, ingested in {report.ingest_seconds:.1f} s "
                  f"(total {report.seconds:.1f} s). Files in {report.files.directory}, "
                  f"journey definition {report.journey}.")
    if report.warehouse is None:
        console.print(f"Files only. Load them with `journeylens ingest TABLE FILE` (files in {report.files.directory}).")
        return
    console.print(f"Warehouse: {report.warehouse}. The planted problems are described in docs/demo.md "
                  f"and in {report.files.manifest}.\nNext, try:")
    journey = str(cli.journey or report.journey)
    console.print(f"  export JOURNEYLENS_WAREHOUSE={shlex.quote(report.warehouse)} "
                  f"JOURNEYLENS_JOURNEY={shlex.quote(journey)}", soft_wrap=True)
    for command, why in NEXT_COMMANDS:
        if command.split()[0] in available:
            console.print(f"  journeylens {command}   [dim]# {why}[/dim]", soft_wrap=True)
    console.print(f"  python -c \"import journeylens; jl = journeylens.open({report.warehouse!r}, "
                  f"{journey!r}); print(jl.events().count().execute())\"", soft_wrap=True)

