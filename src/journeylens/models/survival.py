"""Renewal timing: survival curves by segment (Kaplan-Meier, lifelines) and expected time to churn.

Each customer's clock starts at their first event (or conversion, when the journey YAML
declares conversion outcomes) and stops at churn (first churn outcome event or
``churn_date``) or, censored, at the last event in the warehouse. Per segment: the
Kaplan-Meier curve, the median time to churn (``None`` while more than half are still there)
and the restricted mean survival time up to ``horizon_days`` — the expected days a customer
stays within that horizon — with the expected churn share by the horizon.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import ibis.expr.types as ir
import numpy as np
import pandas as pd
from typing_extensions import TypedDict

from journeylens.analyses.result import Result, plain
from journeylens.errors import TooFewRowsError, UnknownNameError
from journeylens.models.features import DAY_SECONDS, churn_times

MIN_CUSTOMERS = 10


class SurvivalRow(TypedDict):
    segment: str
    customers: int
    churned: int
    median_days: float | None
    expected_days: float
    churn_by_horizon: float
    curve: list[list[float]]


@dataclass(frozen=True)
class SurvivalResult(Result):
    """``to_dict()`` → ``[{segment, customers, churned, median_days, expected_days, churn_by_horizon,
    curve: [[day, share still there], …]}]``."""

    title: str = "Survival by segment"

    def to_dict(self) -> list[SurvivalRow]:  # type: ignore[override]
        return [SurvivalRow(**{k: plain(r[k]) for k in SurvivalRow.__annotations__}) for r in self.records]  # type: ignore[typeddict-item]

    def figure(self) -> Any:
        import plotly.graph_objects as go

        fig = go.Figure([go.Scatter(x=[p[0] for p in r["curve"]], y=[p[1] for p in r["curve"]], mode="lines",
                                    line_shape="hv", name=r["segment"]) for r in self.to_dict()])
        fig.update_layout(title="Share of customers still there", xaxis_title="days", yaxis_title="share")
        return fig


def _durations(events: ir.Table, definition: Any, customers: ir.Table | None) -> pd.DataFrame:
    ev = events.filter(events.customer_id.notnull())
    if definition is not None and definition.outcomes.conversion:
        start = ev.filter(definition.outcome_expr("conversion", ev.touchpoint))
    else:
        start = ev
    first = start.group_by("customer_id").aggregate(start=start.timestamp.min().epoch_seconds())
    frame = first.left_join(churn_times(events, definition, customers), "customer_id").drop("customer_id_right")
    frame = frame.mutate(end=frame.churn_at.epoch_seconds())
    out = frame.select("customer_id", "start", "end").to_pandas().set_index("customer_id").sort_index()
    last = float(ev.timestamp.max().epoch_seconds().cast("float64").to_pyarrow().as_py())  # fractional seconds
    out["churned"] = out["end"].notna() & (out["end"] >= out["start"])
    out["days"] = (out["end"].where(out["churned"], last) - out["start"]) / DAY_SECONDS
    return out[out["days"] >= 0]


def survival(events: ir.Table, *, definition: Any = None, customers: ir.Table | None = None, by: str = "segment",
             horizon_days: float = 365.0) -> SurvivalResult:
    """Kaplan-Meier curves and expected time to churn per value of ``by`` (a customers column)."""
    from lifelines import KaplanMeierFitter
    from lifelines.utils import restricted_mean_survival_time

    data = _durations(events, definition, customers)
    if customers is not None:
        if by not in customers.columns:
            available = [c for c in customers.columns if not c.startswith("_")]
            raise UnknownNameError(f"Unknown customers column {by!r}; available: {', '.join(available)}.",
                                   details={"available": available})
        seg = customers.select("customer_id", by).to_pandas().drop_duplicates("customer_id").set_index("customer_id")[by]
        data["segment"] = seg.reindex(data.index).fillna("(none)").astype(str)
    else:
        data["segment"] = "(all)"
    if len(data) < MIN_CUSTOMERS:
        raise TooFewRowsError(f"Survival curves need at least {MIN_CUSTOMERS} customers, got {len(data)}.",
                              details={"needed": MIN_CUSTOMERS, "got": len(data)})
    rows = []
    for segment, part in data.groupby("segment"):
        if len(part) < MIN_CUSTOMERS:
            continue
        km = KaplanMeierFitter().fit(part["days"], part["churned"])
        curve = km.survival_function_.iloc[:, 0]
        step = max(1, len(curve) // 60)
        median = float(km.median_survival_time_)
        rows.append({"segment": str(segment), "customers": len(part), "churned": int(part["churned"].sum()),
                     "median_days": None if np.isinf(median) else median,
                     "expected_days": float(restricted_mean_survival_time(km, t=horizon_days)),
                     "churn_by_horizon": float(1 - km.predict(horizon_days)),
                     "curve": [[float(t), float(s)] for t, s in curve.iloc[::step].items()]})
    return SurvivalResult(records=tuple(sorted(rows, key=lambda r: r["expected_days"])),
                          params={"by": by, "horizon_days": horizon_days,
                                  "method": "Kaplan-Meier (lifelines); expected days = restricted mean survival time"})
