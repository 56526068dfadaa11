"""Commands that make numbers explain themselves.

    journeylens properties [--top 5] [--json]                 # what can split a number, with cardinality
    journeylens freshness [--json]                            # date range, last data per source, stale warnings
    journeylens annotation add 2024-09-01 "App 6.0" --kind release [--touchpoint T]
    journeylens annotation from-property app_version          # a release marker per new value
    journeylens annotation list [--json] · annotation delete ID
    journeylens view save NAME --page /funnel --query 'steps=A,B' · view list · view show NAME · view delete NAME

Annotations and views live in the app database (the running server's when one holds the
warehouse: see ``journeylens.surfaces.cli.remote``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, TypeVar
from urllib.parse import parse_qsl

import typer
from sqlalchemy.orm import Session

from journeylens.errors import JourneyLensError, ParameterError
from journeylens.operations import annotations as notes
from journeylens.operations.appdb import AppDatabase
from journeylens.surfaces.cli.context import (
    console,
    emit_json,
    emit_table,
    err_console,
    fail,
    get_ctx,
)
from journeylens.surfaces.cli.options import JsonOpt

T = TypeVar("T")
ACTOR = "cli"
annotation_app = typer.Typer(help="Dated notes (release markers) drawn on every time chart.", no_args_is_help=True)
view_app = typer.Typer(help="Saved dashboard views: named, shared by link, listed.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.command("properties", help="Properties that can split a number (events, feedback, customers), "
                "with their number of values.")(properties)
    app.command("freshness", help="When each source last received data; the data's date range.")(freshness_cmd)
    app.add_typer(annotation_app, name="annotation")
    app.add_typer(view_app, name="view")


def _analysis(ctx: typer.Context, as_json: bool, compute: Callable[[Any], Any]) -> Any:
    try:
        return compute(get_ctx(ctx).lens())
    except JourneyLensError as exc:
        fail(exc, as_json=as_json)
        raise


def properties(ctx: typer.Context, top: Annotated[int, typer.Option("--top", help="Values shown per property.")] = 5,
               as_json: JsonOpt = False) -> None:
    """JSON: rows {source, property, distinct, top_values: [{value, n}]}."""
    rows = _analysis(ctx, as_json, lambda lens: lens.properties(top=top)).to_dict()
    if as_json:
        emit_json(rows)
        return
    emit_table([{**r, "top_values": ", ".join(f"{v['value']} ({v['n']:,})" for v in r["top_values"])} for r in rows],
               title="Properties that can split a number (--by NAME)")


def freshness_cmd(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """JSON: {sources: [{table, source, rows, first, last, last_ingested_at, age_days, stale}], first, last, warnings}."""
    payload = _analysis(ctx, as_json, lambda lens: lens.freshness()).to_dict()
    if as_json:
        emit_json(payload)
        return
    emit_table(payload["sources"], title=f"Data from {payload['first'][:10]} to {payload['last'][:10]}"
               if payload["first"] else "No data yet")
    for warning in payload["warnings"]:
        err_console.print(f"[bold yellow]stale[/bold yellow] {warning}")


def _in_app_db(ctx: typer.Context, as_json: bool, work: Callable[[Session], T]) -> T:
    database = AppDatabase(get_ctx(ctx).settings.app_database_url)
    try:
        with database.session() as session:
            return work(session)
    except JourneyLensError as exc:
        fail(exc, as_json=as_json)
        raise
    finally:
        database.dispose()


def _emit_models(rows: list[Any], as_json: bool, title: str, columns: list[str]) -> None:
    if as_json:
        emit_json([r.model_dump(mode="json") for r in rows])
    else:
        emit_table([r.model_dump() for r in rows], title=title, columns=columns)


@annotation_app.command("add")
def annotation_add(ctx: typer.Context, at: Annotated[str, typer.Argument(help="Date or date-time (ISO 8601).")],
                   title: Annotated[str, typer.Argument()],
                   kind: Annotated[str, typer.Option("--kind", help="release, campaign, incident or note.")] = "note",
                   touchpoint: Annotated[str | None, typer.Option("--touchpoint")] = None,
                   description: Annotated[str, typer.Option("--description")] = "", as_json: JsonOpt = False) -> None:
    try:
        data = notes.AnnotationCreate(at=datetime.fromisoformat(at), title=title, kind=kind, touchpoint=touchpoint,
                                      description=description)
    except ValueError as exc:
        fail(ParameterError(f"Invalid annotation: {exc}"), as_json=as_json)
        return
    made = _in_app_db(ctx, as_json, lambda s: notes.create_annotation(s, data, actor=ACTOR))
    _emit_models([made], as_json, "Annotation added", ["id", "at", "title", "kind", "touchpoint"])


@annotation_app.command("from-property")
def annotation_from_property(ctx: typer.Context, name: Annotated[str, typer.Argument(help="Event property, e.g. app_version.")],
                             kind: Annotated[str, typer.Option("--kind")] = "release", as_json: JsonOpt = False) -> None:
    """Mark the first day each new value of an event property appears (idempotent)."""
    events = _analysis(ctx, as_json, lambda lens: lens.events())
    made = _in_app_db(ctx, as_json, lambda s: notes.from_property(s, events, name, kind=kind, actor=ACTOR))
    _emit_models(made, as_json, f"{len(made)} annotations from {name}", ["id", "at", "title", "kind"])


@annotation_app.command("list")
def annotation_list(ctx: typer.Context, touchpoint: Annotated[str | None, typer.Option("--touchpoint")] = None,
                    as_json: JsonOpt = False) -> None:
    rows = _in_app_db(ctx, as_json, lambda s: notes.list_annotations(s, touchpoint=touchpoint))
    _emit_models(rows, as_json, "Annotations", ["id", "at", "title", "kind", "touchpoint", "source"])


@annotation_app.command("delete")
def annotation_delete(ctx: typer.Context, annotation_id: Annotated[int, typer.Argument()], as_json: JsonOpt = False) -> None:
    _in_app_db(ctx, as_json, lambda s: notes.delete_annotation(s, annotation_id))
    emit_json({"deleted": annotation_id}) if as_json else console.print(f"Deleted annotation {annotation_id}.")


@view_app.command("save")
def view_save(ctx: typer.Context, name: Annotated[str, typer.Argument()],
              page: Annotated[str, typer.Option("--page", help="Dashboard path, e.g. /funnel.")] = "/",
              query: Annotated[str, typer.Option("--query", help="Query string, e.g. 'steps=A,B&start=2024-01-01'.")] = "",
              description: Annotated[str, typer.Option("--description")] = "", as_json: JsonOpt = False) -> None:
    try:
        data = notes.ViewCreate(name=name, page=page, query=dict(parse_qsl(query)), description=description)
    except ValueError as exc:
        fail(ParameterError(f"Invalid view: {exc}"), as_json=as_json)
        return
    view = _in_app_db(ctx, as_json, lambda s: notes.save_view(s, data, actor=ACTOR))
    emit_json({**view.model_dump(mode="json"), "link": view.link}) if as_json else console.print(
        f"Saved {view.name!r}: {view.link}")


@view_app.command("list")
def view_list(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    rows = _in_app_db(ctx, as_json, notes.list_views)
    if as_json:
        emit_json([{**v.model_dump(mode="json"), "link": v.link} for v in rows])
    else:
        emit_table([{"name": v.name, "link": v.link, "created_by": v.created_by} for v in rows], title="Saved views")


@view_app.command("show")
def view_show(ctx: typer.Context, name: Annotated[str, typer.Argument()], as_json: JsonOpt = False) -> None:
    view = _in_app_db(ctx, as_json, lambda s: notes.get_view(s, name))
    emit_json({**view.model_dump(mode="json"), "link": view.link}) if as_json else console.print(view.link)


@view_app.command("delete")
def view_delete(ctx: typer.Context, name: Annotated[str, typer.Argument()], as_json: JsonOpt = False) -> None:
    _in_app_db(ctx, as_json, lambda s: notes.delete_view(s, name))
    emit_json({"deleted": name}) if as_json else console.print(f"Deleted view {name!r}.")
