"""Business hours: opening days and hours in a time zone, minus public holidays and closed days.

A team (a ticket queue) has one calendar; SLA clocks that run "in business hours" count only
the time the calendar is open. Each local date's opening interval is turned into UTC instants
before any arithmetic, so a daylight-saving change is counted in real elapsed hours (a night
shift over the spring-forward night is one hour shorter). Public holidays come from the
maintained ``holidays`` package (``holidays: NL`` or ``US-CA`` for a subdivision); ``closed``
adds the company's own days off.

>>> from datetime import UTC, datetime
>>> cal = BusinessCalendar(timezone="Europe/Amsterdam", holidays="NL")
>>> cal.add_hours(datetime(2024, 12, 24, 15, tzinfo=UTC), 2).isoformat()  # Tue 16:00 CET, Christmas next
'2024-12-27T09:00:00+00:00'
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from journeylens.errors import ParameterError
from journeylens.operations.datetext import IsoDate

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
#: Longest search for the next opening (a calendar open on no day at all is rejected up front).
_HORIZON_DAYS = 800


@lru_cache(maxsize=64)
def _holiday_dates(spec: str, year: int) -> frozenset[date]:
    import holidays

    country, _, subdivision = spec.partition("-")
    return frozenset(holidays.country_holidays(country, subdiv=subdivision or None, years=year))


@lru_cache(maxsize=1)
def _supported() -> dict[str, list[str]]:
    import holidays

    return dict(holidays.list_supported_countries())


def check_holidays(value: str | None) -> str | None:
    """``value`` when the ``holidays`` package knows that country (and subdivision); else ValueError."""
    if value is None:
        return None
    country, _, subdivision = value.partition("-")
    supported = _supported()
    if country not in supported:
        raise ValueError(f"no public holidays known for {country!r}; use an ISO 3166 code such as NL, DE, GB, US")
    if subdivision and subdivision not in supported[country]:
        raise ValueError(f"{country} has no subdivision {subdivision!r}; known: {', '.join(supported[country][:20])}")
    return value


class BusinessCalendar(BaseModel):
    """When a team works: ``days`` from ``start`` to ``end`` (``"24:00"`` = midnight) in ``timezone``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    days: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri")
    start: str = Field(default="09:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    end: str = Field(default="17:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$|^24:00$")
    timezone: str = "UTC"
    holidays: str | None = Field(default=None, description="Country (ISO 3166, e.g. 'NL') or 'US-CA'.")
    closed: tuple[IsoDate, ...] = Field(default=(), description="The company's own days off (local dates).")

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r} (use an IANA name such as 'Europe/Amsterdam')") from exc
        return value

    @field_validator("holidays")
    @classmethod
    def _country(cls, value: str | None) -> str | None:
        return check_holidays(value)

    @model_validator(mode="after")
    def _sane(self) -> BusinessCalendar:
        if not self.days:
            raise ValueError("a calendar needs at least one working day")
        if self.end != "24:00" and self.start >= self.end:
            raise ValueError(f"business hours start ({self.start}) must be before end ({self.end})")
        return self

    @classmethod
    def parse(cls, value: BusinessCalendar | dict[str, Any] | None, *, timezone: str = "UTC") -> BusinessCalendar:
        """A calendar from its stored dict (``None``: Monday–Friday 09:00–17:00 in ``timezone``)."""
        if isinstance(value, BusinessCalendar):
            return value
        return cls.model_validate(value) if value else cls(timezone=timezone)

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_defaults=False)

    def describe(self) -> str:
        days = ", ".join(self.days)
        extra = f", {self.holidays} public holidays off" if self.holidays else ""
        closed = f", {len(self.closed)} closed day(s)" if self.closed else ""
        return f"{days} {self.start}–{self.end} {self.timezone}{extra}{closed}"

    def is_working_day(self, day: date) -> bool:
        if WEEKDAYS[day.weekday()] not in self.days or day in self.closed:
            return False
        return not (self.holidays and day in _holiday_dates(self.holidays, day.year))

    def opening(self, day: date) -> tuple[datetime, datetime] | None:
        """The UTC interval the calendar is open on local date ``day`` (None when closed)."""
        if not self.is_working_day(day):
            return None
        zone = ZoneInfo(self.timezone)
        opens = datetime.combine(day, time.fromisoformat(self.start), zone).astimezone(UTC)
        if self.end == "24:00":
            closes = datetime.combine(day + timedelta(days=1), time(0), zone).astimezone(UTC)
        else:
            closes = datetime.combine(day, time.fromisoformat(self.end), zone).astimezone(UTC)
        return opens, closes

    def _openings_from(self, at: datetime) -> Iterator[tuple[datetime, datetime]]:
        day = at.astimezone(ZoneInfo(self.timezone)).date() - timedelta(days=1)
        for offset in range(_HORIZON_DAYS):
            interval = self.opening(day + timedelta(days=offset))
            if interval is not None and interval[1] > at:
                yield interval
        raise ValueError(f"business calendar ({self.describe()}) is never open within {_HORIZON_DAYS} days")

    def next_opening(self, at: datetime) -> datetime:
        """``at`` if the calendar is open then, else the next moment it opens."""
        opens, _ = next(self._openings_from(at))
        return max(at, opens)

    def add_hours(self, start: datetime, hours: float) -> datetime:
        """``start`` plus ``hours`` of open time."""
        left = timedelta(hours=hours)
        at = start
        for opens, closes in self._openings_from(start):
            at = max(at, opens)
            if at + left <= closes:
                return (at + left).astimezone(UTC)
            left -= closes - at
        raise AssertionError("unreachable")  # _openings_from raises before it runs out

    def hours_between(self, start: datetime, end: datetime) -> float:
        """Open hours from ``start`` to ``end`` (negative when ``end`` is earlier)."""
        if end < start:
            return -self.hours_between(end, start)
        total = timedelta(0)
        for opens, closes in self._openings_from(start):
            if opens >= end:
                break
            total += min(closes, end) - max(opens, start)
        return total.total_seconds() / 3600


