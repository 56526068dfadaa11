"""Tickets as one flat table for the analyses (departures' before / during / after).

Analyses never open the app database: a surface (the Python facade, so the CLI, HTTP API and
dashboard alike) reads the tickets here and passes the table in. One row per ticket with a
customer: ``customer_id, touchpoint, created_at`` (UTC), ``hours_to_close`` (opening to resolved
or closed, the earlier; null while neither),
``open`` (its state's ``is_open``), ``breached`` (either SLA timer missed, judged as the inbox
judges it) and ``root_cause``.

A SQLite app database whose file does not exist is not created by reading it: the answer is
``(None, why)``, and so for a database that cannot be reached or has no tickets table.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
from sqlalchemy import inspect, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from journeylens.errors import JourneyLensError
from journeylens.operations.appdb import AppDatabase
from journeylens.operations.tickets.inbox import breached
from journeylens.operations.tickets.models import Ticket, TicketState

log = logging.getLogger(__name__)

TICKET_COLUMNS: tuple[str, ...] = ("customer_id", "touchpoint", "created_at", "hours_to_close", "open", "breached",
                                   "root_cause")


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _hours_to_close(ticket: Ticket) -> float | None:
    done = ticket.resolved_at or ticket.closed_at
    return None if done is None else (_utc(done) - _utc(ticket.created_at)).total_seconds() / 3600


def ticket_frame(database: AppDatabase, now: datetime | None = None) -> pd.DataFrame:
    """Every ticket that names a customer, one row each (columns :data:`TICKET_COLUMNS`)."""
    with database.session() as session:
        open_states = {s.name: s.is_open for s in session.scalars(select(TicketState))}
        tickets = session.scalars(select(Ticket).where(Ticket.customer_id.is_not(None))).all()
        rows = [{"customer_id": t.customer_id, "touchpoint": t.touchpoint, "created_at": _utc(t.created_at),
                 "hours_to_close": _hours_to_close(t), "open": open_states.get(t.status, True),
                 "breached": breached(t, now), "root_cause": t.root_cause} for t in tickets]
    return pd.DataFrame(rows, columns=list(TICKET_COLUMNS))


def tickets_at(url: str, now: datetime | None = None) -> tuple[pd.DataFrame | None, str | None]:
    """``(tickets, None)`` from the app database at ``url``, or ``(None, the reason there are none)``."""
    parsed = make_url(url)
    if parsed.drivername.startswith("sqlite") and parsed.database not in (None, "", ":memory:") \
            and not Path(str(parsed.database)).exists():
        return None, f"No app database at {parsed.database}: tickets are not part of this view."
    database = None
    try:
        database = AppDatabase(url, upgrade=False)
        if not inspect(database.engine).has_table("tickets"):
            return None, "The app database has no tickets table yet (run `journeylens serve` or a ticket command)."
        return ticket_frame(database, now), None
    except (SQLAlchemyError, JourneyLensError) as exc:
        log.warning("tickets not read from the app database: %s", exc)
        return None, f"The app database could not be read for tickets ({type(exc).__name__})."
    finally:
        if database is not None:
            database.dispose()
