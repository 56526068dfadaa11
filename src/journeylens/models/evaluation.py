"""Scores of a probabilistic classifier on rows it did not see.

>>> import numpy as np
>>> scores(np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8]))["roc_auc"]
0.75
"""

from __future__ import annotations

from typing import Any

import numpy as np
from typing_extensions import TypedDict


class CalibrationBin(TypedDict):
    predicted: float
    observed: float
    n: int


class Scores(TypedDict):
    n: int
    positives: int
    roc_auc: float | None
    pr_auc: float | None
    brier: float
    log_loss: float
    top_decile_lift: float | None
    calibration: list[CalibrationBin]


def top_share_lift(y: np.ndarray, p: np.ndarray, share: float = 0.1) -> float | None:
    """Churn rate among the ``share`` highest scores divided by the overall rate."""
    base = y.mean()
    if base == 0:
        return None
    k = max(1, round(share * len(y)))
    top = np.argsort(-p, kind="stable")[:k]
    return float(y[top].mean() / base)


def calibration_bins(y: np.ndarray, p: np.ndarray, bins: int = 10) -> list[CalibrationBin]:
    """Mean predicted vs observed rate per decile of the prediction."""
    order = np.argsort(p, kind="stable")
    out: list[CalibrationBin] = []
    for part in np.array_split(order, min(bins, len(order))):
        if len(part):
            out.append(CalibrationBin(predicted=float(p[part].mean()), observed=float(y[part].mean()), n=len(part)))
    return out


def scores(y: np.ndarray, p: np.ndarray) -> dict[str, Any]:
    """ROC AUC, PR AUC (average precision), Brier score, log loss, top-decile lift, calibration."""
    from sklearn.metrics import average_precision_score, brier_score_loss, log_loss, roc_auc_score

    y = np.asarray(y, dtype=int)
    p = np.clip(np.asarray(p, dtype=float), 1e-6, 1 - 1e-6)
    both = 0 < y.sum() < len(y)
    return dict(Scores(
        n=len(y), positives=int(y.sum()),
        roc_auc=float(roc_auc_score(y, p)) if both else None,
        pr_auc=float(average_precision_score(y, p)) if both else None,
        brier=float(brier_score_loss(y, p)), log_loss=float(log_loss(y, p, labels=[0, 1])),
        top_decile_lift=top_share_lift(y, p), calibration=calibration_bins(y, p)))
