"""``journeylens survey …``: surveys as code, their invitations and response funnel.

    journeylens survey check branch-visit.survey.yaml        # line-numbered errors; warnings for unseen touchpoints
    journeylens survey add branch-visit.survey.yaml
    journeylens survey list | show NAME | pause NAME | resume NAME
    journeylens survey invitations --survey branch-visit --status sent --json
    journeylens survey stats --json
    journeylens survey why CUSTOMER_ID --json                # every suppressed trigger with its reason
    journeylens survey qr branch-visit --touchpoint "Branch visit" --out poster.svg
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from journeylens.operations.appdb import AppDatabase
from journeylens.operations.surveys import registry, stats
from journeylens.operations.surveys.definition import SurveyDefinitionError
from journeylens.operations.surveys.delivery import qr_svg
from journeylens.operations.surveys.lifecycle import opt_out
from journeylens.operations.surveys.links import qr_token, signing_key, survey_url
from journeylens.surfaces.cli.context import console, emit_json, emit_table, get_ctx, guarded

survey_app = typer.Typer(help="Surveys as code: check, add, pause; invitations and response rates.",
                         no_args_is_help=True)
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON (the HTTP API's shape).")]


def register(app: typer.Typer) -> None:
    app.add_typer(survey_app, name="survey")


def _db(ctx: typer.Context) -> AppDatabase:
    return AppDatabase(get_ctx(ctx).settings.app_database_url)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SurveyDefinitionError(f"Cannot read survey file {path}: {exc.strerror}.") from exc


def _lens_if_any(ctx: typer.Context) -> Any:
    cli = get_ctx(ctx)
    location = cli.settings.warehouse
    if "://" not in location and not Path(location).exists():
        return None  # an empty programme: nothing seen yet (every touchpoint is a warning)
    return cli.lens()


@survey_app.command("check")
@guarded
def check(ctx: typer.Context, path: Path, as_json: JsonOption = False) -> None:
    """Validate a survey YAML file (errors with line numbers; unseen touchpoints are warnings)."""
    result = registry.check_survey(_read(path), source=str(path), lens=_lens_if_any(ctx))
    if as_json:
        emit_json(result)
        return
    console.print(f"[green]valid[/green] survey {result['name']} ({result['questions']} questions, "
                  f"languages {', '.join(result['languages'])})")
    for warning in result["warnings"]:
        console.print(f"[yellow]warning[/yellow] {warning}")


@survey_app.command("add")
@guarded
def add(ctx: typer.Context, path: Path, as_json: JsonOption = False) -> None:
    """Add a survey (or a new version of it) from its YAML file; it starts active."""
    text = _read(path)
    result = registry.check_survey(text, source=str(path), lens=_lens_if_any(ctx))
    with _db(ctx).session() as session:
        summary = registry.survey_summary(registry.add_survey(session, text, source=str(path)))
    summary["warnings"] = result["warnings"]
    if as_json:
        emit_json(summary)
    else:
        console.print(f"survey {summary['name']} version {summary['version']}: {summary['status']}")
        for warning in summary["warnings"]:
            console.print(f"[yellow]warning[/yellow] {warning}")


@survey_app.command("list")
@guarded
def list_(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Every survey with its status and trigger."""
    with _db(ctx).session() as session:
        rows = [registry.survey_summary(row) for row in registry.list_surveys(session)]
    if as_json:
        emit_json(rows)
    else:
        emit_table(rows, columns=["name", "kind", "status", "version", "languages", "questions", "deliver"])


@survey_app.command("show")
@guarded
def show(ctx: typer.Context, name: str, as_json: JsonOption = False) -> None:
    """One survey: summary, definition and response funnel."""
    db = _db(ctx)
    with db.session() as session:
        row = registry.get_survey(session, name)
        out = registry.survey_summary(row) | {"definition": registry.definition_of(row).to_dict()}
    out["stats"] = next(iter(stats.survey_stats(db, survey=name)), None)
    if out["kind"] == "exit":
        out["exit_reasons"] = stats.exit_reasons(db, name)
    if as_json:
        emit_json(out)
    else:
        console.print(out)


