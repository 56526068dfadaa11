"""CX metrics per group: NPS, CSAT, CES and custom metrics with intervals and targets.

The engine (DuckDB, Spark) only computes *sufficient statistics* per group — counts, sums,
sums of squares, the NPS 0-10 distribution — and the intervals are finished here in Python,
so every engine gives the same numbers and 10M responses aggregate in about a second.

Definitions (``docs/metrics.md``):

* NPS = 100 x (share 9-10 - share 0-6); margin = 1.96 x 100 x sqrt(var / n) with
  var = p_pro + p_det - (p_pro - p_det)²; interval = NPS ± margin (clipped to -100..100).
* CSAT = share of 4-5 (top-2-box) with a Wilson interval; the mean is secondary.
* CES = mean on 1-7 (7 = very easy) with a t interval; share 5-7 ("easy") with Wilson.
* Custom metric = mean with a t interval (and the share ≥ a top-box value when given).
* A metric whose group has fewer than ``min_sample_size`` answers shows its n, null scores.

>>> import ibis
>>> fb = ibis.memtable({"touchpoint": ["web"] * 5, "nps": [10, 9, 8, 3, 10], "csat": [5, 4, 2, 5, 5],
...                     "ces": [7, 6, 5, 2, 6], "respondent": ["customer"] * 5})
>>> row = cx_metrics(fb, by=["touchpoint"]).to_dict()[0]
>>> row["nps"], row["csat"], row["ces"]
(40.0, 0.8, 5.2)
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir
import pandas as pd

from journeylens.analyses import stats
from journeylens.analyses.result import Result, plain
from journeylens.analyses.targets import TargetBook, target_status, touchpoint_stages, worst_status
from journeylens.errors import ParameterError
from journeylens.warehouse.durations import utc_day_number
from journeylens.warehouse.json_numbers import json_numbers

if TYPE_CHECKING:
    from journeylens.analyses.filters import Filters

BUILTIN_METRICS: tuple[str, ...] = ("nps", "csat", "ces")
PERIODS: tuple[str, ...] = ("day", "week", "month", "quarter")
FEEDBACK_DIMENSIONS: tuple[str, ...] = ("touchpoint", "channel", "survey", "language", "respondent")
RESPONDENTS: tuple[str, ...] = ("customer", "employee")
_SCALES: dict[str, tuple[int, int]] = {"nps": (0, 10), "csat": (1, 5), "ces": (1, 7)}
_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")


@dataclass(frozen=True)
class MetricSpec:
    """One metric: ``kind`` is nps / csat / ces / custom; ``top_box_min`` is the "top box" cut."""

    name: str
    kind: str
    top_box_min: float | None = None

    @classmethod
    def parse(cls, name: str, top_box_min: float | None = None) -> MetricSpec:
        if name in BUILTIN_METRICS:
            return cls(name, name, {"nps": 9.0, "csat": 4.0, "ces": 5.0}[name])
        if not _NAME_RE.match(name):
            raise ParameterError(f"Invalid metric name {name!r}; use nps, csat, ces or a custom metric name "
                                 "(letters, digits, underscore).", details={"metric": name})
        return cls(name, "custom", top_box_min)


def metric_specs(metrics: Sequence[str], top_box: Mapping[str, float] | None = None,
                 feedback: ir.Table | None = None) -> tuple[MetricSpec, ...]:
    """Parsed metrics; with ``feedback``, a custom metric no answer has is an error with close matches."""
    if not metrics:
        raise ParameterError("Ask for at least one metric (nps, csat, ces or a custom metric name).")
    top_box = top_box or {}
    specs = tuple(MetricSpec.parse(m, top_box.get(m)) for m in dict.fromkeys(metrics))
    if feedback is not None:
        _check_custom_metrics(feedback, specs)
    return specs


def _check_custom_metrics(feedback: ir.Table, specs: Sequence[MetricSpec]) -> None:
    from journeylens.analyses.names import check_names

    for spec in specs:
        if spec.kind != "custom" or spec.name in feedback.columns:
            continue
        if int(feedback.filter(metric_value(feedback, spec).notnull()).count().execute()) == 0:
            numeric = [c for c, t in feedback.schema().items() if t.is_numeric() and not c.startswith("_")]
            check_names("metric", [spec.name], [*BUILTIN_METRICS, *numeric])


# --- preparing the rows ------------------------------------------------------------------
def metric_value(feedback: ir.Table, spec: MetricSpec) -> ir.FloatingValue:
    """The metric as a float column: a built-in within its scale, a numeric column, or a key
    of the ``metrics`` JSON (a number there; :func:`~journeylens.warehouse.json_numbers.json_numbers`)."""
    return metric_values(feedback, [spec])[spec.name]


def metric_values(feedback: ir.Table, specs: Sequence[MetricSpec]) -> dict[str, ir.FloatingValue]:
    """:func:`metric_value` of each spec, by name; the ``metrics`` JSON is parsed once for all
    the keys it holds (ADR 0099: one parse, not one scan per key)."""
    out: dict[str, ir.FloatingValue] = {}
    keys = []
    for spec in specs:
        if spec.kind in _SCALES:
            low, high = _SCALES[spec.kind]
            value = feedback[spec.name].cast("float64")
            out[spec.name] = ibis.ifelse(value.between(low, high), value, ibis.null("float64"))
        elif spec.name in feedback.columns:
            out[spec.name] = feedback[spec.name].cast("float64")
        elif "metrics" not in feedback.columns:
            raise ParameterError(f"Unknown metric {spec.name!r}: not a column and no 'metrics' JSON column.")
        else:
            keys.append(spec.name)
    if keys:
        out.update(json_numbers(feedback.metrics, keys))
    return {spec.name: out[spec.name] for spec in specs}


def period_key(timestamp: ir.TimestampValue, period: str) -> ir.DateValue:
    """The first day of the timestamp's period (ISO weeks start on Monday)."""
    unit = {"day": "D", "week": "W", "month": "M", "quarter": "Q"}[period]
    return timestamp.truncate(unit).date()


