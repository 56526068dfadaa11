"""Conversion and churn: overall and per acquisition period, with Wilson intervals.

A customer's outcomes are those of :func:`journeylens.analyses.cohorts.customer_outcomes`
(converted: a conversion outcome event, else reaching the last stage; churned: a churn
outcome event or ``customers.churned``). Customers are grouped by the ``period`` (``week`` or
``month``) of their first event, so each row answers "of the customers who started then, how
many converted / churned so far". Recent periods have had less time to churn: read the trend
with that in mind. The latest period is tested against the one before (pooled two-proportion
z-test) for both shares.

>>> import ibis
>>> from datetime import datetime, UTC
>>> ev = ibis.memtable({"customer_id": ["a", "a", "b"], "touchpoint": ["visit", "buy", "visit"],
...     "timestamp": [datetime(2024, 1, d, tzinfo=UTC) for d in (1, 2, 3)], "_seq": [1, 2, 3],
...     "stage": ["look", "buy", "look"], "stage_order": [1, 2, 1]})
>>> outcomes(ev).to_dict()["overall"]["conversion"]
0.5
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import ibis.expr.types as ir
import pandas as pd

from journeylens.analyses import stats
from journeylens.analyses.cohorts import customer_outcomes
from journeylens.analyses.result import plain
from journeylens.errors import ParameterError
from journeylens.warehouse.durations import micros_between

if TYPE_CHECKING:
    from journeylens.analyses.filters import Filters
    from journeylens.journeys.definition import JourneyDefinition

PERIODS: dict[str, str] = {"week": "W", "month": "M"}
SHARES: tuple[str, ...] = ("conversion", "churn")


def _shares(customers: int, converted: int, churned: int) -> dict[str, Any]:
    row: dict[str, Any] = {"customers": customers, "converted": converted, "churned": churned}
    for name, hits in (("conversion", converted), ("churn", churned)):
        low, high = stats.wilson_interval(hits, customers)
        row.update({name: hits / customers if customers else None, f"{name}_low": low, f"{name}_high": high})
    return plain(row)


@dataclass(frozen=True, repr=False)
class OutcomesResult:
    """``to_dict()`` → ``{"period", "overall": {customers, converted, churned, conversion,
    conversion_low, conversion_high, churn, churn_low, churn_high}, "periods": [{period, ...same}],
    "latest_change": [{metric, base_period, current_period, base, current, difference, p_value}]}``."""

    period: str
    overall: Mapping[str, Any]
    periods: Sequence[Mapping[str, Any]]
    latest_change: Sequence[Mapping[str, Any]] = ()
    params: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return plain({"period": self.period, "overall": dict(self.overall),
                      "periods": [dict(p) for p in self.periods],
                      "latest_change": [dict(c) for c in self.latest_change]})

    def to_frame(self) -> pd.DataFrame:
        """One row per period."""
        return pd.DataFrame([dict(p) for p in self.periods])

    def figure(self) -> Any:
        """Conversion and churn share per period, with 95 % intervals."""
        import plotly.graph_objects as go

        from journeylens.analyses.chart_rules import HOLLOW, SHARE_AXIS, date_axis

        x = [p["period"] + ("-01" if self.period == "month" else "") for p in self.periods]
        within = self.params.get("within_days")
        traces = []
        for name in SHARES:
            y = [p[name] for p in self.periods]
            upper = [None if v is None else p[f"{name}_high"] - v for v, p in zip(y, self.periods, strict=True)]
            lower = [None if v is None else v - p[f"{name}_low"] for v, p in zip(y, self.periods, strict=True)]
            label = f"{name} within {within:g} days" if within and name == "conversion" else name
            traces.append(go.Scatter(x=x, y=y, mode="lines+markers", name=label,
                                     marker={"symbol": ["circle" if p.get("complete", True) else HOLLOW
                                                        for p in self.periods], "size": 8},
                                     error_y={"type": "data", "array": upper, "arrayminus": lower, "thickness": 1}))
        note = " (hollow: customers too new to have had the full window)" if within else ""
        return go.Figure(traces, layout={
            "yaxis": {**SHARE_AXIS, "title": {"text": "share of customers who started then"}},
            "xaxis": date_axis(f"{self.period} of first event{note}"),
            "title": f"Conversion and churn by {self.period} of first event"})

    def __repr__(self) -> str:
        return f"OutcomesResult({self.period}, {len(self.periods)} periods)"


def _latest_change(periods: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    if len(periods) < 2:
        return []
    base, current = periods[-2], periods[-1]
    out = []
    for name, hits in (("conversion", "converted"), ("churn", "churned")):
        test = stats.two_proportion_ztest(base[hits], base["customers"], current[hits], current["customers"])
        out.append({"metric": name, "base_period": base["period"], "current_period": current["period"],
                    "base": base[name], "current": current[name], "difference": test.difference,
                    "p_value": test.p_value})
    return plain(out)


def outcomes(events: ir.Table, *, period: str = "month", definition: JourneyDefinition | None = None,
             customers: ir.Table | None = None, filters: Filters | None = None,
             within_days: float | None = None) -> OutcomesResult:
    """Conversion and churn shares of ``events``' customers, overall and per period of first event.

    With ``within_days`` a customer counts as converted only when the conversion came within
    that many days of their first event, and a period whose customers have not all had that
    many days yet (by the data's last event) is ``complete: false``: its conversion is still
    growing, it is drawn hollow and the latest-change test uses the latest complete periods.
    """
    if period not in PERIODS:
        raise ParameterError(f"Unknown period {period!r}; allowed: {', '.join(PERIODS)}.")
    if within_days is not None and within_days <= 0:
        raise ParameterError(f"within_days must be positive, got {within_days}.")
    data_end = events.timestamp.max().execute()
    if filters is not None and not filters.is_empty():
        events = filters.apply(events, definition, customers)
    flags = customer_outcomes(events, definition, customers)
    first = events.group_by("customer_id").aggregate(_first=events.timestamp.min())
    joined = flags.join(first, "customer_id")
    if within_days is not None:
        in_time = micros_between(joined.converted_at, joined._first) <= round(within_days * 86_400_000_000)
        joined = joined.mutate(converted=joined.converted & in_time.fill_null(False))
    joined = joined.mutate(period=joined._first.truncate(PERIODS[period]).date())
    agg = joined.group_by("period").aggregate(customers=joined.count(), converted=joined.converted.cast("int64").sum(),
                                              churned=joined.churned.cast("int64").sum())
    rows = sorted(agg.to_pyarrow().to_pylist(), key=lambda r: r["period"])
    step = pd.DateOffset(months=1) if period == "month" else pd.DateOffset(weeks=1)
    wait = pd.Timedelta(days=within_days or 0)
    end = _naive_utc(data_end)
    per = [{"period": r["period"].isoformat()[: 7 if period == "month" else 10],
            **_shares(int(r["customers"]), int(r["converted"] or 0), int(r["churned"] or 0)),
            "complete": bool(end is not None and pd.Timestamp(r["period"]) + step + wait <= end + pd.Timedelta(days=1))}
           for r in rows]
    overall = _shares(sum(p["customers"] for p in per), sum(p["converted"] for p in per),
                      sum(p["churned"] for p in per))
    params = {"period": period, "filters": filters.to_dict() if filters is not None else {},
              "within_days": within_days}
    tested = [p for p in per if p["complete"]] if within_days is not None else per
    return OutcomesResult(period=period, overall=overall, periods=tuple(per), latest_change=_latest_change(tested),
                          params=params)


def _naive_utc(value: Any) -> pd.Timestamp | None:
    """``value`` as a naive UTC timestamp (Spark answers naive UTC, DuckDB aware)."""
    if value is None:
        return None
    stamp = pd.Timestamp(value)
    return stamp.tz_convert(None) if stamp.tzinfo is not None else stamp