def _set_status(ctx: typer.Context, name: str, pause: bool, as_json: bool) -> None:
    with _db(ctx).session() as session:
        row = registry.pause(session, name) if pause else registry.resume(session, name)
        out = registry.survey_summary(row)
    emit_json(out) if as_json else console.print(f"survey {name}: {out['status']}")


@survey_app.command("pause")
@guarded
def pause(ctx: typer.Context, name: str, as_json: JsonOption = False) -> None:
    """Stop inviting (scheduled invitations are cancelled when due; links stay answerable)."""
    _set_status(ctx, name, True, as_json)


@survey_app.command("resume")
@guarded
def resume(ctx: typer.Context, name: str, as_json: JsonOption = False) -> None:
    """Invite again."""
    _set_status(ctx, name, False, as_json)


@survey_app.command("invitations")
@guarded
def invitations(
    ctx: typer.Context,
    survey: Annotated[str | None, typer.Option("--survey", help="Only this survey.")] = None,
    status: Annotated[list[str] | None, typer.Option("--status", help="scheduled, sent, opened, started, "
                                                                      "completed, expired, cancelled (repeatable).")] = None,
    customer: Annotated[str | None, typer.Option("--customer", help="Only this customer.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1)] = 1000,
    as_json: JsonOption = False,
) -> None:
    """Invitations with their personal survey link (newest first)."""
    rows = stats.invitations(_db(ctx), get_ctx(ctx).settings, survey=survey, status=status, customer_id=customer,
                             limit=limit)
    if as_json:
        emit_json(rows)
    else:
        emit_table([dict(r) for r in rows], columns=["survey", "customer_id", "touchpoint", "status", "created_at",
                                                     "url"])


@survey_app.command("stats")
@guarded
def stats_(ctx: typer.Context, survey: Annotated[str | None, typer.Option("--survey")] = None,
           as_json: JsonOption = False) -> None:
    """Triggered, suppressed by reason, sent, opened, started, completed, response rate (per channel too)."""
    rows = stats.survey_stats(_db(ctx), survey=survey)
    if as_json:
        emit_json(rows)
    else:
        emit_table(rows, columns=["survey", "status", "triggered", "suppressed", "sent", "opened", "started",
                                  "completed", "response_rate"])


@survey_app.command("why")
@guarded
def why(ctx: typer.Context, customer_id: str, as_json: JsonOption = False) -> None:
    """Why a customer did not get a survey: every suppressed trigger with its reason."""
    rows = stats.why_not(_db(ctx), customer_id)
    emit_json(rows) if as_json else emit_table(rows)


@survey_app.command("opt-out")
@guarded
def opt_out_(ctx: typer.Context, customer_id: str, as_json: JsonOption = False) -> None:
    """Never invite this customer again (their later triggers are counted as 'opted_out')."""
    added = opt_out(_db(ctx), customer_id, "cli")
    emit_json({"customer_id": customer_id, "opted_out": True, "new": added}) if as_json else \
        console.print(f"{customer_id}: opted out")


@survey_app.command("qr")
@guarded
def qr(ctx: typer.Context, name: str,
       touchpoint: Annotated[str, typer.Option("--touchpoint", help="Touchpoint the answers belong to.")],
       out: Annotated[Path | None, typer.Option("--out", help="Write the SVG here.")] = None,
       as_json: JsonOption = False) -> None:
    """A QR code for in-store use: anonymous answers tied to the touchpoint."""
    settings = get_ctx(ctx).settings
    db = _db(ctx)
    with db.session() as session:
        registry.get_survey(session, name)
    url = survey_url(settings, qr_token(signing_key(db, settings), name, touchpoint))
    svg = qr_svg(url)
    if out is not None:
        out.write_text(svg, encoding="utf-8")
    if as_json:
        emit_json({"survey": name, "touchpoint": touchpoint, "url": url, "svg": str(out) if out else svg})
    else:
        console.print(url + (f"\nQR code written to {out}" if out else ""))
