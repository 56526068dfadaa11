"""SLA timers computed from stored timestamps only (a restart never resets them).

A ticket has two timers: time to first contact and time to close. Due times are stored
when the ticket opens; while the ticket waits in a state whose clock is stopped (pending),
``paused_at`` is set, and on leaving it the remaining time is carried over to the new due
times. Business hours are optional per rule: the ticket's team calendar
(:class:`~journeylens.operations.calendar.BusinessCalendar`: days, hours, time zone,
public holidays, closed days), else Monday–Friday 09:00–17:00 in the settings' time zone. The
calendar used is stored on the ticket, so later carry-overs count with the same one.

>>> from datetime import datetime, UTC
>>> friday_4pm = datetime(2024, 3, 1, 16, tzinfo=UTC)
>>> add_hours(friday_4pm, 2, business=True).isoformat()     # 1 h Friday + 1 h Monday
'2024-03-04T10:00:00+00:00'
>>> add_hours(friday_4pm, 2, business=False).isoformat()
'2024-03-01T18:00:00+00:00'
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from journeylens.operations.calendar import BusinessCalendar


def calendar_for(session: Session, team: str | None, timezone: str = "UTC") -> BusinessCalendar:
    """The business calendar of ``team`` (its queue), else the default in ``timezone``."""
    from journeylens.operations.tickets.routing import find_team

    found = find_team(session, team) if team else None
    return BusinessCalendar.parse(found.business_hours if found is not None else None, timezone=timezone)


def due(start: datetime, hours: float | None, calendar: BusinessCalendar | None) -> datetime | None:
    """The due time ``hours`` after ``start``: clock time, or open time of ``calendar``."""
    if not hours:
        return None
    return calendar.add_hours(start, hours) if calendar is not None else start + timedelta(hours=hours)


def _calendar(business: bool, timezone: str, calendar: BusinessCalendar | dict[str, Any] | None
              ) -> BusinessCalendar | None:
    return BusinessCalendar.parse(calendar, timezone=timezone) if business else None


def add_hours(start: datetime, hours: float, *, business: bool, timezone: str = "UTC",
              calendar: BusinessCalendar | dict[str, Any] | None = None) -> datetime:
    """``start`` plus ``hours`` of clock time, or of business time when ``business``."""
    found = due(start, hours, _calendar(business, timezone, calendar))
    return found if found is not None else start


def hours_between(start: datetime, end: datetime, *, business: bool, timezone: str = "UTC",
                  calendar: BusinessCalendar | dict[str, Any] | None = None) -> float:
    """Hours from ``start`` to ``end`` (negative when ``end`` is earlier), clock or business time."""
    chosen = _calendar(business, timezone, calendar)
    if chosen is None:
        return (end - start).total_seconds() / 3600
    return chosen.hours_between(start, end)


def carry_over(due_at: datetime | None, paused_at: datetime, resumed_at: datetime, *,
               business: bool, timezone: str = "UTC",
               calendar: BusinessCalendar | dict[str, Any] | None = None) -> datetime | None:
    """The due time after a pause: the time that was left at ``paused_at`` counts from ``resumed_at``.

    A timer already breached when the pause began stays where it was.
    """
    if due_at is None:
        return None
    remaining = hours_between(paused_at, due_at, business=business, timezone=timezone, calendar=calendar)
    if remaining <= 0:
        return due_at
    return add_hours(resumed_at, remaining, business=business, timezone=timezone, calendar=calendar)


def clock_now(paused_at: datetime | None, now: datetime) -> datetime:
    """The instant the SLA clock reads: frozen at ``paused_at`` while paused."""
    return paused_at if paused_at is not None and paused_at < now else now


def is_late(done_at: datetime | None, due: datetime | None, clock: datetime) -> bool:
    """A timer is breached when it was met after its due time, or is still open past it."""
    if due is None:
        return False
    return (done_at if done_at is not None else clock) > due
