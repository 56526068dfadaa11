"""Predicted NPS for customers who never answered.

Respondents' latest NPS answers give each a class (detractor 0-6, passive 7-8, promoter 9-10).
A multinomial logistic regression (standardised features, medians for gaps) learns the class
from what every customer has: journey features (activity, recency, tenure, channel switches,
switches into the contact channel, repeat contacts, touchpoints and channels), feedback that
carries no NPS answer (mean CSAT, negative comments from text sentiment — never the NPS
responses themselves) and customer attributes. ``predicted_nps`` is the model's NPS of the
whole base with a 95 % bootstrap interval (respondents resampled, model refitted);
``surveyed_nps`` is the respondents' NPS, so the gap shows non-response bias the journeys
can explain. Assumes that, given these features, answering is unrelated to the score.

Two ways to split, like churn:

* no ``as_of``: features from all events; validated on a random held-out quarter of the
  respondents (log loss next to the class-share baseline, predicted vs observed NPS);
* ``as_of`` D: the model learns from features before ``D − horizon`` and the answers given in
  ``[D − horizon, D)``, and predicts from features before D; respondents are those who answered
  in ``[D − horizon, D)``. It is validated on the answers given in ``[D, D + horizon)`` — data
  it did not see, from after the cut-off (a time split, no leakage).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
from typing_extensions import TypedDict

from journeylens.analyses.result import Result, plain
from journeylens.errors import DegenerateDataError, ParameterError, TooFewRowsError
from journeylens.models.experience import comment_features
from journeylens.models.features import (
    FeatureSpec,
    attribute_frame,
    before,
    frame_by_customer,
    journey_features,
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


#: Regularisation strengths tried by cross-validation (inverse: small C = close to the class shares).
CS = (0.0003, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0)


@dataclass
class NpsClassModel:
    """Multinomial logistic regression over detractor/passive/promoter (scikit-learn contract).
    Counts and durations (non-negative, above 1) enter as ``log1p`` and are clipped to the
    training range when scoring (time-relative features such as recency shift between cut-offs); with ``C=None`` the
    regularisation is chosen by 5-fold cross-validated log loss, so where the features carry no
    signal the model shrinks to the class shares instead of fitting noise."""

    C: float | None = None

    def fit(self, X: pd.DataFrame, y: np.ndarray) -> NpsClassModel:
        from sklearn.linear_model import LogisticRegression, LogisticRegressionCV

        self.columns_ = [c for c in X.columns if X[c].nunique(dropna=True) > 1]
        data = X[self.columns_]
        self.logged_ = [c for c in self.columns_ if data[c].min() >= 0 and data[c].max() > 1]
        data = self._logged(data)
        self.center_ = data.median()
        self.low_, self.high_ = data.min(), data.max()  # scoring never extrapolates past the training range
        filled = data.fillna(self.center_)
        self.mean_, self.scale_ = filled.mean(), filled.std().replace(0, 1.0)
        z = self._z(X)
        counts = np.bincount(y, minlength=3)
        folds = min(5, int(counts[counts > 0].min()))
        if self.C is None and folds >= 2:
            with warnings.catch_warnings():  # scikit-learn 1.8 announces a change of fitted attributes
                warnings.simplefilter("ignore", FutureWarning)
                self.model_ = LogisticRegressionCV(Cs=list(CS), cv=folds, scoring="neg_log_loss",
                                                   max_iter=2000).fit(z, y)
            self.C_ = float(self.model_.C_[0])
        else:
            self.C_ = self.C if self.C is not None else 0.05
            self.model_ = LogisticRegression(C=self.C_, max_iter=2000).fit(z, y)
        return self

    def _logged(self, data: pd.DataFrame) -> pd.DataFrame:
        out = data.copy()
        out[self.logged_] = np.log1p(out[self.logged_].clip(lower=0))
        return out

    def _z(self, X: pd.DataFrame) -> np.ndarray:
        data = self._logged(X[self.columns_]).clip(lower=self.low_, upper=self.high_, axis=1)
        return ((data.fillna(self.center_) - self.mean_) / self.scale_).to_numpy()

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Columns: detractor, passive, promoter (a class never seen gets probability 0)."""
        out = np.zeros((len(X), 3))
        out[:, self.model_.classes_.astype(int)] = self.model_.predict_proba(self._z(X))
        return out


