"""Time windows a number covers: complete and incomplete periods, the window of a filter, and
the window it is compared with (the previous period of the same length, or the same period a
year earlier).

A calendar period is *complete* when the data reaches its last day; the newest month of a feed
that stopped on the 10th is incomplete, and a change computed on it is not tested by default.

>>> from datetime import datetime, UTC
>>> is_complete(pd.Timestamp("2025-02-01"), "month", datetime(2025, 2, 10, tzinfo=UTC))
False
>>> is_complete(pd.Timestamp("2025-01-01"), "month", datetime(2025, 2, 10, tzinfo=UTC))
True
>>> w = Window(pd.Timestamp("2025-01-01", tz="UTC"), pd.Timestamp("2025-01-31", tz="UTC"))
>>> w.label(), w.previous().label(), w.last_year().label()
('2025-01-01 – 2025-01-30', '2024-12-02 – 2024-12-31', '2024-01-01 – 2024-01-30')
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import ibis.expr.types as ir
import pandas as pd

from journeylens.errors import ParameterError

PERIOD_STEP: dict[str, pd.DateOffset] = {
    "day": pd.DateOffset(days=1), "week": pd.DateOffset(weeks=1), "month": pd.DateOffset(months=1),
    "quarter": pd.DateOffset(months=3)}
COMPARE_TO: tuple[str, ...] = ("previous", "last_year", "none")
#: Date presets of the filter bar: name → days back from the data's end (``quarter`` = this quarter).
PRESETS: dict[str, int | None] = {"7d": 7, "30d": 30, "90d": 90, "quarter": None}


def _utc(value: Any) -> pd.Timestamp:
    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError) as exc:
        raise ParameterError(f"{str(value)[:40]!r} is not a date or date-time; use YYYY-MM-DD.") from exc
    if pd.isna(stamp):
        raise ParameterError(f"{str(value)[:40]!r} is not a date or date-time; use YYYY-MM-DD.")
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def period_end(start: Any, period: str) -> pd.Timestamp:
    """The exclusive end of the calendar period starting at ``start``."""
    return pd.Timestamp(start) + PERIOD_STEP[period]


def is_complete(start: Any, period: str, data_end: datetime | None) -> bool:
    """Whether the data reaches the last day of the period starting at ``start``."""
    if data_end is None:
        return False
    last_day = (period_end(start, period) - pd.Timedelta(days=1)).date()
    return _utc(data_end).date() >= last_day


def data_range(table: ir.Table, column: str = "timestamp") -> tuple[datetime | None, datetime | None]:
    """The first and last timestamp in ``table`` (``None`` when it is empty)."""
    row = table.aggregate(first=table[column].min(), last=table[column].max()).to_pyarrow().to_pylist()[0]
    return row["first"], row["last"]


@dataclass(frozen=True)
class Window:
    """A half-open time window ``[start, end)`` in UTC."""

    start: pd.Timestamp
    end: pd.Timestamp

    @property
    def days(self) -> float:
        return float((self.end - self.start) / pd.Timedelta(days=1))

    def previous(self) -> Window:
        """The window of the same length just before this one."""
        return Window(self.start - (self.end - self.start), self.start)

    def last_year(self) -> Window:
        """The same dates a year earlier."""
        return Window(self.start - pd.DateOffset(years=1), self.end - pd.DateOffset(years=1))

    def compared(self, compare_to: str) -> Window | None:
        if compare_to not in COMPARE_TO:
            raise ParameterError(f"Unknown compare_to {compare_to!r}; allowed: {', '.join(COMPARE_TO)}.",
                                 details={"allowed": list(COMPARE_TO)})
        return {"previous": self.previous, "last_year": self.last_year}.get(compare_to, lambda: None)()

    def label(self) -> str:
        """``2025-01-01 – 2025-01-30`` (both days inclusive)."""
        last = self.end - pd.Timedelta(microseconds=1)
        return f"{self.start.date().isoformat()} – {last.date().isoformat()}"

    def to_dict(self) -> dict[str, Any]:
        return {"start": self.start.isoformat(), "end": self.end.isoformat(), "days": round(self.days, 3),
                "label": self.label()}


def window_of(start: Any, end: Any, first: datetime | None, last: datetime | None) -> Window | None:
    """The window a filter covers: its own bounds, else the data's (end exclusive: the day after
    the last timestamp)."""
    start, end = start or None, end or None  # an empty form field means "not set"
    if start is None and first is None:
        return None
    lo = _utc(start) if start is not None else _utc(first).normalize()
    if end is not None:
        hi = _utc(end)
    elif last is not None:
        hi = _utc(last).normalize() + pd.Timedelta(days=1)
    else:
        hi = _utc(datetime.now(UTC)).normalize() + pd.Timedelta(days=1)
    return Window(lo, max(hi, lo + pd.Timedelta(days=1)))


def preset_window(preset: str, last: datetime | None) -> Window:
    """The window of a date preset ending on the day of the data's last timestamp."""
    if preset not in PRESETS:
        raise ParameterError(f"Unknown date preset {preset!r}; allowed: {', '.join(PRESETS)} or custom dates.",
                             details={"allowed": list(PRESETS)})
    end = _utc(last if last is not None else datetime.now(UTC)).normalize() + pd.Timedelta(days=1)
    days = PRESETS[preset]
    if days is None:
        day = end - pd.Timedelta(days=1)
        start = pd.Timestamp(year=day.year, month=3 * ((day.month - 1) // 3) + 1, day=1, tz="UTC")
        return Window(start, end)
    return Window(end - pd.Timedelta(days=days), end)
