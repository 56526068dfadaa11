"""``journeylens worker`` (the worker as its own process) and ``journeylens outbox`` (what it owes)."""

from __future__ import annotations

import signal
import threading
from typing import Annotated, Any

import typer
from sqlalchemy import select

from journeylens.operations import outbox
from journeylens.operations.appdb import AppDatabase
from journeylens.operations.outbox_models import OUTBOX_STATUSES, OutboxMessage
from journeylens.operations.worker import Worker, lease_rows
from journeylens.surfaces.cli.context import console, emit_json, emit_table, get_ctx, guarded

outbox_app = typer.Typer(help="Outgoing messages: list, inspect the delivery log, retry.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.command("worker")(worker)
    app.add_typer(outbox_app, name="outbox")


def worker(
    ctx: typer.Context,
    once: Annotated[bool, typer.Option("--once", help="Run one tick (jobs + delivery) and exit.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the tick report as JSON (with --once).")] = False,
) -> None:
    """Deliver the outbox and run periodic jobs (safe next to `serve` or another worker)."""
    settings = get_ctx(ctx).settings
    db = AppDatabase(settings.app_database_url)
    runner = Worker(db, settings)
    if once:
        report = runner.run_once().to_dict()
        if as_json:
            emit_json(report)
        else:
            console.print(report)
        return
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    console.print(f"JourneyLens worker running every {settings.worker_interval_seconds}s (Ctrl-C stops)")
    runner.start()
    stop.wait()
    runner.stop()


@outbox_app.command("list")
@guarded
def outbox_list(
    ctx: typer.Context,
    status: Annotated[list[str] | None, typer.Option("--status", help=f"One of {', '.join(OUTBOX_STATUSES)}.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1)] = 200,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Messages, newest first, with their status and last error."""
    from journeylens.errors import ParameterError

    bad = [s for s in status or () if s not in OUTBOX_STATUSES]
    if bad:
        raise ParameterError(f"Unknown outbox status {bad[0]!r}; allowed: {', '.join(OUTBOX_STATUSES)}.")
    db = AppDatabase(get_ctx(ctx).settings.app_database_url)
    with db.session() as session:
        query = select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(limit)
        if status:
            query = query.where(OutboxMessage.status.in_(status))
        rows: list[dict[str, Any]] = [m.to_dict() for m in session.scalars(query)]
    if as_json:
        emit_json(rows)
    else:
        emit_table(rows, columns=["id", "channel", "target", "status", "attempts", "next_attempt_at", "last_error"])


@outbox_app.command("show")
@guarded
def outbox_show(ctx: typer.Context, message_id: int,
                as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """One message with its delivery log."""
    from journeylens.errors import NotFoundError

    db = AppDatabase(get_ctx(ctx).settings.app_database_url)
    with db.session() as session:
        row = session.get(OutboxMessage, message_id)
        if row is None:
            raise NotFoundError(f"No outbox message {message_id}.")
        out = row.to_dict() | {"payload": row.payload, "deliveries": [
            {"attempt": d.attempt, "ok": d.ok, "detail": d.detail, "worker": d.worker, "at": d.at,
             "duration_ms": round(d.duration_ms, 1)} for d in outbox.deliveries(session, message_id)]}
    if as_json:
        emit_json(out)
    else:
        emit_table(out["deliveries"], title=f"#{message_id} {row.channel} → {row.target}: {row.status}")


@outbox_app.command("retry")
@guarded
def outbox_retry(ctx: typer.Context, message_id: int,
                 as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Queue a failed or dead message again now."""
    db = AppDatabase(get_ctx(ctx).settings.app_database_url)
    with db.session() as session:
        out = outbox.retry(session, message_id).to_dict()
    emit_json(out) if as_json else console.print(f"#{message_id}: {out['status']}")


@outbox_app.command("jobs")
@guarded
def outbox_jobs(ctx: typer.Context, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """The worker's periodic jobs: last run, next run, last error."""
    rows = lease_rows(AppDatabase(get_ctx(ctx).settings.app_database_url))
    emit_json(rows) if as_json else emit_table(rows)