def period_label(value: Any, period: str) -> str | None:
    """'2024-03-05' (day, week = its Monday), '2024-03' (month), '2024-Q1' (quarter)."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
        return None
    day = pd.Timestamp(value)
    if period == "month":
        return f"{day.year:04d}-{day.month:02d}"
    if period == "quarter":
        return f"{day.year:04d}-Q{(day.month - 1) // 3 + 1}"
    return day.date().isoformat()


def period_start(label: str, period: str) -> pd.Timestamp:
    """The first day of a period from its label (inverse of :func:`period_label`).

    >>> period_start("2024-Q3", "quarter").date().isoformat(), period_start("2024-09", "month").day
    ('2024-07-01', 1)
    """
    if period == "quarter":
        year, quarter = label.split("-Q")
        return pd.Timestamp(year=int(year), month=3 * (int(quarter) - 1) + 1, day=1)
    if period == "month":
        return pd.Timestamp(f"{label}-01")
    return pd.Timestamp(label)


@dataclass(frozen=True)
class Sources:
    """The optional tables and definition a grouping may need."""

    events: ir.Table | None = None
    customers: ir.Table | None = None
    definition: Any = None
    window_days: float = 7.0
    #: Cohorts built from conditions, grouped by ``cohort`` next to the defined ones.
    built: tuple[str, ...] = ()


def add_dimensions(feedback: ir.Table, by: Sequence[str], sources: Sources) -> ir.Table:
    """Add one column per grouping dimension (periods as their first day)."""
    out = feedback
    if "stage" in by and "stage" not in out.columns:
        out = _with_stage(out, sources)
    if any(dim in PERIODS for dim in by):
        # The UTC day number; periods are derived from it after a first aggregation (see
        # sufficient_statistics), because time-zone-aware truncation per row is slow.
        out = out.mutate(_day=utc_day_number(out.timestamp).cast("int64"))
    for dim in by:
        if dim in PERIODS:
            continue
        elif dim == "cohort":
            out = _with_cohort(out, sources)
        elif dim in FEEDBACK_DIMENSIONS or dim == "stage":
            continue
        else:
            from journeylens.analyses.properties import property_column

            try:
                out = property_column(out, dim, events=sources.events, customers=sources.customers, kind="feedback")
            except ParameterError as exc:
                raise ParameterError(
                    f"Cannot group by {dim!r}: allowed are {', '.join(FEEDBACK_DIMENSIONS + PERIODS)}, stage, cohort, "
                    f"or a property of the feedback, the customers or the events. {exc.message}",
                    details={"by": dim, **exc.details}) from exc
    return out


def _with_stage(feedback: ir.Table, sources: Sources) -> ir.Table:
    """Stage from the definition's touchpoint rules, else from the linked journey event."""
    if sources.events is not None:
        from journeylens.analyses.feedback_links import link_feedback

        linked = link_feedback(feedback, sources.events, definition=sources.definition,
                               window_days=sources.window_days)
        return linked.drop("link")
    mapping = touchpoint_stages(sources.definition)
    if not mapping:
        raise ParameterError("Grouping by stage needs a journey definition with touchpoint stages or the events.")
    return feedback.mutate(stage=feedback.touchpoint.substitute(mapping, else_=ibis.null("string")))


