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
    "switches_to_contact": "switches to the call centre from another channel",
    "contact_switches_in_episode": "calls to the call centre after starting online in the same visit", "comments": "comments",
    "negative_comments": "negative comments",
}


def label(feature: str) -> str:
    """A feature name in plain words (``tp_complaint`` → ``Complaint (times)``)."""
    if feature in _LABELS:
        return _LABELS[feature]
    if feature.startswith("tp_"):
        return f"{feature[3:].replace('_', ' ')} (times)"
    if feature.startswith("ch_"):
        return f"events on {feature[3:].replace('_', ' ')}"
    for prefix, words in (("csat_", "CSAT at {}"), ("days_to_", "days to reach {}"), ("dropoff_", "dropped off at {}"),
                          ("reached_", "reached {}")):
        if feature.startswith(prefix):
            return words.format(feature[len(prefix):].replace("_", " "))
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


def reasons_table(X: pd.DataFrame, effects: pd.DataFrame, keep: int) -> list[list[Reason]]:
    """Per row, the ``keep`` features that raise the probability most (positive effects only),
    picked with one vectorised sort so a million rows take seconds."""
    values, pushes = X[list(effects.columns)].to_numpy(dtype=float), effects.to_numpy(dtype=float)
    names = [str(c) for c in effects.columns]
    order = np.argsort(-pushes, axis=1, kind="stable")[:, :keep]
    out: list[list[Reason]] = []
    for i, cols in enumerate(order):
        row: list[Reason] = []
        for j in cols:
            effect = float(pushes[i, j])
            if effect <= 0:
                break
            value = None if np.isnan(values[i, j]) else float(values[i, j])
            row.append(Reason(feature=names[j], value=value, effect=effect, sentence=sentence(names[j], value, effect)))
        out.append(row)
    return out


def value_summaries(rows: list[dict[str, Any]], value: pd.Series, segments: pd.Series | None) -> dict[str, Any]:
    """Value at risk per segment (expected churners, value) and per driver: Σ customer value ×
    the driver's effect on that customer's probability, over the customers it is a reason for.
    Vectorised (one pass to arrays, then group sums): a million rows take seconds."""
    ids = [row["customer_id"] for row in rows]
    frame = pd.DataFrame({"p": [row["churn_probability"] for row in rows],
                          "var": [row["value_at_risk"] or 0.0 for row in rows]}, index=ids)
    frame["segment"] = (segments.astype(str).reindex(ids).fillna("(none)").to_numpy() if segments is not None
                        else "(all)")
    grouped = frame.groupby("segment", sort=True).agg(customers=("p", "size"), expected_churners=("p", "sum"),
                                                      value_at_risk=("var", "sum"))
    by_segment = [{"segment": str(k), "customers": int(r.customers), "expected_churners": float(r.expected_churners),
                   "value_at_risk": float(r.value_at_risk)} for k, r in grouped.iterrows()]
    unique = value[~value.index.duplicated()]
    worth = unique.reindex(ids).to_numpy(dtype=float) if len(unique) else np.full(len(ids), np.nan)
    features, amounts = [], []
    for i, row in enumerate(rows):
        if not np.isnan(worth[i]):
            for reason in row["reasons"]:
                features.append(reason["feature"])
                amounts.append(worth[i] * reason["effect"] / 100)
    by_driver_sum = pd.Series(amounts, index=features, dtype=float).groupby(level=0, sort=True).sum()
    return {"by_segment": sorted(by_segment, key=lambda r: -r["value_at_risk"]),
            "by_driver": sorted(({"driver": str(k), "value_at_risk": float(v)} for k, v in by_driver_sum.items()),
                                key=lambda r: -r["value_at_risk"])}


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


@dataclass(frozen=True)
class BacktestResult(ChurnResult):
    """A backtest: ``to_dict()`` is the prediction list made at the cut-off — exactly the shape of
    :class:`ChurnResult` (the issue's CLI contract) — and :meth:`scores` holds how those predictions
    did: ``{as_of, horizon_days, split, model, model_scores, baseline, baseline_scores, ...}`` where
    scores are ``{n, positives, roc_auc, pr_auc, brier, log_loss, top_decile_lift, calibration}``."""

    title: str = "Churn backtest"

    def scores(self) -> dict[str, Any]:
        """The split, the model's and the baseline's scores on what happened (no prediction rows)."""
        return dict(plain({k: v for k, v in self.params.items() if k not in ("by_segment", "by_driver")}))

    def scores_frame(self) -> pd.DataFrame:
        keys = ("roc_auc", "pr_auc", "brier", "log_loss", "top_decile_lift")
        return pd.DataFrame([{"model": name, **{k: self.params[f"{key}_scores"][k] for k in keys}}
                             for name, key in ((self.params["model"], "model"), ("baseline", "baseline"))])
