"""Churn from a customers table alone: a snapshot of attributes with a churn flag, no dates.

The model predicts the flag from the attributes. Customers with an unknown flag get a
prediction from the model fitted on everyone labelled; customers who have not churned get an
out-of-fold prediction (4 folds), so no one is scored by a model that saw their own outcome.
A backtest holds out a stratified random quarter — there is no time to split on, said in
``split`` — and compares with a logistic regression on the numeric attributes alone.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from journeylens.errors import ParameterError, TooFewRowsError
from journeylens.models import evaluation
from journeylens.models.churn_result import (
    BacktestResult,
    ChurnResult,
    reasons_table,
    value_summaries,
)
from journeylens.models.classifier import CalibratedClassifier
from journeylens.models.features import to_number

FOLDS = 4


def _flags(raw: pd.DataFrame) -> pd.Series:
    if "churned" not in raw.columns:
        raise TooFewRowsError("The customers table has no churn flag ('churned'): nothing to learn from.",
                              details={"needed": "a churned column", "got": list(raw.columns)})
    flag = raw.set_index("customer_id")["churned"]
    parsed = flag.astype(float) if pd.api.types.is_bool_dtype(flag) or pd.api.types.is_numeric_dtype(flag) \
        else to_number(flag)
    return parsed if parsed is not None else pd.Series(np.nan, index=flag.index)


def _rows(model: CalibratedClassifier, X: pd.DataFrame, p: np.ndarray, value: pd.Series,
          keep: int) -> list[dict[str, Any]]:
    reasons = reasons_table(X, model.contributions(X), keep)
    vals = value.reindex(X.index).to_numpy(dtype=float)
    rows = [{"customer_id": str(cid), "churn_probability": float(p[i]),
             "value_at_risk": None if np.isnan(vals[i]) else float(p[i] * vals[i]),
             "reasons": reasons[i]} for i, cid in enumerate(X.index)]
    return sorted(rows, key=lambda r: (-(r["value_at_risk"] or 0.0), -r["churn_probability"], r["customer_id"]))


def snapshot_churn(raw: pd.DataFrame, attributes: pd.DataFrame, value: pd.Series, *, backtest: bool,
                   as_of: datetime | None, reasons: int, random_state: int) -> ChurnResult | BacktestResult:
    if as_of is not None:
        raise ParameterError("--as-of needs dated data (events); this warehouse has only a customers table, "
                             "so there is no 'before' and 'after' to split on.")
    flags = _flags(raw)
    known = flags.notna()
    X_all, y = attributes.reindex(flags.index), flags[known].to_numpy()
    X = X_all[known.to_numpy()]
    params: dict[str, Any] = {"input": "customers table only", "features": ["customer attributes"],
                              "attributes": list(attributes.columns), "training_rows": int(known.sum())}
    rng = np.random.default_rng(random_state)
    if backtest:
        test = np.zeros(len(y), dtype=bool)
        for cls in (0, 1):
            idx = np.flatnonzero(y == cls)
            test[rng.choice(idx, size=len(idx) // 4, replace=False)] = True
        model = CalibratedClassifier(random_state=random_state).fit(X[~test], y[~test])
        numeric = [c for c in X.columns if "=" not in c]
        base = CalibratedClassifier(algorithm="logistic", random_state=random_state).fit(X[~test][numeric], y[~test])
        held = X[test]
        p_held = model.predict_proba(held)[:, 1]
        rows = _rows(model, held, p_held, value, reasons)
        segments = raw.set_index("customer_id")["segment"] if "segment" in raw.columns else None
        return BacktestResult(records=tuple(rows), params={
            **params, "model": model.algorithm_, "split": "random stratified 25 % held out (no dates to split on)",
            "model_scores": evaluation.scores(y[test], p_held),
            "baseline": "logistic regression on the numeric attributes",
            "baseline_scores": evaluation.scores(y[test], base.predict_proba(held[numeric])[:, 1]),
            **value_summaries(rows, value, segments)})
    model = CalibratedClassifier(random_state=random_state).fit(X, y)
    params["model"] = model.algorithm_
    unknown = X_all[~known.to_numpy()]
    rows = _rows(model, unknown, model.predict_proba(unknown)[:, 1], value, reasons) if len(unknown) else []
    stayed = np.flatnonzero(y == 0)
    fold = rng.integers(0, FOLDS, len(y))
    for k in range(FOLDS):
        part = stayed[fold[stayed] == k]
        if len(part) == 0:
            continue
        fitted = CalibratedClassifier(algorithm=model.algorithm_, random_state=random_state).fit(X[fold != k], y[fold != k])
        Xp = X.iloc[part]
        rows += _rows(fitted, Xp, fitted.predict_proba(Xp)[:, 1], value, reasons)
    rows.sort(key=lambda r: (-(r["value_at_risk"] or 0.0), -r["churn_probability"], r["customer_id"]))
    segments = raw.set_index("customer_id")["segment"] if "segment" in raw.columns else None
    return ChurnResult(records=tuple(rows), params={**params, **value_summaries(rows, value, segments)})
