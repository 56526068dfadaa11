"""The common filters every analysis accepts: date range, cohort, channel, stage, touchpoint."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import ibis
import ibis.expr.types as ir

from journeylens.errors import ParameterError

if TYPE_CHECKING:
    from journeylens.journeys.definition import JourneyDefinition


def _as_utc(value: str | datetime | None) -> datetime | None:
    if value is None or (isinstance(value, datetime) and value.tzinfo is not None):
        return value  # type: ignore[return-value]
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise ParameterError(f"Invalid date {value!r}; use ISO 8601 such as 2024-01-31.") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def check_text(name: str, value: str) -> str:
    """``value``, unless it holds a NUL character (no name, id or date has one; SQL engines
    refuse it), which is a :class:`ParameterError`."""
    if "\x00" in value:
        raise ParameterError(f"{name} contains a NUL character; give plain text.", code="invalid_parameter",
                             details={"parameter": name})
    return value


@dataclass(frozen=True)
class Filters:
    """Row filters over ``journey_events``. ``start`` inclusive, ``end`` exclusive.

    ``cohort`` keeps whole journeys of the customers in that cohort (see
    :mod:`journeylens.analyses.cohorts`); the others keep matching events.
    """

    start: str | datetime | None = None
    end: str | datetime | None = None
    cohort: str | None = None
    channel: Sequence[str] | None = None
    stage: Sequence[str] | None = None
    touchpoint: Sequence[str] | None = None

    def __post_init__(self) -> None:
        for name in ("start", "end", "cohort"):
            value = getattr(self, name)
            if isinstance(value, str):
                check_text(name, value)
        for name in ("channel", "stage", "touchpoint"):
            for value in getattr(self, name) or ():
                check_text(name, str(value))

    def is_empty(self) -> bool:
        return not any([self.start, self.end, self.cohort, self.channel, self.stage, self.touchpoint])

    def apply(self, events: ir.Table, definition: JourneyDefinition | None = None,
              customers: ir.Table | None = None, *, check_names: bool = True) -> ir.Table:
        """The filtered table. A channel, stage or touchpoint that ``events`` never has is an
        error listing close matches (``check_names=False`` when the caller checked already)."""
        if check_names:
            from journeylens.analyses.names import check_column_values

            for column in ("channel", "stage", "touchpoint"):
                check_column_values(events, column, getattr(self, column))
        out = events
        start, end = _as_utc(self.start), _as_utc(self.end)
        if start is not None:
            out = out.filter(out.timestamp >= ibis.literal(start))
        if end is not None:
            out = out.filter(out.timestamp < ibis.literal(end))
        for column, values in (("channel", self.channel), ("stage", self.stage), ("touchpoint", self.touchpoint)):
            if values:
                out = out.filter(out[column].isin(list(values)))
        if self.cohort:
            from journeylens.analyses.cohorts import customers_in_cohort

            members = customers_in_cohort(events, self.cohort, definition=definition, customers=customers)
            out = out.filter(out.customer_id.isin(members.customer_id))
        return out

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v}

    @classmethod
    def from_strings(cls, *, start: str | None = None, end: str | None = None, cohort: str | None = None,
                     channel: str | None = None, stage: str | None = None,
                     touchpoint: str | None = None) -> Filters:
        """Build from CLI / query-string values (comma-separated lists)."""

        def split(value: str | None) -> tuple[str, ...] | None:
            return tuple(v.strip() for v in value.split(",") if v.strip()) if value else None

        return cls(start=start, end=end, cohort=cohort, channel=split(channel), stage=split(stage),
                   touchpoint=split(touchpoint))