def calendar_from_options(current: dict[str, Any] | None, *, days: str | None = None, hours: str | None = None,
                          timezone: str | None = None, holidays: str | None = None,
                          closed: list[str] | None = None) -> BusinessCalendar:
    """A calendar from command-line style options, on top of ``current`` (a stored calendar).

    >>> calendar_from_options(None, days="mon-thu", hours="08:30-24:00", holidays="none").describe()
    'mon, tue, wed, thu 08:30–24:00 UTC'
    """
    data = dict(current or {})
    if days is not None:
        data["days"] = _days(days)
    if hours is not None:
        start, sep, end = hours.partition("-")
        if not sep:
            raise ParameterError(f"--hours takes START-END such as 09:00-17:00, got {hours!r}.")
        data["start"], data["end"] = start.strip(), end.strip()
    if timezone is not None:
        data["timezone"] = timezone
    if holidays is not None:
        data["holidays"] = None if holidays.lower() == "none" else holidays
    if closed is not None:
        data["closed"] = closed
    try:
        return BusinessCalendar.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'calendar'}: {e['msg']}" for e in exc.errors())
        raise ParameterError(f"Bad business hours: {problems}.", code="business_hours_invalid") from exc


def _days(text: str) -> list[str]:
    out: list[str] = []
    for part in (p.strip().lower()[:3] for p in text.replace(" ", "").split(",") if p.strip()):
        out.append(part)
    if len(out) == 1 and "-" in text:  # a range such as mon-fri
        first, _, last = text.lower().partition("-")
        if first[:3] in WEEKDAYS and last[:3] in WEEKDAYS:
            a, b = WEEKDAYS.index(first[:3]), WEEKDAYS.index(last[:3])  # type: ignore[arg-type]
            return list(WEEKDAYS[a:b + 1])
    unknown = [d for d in out if d not in WEEKDAYS]
    if unknown:
        raise ParameterError(f"Unknown day(s) {unknown}; use {', '.join(WEEKDAYS)} or a range such as mon-fri.")
    return out