def _classes(feedback: ir.Table, start: datetime | None = None, end: datetime | None = None) -> pd.Series:
    """Each customer's class from their latest NPS answer in ``[start, end)``."""
    answers = feedback.filter(feedback.customer_id.notnull() & feedback.nps.between(0, 10)
                              & (feedback.respondent.isnull() | (feedback.respondent == "customer")))
    if start is not None:
        answers = answers.filter(answers.timestamp >= ibis.literal(start, type="timestamp('UTC')"))
    if end is not None:
        answers = answers.filter(answers.timestamp < ibis.literal(end, type="timestamp('UTC')"))
    order = [ibis.desc(answers[c]) for c in ("timestamp", "_seq", "response_id") if c in answers.columns]
    ranked = answers.mutate(_r=ibis.row_number().over(group_by="customer_id", order_by=order))
    last = frame_by_customer(ranked.filter(ranked._r == 0).select("customer_id", "nps"))
    score = last["nps"]
    return pd.Series(np.where(score >= 9, 2, np.where(score >= 7, 1, 0)), index=score.index)


def _nps(probs: np.ndarray) -> float:
    return float((probs @ NPS_WEIGHTS).mean())


def _features(events: ir.Table, feedback: ir.Table, customers: ir.Table | None, as_of: datetime | None,
              spec: FeatureSpec, comment_model: str | None) -> pd.DataFrame:
    """Journey features, non-NPS feedback features and attributes before ``as_of``, per customer."""
    table = journey_features(events, FeatureSpec(**{**spec.__dict__, "as_of": as_of}))
    other = before(feedback.filter(feedback.customer_id.notnull() & feedback.nps.isnull()), as_of)
    csat = ibis.ifelse(other.csat.between(1, 5), other.csat.cast("float64"), ibis.null("float64"))
    table = table.left_join(other.group_by("customer_id").aggregate(mean_csat=csat.mean()), "customer_id")
    table = table.drop("customer_id_right")
    if comment_model is not None:
        scored = comment_features(feedback, as_of=as_of, model=comment_model, without_nps=True)
        if scored is not None:
            table = table.left_join(scored.select("customer_id", "negative_comments"), "customer_id")
            table = table.drop("customer_id_right")
            table = table.mutate(negative_comments=table.negative_comments.fill_null(0))
    X = frame_by_customer(table)
    if customers is not None:
        raw = customers.drop(*[c for c in customers.columns if c.startswith("_")]).order_by("customer_id").to_pandas()
        if len(raw):
            attrs = attribute_frame(raw.drop_duplicates("customer_id", keep="last"))
            X = X.join(attrs, how="left")
    return X


def _scores(y: np.ndarray, probs: np.ndarray, prior: np.ndarray) -> dict[str, Any]:
    from sklearn.metrics import log_loss

    return {"log_loss": float(log_loss(y, probs, labels=[0, 1, 2])),
            "baseline_log_loss": float(log_loss(y, np.tile(prior, (len(y), 1)), labels=[0, 1, 2])),
            "predicted_nps_held_out": _nps(probs), "observed_nps_held_out": float(NPS_WEIGHTS[y].mean())}


def _validation(X: pd.DataFrame, y: np.ndarray, rng: np.random.Generator) -> dict[str, Any]:
    test = rng.random(len(y)) < 0.25
    model = NpsClassModel().fit(X[~test], y[~test])
    prior = np.bincount(y[~test], minlength=3) / (~test).sum()
    return {"split": "random quarter of the respondents held out", "held_out_respondents": int(test.sum()),
            **_scores(y[test], model.predict_proba(X[test]), prior)}