def _with_cohort(feedback: ir.Table, sources: Sources) -> ir.Table:
    if sources.events is None:
        raise ParameterError("Grouping by cohort needs the journey events (cohorts are defined on behaviour).")
    from journeylens.analyses.cohorts import assign_cohorts

    members = assign_cohorts(sources.events, sources.definition, sources.customers, built=sources.built)
    return feedback.left_join(members, "customer_id").drop("customer_id_right")


def select_respondents(feedback: ir.Table, respondent: str) -> ir.Table:
    """Customer feedback (respondent null or 'customer') or employee feedback (eNPS), never mixed."""
    if respondent not in RESPONDENTS:
        raise ParameterError(f"Unknown respondent {respondent!r}; allowed: {', '.join(RESPONDENTS)}.")
    if respondent == "employee":
        return feedback.filter(feedback.respondent == "employee")
    return feedback.filter(feedback.respondent.isnull() | (feedback.respondent == "customer"))


def apply_filters(feedback: ir.Table, filters: Filters | None, sources: Sources) -> ir.Table:
    """The common filters; a cohort filter keeps responses of the cohort's customers."""
    if filters is None or filters.is_empty():
        return feedback
    out = feedback
    if filters.cohort:
        if sources.events is None:
            raise ParameterError("A cohort filter needs the journey events.")
        from journeylens.analyses.cohorts import customers_in_cohort

        members = customers_in_cohort(sources.events, filters.cohort, sources.definition, sources.customers)
        out = out.filter(out.customer_id.isin(members.customer_id))
    if filters.stage and "stage" not in out.columns:
        out = _with_stage(out, sources)
    _check_filter_names(feedback, filters, sources)
    return replace(filters, cohort=None).apply(out, check_names=False)


def _check_filter_names(feedback: ir.Table, filters: Filters, sources: Sources) -> None:
    """A touchpoint or channel is known when the events or the feedback have it (a touchpoint
    without answers is a real, empty group; a misspelt one is an error with close matches)."""
    from journeylens.analyses.names import check_names, distinct_values

    for column in ("touchpoint", "channel", "stage"):
        given = getattr(filters, column)
        if not given:
            continue
        known = set(distinct_values(feedback, column))
        if sources.events is not None:
            known |= set(distinct_values(sources.events, column))
        if sources.definition is not None and column != "channel":
            known |= {t.name if column == "touchpoint" else t.stage for t in sources.definition.touchpoints}
        if known:
            check_names(column, list(given), known)


# --- sufficient statistics -----------------------------------------------------------------
def sufficient_statistics(feedback: ir.Table, by: Sequence[str], specs: Sequence[MetricSpec]) -> pd.DataFrame:
    """One row per group: ``n`` and per metric ``M__n, M__sum, M__sumsq, M__top`` (+ NPS ``__det``,
    ``__d0..__d10``). Rows answering none of the metrics are left out.

    Grouped by a period, the counts per (group, UTC day) of a query over ``feedback`` alone are
    kept and advanced by the rows that arrived since (:mod:`journeylens.analyses.daily_stats`)."""
    return statistics_and_end(feedback, by, specs)[0]


