"""Result types of the churn model and the plain-words reasons."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from typing_extensions import TypedDict

from journeylens.analyses.result import Result, plain


class Reason(TypedDict):
    feature: str
    value: Any
    effect: float
    sentence: str


class ChurnRow(TypedDict):
    customer_id: str
    churn_probability: float
    value_at_risk: float | None
    reasons: list[Reason]


_LABELS = {
    "events": "events", "episodes": "contact episodes", "recency_days": "days since the last event",
    "tenure_days": "days since the first event", "channel_switches": "channel switches",
    "repeat_contacts": "repeat contacts within a week", "answers": "survey answers",
    "detractor_answers": "detractor answers (NPS 0-6)", "mean_csat": "mean CSAT", "last_nps": "last NPS",
}


def label(feature: str) -> str:
    """A feature name in plain words (``tp_complaint`` → ``Complaint (times)``)."""
    if feature in _LABELS:
        return _LABELS[feature]
    if feature.startswith("tp_"):
        return f"{feature[3:].replace('_', ' ')} (times)"
    if feature.startswith("ch_"):
        return f"events on {feature[3:].replace('_', ' ')}"
    return feature.replace("_", " ")


def _shown(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"


def sentence(feature: str, value: Any, effect: float) -> str:
    push = f"({effect:+.0f} pts)" if abs(effect) >= 0.5 else f"({effect:+.1f} pts)"
    if "=" in feature:
        name, level = feature.split("=", 1)
        return f"{name.replace('_', ' ')} {level if value else 'not ' + level} {push}"
    if value is None:
        return f"{label(feature)} unknown {push}"
    return f"{label(feature)}: {_shown(value)} {push}"


def reasons_for(row: pd.Series, effects: pd.Series, keep: int) -> list[Reason]:
    """The ``keep`` features that raise this customer's probability most (positive effects only)."""
    top = effects[effects > 0].sort_values(ascending=False).head(keep)
    out: list[Reason] = []
    for feature, effect in top.items():
        raw = row.get(feature)
        value = None if raw is None or (isinstance(raw, float) and np.isnan(raw)) else float(raw)
        out.append(Reason(feature=str(feature), value=value, effect=float(effect),
                          sentence=sentence(str(feature), value, float(effect))))
    return out


@dataclass(frozen=True)
class ChurnResult(Result):
    """``to_dict()`` → ``[{customer_id, churn_probability, value_at_risk, reasons: [{feature, value,
    effect, sentence}]}]``, highest value at risk first."""

    title: str = "Churn risk"

    def to_dict(self) -> list[ChurnRow]:  # type: ignore[override]
        return [ChurnRow(customer_id=r["customer_id"], churn_probability=r["churn_probability"],
                         value_at_risk=plain(r["value_at_risk"]), reasons=plain(r["reasons"])) for r in self.records]

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([{"customer_id": r["customer_id"], "churn_probability": r["churn_probability"],
                              "value_at_risk": r["value_at_risk"],
                              "reasons": "; ".join(x["sentence"] for x in r["reasons"])} for r in self.records])

    def customer(self, customer_id: str) -> ChurnRow | None:
        return next((row for row in self.to_dict() if row["customer_id"] == customer_id), None)

    def by_segment(self, segments: pd.Series) -> pd.DataFrame:
        """Expected churners and value at risk per segment (``segments`` indexed by customer)."""
        frame = self.to_frame().set_index("customer_id")
        frame["segment"] = segments.reindex(frame.index).fillna("(none)")
        return frame.groupby("segment").agg(customers=("churn_probability", "size"),
                                            expected_churners=("churn_probability", "sum"),
                                            value_at_risk=("value_at_risk", "sum")).reset_index()


@dataclass(frozen=True)
class BacktestResult(Result):
    """``to_dict()`` → ``{as_of, horizon_days, split, model, model_scores, baseline, baseline_scores, ...}``
    where scores are ``{n, positives, roc_auc, pr_auc, brier, log_loss, top_decile_lift, calibration}``."""

    title: str = "Churn backtest"

    def to_dict(self) -> dict[str, Any]:  # type: ignore[override]
        return dict(plain(dict(self.params)))

    def to_frame(self) -> pd.DataFrame:
        keys = ("roc_auc", "pr_auc", "brier", "log_loss", "top_decile_lift")
        return pd.DataFrame([{"model": name, **{k: self.params[f"{key}_scores"][k] for k in keys}}
                             for name, key in ((self.params["model"], "model"), ("baseline", "baseline"))])
