"""``journeylens journey …`` and ``journeylens identities``: the journey definition and stitching.

    journeylens journey suggest --out journey.yaml      # propose a definition from the events
    journeylens journey check journey.yaml --json       # validate (line-numbered errors) + coverage
    journeylens -j journey.yaml journey show            # the definition in use
    journeylens identities --json                       # identity stitching stats and links

Other command modules add analyses to the same group: ``from
journeylens.surfaces.cli.journey_cmd import journey_app`` then ``@journey_app.command(...)``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from journeylens.errors import JourneyLensError
from journeylens.surfaces.cli.context import console, emit_json, emit_table, fail, get_ctx

journey_app = typer.Typer(
    help="The journey definition (journey map as code) and journey analyses.", no_args_is_help=True)

JsonOption = Annotated[bool, typer.Option("--json", help="Print the HTTP API's JSON shape.")]


def register(app: typer.Typer) -> None:
    app.add_typer(journey_app, name="journey")
    app.command("identities", help="Identity stitching: stats, most active links, conflicts.")(identities)


@journey_app.command("suggest")
def suggest(
    ctx: typer.Context,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Write the YAML here instead of printing it.")] = None,
    stages: Annotated[int, typer.Option(help="How many stages to propose (at most).")] = 4,
    max_touchpoints: Annotated[int, typer.Option(help="Most frequent touchpoints to include.")] = 40,
    as_json: JsonOption = False,
) -> None:
    """Propose a journey definition from the events in the warehouse, for you to edit."""
    from journeylens.journeys.suggest import suggest_definition

    try:
        events = get_ctx(ctx).lens().warehouse.table("events")
        definition = suggest_definition(events, stages=stages, max_touchpoints=max_touchpoints)
    except JourneyLensError as exc:
        fail(exc, as_json=as_json)
        return
    if out is not None:
        out.write_text(definition.to_yaml(), encoding="utf-8")
        summary = {"written": str(out), "stages": len(definition.stages),
                   "touchpoints": len(definition.touchpoints)}
        if as_json:
            emit_json(summary)
        else:
            console.print(f"Wrote {out}: {summary['stages']} stages, {summary['touchpoints']} touchpoints. "
                          f"Edit it, then run `journeylens journey check {out}`.")
    elif as_json:
        emit_json(definition.to_dict())
    else:
        sys.stdout.write(definition.to_yaml())


@journey_app.command("check")
def check(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="Journey definition YAML to check.")],
    min_coverage: Annotated[float | None, typer.Option(
        help="Exit 1 when the share of events matched by a rule is below this (0-1).")] = None,
    as_json: JsonOption = False,
) -> None:
    """Validate a definition (exit 2 with line-numbered errors) and show its coverage of the events."""
    from journeylens.journeys.check import check_definition
    from journeylens.journeys.definition import load_definition

    try:
        definition = load_definition(file)
        result = check_definition(get_ctx(ctx).lens().warehouse.table("events"), definition)
    except JourneyLensError as exc:
        fail(exc, as_json=as_json)
        return
    payload = result.to_dict()
    if as_json:
        emit_json(payload)
    else:
        _render_check(file, payload)
    share = payload["coverage"]["share"]
    if min_coverage is not None and (share is None or share < min_coverage):
        if not as_json:
            console.print(f"[bold red]coverage below {min_coverage:.0%}[/bold red]")
        raise typer.Exit(code=1)


def _render_check(file: Path, payload: dict[str, object]) -> None:
    cov = payload["coverage"]
    assert isinstance(cov, dict)
    share = "no events in the warehouse" if cov["share"] is None else (
        f"{cov['share']:.1%} of {cov['events']:,} events matched "
        f"({cov['matched_event_names']}/{cov['event_names']} event names)")
    console.print(f"[bold green]ok[/bold green] {file}: journey {payload['name']!r} v{payload['version']}, "
                  f"{payload['stages']} stages, {payload['touchpoints']} touchpoints, "
                  f"{payload['cohorts']} cohorts; {share}")
    emit_table(payload["by_stage"], title="Events per stage")  # type: ignore[arg-type]
    if payload["unmatched"]:
        emit_table(payload["unmatched"], title="Event names no rule matches")  # type: ignore[arg-type]
    if payload["unused_rules"]:
        console.print("[yellow]Rules matching no event:[/yellow] " + ", ".join(payload["unused_rules"]))  # type: ignore[arg-type]


@journey_app.command("show")
def show(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Show the journey definition in use (--journey / JOURNEYLENS_JOURNEY, else suggested from data)."""
    try:
        cli = get_ctx(ctx)
        definition = cli.lens().definition
    except JourneyLensError as exc:
        fail(exc, as_json=as_json)
        return
    if as_json:
        emit_json(definition.to_dict())
        return
    origin = str(cli.settings.journey) if cli.settings.journey else "suggested from the events (no --journey given)"
    console.print(f"[bold]{definition.name}[/bold] v{definition.version} — {origin}")
    emit_table([{"stage_order": i, "stage": s.name, "description": s.description,
                 "targets": ", ".join(f"{k}={v:g}" for k, v in s.targets.items())}
                for i, s in enumerate(definition.stages, start=1)], title="Stages")
    emit_table([{"touchpoint": t.name, "matches": ", ".join(t.match) + (f" /{t.regex}/" if t.regex else ""),
                 "stage": t.stage, "channel": t.channel, "online": t.online, "category": t.category,
                 "critical": t.critical, "owner": t.owner} for t in definition.touchpoints],
               title="Touchpoints")


def identities(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option(help="How many links and conflicts to list.")] = 20,
    as_json: JsonOption = False,
) -> None:
    """Identity stitching: how anonymous events were attributed, the most active links, conflicts."""
    from journeylens.ingest.stitching import identity_report

    try:
        report = identity_report(get_ctx(ctx).lens().warehouse.table("events"), limit=limit)
    except JourneyLensError as exc:
        fail(exc, as_json=as_json)
        return
    payload = report.to_dict()
    if as_json:
        emit_json(payload)
        return
    emit_table([{"count": k, "value": v} for k, v in payload["stats"].items()], title="Identity stitching")
    emit_table(payload["identities"], title="Most active anonymous ids",
               columns=["anonymous_id", "customer_id", "first_linked_at", "events"])
    if payload["conflicts"]:
        emit_table(payload["conflicts"], title="Anonymous ids seen with several customers (first link wins)")
