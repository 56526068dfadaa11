"""Scheduled state-of-the-journey reports: who gets it, how often, in which format.

A schedule is due when it has never been sent, or when its cadence has passed since the last
send (weekly: 7 days; monthly: the same day of the next month). The worker renders the report
once per run and queues one email per schedule through the durable outbox, keyed by schedule
and due date so a restart never mails the same report twice.

>>> from datetime import datetime, UTC
>>> next_due("weekly", datetime(2026, 1, 31, tzinfo=UTC)).date().isoformat()
'2026-02-07'
>>> next_due("monthly", datetime(2026, 1, 31, tzinfo=UTC)).date().isoformat()
'2026-02-28'
"""

from __future__ import annotations

import calendar
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from journeylens.errors import NotFoundError, ParameterError
from journeylens.operations.appdb import AppDatabase
from journeylens.operations.audit import record
from journeylens.operations.maturity.records import REPORT_CADENCES, REPORT_FORMATS, ReportSchedule

_EMAIL = re.compile(r"^[^@\s,]+@[^@\s,]+\.[^@\s,]+$")


def next_due(cadence: str, last: datetime) -> datetime:
    if cadence == "weekly":
        return last + timedelta(days=7)
    month = last.month % 12 + 1
    year = last.year + (1 if last.month == 12 else 0)
    day = min(last.day, calendar.monthrange(year, month)[1])
    return last.replace(year=year, month=month, day=day)


def _public(row: ReportSchedule) -> dict[str, Any]:
    return {"id": row.id, "name": row.name, "recipients": row.recipient_list, "cadence": row.cadence,
            "format": row.format, "active": row.active, "created_by": row.created_by,
            "created_at": row.created_at.isoformat(),
            "last_sent_at": row.last_sent_at.isoformat() if row.last_sent_at else None,
            "next_due": next_due(row.cadence, row.last_sent_at).isoformat() if row.last_sent_at else "now"}


def add_schedule(db: AppDatabase, *, name: str, recipients: str | list[str], cadence: str, fmt: str = "pdf",
                 actor: str = "") -> dict[str, Any]:
    """Create a schedule; every address is checked."""
    addresses = [a.strip() for a in (recipients.split(",") if isinstance(recipients, str) else recipients) if a.strip()]
    bad = [a for a in addresses if not _EMAIL.match(a)]
    if not name.strip():
        raise ParameterError("A scheduled report needs a name.")
    if not addresses or bad:
        raise ParameterError(f"A scheduled report needs one or more email addresses; not valid: {', '.join(bad) or '(none)'}.")
    if cadence not in REPORT_CADENCES:
        raise ParameterError(f"cadence must be one of {', '.join(REPORT_CADENCES)}, not {cadence!r}.")
    if fmt not in REPORT_FORMATS:
        raise ParameterError(f"format must be one of {', '.join(REPORT_FORMATS)}, not {fmt!r}.")
    with db.session() as session:
        row = ReportSchedule(name=name.strip()[:200], recipients=",".join(addresses), cadence=cadence, format=fmt,
                             created_by=actor)
        session.add(row)
        session.flush()
        record(session, actor=actor or "system", action="report_schedule.create", target=str(row.id),
               details={"cadence": cadence, "recipients": len(addresses)})
        return _public(row)


def list_schedules(db: AppDatabase, *, active_only: bool = False) -> list[dict[str, Any]]:
    with db.session() as session:
        query = select(ReportSchedule).order_by(ReportSchedule.id)
        if active_only:
            query = query.where(ReportSchedule.active.is_(True))
        return [_public(r) for r in session.scalars(query)]


def remove_schedule(db: AppDatabase, schedule_id: int, *, actor: str = "") -> dict[str, Any]:
    with db.session() as session:
        row = session.get(ReportSchedule, schedule_id)
        if row is None:
            raise NotFoundError(f"No scheduled report #{schedule_id}.")
        row.active = False
        record(session, actor=actor or "system", action="report_schedule.stop", target=str(schedule_id))
        return _public(row)


def due_schedules(db: AppDatabase, now: datetime | None = None) -> list[dict[str, Any]]:
    """Active schedules whose next send is due at ``now``, each with the due moment it answers."""
    now = now or datetime.now(UTC)
    out = []
    with db.session() as session:
        for row in session.scalars(select(ReportSchedule).where(ReportSchedule.active.is_(True))):
            due = next_due(row.cadence, row.last_sent_at) if row.last_sent_at else row.created_at
            if due <= now:
                out.append({**_public(row), "due_at": due.isoformat()})
    return out


def mark_sent(db: AppDatabase, schedule_id: int, at: datetime) -> None:
    with db.session() as session:
        row = session.get(ReportSchedule, schedule_id)
        if row is not None:
            row.last_sent_at = at