def statistics_and_end(feedback: ir.Table, by: Sequence[str], specs: Sequence[MetricSpec],
                       ends: ir.Table | None = None) -> tuple[pd.DataFrame, datetime | None]:
    """:func:`sufficient_statistics` and the last ``timestamp`` of ``ends`` (where the data ends,
    which tells complete periods from incomplete ones; ``None`` without ``ends``). Where the
    days are stored, both come from one statement with the check of the stored days."""
    from journeylens.analyses.daily_stats import DAILY_STATS
    from journeylens.analyses.periods import data_range
    from journeylens.warehouse.execution import to_pandas_on

    values = {f"_v_{name}": value for name, value in metric_values(feedback, specs).items()}
    periods = [d for d in by if d in PERIODS]
    # Only the columns the aggregation reads (groups, values, the lineage the stored days
    # need): a narrower query compiles and plans faster than one carrying every column.
    kept = [*(d for d in by if d not in PERIODS), *(["_day"] if periods else []), "_seq"]
    t = feedback.select(*(c for c in dict.fromkeys(kept) if c in feedback.columns), **values)
    answered = ibis.or_(*[t[c].notnull() for c in values])
    t = t.filter(answered)

    def aggregations(rows: ir.Table) -> dict[str, ir.Value]:
        aggs: dict[str, ir.Value] = {"n": rows.count()}
        for s in specs:
            v = rows[f"_v_{s.name}"]
            aggs[f"{s.name}__n"] = v.count()
            aggs[f"{s.name}__sum"] = v.sum()
            aggs[f"{s.name}__sumsq"] = (v * v).sum()
            # Counts as sums of 0.0/1.0 (exact below 2^53; the frame is float64 anyway): DuckDB
            # sums integers into a HUGEINT, which comes back as a decimal Ibis casts column by
            # column, and a count with a FILTER clause per column runs slower than a plain sum.
            if s.top_box_min is not None:
                aggs[f"{s.name}__top"] = (v >= s.top_box_min).cast(dt.float64).sum()
            if s.kind == "nps":
                aggs[f"{s.name}__det"] = (v <= 6).cast(dt.float64).sum()
                aggs.update({f"{s.name}__d{k}": (v == k).cast(dt.float64).sum() for k in range(11)})
        return aggs

    aggs = aggregations(t)
    if not periods:
        expr = t.group_by(list(by)).aggregate(**aggs) if by else t.aggregate(**aggs)
    else:
        # Two stages: per (keys, UTC day), then days rolled up into periods. Every statistic is
        # a count or a sum, so the roll-up is exact (and the days can be advanced, not redone).
        keys = [*[d for d in by if d not in PERIODS], "_day"]
        extra = ends.aggregate(_data_end=ends.timestamp.max()) if ends is not None else None
        stored = DAILY_STATS.daily(t, keys, aggregations, extra)
        if stored is not None and not stored[0].empty:
            # The stored days are a small frame (groups x days): rolled up here, not sent back
            # to the engine as a table (that registration and a second query cost more).
            return _finish_frame(roll_up_days(stored[0], by, list(aggs))), stored[1].get("_data_end")
        expr = _period_aggregate(t, by, keys, aggregations)
    # on feedback's own connection (issue 9, ADR 0094); stored days never leave pandas
    frame = _finish_frame(to_pandas_on(expr, on=feedback))
    return frame, (data_range(ends)[1] if ends is not None else None)


def _period_aggregate(rows: ir.Table, by: Sequence[str], keys: Sequence[str],
                      aggregations: Callable[[ir.Table], dict[str, ir.Value]]) -> ir.Table:
    """The statistics per ``by`` (periods as their first day) in the engine, exact either way.

    DuckDB: per (keys, UTC day), then days summed into periods, because truncating each row's
    time to its period is slow there. Spark: one aggregation with each row's period (cheap per
    row there): the per-day stage only adds a second shuffle of every statistic, which made the
    query 2-3x slower than one grouped query (ADR 0107)."""
    periods = [d for d in by if d in PERIODS]
    if ibis.get_backend(rows).name == "pyspark":
        day_start = (rows._day * 86400).as_timestamp("s")
        per_row = rows.mutate(**{p: period_key(day_start, p) for p in periods})
        return per_row.group_by(list(by)).aggregate(**aggregations(per_row))
    aggs = aggregations(rows)
    daily = rows.group_by(list(keys)).aggregate(**aggs)
    day_start = (daily._day * 86400).as_timestamp("s")
    daily = daily.mutate(**{p: period_key(day_start, p) for p in periods})
    return daily.group_by(list(by)).aggregate(**{name: daily[name].sum() for name in aggs})


def _finish_frame(frame: pd.DataFrame) -> pd.DataFrame:
    stat_cols = [c for c in frame.columns if "__" in c]
    frame[stat_cols] = frame[stat_cols].astype("float64").fillna(0.0)
    return frame


