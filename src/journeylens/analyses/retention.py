"""Retention and time-to-stage.

:func:`retention` groups customers by the period (``week``, Monday-based, or ``month``) of
their first event and reports, for k = 0, 1, … periods later, how many of them had at least
one event in that period (``active``) and the share (``retention``). A period that lies after
the last period in the data is not observable yet: its values are null.

:func:`time_to_stage` gives, for stage pairs A → B, the distribution of the time from a
customer's first event in A to their first event in B (customers who reach B at or after
reaching A): n, mean and the 25th/50th/75th/90th percentiles in seconds (exact, linear
interpolation). Without explicit stages every pair with B after A in the stage order is listed.

>>> from journeylens.analyses.retention import retention, time_to_stage   # doctest: +SKIP
>>> retention(lens.events(), period="month").to_dict()["cohorts"][0]["retention"]  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import ibis.expr.types as ir
import pandas as pd

from journeylens.analyses.journey_map import seconds_between
from journeylens.analyses.result import Result, plain
from journeylens.errors import ParameterError

if TYPE_CHECKING:
    from journeylens.analyses.filters import Filters
    from journeylens.journeys.definition import JourneyDefinition

PERIODS: dict[str, str] = {"week": "W", "month": "M"}
WEEK_SECONDS = 7 * 86_400.0


@dataclass(frozen=True, repr=False)
class RetentionResult:
    """``to_dict()`` -> ``{"period", "periods", "cohorts": [{cohort, customers, active: [...],
    retention: [...]}]}`` (``cohort`` is the ISO date the period starts)."""

    period: str
    periods: int
    cohorts: Sequence[Mapping[str, Any]]
    params: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return plain({"period": self.period, "periods": self.periods, "cohorts": [dict(c) for c in self.cohorts]})

    def to_frame(self) -> pd.DataFrame:
        """Cohorts as rows, ``k0 … kN`` retention shares as columns."""
        return pd.DataFrame([{"cohort": c["cohort"], "customers": c["customers"],
                              **{f"k{k}": v for k, v in enumerate(c["retention"])}} for c in self.cohorts])

    def proportions(self) -> dict[str, tuple[int, int]]:
        """Pooled retention at each k over the cohorts where k is observable."""
        out: dict[str, tuple[int, int]] = {}
        for k in range(1, self.periods):
            rows = [c for c in self.cohorts if c["active"][k] is not None]
            if rows:
                out[f"retained_k{k}"] = (sum(c["active"][k] for c in rows), sum(c["customers"] for c in rows))
        return out

    def figure(self) -> Any:
        """The classic retention triangle as a heatmap."""
        import plotly.graph_objects as go

        frame = self.to_frame()
        cols = [c for c in frame.columns if c.startswith("k")]
        return go.Figure(go.Heatmap(z=frame[cols].values if cols else [], x=cols, y=list(frame.get("cohort", [])),
                                    colorscale="Greens", zmin=0, zmax=1))

    def __repr__(self) -> str:
        return f"RetentionResult({self.period}, {len(self.cohorts)} cohorts)"


def retention(events: ir.Table, *, period: str = "week", periods: int = 12,
              definition: JourneyDefinition | None = None, customers: ir.Table | None = None,
              filters: Filters | None = None) -> RetentionResult:
    """Cohort retention table of ``events`` (``journey_events``)."""
    if period not in PERIODS:
        raise ParameterError(f"Unknown period {period!r}; allowed: {', '.join(PERIODS)}.")
    if periods < 1:
        raise ParameterError(f"periods must be at least 1 (got {periods}).")
    if filters is not None and not filters.is_empty():
        events = filters.apply(events, definition, customers)
    active = events.select("customer_id", p=events.timestamp.truncate(PERIODS[period])).distinct()
    first = active.group_by("customer_id").aggregate(cohort=active.p.min())
    joined = active.join(first, "customer_id")
    if period == "week":
        k = (seconds_between(joined.cohort, joined.p) / WEEK_SECONDS).round().cast("int64")
    else:
        k = ((joined.p.year() - joined.cohort.year()) * 12 + joined.p.month() - joined.cohort.month()).cast("int64")
    # (customer, period) rows are distinct and k is one-to-one with the period for a customer,
    # so a count is the number of distinct customers.
    keyed = joined.mutate(k=k)
    counts = keyed.group_by("cohort", "k").aggregate(n=keyed.count())
    rows = counts.to_pyarrow().to_pylist()  # no ORDER BY: a sort is a job more on Spark; sorted below
    table: dict[Any, dict[int, int]] = {}
    for r in rows:
        table.setdefault(r["cohort"], {})[int(r["k"])] = int(r["n"])
    # The last period with any activity is some cohort's start plus its k: no second query.
    last = max((_shift(r["cohort"], int(r["k"]), period) for r in rows), default=None)
    cohorts = []
    for cohort, by_k in sorted(table.items()):
        size = by_k.get(0, 0)
        observable = _distance(cohort, last, period)
        active_k = [by_k.get(k_, 0) if k_ <= observable else None for k_ in range(periods)]
        cohorts.append({"cohort": cohort.date().isoformat(), "customers": size, "active": active_k,
                        "retention": [None if a is None else (a / size if size else None) for a in active_k]})
    return RetentionResult(period=period, periods=periods, cohorts=tuple(cohorts),
                           params={"filters": filters.to_dict() if filters is not None else {}})


def _shift(start: Any, k: int, period: str) -> Any:
    """The start of the period ``k`` periods after ``start``."""
    if period == "week":
        return start + timedelta(weeks=k)
    months = start.year * 12 + start.month - 1 + k
    return start.replace(year=months // 12, month=months % 12 + 1)


def _distance(cohort: Any, last: Any, period: str) -> int:
    if period == "week":
        return round((last - cohort).total_seconds() / WEEK_SECONDS)
    return (last.year - cohort.year) * 12 + last.month - cohort.month


@dataclass(frozen=True)
class TimeToStageResult(Result):
    """Rows ``{from_stage, to_stage, n, mean_seconds, p25_seconds, median_seconds, p75_seconds, p90_seconds}``."""

    title: str = "Time between stages"

    def figure(self) -> Any:
        import plotly.graph_objects as go

        return go.Figure([go.Box(name=f"{r['from_stage']} → {r['to_stage']}", q1=[r["p25_seconds"]],
                                 median=[r["median_seconds"]], q3=[r["p75_seconds"]],
                                 lowerfence=[r["p25_seconds"]], upperfence=[r["p90_seconds"]])
                          for r in self.records])


def time_to_stage(events: ir.Table, *, from_stage: str | None = None, to_stage: str | None = None,
                  definition: JourneyDefinition | None = None, customers: ir.Table | None = None,
                  filters: Filters | None = None) -> TimeToStageResult:
    """Distribution of first-reach durations between stages (see the module docstring)."""
    if filters is not None and not filters.is_empty():
        events = filters.apply(events, definition, customers)
    staged = events.filter(events.stage.notnull())
    reach = staged.group_by("customer_id", "stage").aggregate(order=staged.stage_order.min(),
                                                              first_ts=staged.timestamp.min())
    a, b = reach.view(), reach.view()
    pairs = a.join(b, [a.customer_id == b.customer_id, b.first_ts >= a.first_ts, a.stage != b.stage])
    pairs = pairs.select(from_stage=a.stage, to_stage=b.stage, from_order=a.order, to_order=b.order,
                         seconds=seconds_between(a.first_ts, b.first_ts))
    _check_stage(definition, from_stage)
    _check_stage(definition, to_stage)
    if from_stage is not None:
        pairs = pairs.filter(pairs.from_stage == from_stage)
    if to_stage is not None:
        pairs = pairs.filter(pairs.to_stage == to_stage)
    if from_stage is None or to_stage is None:
        pairs = pairs.filter(pairs.to_order > pairs.from_order)
    s = pairs.seconds
    agg = pairs.group_by("from_stage", "to_stage").aggregate(
        from_order=pairs.from_order.min(), to_order=pairs.to_order.min(), n=pairs.count(), mean_seconds=s.mean(),
        p25_seconds=s.quantile(0.25), median_seconds=s.quantile(0.5), p75_seconds=s.quantile(0.75),
        p90_seconds=s.quantile(0.9))
    rows = sorted(agg.to_pyarrow().to_pylist(), key=lambda r: (r["from_order"], r["to_order"], r["from_stage"], r["to_stage"]))
    records = tuple({k: (int(v) if k == "n" else v) for k, v in r.items() if k not in ("from_order", "to_order")}
                    for r in rows)
    return TimeToStageResult(records=records, params={"from_stage": from_stage, "to_stage": to_stage})


def _check_stage(definition: JourneyDefinition | None, stage: str | None) -> None:
    if stage is not None and definition is not None and stage not in definition.stage_names:
        raise ParameterError(f"Unknown stage {stage!r}; stages: {', '.join(definition.stage_names)}.",
                             details={"stage": stage, "allowed": definition.stage_names})
