"""Which changes in CX metrics are real: period over period, and group versus group.

Each comparison is tested from the groups' sufficient statistics:

* NPS — z-test on the difference of the means of the per-response +1/0/-1 scores;
* CSAT (top-2-box) — pooled two-proportion z-test;
* CES and custom metrics — Welch's t-test on the means.

When many groups are scanned, p-values are adjusted with Benjamini-Hochberg across every
comparison in the result (``q``); ``significant`` means ``q < alpha``. Comparisons where a
side has fewer than ``min_sample_size`` answers are listed with null p and q, never significant.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import ibis.expr.types as ir
import pandas as pd

from journeylens.analyses import stats
from journeylens.analyses.filters import Filters
from journeylens.analyses.metrics import (
    BUILTIN_METRICS,
    PERIODS,
    MetricSpec,
    Sources,
    add_dimensions,
    apply_filters,
    finish_metric,
    metric_specs,
    period_label,
    select_respondents,
    statistics_and_end,
    sufficient_statistics,
)
from journeylens.analyses.periods import PERIOD_STEP, is_complete
from journeylens.analyses.result import Result
from journeylens.errors import EmptyDataError, ParameterError

_TESTS = {"nps": "nps_ztest", "csat": "two_proportion_ztest", "ces": "welch_ttest", "custom": "welch_ttest"}


@dataclass(frozen=True)
class ChangesResult(Result):
    """One row per group x metric: base and current value, change, test, p, q, significant."""

    title: str = "Metric changes"

    def significant(self) -> list[Mapping[str, Any]]:
        return [r for r in self.records if r["significant"]]


def run_test(spec: MetricSpec, base: Mapping[Any, Any], current: Mapping[Any, Any]) -> stats.TestResult:
    """The metric's test of current - base from two sufficient-statistics rows."""
    m = spec.name
    if spec.kind == "nps":
        return stats.nps_ztest(base[f"{m}__top"], base[f"{m}__det"], base[f"{m}__n"],
                               current[f"{m}__top"], current[f"{m}__det"], current[f"{m}__n"])
    if spec.kind == "csat":
        return stats.two_proportion_ztest(base[f"{m}__top"], base[f"{m}__n"], current[f"{m}__top"], current[f"{m}__n"])
    return stats.welch_ttest(base[f"{m}__n"], base[f"{m}__sum"], base[f"{m}__sumsq"],
                             current[f"{m}__n"], current[f"{m}__sum"], current[f"{m}__sumsq"])


def _compare(spec: MetricSpec, base: Mapping[Any, Any], current: Mapping[Any, Any],
             min_sample_size: int) -> dict[str, Any]:
    m = spec.name
    before, after = finish_metric(base, spec, min_sample_size), finish_metric(current, spec, min_sample_size)
    row: dict[str, Any] = {"metric": m, "base": before[m], "current": after[m], "base_n": before[f"{m}_n"],
                           "current_n": after[f"{m}_n"], "test": _TESTS[spec.kind]}
    if before[m] is None or after[m] is None:
        return {**row, "change": None, "statistic": None, "p": None}
    result = run_test(spec, base, current)
    change = after[m] - before[m]
    statistic = None if math.isnan(result.statistic) else result.statistic
    p = None if math.isnan(result.p_value) else result.p_value
    return {**row, "change": change, "statistic": statistic, "p": p}


def _adjust(rows: list[dict[str, Any]], alpha: float) -> list[dict[str, Any]]:
    q_values = stats.benjamini_hochberg([math.nan if r["p"] is None else r["p"] for r in rows])
    out = []
    for row, q in zip(rows, q_values, strict=True):
        q_value = None if math.isnan(q) else q
        out.append({**row, "q": q_value, "significant": q_value is not None and q_value < alpha})
    return out


def _prepare(feedback: ir.Table, by: Sequence[str], respondent: str, filters: Filters | None,
             sources: Sources) -> ir.Table:
    rows = select_respondents(feedback, respondent)
    rows = apply_filters(rows, filters, sources)
    return add_dimensions(rows, by, sources)


def _check_alpha(alpha: float) -> None:
    if not 0 < alpha < 1:
        raise ParameterError(f"alpha must be between 0 and 1, got {alpha}.")


