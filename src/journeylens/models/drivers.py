"""Key drivers of a survey outcome and the priority matrix.

``survey_drivers`` takes the responses that carry the target (NPS 0-10, CSAT, CES or any
numeric metric) and the attribute ratings answered in the same responses (for example
``sat_app``, ``sat_branch`` in a relationship survey, kept in the ``metrics`` JSON), and
returns each driver's share of the explained variance (:class:`~journeylens.models.importance.DriverImportance`),
its performance (mean rating as % of its scale), its adjusted effect (multiple-regression
coefficient in the target's unit per rating point) and a priority-matrix quadrant:

========================  =====================  ======================
importance ≥ 1/k          performance < mean     **fix first**
importance ≥ 1/k          performance ≥ mean     **keep up**
importance < 1/k          performance < mean     **monitor**
importance < 1/k          performance ≥ mean     **possibly over-invested**
========================  =====================  ======================

The thresholds (1/k: an equal share; the mean performance of the drivers) are in
``params["thresholds"]`` and drawn on the chart.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import ibis.expr.types as ir
import numpy as np
import pandas as pd
import pyarrow.compute as pc
from typing_extensions import TypedDict

from journeylens.analyses.metrics import (
    BUILTIN_METRICS,
    MetricSpec,
    metric_value,
    metric_values,
    select_respondents,
)
from journeylens.analyses.result import Result, plain
from journeylens.errors import JourneyLensError, UnknownNameError
from journeylens.models.importance import DriverImportance

#: Most responses read for a driver analysis (a uniform sample above it).
MAX_SAMPLE_ROWS = 1_000_000

#: Known scales (low, high) of the built-in metrics.
SCALES = {"nps": (0.0, 10.0), "csat": (1.0, 5.0), "ces": (1.0, 7.0)}

QUADRANTS = ("fix first", "keep up", "monitor", "possibly over-invested")


class DriverRow(TypedDict):
    driver: str
    importance: float | None
    importance_low: float | None
    importance_high: float | None
    performance: float | None
    quadrant: str | None
    effect: float | None
    sentence: str


class DriversPayload(TypedDict):
    target: str
    n: int
    r2: float | None
    method: str
    drivers: list[DriverRow]


@dataclass(frozen=True)
class DriversResult(Result):
    """``to_dict()`` → ``{target, n, r2, method, drivers: [{driver, importance, importance_low,
    importance_high, performance, quadrant, effect, sentence}]}`` (importance sums to 1)."""

    title: str = "Key drivers"

    def to_dict(self) -> DriversPayload:  # type: ignore[override]
        p = self.params
        rows = [DriverRow(**{k: plain(r.get(k)) for k in DriverRow.__annotations__}) for r in self.records]  # type: ignore[typeddict-item]
        return DriversPayload(target=p["target"], n=int(p["n"]), r2=plain(p["r2"]), method=p["method"], drivers=rows)

    def figure(self) -> Any:
        """The priority matrix: importance × performance, thresholds as dashed lines."""
        import plotly.graph_objects as go

        rows = [r for r in self.to_dict()["drivers"] if r["performance"] is not None]
        fig = go.Figure(go.Scatter(
            x=[r["performance"] for r in rows], y=[100 * (r["importance"] or 0) for r in rows],
            mode="markers+text", text=[r["driver"] for r in rows], textposition="top center",
            customdata=[r["quadrant"] for r in rows],
            hovertemplate="%{text}<br>performance %{x:.0f}<br>importance %{y:.0f} %<br>%{customdata}<extra></extra>"))
        thresholds = self.params.get("thresholds") or {}
        if thresholds.get("performance") is not None:
            fig.add_vline(x=thresholds["performance"], line_dash="dash",
                          annotation_text=f"mean performance {thresholds['performance']:.0f}")
        if thresholds.get("importance") is not None:
            fig.add_hline(y=100 * thresholds["importance"], line_dash="dash",
                          annotation_text=f"equal share {100 * thresholds['importance']:.0f} %")
        fig.update_layout(title=f"Priority matrix: {self.params['target']}", xaxis_title="performance (% of scale)",
                          yaxis_title="importance (% of explained variance)")
        return fig


def quadrant(importance: float, performance: float | None, importance_cut: float | None,
             performance_cut: float | None) -> str | None:
    if performance is None or performance_cut is None or importance_cut is None:
        return None
    important, good = importance >= importance_cut, performance >= performance_cut
    return QUADRANTS[(0 if important else 2) + (1 if good else 0)]


def driver_rows(model: DriverImportance, performance: Sequence[float | None], target: str,
                unit: str = "points") -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Rows (by importance) and the thresholds, from a fitted model and each driver's performance."""
    names = list(model.feature_names_in_)
    known = [p for p in performance if p is not None]
    cuts = {"importance": 1 / len(names), "performance": float(np.mean(known)) if known else None}
    rows = []
    for i, name in enumerate(names):
        share, perf = float(model.share_[i]), performance[i]
        quad = quadrant(share, perf, cuts["importance"], cuts["performance"])
        low, high = float(model.share_low_[i]), float(model.share_high_[i])
        sentence = (f"{name}: {share:.0%} of the explained variance (95 % interval {low:.0%} to {high:.0%}); "
                    f"one more point goes with {target} {model.coef_[i]:+.2f} {unit}, the other drivers held equal")
        if quad:
            sentence += f"; performance {perf:.0f}/100 → {quad}"
        rows.append({"driver": name, "importance": share, "importance_low": low, "importance_high": high,
                     "performance": perf, "quadrant": quad, "effect": float(model.coef_[i]), "sentence": sentence + "."})
    return sorted(rows, key=lambda r: -r["importance"]), cuts


