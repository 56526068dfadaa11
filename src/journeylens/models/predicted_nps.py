"""Predicted NPS for customers who never answered.

Respondents' latest NPS answers give each a class (detractor 0-6, passive 7-8, promoter 9-10).
A multinomial logistic regression (standardised features, medians for gaps) learns the class
from what every customer has: journey features (activity, recency, tenure, channel switches,
repeat contacts, touchpoints and channels; never their survey answers) and customer
attributes. It is validated on a held-out quarter of the respondents — log loss next to the
class-share baseline, and predicted vs observed NPS — then refitted on every respondent and
applied to the non-respondents. ``predicted_nps`` is the model's NPS of the whole base
(every customer with events), with a 95 % bootstrap interval (respondents resampled, model
refitted); ``surveyed_nps`` is the respondents' NPS, so the gap shows non-response bias the
journeys can explain. Assumes that, given these features, answering is unrelated to the score.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import ibis.expr.types as ir
import numpy as np
import pandas as pd
from typing_extensions import TypedDict

from journeylens.analyses.result import Result, plain
from journeylens.errors import DegenerateDataError, TooFewRowsError
from journeylens.models.features import (
    FeatureSpec,
    attribute_frame,
    journey_features,
    to_float_frame,
    top_values,
)

MIN_RESPONDENTS = 60
MAX_RESPONDENTS = 50_000
BOOTSTRAP = 20
NPS_WEIGHTS = np.array([-100.0, 0.0, 100.0])  # detractor, passive, promoter


class NpsCustomer(TypedDict):
    customer_id: str
    p_promoter: float
    p_detractor: float


class PredictedNpsPayload(TypedDict):
    surveyed_nps: float
    predicted_nps: float
    predicted_low: float
    predicted_high: float
    customers: list[NpsCustomer]


@dataclass(frozen=True)
class PredictedNpsResult(Result):
    """``to_dict()`` → ``{surveyed_nps, predicted_nps, predicted_low, predicted_high, customers: [{customer_id,
    p_promoter, p_detractor}]}``; the validation is in ``params["validation"]``."""

    title: str = "Predicted NPS"

    def to_dict(self) -> PredictedNpsPayload:  # type: ignore[override]
        p = self.params
        return PredictedNpsPayload(surveyed_nps=plain(p["surveyed_nps"]), predicted_nps=plain(p["predicted_nps"]),
                                   predicted_low=plain(p["predicted_low"]), predicted_high=plain(p["predicted_high"]),
                                   customers=[NpsCustomer(**r) for r in self.records])  # type: ignore[typeddict-item]


@dataclass
class NpsClassModel:
    """Multinomial logistic regression over detractor/passive/promoter (scikit-learn contract)."""

    C: float = 0.05

    def fit(self, X: pd.DataFrame, y: np.ndarray) -> NpsClassModel:
        from sklearn.linear_model import LogisticRegression

        self.columns_ = [c for c in X.columns if X[c].nunique(dropna=True) > 1]
        self.center_ = X[self.columns_].median()
        filled = X[self.columns_].fillna(self.center_)
        self.mean_, self.scale_ = filled.mean(), filled.std().replace(0, 1.0)
        self.model_ = LogisticRegression(C=self.C, max_iter=2000).fit(self._z(X), y)
        return self

    def _z(self, X: pd.DataFrame) -> np.ndarray:
        return ((X[self.columns_].fillna(self.center_) - self.mean_) / self.scale_).to_numpy()

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Columns: detractor, passive, promoter (a class never seen gets probability 0)."""
        out = np.zeros((len(X), 3))
        out[:, self.model_.classes_.astype(int)] = self.model_.predict_proba(self._z(X))
        return out


