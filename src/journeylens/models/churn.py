"""Churn prediction: who is likely to leave within a horizon, why, and what it is worth.

Two kinds of input, chosen from the data:

* **Dated journeys** (events with timestamps): the cut-off is ``as_of`` (default: the last
  event). The model trains on the customers present at ``cut-off − horizon`` with features
  from before then and labels from the horizon that follows (churn = first churn outcome
  event or ``churn_date`` inside it), and predicts for the customers present at the cut-off
  with features from before it. With ``backtest`` the predictions are scored against what
  happened in ``[as_of, as_of + horizon)`` — a time-based split, never random across time.
* **A customers table alone** (no events): a snapshot of attributes with a churn flag. The
  model predicts the flag from the attributes (booleans and numbers as numbers, blanks as
  nulls, categories one-hot); customers still there get out-of-fold probabilities. A
  backtest holds out a random quarter (there are no dates to split on) and says so.

Each customer gets a calibrated probability, ``value_at_risk`` = probability × value
(``customers.value``, else ``revenue``) and the top reasons: features whose SHAP push raises
the probability most, in points (:meth:`~journeylens.models.classifier.CalibratedClassifier.contributions`).
The backtest prints ROC AUC, PR AUC, Brier score, calibration and top-decile lift next to a
simple baseline: logistic regression on recency, frequency and tenure (dated input) or on
the numeric attributes alone (snapshot). Feedback features include ``negative_comments``:
comments the ``comment_model`` (:mod:`journeylens.text.sentiment`, VADER by default: fast
enough for every comment of a large base) labels negative, before the cut-off.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from journeylens.errors import ParameterError
from journeylens.models import evaluation
from journeylens.models.churn_result import (
    BacktestResult,
    ChurnResult,
    reasons_table,
    value_summaries,
)
from journeylens.models.classifier import CalibratedClassifier
from journeylens.models.features import (
    FeatureSpec,
    attribute_frame,
    churn_times,
    churn_touchpoints,
    journey_features,
    to_float_frame,
    top_values,
)

#: Most customers used to train (a uniform sample above it); scoring covers everyone, in batches.
MAX_TRAIN_ROWS = 500_000
SCORE_BATCH_ROWS = 100_000
BASELINE_FEATURES = ("recency_days", "events", "tenure_days")


def _customer_frame(customers: ir.Table | None) -> pd.DataFrame:
    if customers is None:
        return pd.DataFrame(columns=["customer_id"])
    order = [c for c in ("customer_id", "_seq") if c in customers.columns]  # a fixed order: same data, same model
    frame = customers.order_by(order).drop(*[c for c in customers.columns if c.startswith("_")]).to_pandas()
    return frame.drop_duplicates("customer_id", keep="last")  # a customer loaded twice: the latest row


def _value(raw: pd.DataFrame) -> pd.Series:
    base = raw.set_index("customer_id")
    for col in ("value", "revenue"):
        if col in base.columns and pd.to_numeric(base[col], errors="coerce").notna().any():
            return pd.to_numeric(base[col], errors="coerce")
    return pd.Series(np.nan, index=base.index)


def _segments(raw: pd.DataFrame) -> pd.Series | None:
    return raw.set_index("customer_id")["segment"] if "segment" in raw.columns else None


def _snapshot(events: ir.Table | None) -> bool:
    return events is None or events.count().to_pyarrow().as_py() == 0


def _customers_at(events: ir.Table, definition: Any, cut: ir.Value) -> ir.Table | None:
    """Who could churn at ``cut``: converted before it, when the definition declares conversion."""
    if definition is None or not definition.outcomes.conversion:
        return None
    hit = events.filter(definition.outcome_expr("conversion", events.touchpoint) & (events.timestamp < cut))
    return hit.select("customer_id").distinct()


def _dated_frame(events: ir.Table, feedback: ir.Table | None, spec: FeatureSpec, churn_at: ir.Table,
                 attributes: pd.DataFrame, definition: Any = None, comments: str | None = None) -> pd.DataFrame:
    """Features before ``spec.as_of`` of the customers still there then, with their ``churn_at``."""
    feats = journey_features(events, spec, feedback, comments=comments)
    feats = feats.left_join(churn_at, "customer_id").drop("customer_id_right")
    cut = ibis.literal(spec.as_of, type="timestamp('UTC')")
    converted = _customers_at(events, definition, cut)
    if converted is not None:
        feats = feats.filter(feats.customer_id.isin(converted.customer_id))
    frame = feats.filter(feats.churn_at.isnull() | (feats.churn_at >= cut)).order_by("customer_id").to_pandas()
    frame = frame.set_index("customer_id")
    churned = frame.pop("churn_at")
    out = to_float_frame(frame).join(attributes, how="left")
    out["churn_at"] = pd.to_datetime(churned, utc=True)
    return out


def _labels(frame: pd.DataFrame, start: datetime, horizon: timedelta) -> np.ndarray:
    at = frame["churn_at"]
    return (at.notna() & (at >= pd.Timestamp(start)) & (at < pd.Timestamp(start + horizon))).to_numpy()


def _sample(frame: pd.DataFrame, rows: int, seed: int) -> pd.DataFrame:
    return frame if len(frame) <= rows else frame.sample(rows, random_state=seed)


def _score(model: CalibratedClassifier, X: pd.DataFrame, value: pd.Series, keep_reasons: int) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for start in range(0, len(X), SCORE_BATCH_ROWS):
        part = X.iloc[start:start + SCORE_BATCH_ROWS]
        if keep_reasons > 0:
            p, effects = model.explain(part)
            reasons = reasons_table(part, effects, keep_reasons)
        else:  # no reasons asked for: no SHAP pass
            p, reasons = model.predict_proba(part)[:, 1], [[] for _ in range(len(part))]
        vals = value.reindex(part.index).to_numpy(dtype=float)
        for i, cid in enumerate(part.index):
            rows.append({"customer_id": str(cid), "churn_probability": float(p[i]),
                         "value_at_risk": None if np.isnan(vals[i]) else float(p[i] * vals[i]),
                         "reasons": reasons[i]})
    return sorted(rows, key=lambda r: (-(r["value_at_risk"] or 0.0), -r["churn_probability"], r["customer_id"]))


def _feature_kinds(columns: list[str]) -> list[str]:
    kinds = {"journey": ("events", "episodes", "recency_days", "tenure_days", "channel_switches", "repeat_contacts",
                         "switches_to_contact", "contact_switches_in_episode", "tp_", "ch_"),
             "feedback": ("answers", "detractor_answers", "mean_csat", "last_nps", "comments", "negative_comments")}
    found = {k for k, prefixes in kinds.items() for c in columns if c.startswith(prefixes)}
    if any(not c.startswith(tuple(p for ps in kinds.values() for p in ps)) for c in columns):
        found.add("customer attributes")
    return sorted(found)


def predict_churn(events: ir.Table | None, *, feedback: ir.Table | None = None, customers: ir.Table | None = None,
                  definition: Any = None, horizon_days: int = 90, as_of: datetime | None = None,
                  backtest: bool = False, repeat_window_days: float = 7.0, reasons: int = 3,
                  max_train_rows: int = MAX_TRAIN_ROWS, comment_model: str | None = "vader",
                  random_state: int = 0) -> ChurnResult | BacktestResult:
    """Churn probabilities with reasons (with ``backtest``: the predictions made at ``as_of``, and in
    :meth:`BacktestResult.scores` how they did on what happened)."""
    if horizon_days < 1:
        raise ParameterError(f"horizon_days must be ≥ 1, got {horizon_days}.")
    raw = _customer_frame(customers)
    attributes = attribute_frame(raw) if len(raw) else pd.DataFrame()
    value = _value(raw) if len(raw) else pd.Series(dtype=float)
    if _snapshot(events):
        from journeylens.models.churn_snapshot import snapshot_churn

        return snapshot_churn(raw, attributes, value, backtest=backtest, as_of=as_of, reasons=reasons,
                              random_state=random_state)
    assert events is not None
    horizon = timedelta(days=horizon_days)
    last = events.timestamp.max().to_pyarrow().as_py()
    end = as_of or last
    if backtest and as_of is None:
        raise ParameterError("A backtest needs --as-of DATE: features from before it, outcomes from after it.")
    excluded = churn_touchpoints(events, definition)
    spec = FeatureSpec(as_of=end - horizon, repeat_window_days=repeat_window_days,
                       touchpoints=top_values(events, "touchpoint", 15, excluded), channels=top_values(events, "channel", 8))
    churn_at = churn_times(events, definition, customers)
    comments = comment_model if feedback is not None else None
    train = _sample(_dated_frame(events, feedback, spec, churn_at, attributes, definition, comments), max_train_rows,
                    random_state)
    y = _labels(train, end - horizon, horizon)
    X = train.drop(columns="churn_at")
    model = CalibratedClassifier(random_state=random_state).fit(X, y)
    scoring = _dated_frame(events, feedback, FeatureSpec(**{**spec.__dict__, "as_of": end}), churn_at, attributes,
                           definition, comments)
    Xs = scoring.drop(columns="churn_at").reindex(columns=X.columns)
    params = {"horizon_days": horizon_days, "as_of": end, "training_cutoff": end - horizon, "input": "dated journeys",
              "model": model.algorithm_, "calibration": "Platt scaling on a held-out quarter",
              "training_rows": len(train), "training_churn_rate": float(y.mean()),
              "features": _feature_kinds(list(model.feature_names_in_)), "excluded_touchpoints": excluded}
    if not backtest:
        rows = _score(model, Xs, value, reasons)
        return ChurnResult(records=tuple(rows), params={**params, **value_summaries(rows, value, _segments(raw))})
    observed_until = last
    truth = _labels(scoring, end, horizon)
    base = CalibratedClassifier(algorithm="logistic", random_state=random_state).fit(X[list(BASELINE_FEATURES)], y)
    rows = _score(model, Xs, value, reasons)
    return BacktestResult(records=tuple(rows), params={
        **params, "split": f"time: train on outcomes in [{(end - horizon).date()}, {end.date()}), "
                           f"test on outcomes in [{end.date()}, {(end + horizon).date()})",
        "complete_horizon": observed_until >= end + horizon,
        "model_scores": evaluation.scores(truth, model.predict_proba(Xs)[:, 1]),
        "baseline": "logistic regression on recency, frequency and tenure",
        "baseline_scores": evaluation.scores(truth, base.predict_proba(Xs[list(BASELINE_FEATURES)])[:, 1]),
        **value_summaries(rows, value, _segments(raw))})