# --- reading the responses (Ibis) ----------------------------------------------------------
def _responses(feedback: ir.Table, target: str, survey: str | None) -> ir.Table:
    answers = select_respondents(feedback, "customer")
    if survey is not None:
        answers = answers.filter(answers.survey == survey)
    return answers.mutate(_target=metric_value(answers, MetricSpec.parse(target))).filter(lambda t: t._target.notnull())


def _metric_frame(rows: pd.DataFrame) -> pd.DataFrame:
    """The built-in metrics plus every numeric key of the ``metrics`` JSON, one column each."""
    out = rows[[c for c in BUILTIN_METRICS if c in rows.columns]].astype(float)
    if "metrics" in rows.columns:
        parsed = pd.DataFrame([json.loads(v) if isinstance(v, str) and v else {} for v in rows["metrics"]],
                              index=rows.index)
        for col in parsed.columns:
            numeric = pd.to_numeric(parsed[col], errors="coerce")
            if numeric.notna().any():
                out[str(col)] = numeric
    return out


def available_metrics(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns if frame[c].notna().any()]


def scale_of(name: str, values: pd.Series) -> tuple[float, float]:
    """The metric's scale: known for nps/csat/ces, else 1-5, 1-7, 0-10, 1-10 or the observed range."""
    return scale_between(name, float(values.min()), float(values.max()))


def scale_between(name: str, low: float, high: float) -> tuple[float, float]:
    """:func:`scale_of` from the observed lowest and highest value."""
    if name in SCALES:
        return SCALES[name]
    for scale in ((1.0, 5.0), (1.0, 7.0), (0.0, 10.0), (1.0, 10.0)):
        if scale[0] <= low and high <= scale[1]:
            return scale
    return low, high


def performance_of(name: str, mean: float, low: float, high: float) -> float | None:
    """The mean as % of the metric's scale (from the observed mean, lowest and highest value)."""
    bottom, top = scale_between(name, low, high)
    return None if top <= bottom else float(100 * (mean - bottom) / (top - bottom))


#: Responses read to discover which metrics are answered alongside the target.
DISCOVERY_ROWS = 5_000


def _answered(answers: ir.Table, name: str) -> bool:
    """Is the metric answered in any of these responses (a count in the warehouse)?"""
    value = metric_value(answers, MetricSpec.parse(name))
    return bool(answers.filter(value.notnull()).count().to_pyarrow().as_py())