def _classes(feedback: ir.Table) -> pd.Series:
    answers = feedback.filter(feedback.customer_id.notnull() & feedback.nps.between(0, 10)
                              & (feedback.respondent.isnull() | (feedback.respondent == "customer")))
    ranked = answers.mutate(_r=answers.timestamp.rank().over(group_by="customer_id", order_by=answers.timestamp.desc()))
    last = ranked.filter(ranked._r == 0).select("customer_id", "nps").order_by(["customer_id", "nps"]).to_pandas()
    last = last.drop_duplicates("customer_id")
    score = last.set_index("customer_id")["nps"].astype(float)
    return pd.Series(np.where(score >= 9, 2, np.where(score >= 7, 1, 0)), index=score.index)


def _nps(probs: np.ndarray) -> float:
    return float((probs @ NPS_WEIGHTS).mean())


def _validation(X: pd.DataFrame, y: np.ndarray, rng: np.random.Generator) -> dict[str, Any]:
    from sklearn.metrics import log_loss

    test = rng.random(len(y)) < 0.25
    model = NpsClassModel().fit(X[~test], y[~test])
    probs = model.predict_proba(X[test])
    prior = np.bincount(y[~test], minlength=3) / (~test).sum()
    return {"held_out_respondents": int(test.sum()),
            "log_loss": float(log_loss(y[test], probs, labels=[0, 1, 2])),
            "baseline_log_loss": float(log_loss(y[test], np.tile(prior, (int(test.sum()), 1)), labels=[0, 1, 2])),
            "predicted_nps_held_out": _nps(probs),
            "observed_nps_held_out": float(NPS_WEIGHTS[y[test]].mean())}


def predict_nps(events: ir.Table, feedback: ir.Table, *, customers: ir.Table | None = None,
                random_state: int = 0) -> PredictedNpsResult:
    """Predicted NPS class probabilities for non-respondents and the base's predicted NPS."""
    spec = FeatureSpec(touchpoints=top_values(events, "touchpoint", 12), channels=top_values(events, "channel", 6))
    X_all = to_float_frame(journey_features(events, spec).to_pandas().set_index("customer_id"))
    if customers is not None:
        raw = customers.drop(*[c for c in customers.columns if c.startswith("_")]).to_pandas()
        X_all = X_all.join(attribute_frame(raw), how="left") if len(raw) else X_all
    classes = _classes(feedback).reindex(X_all.index).dropna().astype(int)
    if len(classes) < MIN_RESPONDENTS:
        raise TooFewRowsError(f"Predicting NPS needs at least {MIN_RESPONDENTS} respondents with journeys, "
                              f"got {len(classes)}.", details={"needed": MIN_RESPONDENTS, "got": len(classes)})
    if classes.nunique() < 2:
        raise DegenerateDataError("Every respondent is in one NPS class: nothing to learn.",
                                  details={"single_class": int(classes.iloc[0])})
    rng = np.random.default_rng(random_state)
    train = classes.sample(MAX_RESPONDENTS, random_state=random_state) if len(classes) > MAX_RESPONDENTS else classes
    X, y = X_all.loc[train.index], train.to_numpy()
    validation = _validation(X, y, rng)
    model = NpsClassModel().fit(X, y)
    base = model.predict_proba(X_all)
    boots = []
    for _ in range(BOOTSTRAP):
        idx = rng.integers(0, len(y), len(y))
        if len(np.unique(y[idx])) >= 2:
            boots.append(_nps(NpsClassModel().fit(X.iloc[idx], y[idx]).predict_proba(X_all)))
    low, high = np.percentile(boots, [2.5, 97.5]) if boots else (np.nan, np.nan)
    others = ~X_all.index.isin(classes.index)
    rows = [{"customer_id": str(cid), "p_promoter": float(p[2]), "p_detractor": float(p[0])}
            for cid, p in zip(X_all.index[others], base[others], strict=True)]
    return PredictedNpsResult(records=tuple(rows), params={
        "surveyed_nps": float(NPS_WEIGHTS[classes.to_numpy()].mean()), "predicted_nps": _nps(base),
        "predicted_low": float(low), "predicted_high": float(high), "respondents": len(classes),
        "customers": len(X_all), "validation": validation,
        "method": "multinomial logistic regression on journey features and attributes; validated on a held-out "
                  f"quarter of respondents; {BOOTSTRAP} bootstrap refits for the interval"})
