"""``journeylens maturity …`` and ``journeylens report``: the CX programme and leadership reports.

    journeylens maturity assess --json            # evidence + self-assessment → levels, playbook (stored)
    journeylens maturity show --json              # the latest stored assessment
    journeylens maturity history --json           # every stored assessment, oldest first
    journeylens maturity check my-model.yaml      # validate a company's own model
    journeylens maturity answer --as ana@bank.example map_living=4 own_named=3
    journeylens report --format pdf --out state.pdf
    journeylens report-schedule add "Leadership" --to cxo@bank.example --cadence monthly
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from journeylens.errors import JourneyLensError, ParameterError
from journeylens.operations.appdb import AppDatabase
from journeylens.operations.maturity import (
    assess,
    default_model,
    history,
    latest,
    load_model,
    submit_answers,
)
from journeylens.operations.reports import render_html, render_pdf, schedules, state_of_journey
from journeylens.surfaces.cli.context import console, emit_json, emit_table, fail, get_ctx

maturity_app = typer.Typer(help="Journey-management maturity: evidence, self-assessment, playbook.",
                           no_args_is_help=True)
schedule_app = typer.Typer(help="Scheduled state-of-the-journey reports by email.", no_args_is_help=True)

AppDbOption = Annotated[str | None, typer.Option(
    "--app-db", envvar="JOURNEYLENS_APP_DATABASE_URL", help="App database URL (default from settings).")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the HTTP API's JSON shape.")]
ModelOption = Annotated[Path | None, typer.Option("--model", help="Maturity model YAML (default: settings, "
                                                  "else the shipped model).")]


def register(app: typer.Typer) -> None:
    app.add_typer(maturity_app, name="maturity")
    app.add_typer(schedule_app, name="report-schedule")
    app.command("report")(report)


def _db(ctx: typer.Context, app_db: str | None) -> AppDatabase:
    return AppDatabase(app_db or get_ctx(ctx).settings.app_database_url)


def _model(ctx: typer.Context, path: Path | None) -> Any:
    return load_model(path or get_ctx(ctx).settings.maturity_model)


@maturity_app.command("assess")
def maturity_assess(ctx: typer.Context, app_db: AppDbOption = None, model: ModelOption = None,
                    store: Annotated[bool, typer.Option("--store/--no-store", help="Keep it in the history.")] = True,
                    as_json: JsonOption = False) -> None:
    """Assess maturity from the deployment's evidence and the team's answers."""
    try:
        db = _db(ctx, app_db)
        result = assess(get_ctx(ctx).lens(), db, _model(ctx, model), actor="cli", store=store).to_dict()
    except JourneyLensError as exc:
        fail(exc, as_json=as_json)
        return
    _print_assessment(result, as_json)


@maturity_app.command("show")
def maturity_show(ctx: typer.Context, app_db: AppDbOption = None, as_json: JsonOption = False) -> None:
    """The latest stored assessment."""
    try:
        result = latest(_db(ctx, app_db))
    except JourneyLensError as exc:
        fail(exc, as_json=as_json)
        return
    _print_assessment(result, as_json)


@maturity_app.command("history")
def maturity_history(ctx: typer.Context, app_db: AppDbOption = None, as_json: JsonOption = False) -> None:
    """Every stored assessment, oldest first, with the level per dimension."""
    try:
        rows = history(_db(ctx, app_db))
    except JourneyLensError as exc:
        fail(exc, as_json=as_json)
        return
    if as_json:
        emit_json(rows)
        return
    emit_table([{"assessed_at": r["assessed_at"][:16], "overall": r["overall_level"], **r["levels"]} for r in rows],
               title="Maturity over time")


@maturity_app.command("check")
def maturity_check(ctx: typer.Context, path: Annotated[Path, typer.Argument(help="Maturity model YAML.")],
                   as_json: JsonOption = False) -> None:
    """Validate a maturity model file (every problem with its line)."""
    try:
        model = load_model(path)
    except JourneyLensError as exc:
        fail(exc, as_json=as_json)
        return
    summary = {"name": model.name, "version": model.version, "dimensions": len(model.dimensions),
               "questions": len(model.question_ids()), "checks": sum(len(d.checks) for d in model.dimensions)}
    if as_json:
        emit_json({"valid": True, **summary})
    else:
        console.print(f"[green]valid[/green] {model.name} {model.version}: {summary['dimensions']} dimensions, "
                      f"{summary['questions']} questions, {summary['checks']} evidence checks")


@maturity_app.command("answer")
def maturity_answer(ctx: typer.Context,
                    answers: Annotated[list[str], typer.Argument(help="QUESTION=1..5, repeatable.")],
                    respondent: Annotated[str, typer.Option("--as", help="Who answers (their email).")],
                    app_db: AppDbOption = None, model: ModelOption = None, as_json: JsonOption = False) -> None:
    """Record one team member's self-assessment answers."""
    try:
        pairs = dict(_pair(a) for a in answers)
        saved = submit_answers(_db(ctx, app_db), _model(ctx, model), respondent, pairs)
    except JourneyLensError as exc:
        fail(exc, as_json=as_json)
        return
    if as_json:
        emit_json({"respondent": respondent, "answers": saved})
    else:
        console.print(f"saved {len(saved)} answer(s) for {respondent}")