def load_responses(feedback: ir.Table, target: str, survey: str | None, drivers: Sequence[str] | None,
                   sample_rows: int) -> tuple[pd.DataFrame, list[str]]:
    """``(frame, chosen)``: the target (``_target``) and the chosen drivers of the responses that
    carry the target, at most ``sample_rows`` of them. Which metrics exist (and the default:
    those answered in at least half of the responses) is read from the first
    :data:`DISCOVERY_ROWS`; the values are extracted in the warehouse, all drivers from one parse
    of the ``metrics`` JSON per response."""
    MetricSpec.parse(target)
    answers = _responses(feedback, target, survey)
    cols = [c for c in (*BUILTIN_METRICS, "metrics") if c in answers.columns]
    first = answers.order_by([c for c in ("_seq", "response_id") if c in answers.columns])
    head = _metric_frame(first.select(*cols).limit(DISCOVERY_ROWS).to_pandas())
    if head.empty:
        raise UnknownNameError(f"No customer response carries {target!r}"
                               + (f" in survey {survey!r}" if survey else "") + ".",
                               details={"target": target, "survey": survey})
    available = [c for c in available_metrics(head) if c != target]
    if drivers:
        unknown = [d for d in drivers if d not in available and not (_valid_name(d) and _answered(answers, d))]
        if unknown:
            raise UnknownNameError(f"Unknown driver(s) {', '.join(unknown)} for target {target!r}; "
                                   f"answered with it: {', '.join(available) or 'none'}.",
                                   details={"unknown": unknown, "available": available})
        chosen = list(dict.fromkeys(drivers))
    else:
        chosen = [c for c in available if head[c].notna().mean() >= 0.5]
        if not chosen:
            raise UnknownNameError(f"No metric is answered alongside {target!r} in at least half of its responses; "
                                   f"metrics seen: {', '.join(available) or 'none'}.", details={"available": available})
    values = metric_values(answers, [MetricSpec.parse(name) for name in chosen])  # the JSON parsed once per row
    order = [c for c in ("_seq", "response_id") if c in answers.columns]  # same data, same rows, same order
    if answers.count().to_pyarrow().as_py() > sample_rows:
        table = answers.order_by(order).select(**values, _target=answers._target).limit(sample_rows).to_pyarrow()
        rows: np.ndarray | slice = slice(None)
    else:  # every row: put in order here, not by the engine before the JSON is read (a second pass over them)
        key = order[:1] if "_seq" in order else order  # _seq alone is unique
        table = answers.select(*key, **values, _target=answers._target).to_pyarrow()
        rows = np.asarray(pc.sort_indices(table.select(key), [(c, "ascending") for c in key]))
        table = table.drop_columns(key)
    # one float matrix straight from Arrow, the target last: a frame built column by column is copied three times
    matrix = np.empty((table.num_rows, table.num_columns))
    for j, column in enumerate(table.columns):
        matrix[:, j] = np.asarray(column.to_numpy(zero_copy_only=False), dtype=float)[rows]
    return pd.DataFrame(matrix, columns=table.column_names, copy=False), chosen


def _valid_name(name: str) -> bool:
    try:
        MetricSpec.parse(name)
    except JourneyLensError:
        return False
    return True


def survey_drivers(feedback: ir.Table, *, target: str = "nps", drivers: Sequence[str] | None = None,
                   survey: str | None = None, min_n: int = 30, n_bootstrap: int = 200,
                   sample_rows: int = MAX_SAMPLE_ROWS) -> DriversResult:
    """Key drivers of ``target`` among the metrics answered in the same responses.

    ``drivers`` default to every numeric metric answered in at least half of the responses
    that carry the target. Rows with a missing target or driver are left out (listwise).
    """
    frame, chosen = load_responses(feedback, target, survey, drivers, sample_rows)
    model = DriverImportance(n_bootstrap=n_bootstrap, min_n=min_n).fit_matrix(frame.to_numpy(), chosen)
    performance = [performance_of(c, model.mean_[i], model.min_[i], model.max_[i]) for i, c in enumerate(chosen)]
    rows, cuts = driver_rows(model, performance, target)
    method = (("LMG: exact Shapley decomposition of R² over all subsets" if model.method_ == "lmg"
               else "Johnson's relative weights") + f" of a linear model; {model.n_dropped_} of "
              f"{len(frame)} responses left out for a missing answer (listwise deletion); 95 % bootstrap "
              f"intervals ({n_bootstrap} resamples)")
    params = {"target": target, "n": model.n_, "r2": model.r2_, "method": method, "thresholds": cuts,
              "survey": survey, "dropped_missing": model.n_dropped_, "kind": "survey"}
    return DriversResult(records=tuple(rows), params=params)
