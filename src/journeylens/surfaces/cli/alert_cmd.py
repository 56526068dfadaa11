"""``journeylens alert …`` and ``journeylens alerts``: alert rules as code and the alerts they fired.

    journeylens alert check rules/branch-detractor.yaml --json   # validate (line-numbered errors), warnings
    journeylens alert add rules/branch-detractor.yaml            # save (replaces a rule of that name)
    journeylens alert list --json
    journeylens alert show branch-detractor --json               # YAML, recent alerts, failed deliveries
    journeylens alert pause branch-detractor                     # and `resume`
    journeylens alert run --as-of 2024-09-16                     # judge metric / anomaly rules now
    journeylens alerts --status all --json
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy.orm import Session

from journeylens.errors import JourneyLensError, NotFoundError, ParameterError
from journeylens.operations.alerts import actions, store
from journeylens.operations.appdb import AppDatabase
from journeylens.surfaces.cli import user_cmd
from journeylens.surfaces.cli.context import console, emit_json, emit_table, fail, get_ctx

ACTOR = "cli"
alert_app = typer.Typer(help="Alert rules as code: check, add, list, show, pause, resume, run.",
                        no_args_is_help=True)

AppDbOption = user_cmd.AppDbOption
JsonOption = user_cmd.JsonOption


def register(app: typer.Typer) -> None:
    app.add_typer(alert_app, name="alert")
    app.command("alerts", help="Alerts fired by the rules (open ones by default).")(alerts)


#: One committed app-database transaction per command, errors in the one error shape.
run = user_cmd._run


def optional_lens(ctx: typer.Context) -> Any:
    """The warehouse lens when one can be opened (rule checks work without data too)."""
    try:
        return get_ctx(ctx).lens()
    except JourneyLensError:
        return None


def _read(file: Path) -> str:
    try:
        return file.read_text(encoding="utf-8")
    except OSError as exc:
        raise NotFoundError(f"Cannot read rule file {file}: {exc.strerror}.") from exc


def parse_instant(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise ParameterError(f"Invalid instant {value!r}; use ISO 8601 such as 2024-09-16 or 2024-09-16T10:00.") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _print_warnings(warnings: list[dict[str, Any]], source: str) -> None:
    for w in warnings:
        console.print(f"[yellow]warning[/yellow] {source}:{w['line']}:{w['column']} ({w['path']}): {w['message']}")


@alert_app.command("check")
def check(ctx: typer.Context, file: Annotated[Path, typer.Argument(help="Rule YAML file.")],
          as_of: Annotated[str | None, typer.Option(
              "--as-of", help="Also judge a metric/anomaly rule at this instant (ISO 8601, UTC).")] = None,
          app_db: AppDbOption = None, as_json: JsonOption = False) -> None:
    """Validate a rule file: exit 2 with line-numbered errors; warnings do not fail."""
    def work(session: Session) -> dict[str, Any]:
        return actions.check(session, optional_lens(ctx), _read(file), source=str(file),
                             as_of=parse_instant(as_of))[1]

    result = run(ctx, app_db, as_json, work)
    if as_json:
        emit_json(result)
        return
    _print_warnings(result["warnings"], str(file))
    console.print(f"{file}: rule [bold]{result['name']}[/bold] ({result['kind']}) is valid.")
    for v in result.get("verdicts", []):
        console.print(("[red]fires[/red] " if v["fires"] else "quiet ") + v["explanation"])


@alert_app.command("add")
def add(ctx: typer.Context, file: Annotated[Path, typer.Argument(help="Rule YAML file.")],
        app_db: AppDbOption = None, as_json: JsonOption = False) -> None:
    """Save a rule (a rule with the same name is replaced; paused stays paused)."""
    result = run(ctx, app_db, as_json, lambda s: actions.add(s, optional_lens(ctx), _read(file), source=str(file),
                                                             actor=ACTOR))
    if as_json:
        emit_json(result)
        return
    _print_warnings(result["warnings"], str(file))
    console.print(f"Saved rule [bold]{result['name']}[/bold] ({result['kind']}, {result['status']}).")


@alert_app.command("list")
def list_rules(ctx: typer.Context, app_db: AppDbOption = None, as_json: JsonOption = False) -> None:
    """Every rule with its status and when it last ran and fired."""
    rows = run(ctx, app_db, as_json, lambda s: [store.rule_row(r) for r in store.list_rules(s)])
    if as_json:
        emit_json(rows)
    else:
        emit_table(rows, title="Alert rules", columns=["name", "kind", "status", "last_fired_at", "last_error"])


@alert_app.command("show")
def show(ctx: typer.Context, name: str, app_db: AppDbOption = None, as_json: JsonOption = False) -> None:
    """One rule: its YAML, recent alerts and notification deliveries (failures included)."""
    detail = run(ctx, app_db, as_json, lambda s: actions.show(s, name))
    if as_json:
        emit_json(detail)
        return
    console.print(f"[bold]{detail['name']}[/bold] ({detail['kind']}, {detail['status']})")
    console.print(detail["yaml"], highlight=False, markup=False)
    emit_table(detail["recent_alerts"], title="Recent alerts", columns=["alert_id", "subject", "fired_at", "status"])
    if detail["delivery_problems"]:
        emit_table(detail["delivery_problems"], title="Failed deliveries")


def _set_status(ctx: typer.Context, name: str, status: str, app_db: str | None, as_json: bool) -> None:
    row = run(ctx, app_db, as_json, lambda s: store.rule_row(store.set_status(s, name, status, actor=ACTOR)))
    if as_json:
        emit_json(row)
    else:
        console.print(f"Rule {name} is {row['status']}.")


@alert_app.command("pause")
def pause(ctx: typer.Context, name: str, app_db: AppDbOption = None, as_json: JsonOption = False) -> None:
    """Stop a rule from firing (its alerts and tickets stay)."""
    _set_status(ctx, name, "paused", app_db, as_json)


@alert_app.command("resume")
def resume(ctx: typer.Context, name: str, app_db: AppDbOption = None, as_json: JsonOption = False) -> None:
    """Let a paused rule fire again."""
    _set_status(ctx, name, "active", app_db, as_json)


@alert_app.command("run")
def run_now(ctx: typer.Context, name: Annotated[list[str] | None, typer.Argument(help="Rules (default: all).")] = None,
            as_of: Annotated[str | None, typer.Option("--as-of", help="Judge at this instant (default now).")] = None,
            app_db: AppDbOption = None, as_json: JsonOption = False) -> None:
    """Judge metric and anomaly rules now (the worker does this on a schedule) and catch up responses."""
    from journeylens.operations.alerts.responses import catch_up
    from journeylens.operations.alerts.scheduled import run_rules

    try:
        lens = get_ctx(ctx).lens()
        database = AppDatabase(app_db or get_ctx(ctx).settings.app_database_url)
        caught = catch_up(lens, database)
        report = run_rules(lens, database, as_of=parse_instant(as_of), names=name or None).to_dict()
        database.dispose()
    except JourneyLensError as exc:
        fail(exc, as_json=as_json)
        return
    report["response_batches"] = [c.to_dict() for c in caught]
    if as_json:
        emit_json(report)
        return
    for row in report["judged"]:
        console.print(("[red]fires[/red] " if row["fires"] else "quiet ") + row["explanation"])
    console.print(f"{len(report['fired'])} alert(s) fired, {report['closed']} closed, "
                  f"{len(caught)} feedback batch(es) caught up.")


def alerts(ctx: typer.Context,
           status: Annotated[str, typer.Option("--status", help="open, closed or all.")] = "open",
           rule: Annotated[str | None, typer.Option("--rule", help="Only this rule's alerts.")] = None,
           app_db: AppDbOption = None, as_json: JsonOption = False) -> None:
    if status not in ("open", "closed", "all"):
        fail(ParameterError(f"Unknown alert status {status!r}; use open, closed or all."), as_json=as_json)
    rows = run(ctx, app_db, as_json, lambda s: [store.alert_row(a) for a in store.list_alerts(s, status=status,
                                                                                              rule=rule)])
    if as_json:
        emit_json(rows)
    else:
        emit_table(rows, title="Alerts", columns=["alert_id", "rule", "kind", "subject", "fired_at", "status"])