def _pair(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise ParameterError(f"Answers are QUESTION=VALUE, not {text!r}. Questions: "
                             f"{', '.join(default_model().question_ids())}.")
    return key.strip(), value.strip()


def _print_assessment(result: dict[str, Any], as_json: bool) -> None:
    if as_json:
        emit_json(result)
        return
    console.print(f"[bold]Level {result['overall_level']} of 5 — {result['overall_name']}[/bold]: "
                  f"{result['overall_summary']}")
    emit_table([{"dimension": d["name"], "level": d["level"],
                 "self": None if not d["self_assessment"] else d["self_assessment"]["mean"],
                 "what it means": d["level_text"]} for d in result["dimensions"]], title="By dimension")
    for text in result["disagreements"]:
        console.print(f"[yellow]![/yellow] {text}")
    if result["playbook"]:
        emit_table([{"dimension": s["dimension_name"], "to level": s["to_level"], "step": s["step"], "where": s["link"]}
                    for s in result["playbook"]], title="Playbook: next steps")


def report(ctx: typer.Context,
           out: Annotated[Path, typer.Option("--out", help="File to write.")],
           fmt: Annotated[str, typer.Option("--format", help="pdf or html.")] = "pdf",
           period_days: Annotated[int, typer.Option("--period-days", min=1, max=366,
                                                    help="Headline period length.")] = 30,
           text: Annotated[bool, typer.Option("--text/--no-text", help="Include comment pain points "
                                              "(the text model is slow on a CPU).")] = True,
           models: Annotated[bool, typer.Option("--models/--no-models", help="Include journey drivers of NPS and "
                                                "churn value at risk (trains the churn model).")] = True,
           app_db: AppDbOption = None, as_json: JsonOption = False) -> None:
    """Write the one-page state-of-the-journey report (HTML or PDF)."""
    try:
        if fmt not in ("pdf", "html"):
            raise ParameterError(f"--format must be pdf or html, not {fmt!r}.")
        content = state_of_journey(get_ctx(ctx).lens(), _db(ctx, app_db), period_days=period_days,
                                   include_text=text, include_models=models)
        html = render_html(content)
        data = render_pdf(html) if fmt == "pdf" else html.encode("utf-8")
        out.write_bytes(data)
    except JourneyLensError as exc:
        fail(exc, as_json=as_json)
        return
    if as_json:
        emit_json({"path": str(out), "format": fmt, "bytes": len(data), "notes": content.to_dict()["notes"]})
    else:
        console.print(f"wrote {out} ({len(data):,} bytes)")


@schedule_app.command("add")
def schedule_add(ctx: typer.Context, name: Annotated[str, typer.Argument()],
                 to: Annotated[str, typer.Option("--to", help="Comma-separated email addresses.")],
                 cadence: Annotated[str, typer.Option("--cadence", help="weekly or monthly.")] = "monthly",
                 fmt: Annotated[str, typer.Option("--format", help="pdf or html.")] = "pdf",
                 app_db: AppDbOption = None, as_json: JsonOption = False) -> None:
    """Mail the report to a list every week or month (sent by the worker)."""
    try:
        row = schedules.add_schedule(_db(ctx, app_db), name=name, recipients=to, cadence=cadence, fmt=fmt,
                                     actor="cli")
    except JourneyLensError as exc:
        fail(exc, as_json=as_json)
        return
    emit_json(row) if as_json else console.print(f"scheduled report #{row['id']} {name} ({cadence}) to {to}")


@schedule_app.command("list")
def schedule_list(ctx: typer.Context, app_db: AppDbOption = None, as_json: JsonOption = False) -> None:
    """Scheduled reports."""
    rows = schedules.list_schedules(_db(ctx, app_db))
    emit_json(rows) if as_json else emit_table(rows, title="Scheduled reports")


@schedule_app.command("remove")
def schedule_remove(ctx: typer.Context, schedule_id: Annotated[int, typer.Argument()],
                    app_db: AppDbOption = None, as_json: JsonOption = False) -> None:
    """Stop a scheduled report."""
    try:
        row = schedules.remove_schedule(_db(ctx, app_db), schedule_id, actor="cli")
    except JourneyLensError as exc:
        fail(exc, as_json=as_json)
        return
    emit_json(row) if as_json else console.print(f"stopped report #{schedule_id}")
