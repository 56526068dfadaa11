"""SLA timers computed from stored timestamps only (a restart never resets them).

A ticket has two timers: time to first contact and time to close. Due times are stored
when the ticket opens; while the ticket waits in a state whose clock is stopped (pending),
``paused_at`` is set, and on leaving it the remaining time is carried over to the new due
times. Business hours (Monday–Friday, 09:00–17:00 in the settings' time zone) are optional
per rule.

>>> from datetime import datetime, UTC
>>> friday_4pm = datetime(2024, 3, 1, 16, tzinfo=UTC)
>>> add_hours(friday_4pm, 2, business=True).isoformat()     # 1 h Friday + 1 h Monday
'2024-03-04T10:00:00+00:00'
>>> add_hours(friday_4pm, 2, business=False).isoformat()
'2024-03-01T18:00:00+00:00'
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

BUSINESS_START_HOUR = 9
BUSINESS_END_HOUR = 17
BUSINESS_DAYS = frozenset(range(5))  # Monday..Friday


def _zone(timezone: str) -> ZoneInfo:
    return ZoneInfo(timezone)


def add_hours(start: datetime, hours: float, *, business: bool, timezone: str = "UTC") -> datetime:
    """``start`` plus ``hours`` of clock time, or of business time when ``business``."""
    if not business:
        return start + timedelta(hours=hours)
    zone = _zone(timezone)
    at = start.astimezone(zone)
    left = timedelta(hours=hours)
    while left > timedelta(0):
        day_start = at.replace(hour=BUSINESS_START_HOUR, minute=0, second=0, microsecond=0)
        day_end = at.replace(hour=BUSINESS_END_HOUR, minute=0, second=0, microsecond=0)
        if at.weekday() not in BUSINESS_DAYS or at >= day_end:
            at = (day_start + timedelta(days=1))
            continue
        at = max(at, day_start)
        step = min(left, day_end - at)
        at, left = at + step, left - step
    return at.astimezone(UTC)


def hours_between(start: datetime, end: datetime, *, business: bool, timezone: str = "UTC") -> float:
    """Hours from ``start`` to ``end`` (negative when ``end`` is earlier), clock or business time."""
    if not business:
        return (end - start).total_seconds() / 3600
    if end < start:
        return -hours_between(end, start, business=True, timezone=timezone)
    zone = _zone(timezone)
    at, stop = start.astimezone(zone), end.astimezone(zone)
    total = timedelta(0)
    while at < stop:
        day_start = at.replace(hour=BUSINESS_START_HOUR, minute=0, second=0, microsecond=0)
        day_end = at.replace(hour=BUSINESS_END_HOUR, minute=0, second=0, microsecond=0)
        if at.weekday() in BUSINESS_DAYS and at < day_end:
            total += max(timedelta(0), min(stop, day_end) - max(at, day_start))
        at = day_start + timedelta(days=1)
    return total.total_seconds() / 3600


def carry_over(due: datetime | None, paused_at: datetime, resumed_at: datetime, *,
               business: bool, timezone: str = "UTC") -> datetime | None:
    """The due time after a pause: the time that was left at ``paused_at`` counts from ``resumed_at``.

    A timer already breached when the pause began stays where it was.
    """
    if due is None:
        return None
    remaining = hours_between(paused_at, due, business=business, timezone=timezone)
    if remaining <= 0:
        return due
    return add_hours(resumed_at, remaining, business=business, timezone=timezone)


def clock_now(paused_at: datetime | None, now: datetime) -> datetime:
    """The instant the SLA clock reads: frozen at ``paused_at`` while paused."""
    return paused_at if paused_at is not None and paused_at < now else now


def is_late(done_at: datetime | None, due: datetime | None, clock: datetime) -> bool:
    """A timer is breached when it was met after its due time, or is still open past it."""
    if due is None:
        return False
    return (done_at if done_at is not None else clock) > due