def _check(classes: pd.Series) -> None:
    if len(classes) < MIN_RESPONDENTS:
        raise TooFewRowsError(f"Predicting NPS needs at least {MIN_RESPONDENTS} respondents with journeys, "
                              f"got {len(classes)}.", details={"needed": MIN_RESPONDENTS, "got": len(classes)})
    if classes.nunique() < 2:
        raise DegenerateDataError("Every respondent is in one NPS class: nothing to learn.",
                                  details={"single_class": int(classes.iloc[0])})


def predict_nps(events: ir.Table, feedback: ir.Table, *, customers: ir.Table | None = None,
                as_of: datetime | None = None, horizon_days: int = 180, comment_model: str | None = "vader",
                random_state: int = 0) -> PredictedNpsResult:
    """Predicted NPS class probabilities for non-respondents and the base's predicted NPS (see the
    module docstring for the split with and without ``as_of``)."""
    if horizon_days < 1:
        raise ParameterError(f"horizon_days must be ≥ 1, got {horizon_days}.")
    spec = FeatureSpec(touchpoints=top_values(events, "touchpoint", 12), channels=top_values(events, "channel", 6))
    rng = np.random.default_rng(random_state)
    if as_of is None:
        X_all = _features(events, feedback, customers, None, spec, comment_model)
        classes = _classes(feedback).reindex(X_all.index).dropna().astype(int)
        _check(classes)
        train = classes.sample(MAX_RESPONDENTS, random_state=random_state) if len(classes) > MAX_RESPONDENTS else classes
        X, y = X_all.loc[train.index], train.to_numpy()
        validation = _validation(X, y, rng)
        split = "none: features from all events"
    else:
        horizon = timedelta(days=horizon_days)
        start = as_of - horizon
        X_past = _features(events, feedback, customers, start, spec, comment_model)
        classes = _classes(feedback, start, as_of).reindex(X_past.index).dropna().astype(int)
        _check(classes)
        train = classes.sample(MAX_RESPONDENTS, random_state=random_state) if len(classes) > MAX_RESPONDENTS else classes
        X, y = X_past.loc[train.index], train.to_numpy()
        X_all = _features(events, feedback, customers, as_of, spec, comment_model).reindex(columns=X.columns)
        later = _classes(feedback, as_of, as_of + horizon).reindex(X_all.index).dropna().astype(int)
        prior = np.bincount(y, minlength=3) / len(y)
        validation = {"split": f"time: answers in [{as_of.date()}, {(as_of + horizon).date()}) scored with features "
                               f"before {as_of.date()}", "held_out_respondents": len(later)}
        if len(later):
            held = NpsClassModel().fit(X, y).predict_proba(X_all.loc[later.index])
            validation.update(_scores(later.to_numpy(), held, prior))
        split = (f"time: learned from features before {start.date()} and answers in [{start.date()}, {as_of.date()}); "
                 f"predicted from features before {as_of.date()}")
    model = NpsClassModel().fit(X, y)
    base = model.predict_proba(X_all)
    boots = []
    for _ in range(BOOTSTRAP):
        idx = rng.integers(0, len(y), len(y))
        if len(np.unique(y[idx])) >= 2:
            boots.append(_nps(NpsClassModel(C=model.C_).fit(X.iloc[idx], y[idx]).predict_proba(X_all)))
    low, high = np.percentile(boots, [2.5, 97.5]) if boots else (np.nan, np.nan)
    others = ~X_all.index.isin(classes.index)
    rows = [{"customer_id": str(cid), "p_promoter": float(p[2]), "p_detractor": float(p[0])}
            for cid, p in zip(X_all.index[others], base[others], strict=True)]
    return PredictedNpsResult(records=tuple(rows), params={
        "surveyed_nps": float(NPS_WEIGHTS[classes.to_numpy()].mean()), "predicted_nps": _nps(base),
        "predicted_low": float(low), "predicted_high": float(high), "respondents": len(classes),
        "customers": len(X_all), "validation": validation, "as_of": as_of, "split": split,
        "regularisation_c": model.C_,
        "method": "multinomial logistic regression (regularisation by 5-fold cross-validated log loss) on journey features, feedback without an NPS answer (mean CSAT, "
                  "negative comments) and attributes; validated on respondents it did not see; "
                  f"{BOOTSTRAP} bootstrap refits for the interval"})