def period_starts(day_numbers: pd.Series, period: str) -> pd.Series:
    """The first day of each UTC day number's period, as :func:`period_key` gives it.

    >>> period_starts(pd.Series([19797.0, None]), "week").tolist()  # 2024-03-15 is a Friday
    [Timestamp('2024-03-11 00:00:00'), NaT]
    """
    days = pd.to_datetime(day_numbers, unit="D")
    if period == "week":
        days = days - pd.to_timedelta(days.dt.weekday, unit="D")
    elif period in ("month", "quarter"):
        days = days.dt.to_period("M" if period == "month" else "Q").dt.start_time
    return days.astype("datetime64[s]")


def roll_up_days(daily: pd.DataFrame, by: Sequence[str], names: Sequence[str]) -> pd.DataFrame:
    """Per-(group, UTC day) sums rolled up to ``by`` (periods as their first day); every
    statistic is a count or a sum, so the roll-up is exact. Null groups are groups."""
    frame = daily.assign(**{p: period_starts(daily["_day"], p) for p in by if p in PERIODS})
    summed = frame.groupby(list(by), dropna=False, sort=False)[list(names)].sum(min_count=1)
    return summed.reset_index()


# --- finishing the scores ---------------------------------------------------------------------
def _nan_to_none(value: float) -> float | None:
    return None if value is None or math.isnan(value) else float(value)


def finish_metric(row: Mapping[Any, Any], spec: MetricSpec, min_sample_size: int) -> dict[str, Any]:
    """Score, interval and secondaries of one metric from its sufficient statistics."""
    m = spec.name
    n = float(row[f"{m}__n"])
    out: dict[str, Any] = {f"{m}_n": int(n)}
    suppressed = n < min_sample_size or n == 0
    total, total_sq = float(row[f"{m}__sum"]), float(row[f"{m}__sumsq"])
    top = float(row.get(f"{m}__top", math.nan))
    if spec.kind == "nps":
        det = float(row[f"{m}__det"])
        score, margin = stats.nps_score(top, det, n), stats.nps_margin(top, det, n)
        low, high = max(-100.0, score - margin), min(100.0, score + margin)
        out.update({f"{m}_moe": margin, f"{m}_promoters": top / n if n else math.nan,
                    f"{m}_detractors": det / n if n else math.nan,
                    f"{m}_distribution": [int(row[f"{m}__d{k}"]) for k in range(11)]})
    elif spec.kind == "csat":
        score = top / n if n else math.nan
        low, high = stats.wilson_interval(top, n)
        out[f"{m}_mean"] = total / n if n else math.nan
    else:
        score = total / n if n else math.nan
        low, high = stats.t_interval(n, total, total_sq)
        if spec.kind in _SCALES:  # CES: keep the interval on the 1-7 scale
            low, high = max(float(_SCALES[spec.kind][0]), low), min(float(_SCALES[spec.kind][1]), high)
        if spec.top_box_min is not None:
            share_low, share_high = stats.wilson_interval(top, n)
            key = "easy" if spec.kind == "ces" else "top_box"
            out.update({f"{m}_{key}": top / n if n else math.nan, f"{m}_{key}_low": share_low,
                        f"{m}_{key}_high": share_high})
    out.update({m: score, f"{m}_low": low, f"{m}_high": high})
    if suppressed:
        out = {k: (v if k == f"{m}_n" or k.endswith("_distribution") else None) for k, v in out.items()}
    return {k: (_nan_to_none(v) if isinstance(v, float) else v) for k, v in out.items()}


def _group_value(value: Any, dim: str) -> Any:
    return period_label(value, dim) if dim in PERIODS else plain(value)


def finish_rows(frame: pd.DataFrame, by: Sequence[str], specs: Sequence[MetricSpec], *,
                min_sample_size: int, targets: TargetBook) -> list[dict[str, Any]]:
    """Plain result rows from the sufficient-statistics frame, sorted by the group keys."""
    if by:
        frame = frame.sort_values(list(by), na_position="last", kind="stable")
    rows = []
    for raw in frame.to_dict(orient="records"):
        row: dict[str, Any] = {dim: _group_value(raw[dim], dim) for dim in by}
        row["n"] = int(raw["n"])
        statuses = []
        for spec in specs:
            row.update(finish_metric(raw, spec, min_sample_size))
            goal = targets.target(spec.name, touchpoint=row.get("touchpoint"), stage=row.get("stage"))
            status = target_status(row[spec.name], row[f"{spec.name}_low"], row[f"{spec.name}_high"], goal)
            row[f"{spec.name}_target"] = goal
            row[f"{spec.name}_target_status"] = status
            statuses.append(status)
        row["target_status"] = worst_status(statuses)
        rows.append(row)
    return rows


