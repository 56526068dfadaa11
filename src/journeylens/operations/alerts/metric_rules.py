"""Metric rules: a CX metric over a rolling window, judged with its interval, not its point.

The metric is computed by :func:`journeylens.analyses.metrics.cx_metrics` (the same numbers
as every other surface) for the rule's subject over ``[as_of - window_days, as_of)``. With
``judge: interval`` (the default) a ``below: T`` rule fires only when the whole 95 %
interval is below ``T`` (``above``: the whole interval above); ``target: true`` uses the
journey definition's target and fires when it is *missed* (see
:mod:`journeylens.analyses.targets`). A subject with fewer than ``min_responses`` answers
never fires. When the condition clears, the open alert closes itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from journeylens.analyses.filters import Filters
from journeylens.analyses.targets import TargetBook, target_status
from journeylens.errors import ParameterError
from journeylens.operations.alerts.behaviour import BEHAVIOUR_METRICS, behaviour_window


@dataclass(frozen=True)
class Verdict:
    """One judged subject: the numbers, whether the rule fires, and why."""

    subject: str
    fires: bool
    explanation: str
    details: dict[str, Any]


def subject_of(metric: str, where: dict[str, str], step: str | None = None) -> str:
    scope = ", ".join(f"{k}={v}" for k, v in sorted(where.items())) or (
        "all customers" if metric in BEHAVIOUR_METRICS else "all responses")
    return f"{metric} at {step} @ {scope}" if step else f"{metric} @ {scope}"


def _filters(where: dict[str, str], start: datetime, end: datetime) -> Filters:
    def one(name: str) -> tuple[str, ...] | None:
        return (where[name],) if where.get(name) else None

    return Filters(start=start, end=end, cohort=where.get("cohort"), channel=one("channel"), stage=one("stage"),
                   touchpoint=one("touchpoint"))


def metric_window(lens: Any, rule: Any, as_of: datetime) -> dict[str, Any] | None:
    """The metric row (estimate, interval, n) of the rule's subject over its window, or None."""
    from journeylens.analyses.metrics import cx_metrics

    start = as_of - timedelta(days=rule.window_days)
    if rule.behaviour:
        return behaviour_window(lens, rule, as_of, _filters(rule.where, start, as_of))
    feedback = lens.warehouse.table("feedback")
    if "survey" in rule.where:
        feedback = feedback.filter(feedback.survey == rule.where["survey"])
    needs_events = bool({"stage", "cohort"} & set(rule.where)) and lens.warehouse.count("events") > 0
    definition = lens.definition if needs_events or rule.target else lens._definition
    result = cx_metrics(feedback, by=(), metrics=[rule.metric], min_sample_size=rule.min_responses,
                        filters=_filters(rule.where, start, as_of),
                        events=lens.events() if needs_events else None, definition=definition,
                        customers=lens.warehouse.table("customers"))
    rows = result.to_dict(detail=True)
    return rows[0] if rows else None


def _threshold(rule: Any, lens: Any) -> tuple[str, float | None]:
    if rule.below is not None:
        return "below", rule.below
    if rule.above is not None:
        return "above", rule.above
    book = TargetBook.from_definition(lens.definition)
    return "target", book.target(rule.metric, touchpoint=rule.where.get("touchpoint"), stage=rule.where.get("stage"))


def judge(lens: Any, rule: Any, as_of: datetime) -> Verdict:
    """Evaluate one metric rule at ``as_of`` (the end of its window)."""
    subject = subject_of(rule.metric, rule.where, rule.step)
    row = metric_window(lens, rule, as_of)
    mode, threshold = _threshold(rule, lens)
    if mode == "target" and threshold is None:
        raise ParameterError(f"Metric rule {rule.name!r} uses target: true but the journey definition has no "
                             f"{rule.metric} target for {subject}.")
    m = rule.metric
    n = int(row.get(f"{m}_n") or 0) if row else 0
    estimate, low, high = ((row.get(m), row.get(f"{m}_low"), row.get(f"{m}_high")) if row else (None, None, None))
    details = {"metric": m, "where": rule.where, "window_days": rule.window_days, "as_of": as_of.isoformat(),
               "estimate": estimate, "low": low, "high": high, "n": n, "threshold": threshold, "mode": mode,
               "judge": rule.judge}
    if row and rule.metric == "drop_off":
        details.update(step=row["step"], next_step=row["next_step"], dropped=row["drop_off_hits"])
    window = f"the {rule.window_days:g} day(s) to {as_of:%Y-%m-%d %H:%M} UTC"
    least, unit = (rule.min_customers, "customers") if rule.behaviour else (rule.min_responses, "answers")
    if estimate is None or n < least:
        return Verdict(subject, False, f"{subject}: too few {unit} in {window} (n={n}).", details)
    assert threshold is not None
    if rule.judge == "estimate":
        point = estimate if mode != "above" else -estimate
        fires = point < (threshold if mode != "above" else -threshold)
    elif mode == "below":
        fires = high is not None and high < threshold
    elif mode == "above":
        fires = low is not None and low > threshold
    else:
        fires = target_status(estimate, low, high, threshold) == "missed"
    side = "above" if mode == "above" else "below"
    how = ("the whole 95 % interval is" if rule.judge == "interval" else "the estimate is")
    verdict = f"{how} {side}" if fires else f"not {side} (judged on {'its interval' if rule.judge == 'interval' else 'the estimate'})"
    what = (f"Drop-off from {row['step']} to {row['next_step']}" if row and m == "drop_off"
            else m.replace("_", "-").capitalize() if rule.behaviour else m.upper())
    explanation = (f"{what} for {subject.split(' @ ')[1]} over {window}: {_fmt(estimate)} "
                   f"(95 % interval {_fmt(low)}–{_fmt(high)}, n={n}) — {verdict} "
                   f"{'the target' if mode == 'target' else 'the threshold'} {_fmt(threshold)}.")
    return Verdict(subject, fires, explanation, details)


def _fmt(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.3g}" if abs(value) < 10 else f"{value:.1f}"
