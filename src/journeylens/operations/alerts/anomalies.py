"""Anomaly rules: a series departing from its own recent behaviour, with false discovery control.

The window ``[as_of - window_hours, as_of)`` (or, with ``since_hour``, from that hour of
``as_of``'s day) is compared with the *same* window 1, 2, …, ``baseline_weeks`` weeks
earlier — the same weekday and hours, so a quiet Sunday morning is compared with other
Sunday mornings (weekly seasonality). One series per value of ``by`` (or one in total).

* ``series: events`` — event volume. The baseline mean μ and variance s² of the weekly
  windows give z = (x − μ) / √(v + v/K) with v = max(s², μ) (at least Poisson noise,
  more when the weeks themselves vary).
* ``series: nps | csat | ces | NAME`` — the per-response score (NPS: +100 / 0 / −100,
  CSAT: top-2-box, else the value) of the window against the pooled baseline weeks,
  z = (m − m₀) / √(s²/n + s₀²/n₀).

p-values (one-sided for ``direction: down/up``) of all series of the rule are adjusted with
Benjamini–Hochberg; a series fires when its q ≤ ``fdr``, the relative change is at least
``min_change`` and the baseline is not tiny (``min_baseline``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import ibis
import ibis.expr.types as ir

from journeylens.analyses.stats import benjamini_hochberg
from journeylens.operations.alerts.metric_rules import Verdict

ALL = "(all)"


@dataclass(frozen=True)
class Window:
    index: int  # 0 = the window judged, k = k weeks earlier
    start: datetime
    end: datetime


def windows(as_of: datetime, window_hours: float, baseline_weeks: int, since_hour: int | None = None) -> list[Window]:
    """The judged window and its ``baseline_weeks`` weekly predecessors."""
    if since_hour is not None:
        start = as_of.replace(hour=since_hour, minute=0, second=0, microsecond=0)
        start = start if start < as_of else start - timedelta(days=1)
    else:
        start = as_of - timedelta(hours=window_hours)
    week = timedelta(days=7)
    return [Window(k, start - k * week, as_of - k * week) for k in range(baseline_weeks + 1)]


def _source(lens: Any, rule: Any) -> ir.Table:
    if rule.series == "events":
        return lens.events() if "stage" in rule.where else lens.warehouse.table("events")
    return lens.warehouse.table("feedback")


def _score(table: ir.Table, series: str) -> ir.FloatingValue:
    if series in ("nps", "csat", "ces"):
        value = table[series].cast("float64")
    else:
        from journeylens.analyses.metrics import MetricSpec, metric_value

        value = metric_value(table, MetricSpec.parse(series))
    if series == "nps":
        return ibis.cases((value >= 9, 100.0), (value <= 6, -100.0), (value.notnull(), 0.0),
                          else_=ibis.null("float64"))
    if series == "csat":
        return ibis.ifelse(value.notnull(), (value >= 4).cast("float64"), ibis.null("float64"))
    return value


def window_statistics(lens: Any, rule: Any, spans: list[Window]) -> list[dict[str, Any]]:
    """Per (series, window): n (events or answers), sum and sum of squares of the score."""
    table = _source(lens, rule)
    for key, value in rule.where.items():
        if key in table.columns:
            table = table.filter(table[key] == ibis.literal(value))
    table = table.filter((table.timestamp >= ibis.literal(spans[-1].start))
                         & (table.timestamp < ibis.literal(spans[0].end)))
    ts = table.timestamp
    index = ibis.cases(*[((ts >= ibis.literal(w.start)) & (ts < ibis.literal(w.end)), w.index) for w in spans],
                       else_=ibis.null("int64"))
    keyed = table.mutate(_k=index, _series=table[rule.by].cast("string") if rule.by else ibis.literal(ALL))
    keyed = keyed.filter(keyed._k.notnull())
    if rule.series == "events":
        agg = keyed.group_by(["_series", "_k"]).aggregate(n=keyed.count())
    else:
        keyed = keyed.mutate(_v=_score(keyed, rule.series))
        keyed = keyed.filter(keyed._v.notnull())
        agg = keyed.group_by(["_series", "_k"]).aggregate(n=keyed.count(), s=keyed._v.sum(),
                                                          ss=(keyed._v * keyed._v).sum())
    return agg.to_pyarrow().to_pylist()


def _normal_p(z: float, direction: str) -> float:
    upper = 0.5 * math.erfc(z / math.sqrt(2))
    if direction == "up":
        return upper
    if direction == "down":
        return 1 - upper
    return min(1.0, 2 * min(upper, 1 - upper))


def _volume_test(current: float, baseline: list[float]) -> tuple[float, float, float]:
    """(z, baseline mean, relative change) of an event count against its weekly baseline."""
    k = len(baseline)
    mean = sum(baseline) / k
    var = sum((b - mean) ** 2 for b in baseline) / (k - 1) if k > 1 else mean
    v = max(var, mean, 1.0)
    z = (current - mean) / math.sqrt(v + v / k)
    return z, mean, (current - mean) / mean if mean else math.inf


def _score_test(cur: dict[str, float], base: dict[str, float]) -> tuple[float, float, float]:
    def mean_var(s: dict[str, float]) -> tuple[float, float]:
        n = s["n"]
        m = s["s"] / n
        return m, max((s["ss"] - n * m * m) / (n - 1), 1e-9) if n > 1 else 1e-9

    m1, v1 = mean_var(cur)
    m0, v0 = mean_var(base)
    z = (m1 - m0) / math.sqrt(v1 / cur["n"] + v0 / base["n"])
    return z, m0, (m1 - m0) / abs(m0) if m0 else math.inf


def judge(lens: Any, rule: Any, as_of: datetime) -> list[Verdict]:
    """One verdict per series of the rule at ``as_of``, BH-adjusted across the series."""
    spans = windows(as_of, rule.window_hours, rule.baseline_weeks, rule.since_hour)
    stats: dict[str, dict[int, dict[str, float]]] = {}
    for row in window_statistics(lens, rule, spans):
        stats.setdefault(str(row["_series"]), {})[int(row["_k"])] = {k: float(row.get(k) or 0) for k in ("n", "s", "ss")}
    tested = []
    for series, by_window in stats.items():
        empty = {"n": 0.0, "s": 0.0, "ss": 0.0}
        current = by_window.get(0, empty)
        base_windows = [by_window.get(w.index, empty) for w in spans[1:]]
        if rule.series == "events":
            baseline_n = [b["n"] for b in base_windows]
            if sum(baseline_n) / len(baseline_n) < rule.min_baseline:
                continue
            z, reference, change = _volume_test(current["n"], baseline_n)
            now_value = current["n"]
        else:
            pooled = {k: sum(b[k] for b in base_windows) for k in ("n", "s", "ss")}
            if current["n"] < 2 or pooled["n"] < max(2.0, rule.min_baseline):
                continue
            z, reference, change = _score_test(current, pooled)
            now_value = current["s"] / current["n"]
        tested.append((series, z, _normal_p(z, rule.direction), reference, change, now_value))
    q_values = benjamini_hochberg([t[2] for t in tested]) if tested else []
    verdicts = []
    for (series, z, p, reference, change, now_value), q in zip(tested, q_values, strict=True):
        fires = q <= rule.fdr and abs(change) >= rule.min_change and _direction_ok(change, rule.direction)
        subject = f"{rule.series} @ {rule.by}={series}" if rule.by else f"{rule.series} @ " + (
            ", ".join(f"{k}={v}" for k, v in sorted(rule.where.items())) or "all")
        what = "event volume" if rule.series == "events" else rule.series.upper()
        explanation = (f"{what} for {subject.split(' @ ')[1]} from {spans[0].start:%a %Y-%m-%d %H:%M} to "
                       f"{spans[0].end:%H:%M} UTC: {now_value:.4g} vs {reference:.4g} in the same hours of the "
                       f"previous {rule.baseline_weeks} weeks ({change:+.0%}; z={z:.2f}, q={q:.2g} after "
                       f"Benjamini–Hochberg over {len(tested)} series).")
        details = {"series": series, "value": now_value, "baseline": reference, "change": change, "z": z,
                   "p_value": p, "q_value": q, "series_tested": len(tested), "window_start": spans[0].start.isoformat(),
                   "window_end": spans[0].end.isoformat()}
        verdicts.append(Verdict(subject, fires, explanation, details))
    return verdicts


def _direction_ok(change: float, direction: str) -> bool:
    return direction == "both" or (change < 0 if direction == "down" else change > 0)