def changes(feedback: ir.Table, *, by: Sequence[str] = ("touchpoint",), period: str = "month",
            metrics: Sequence[str] = BUILTIN_METRICS, alpha: float = 0.05, min_sample_size: int = 5,
            filters: Filters | None = None, events: ir.Table | None = None, definition: Any = None,
            customers: ir.Table | None = None, respondent: str = "customer",
            every_period: bool = False, include_incomplete: bool = False, built: Sequence[str] = ()) -> ChangesResult:
    """Latest complete period versus the calendar period before it, per group and metric, BH-adjusted.

    With ``every_period`` each period with data is compared with the calendar period before
    it (a scan of the whole time range, newest first), and the adjustment runs across all of
    those comparisons together: a drop that happened months ago is still found.

    A period the data does not reach the end of (the newest month of a feed that stopped on
    the 10th) is *incomplete*: its rows are listed with ``incomplete: true`` and, unless
    ``include_incomplete``, no test (null p and q, never significant); without ``every_period``
    the latest complete period is the one tested.
    """
    if period not in PERIODS:
        raise ParameterError(f"Unknown period {period!r}; allowed: {', '.join(PERIODS)}.")
    _check_alpha(alpha)
    by = tuple(d for d in dict.fromkeys(by) if d != period)
    specs = metric_specs(metrics, feedback=feedback)
    table = _prepare(feedback, (*by, period), respondent, filters, Sources(events, customers, definition,
                                                                          built=tuple(built)))
    frame, last = statistics_and_end(table, (*by, period), specs, select_respondents(feedback, respondent))
    if frame.empty:
        raise EmptyDataError("No feedback answers match; nothing to compare.")
    keys = pd.to_datetime(frame[period])
    frame = frame.assign(_key=keys)
    data_end = _data_end(last, filters)
    complete = {key: is_complete(key, period, data_end) for key in set(keys)}
    newest = sorted(set(keys), reverse=True)
    if every_period:
        currents = newest
    else:
        latest_complete = [k for k in newest if complete[k] or include_incomplete][:1]
        currents = list(dict.fromkeys([*newest[:1], *latest_complete]))
    groups = [group for _, group in frame.groupby(list(by), dropna=False, sort=True)] if by else [frame]
    rows = []
    for latest in currents:
        previous = latest - PERIOD_STEP[period]
        for group in groups:
            current = group[group._key == latest]
            base = group[group._key == previous]
            if current.empty or base.empty:
                continue
            labels = {d: _plain_key(current.iloc[0][d]) for d in by}
            incomplete = not (complete[latest] and complete.get(previous, True))
            for spec in specs:
                compared = _compare(spec, base.iloc[0].to_dict(), current.iloc[0].to_dict(), min_sample_size)
                if incomplete and not include_incomplete:
                    compared = {**compared, "statistic": None, "p": None}
                rows.append({**labels, "base_period": period_label(previous, period),
                             "current_period": period_label(latest, period), **compared, "incomplete": incomplete})
    params = {"by": list(by), "period": period, "metrics": [s.name for s in specs], "alpha": alpha,
              "min_sample_size": min_sample_size, "comparison": "period", "every_period": every_period,
              "include_incomplete": include_incomplete, "data_end": data_end,
              "incomplete_periods": sorted(str(period_label(k, period)) for k, done in complete.items() if not done)}
    return ChangesResult(_adjust(rows, alpha), params)


def _data_end(last: datetime | None, filters: Filters | None) -> datetime | None:
    """When the feed ends: the newest answer of any group, ``last`` (capped by the filter's end)."""
    end = getattr(filters, "end", None)
    if end is not None:
        cap = pd.Timestamp(end)
        cap = (cap.tz_localize("UTC") if cap.tzinfo is None else cap) - pd.Timedelta(microseconds=1)
        last = cap.to_pydatetime() if last is None else min(pd.Timestamp(last), cap).to_pydatetime()
    return last


def group_differences(feedback: ir.Table, *, by: str = "channel", baseline: str | None = None,
                      metrics: Sequence[str] = BUILTIN_METRICS, alpha: float = 0.05, min_sample_size: int = 5,
                      filters: Filters | None = None, events: ir.Table | None = None, definition: Any = None,
                      customers: ir.Table | None = None, respondent: str = "customer",
                      built: Sequence[str] = ()) -> ChangesResult:
    """Each group of ``by`` versus the rest (or versus the ``baseline`` group), BH-adjusted;
    ``built`` cohorts are groups too when ``by="cohort"``.

    ``change`` = group - comparison, so a negative NPS change means the group is worse.
    """
    _check_alpha(alpha)
    specs = metric_specs(metrics, feedback=feedback)
    table = _prepare(feedback, (by,), respondent, filters, Sources(events, customers, definition, built=tuple(built)))
    frame = sufficient_statistics(table, (by,), specs)
    stat_cols = [c for c in frame.columns if "__" in c]
    total = frame[stat_cols].sum()
    if baseline is not None and baseline not in set(frame[by].astype(str)):
        raise ParameterError(f"Baseline {baseline!r} is not a value of {by!r}.",
                             details={"allowed": sorted(map(str, frame[by].dropna()))})
    rows = []
    for _, group in frame.sort_values(by, na_position="last").iterrows():
        value = _plain_key(group[by])
        if baseline is not None and str(value) == baseline:
            continue
        if baseline is None:
            other = (total - group[stat_cols]).to_dict()
        else:
            other = frame[frame[by].astype(str) == baseline].iloc[0][stat_cols].to_dict()
        for spec in specs:
            compared = _compare(spec, other, group[stat_cols].to_dict(), min_sample_size)
            rows.append({by: value, "versus": baseline if baseline is not None else "rest", **compared})
    params = {"by": [by], "baseline": baseline, "metrics": [s.name for s in specs], "alpha": alpha,
              "min_sample_size": min_sample_size, "comparison": "group"}
    return ChangesResult(_adjust(rows, alpha), params)


def _plain_key(value: Any) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return value.item() if hasattr(value, "item") else value


def window_change(feedback: ir.Table, *, current: Filters, base: Filters, metrics: Sequence[str] = BUILTIN_METRICS,
                  alpha: float = 0.05, min_sample_size: int = 5, events: ir.Table | None = None,
                  definition: Any = None, customers: ir.Table | None = None,
                  respondent: str = "customer") -> ChangesResult:
    """Each metric in the ``current`` window against the ``base`` window (for example the
    previous period of the same length), tested as :func:`changes` tests a period."""
    _check_alpha(alpha)
    specs = metric_specs(metrics, feedback=feedback)
    sources = Sources(events, customers, definition)
    frames = [sufficient_statistics(_prepare(feedback, (), respondent, f, sources), (), specs) for f in (base, current)]
    rows = []
    for spec in specs:
        before, after = ({} if f.empty else f.iloc[0].to_dict() for f in frames)
        empty = {f"{spec.name}__{k}": 0 for k in ("n", "sum", "sumsq", "top", "det", *(f"d{i}" for i in range(11)))}
        rows.append(_compare(spec, before or empty, after or empty, min_sample_size))
    params = {"metrics": [s.name for s in specs], "alpha": alpha, "comparison": "window",
              "current": current.to_dict(), "base": base.to_dict()}
    return ChangesResult(_adjust(rows, alpha), params)