@dataclass(frozen=True)
class MetricsResult(Result):
    """Metric rows per group. ``to_dict()`` is the documented compact shape; ``detail=True``
    adds the secondaries (NPS distribution and margin, CSAT mean, CES easy share, targets)."""

    by: tuple[str, ...] = ()
    metrics: tuple[str, ...] = ()
    title: str = "CX metrics"
    respondent: str = "customer"
    extra: Mapping[str, Any] = field(default_factory=dict)

    def compact_keys(self) -> list[str]:
        keys = [*self.by, "n"]
        for m in self.metrics:
            keys += [m, f"{m}_low", f"{m}_high", f"{m}_n"]
        return [*keys, "target_status"]

    def to_dict(self, detail: bool = False) -> list[dict[str, Any]]:  # type: ignore[override]
        if detail:
            return [plain(dict(r)) for r in self.records]
        keys = self.compact_keys()
        return [{k: plain(r.get(k)) for k in keys} for r in self.records]

    def figure(self) -> Any:
        """Chart rules (docs/charts.md): a line over time when grouped by a period (one line per
        other group, incomplete periods hollow), else bars ordered by value; the y axis titled
        with its unit and starting where the metric's scale starts."""
        from journeylens.analyses.chart_rules import metric_axis, metric_figure

        metric = self.metrics[0]
        periods = [d for d in self.by if d in PERIODS]
        others = [d for d in self.by if d not in PERIODS]
        incomplete = set(self.params.get("incomplete_periods", ()))
        figure = metric_figure(self.records, metric, period=periods[0] if periods else None, split=others,
                               incomplete=incomplete)
        figure.update_layout(yaxis=metric_axis(metric),
                             title=f"{metric_axis(metric)['title']['text']} by {', '.join(self.by) or 'all'}")
        return figure


def cx_metrics(feedback: ir.Table, *, by: Sequence[str] = ("touchpoint", "month"),
               metrics: Sequence[str] = BUILTIN_METRICS, min_sample_size: int = 5,
               filters: Filters | None = None, events: ir.Table | None = None, definition: Any = None,
               customers: ir.Table | None = None, respondent: str = "customer",
               top_box: Mapping[str, float] | None = None, window_days: float = 7.0,
               built: Sequence[str] = ()) -> MetricsResult:
    """CX metrics of ``feedback`` grouped by any of touchpoint, stage, channel, cohort, survey,
    a customer attribute and a period (day/week/month/quarter), alone or crossed. Grouped by
    cohort, the ``built`` cohorts (such as ``"segment=smb; channels=blended"``) are rows too.

    ``respondent="employee"`` gives eNPS (employee answers never mix into customer scores);
    ``top_box={"effort": 4}`` reports the share ≥ 4 of a custom metric.
    """
    if min_sample_size < 1:
        raise ParameterError(f"min_sample_size must be ≥ 1, got {min_sample_size}.")
    by = tuple(dict.fromkeys(by))
    specs = metric_specs(metrics, top_box, feedback)
    sources = Sources(events, customers, definition, window_days, built=tuple(built))
    rows = select_respondents(feedback, respondent)
    rows = apply_filters(rows, filters, sources)
    rows = add_dimensions(rows, by, sources)
    periods = [d for d in by if d in PERIODS]
    frame, last = statistics_and_end(rows, by, specs, select_respondents(feedback, respondent) if periods else None)
    records = finish_rows(frame, by, specs, min_sample_size=min_sample_size,
                          targets=TargetBook.from_definition(definition))
    params = {"by": list(by), "metrics": [s.name for s in specs], "min_sample_size": min_sample_size,
              "respondent": respondent, "filters": filters.to_dict() if filters else {},
              **({"built": list(built)} if built else {})}
    if periods and records:
        from journeylens.analyses.periods import is_complete

        labels = {r[periods[0]] for r in records if r.get(periods[0])}
        params["incomplete_periods"] = sorted(label for label in labels
                                              if not is_complete(period_start(label, periods[0]), periods[0], last))
    return MetricsResult(records, params, by=by, metrics=tuple(s.name for s in specs), respondent=respondent)
