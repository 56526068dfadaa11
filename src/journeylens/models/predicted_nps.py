"""Predicted NPS for customers who never answered.

Respondents' latest NPS answers give each a class (detractor 0-6, passive 7-8, promoter 9-10).
A multinomial logistic regression (standardised features, medians for gaps) learns the class
from what every customer has: journey features (activity, recency, tenure, channel switches,
switches into the contact channel — also those inside one visit, online first —, repeat
contacts, touchpoints and channels), feedback that carries no NPS answer (mean CSAT, negative
comments from text sentiment — never the NPS responses themselves) and customer attributes.
``predicted_nps`` is the model's NPS of the whole base with a 95 % bootstrap interval
(respondents resampled, model refitted); ``surveyed_nps`` is the respondents' NPS, so the gap
shows non-response bias the journeys can explain. Assumes that, given these features,
answering is unrelated to the score.

Validation is always on respondents the model did not see, split in time:

* no ``as_of``: the cut is the time by which three quarters of the respondents had given their
  latest answer; the model learns from those (features before the cut) and predicts the later
  quarter from features before the cut. When the answers carry no usable spread of dates (all
  on one day), a random quarter is held out instead and the split says so;
* ``as_of`` D: the model learns from features before ``D − horizon`` and the answers given in
  ``[D − horizon, D)``, and predicts from features before D; it is validated on the answers
  given in ``[D, D + horizon)``.

The held-out log loss is compared with the class-share baseline row by row; ``gain`` is the
mean difference with a 95 % bootstrap interval. Only when that interval lies above zero is the
model called **informative**; otherwise ``params["informative"]`` is ``False`` and
``params["verdict"]`` says in words that the per-customer probabilities carry no information
beyond the surveyed class shares (so the "predicted NPS" is the surveyed one, not a finding).
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
#: Held-out respondents needed for a time split (else a random quarter is held out).
MIN_HELD_OUT = 30
GAIN_RESAMPLES = 1000
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


class NpsValidationPayload(TypedDict):
    informative: bool
    verdict: str
    split: str
    validation: dict[str, float | int | str]


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

    def validation(self) -> NpsValidationPayload:
        """Whether the predictions beat the class shares on held-out respondents, in numbers and words."""
        p = self.params
        return NpsValidationPayload(informative=bool(p["informative"]), verdict=str(p["verdict"]), split=str(p["split"]),
                                    validation={k: plain(v) for k, v in p["validation"].items()})


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
    """Each customer's class from their latest NPS answer in ``[start, end)`` (``attrs["answered_at"]``:
    when each gave it)."""
    answers = feedback.filter(feedback.customer_id.notnull() & feedback.nps.between(0, 10)
                              & (feedback.respondent.isnull() | (feedback.respondent == "customer")))
    if start is not None:
        answers = answers.filter(answers.timestamp >= ibis.literal(start, type="timestamp('UTC')"))
    if end is not None:
        answers = answers.filter(answers.timestamp < ibis.literal(end, type="timestamp('UTC')"))
    order = [ibis.desc(answers[c]) for c in ("timestamp", "_seq", "response_id") if c in answers.columns]
    ranked = answers.mutate(_r=ibis.row_number().over(group_by="customer_id", order_by=order))
    latest = ranked.filter(ranked._r == 0).select("customer_id", "nps", "timestamp").order_by("customer_id")
    last = latest.to_pandas().set_index("customer_id")
    score = pd.to_numeric(last["nps"]).astype(float)
    out = pd.Series(np.where(score >= 9, 2, np.where(score >= 7, 1, 0)), index=score.index)
    out.attrs["answered_at"] = pd.to_datetime(last["timestamp"], utc=True)
    return out


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


def _scores(y: np.ndarray, probs: np.ndarray, prior: np.ndarray, rng: np.random.Generator) -> dict[str, Any]:
    """Held-out log loss of the model and of the class shares, the per-row gain with a 95 %
    bootstrap interval, calibration (mean |predicted − observed| share over deciles) and NPS."""
    eps = 1e-15
    rows = np.arange(len(y))
    model_loss = -np.log(np.clip(probs[rows, y], eps, 1.0))
    base_loss = -np.log(np.clip(prior[y], eps, 1.0))
    gain = base_loss - model_loss
    boots = np.array([gain[rng.integers(0, len(y), len(y))].mean() for _ in range(GAIN_RESAMPLES)])
    low, high = np.percentile(boots, [2.5, 97.5])
    return {"log_loss": float(model_loss.mean()), "baseline_log_loss": float(base_loss.mean()),
            "gain": float(gain.mean()), "gain_low": float(low), "gain_high": float(high),
            "calibration_error_promoter": _calibration_error(probs[:, 2], y == 2),
            "calibration_error_detractor": _calibration_error(probs[:, 0], y == 0),
            "predicted_nps_held_out": _nps(probs), "observed_nps_held_out": float(NPS_WEIGHTS[y].mean())}


def _calibration_error(p: np.ndarray, hit: np.ndarray, bins: int = 10) -> float:
    """Mean absolute gap between predicted and observed share over equal-count bins of ``p``."""
    order = np.argsort(p, kind="stable")
    gaps = [abs(p[idx].mean() - hit[idx].mean()) for idx in np.array_split(order, bins) if len(idx)]
    return float(np.mean(gaps))


def verdict(validation: dict[str, Any]) -> tuple[bool, str]:
    """``(informative, sentence)`` from a validation: informative only when the whole 95 %
    interval of the held-out log-loss gain over the class shares is above zero."""
    if "gain" not in validation:
        return False, "Not validated yet (no held-out answers): the predictions are untested."
    shown = (f"held-out log loss {validation['log_loss']:.4f} vs {validation['baseline_log_loss']:.4f} for the "
             f"surveyed class shares (gain {validation['gain']:+.4f}, 95 % {validation['gain_low']:+.4f} to "
             f"{validation['gain_high']:+.4f}; {validation['held_out_respondents']} held-out respondents)")
    if validation["gain_low"] > 0:
        return True, f"The journeys tell detractors from promoters better than the class shares: {shown}."
    return False, (f"Not informative: on respondents it did not see the model is no better than the surveyed class "
                   f"shares ({shown}). The per-customer probabilities carry no information beyond those shares, so "
                   "the predicted NPS is the surveyed NPS, not a measured non-response gap.")


def _time_split(classes: pd.Series) -> datetime | None:
    """The time by which three quarters of the respondents had answered (``None``: no usable split)."""
    answered = classes.attrs.get("answered_at")
    if answered is None:
        return None
    answered = answered.reindex(classes.index)
    if answered.nunique() < 2:
        return None
    cut = answered.quantile(0.75)
    later = answered >= cut
    if later.sum() < MIN_HELD_OUT or (~later).sum() < MIN_RESPONDENTS or classes[~later].nunique() < 2:
        return None
    return cut.to_pydatetime()


def _validation(events: ir.Table, feedback: ir.Table, customers: ir.Table | None, spec: FeatureSpec,
                comment_model: str | None, classes: pd.Series, rng: np.random.Generator) -> dict[str, Any]:
    cut = _time_split(classes)
    if cut is None:
        X_all = _features(events, feedback, customers, None, spec, comment_model)
        X, y = X_all.loc[classes.index], classes.to_numpy()
        test = rng.random(len(y)) < 0.25
        model = NpsClassModel().fit(X[~test], y[~test])
        prior = np.bincount(y[~test], minlength=3) / (~test).sum()
        return {"split": "random quarter of the respondents held out (their answers carry no usable spread of dates "
                         "for a time split)", "held_out_respondents": int(test.sum()),
                **_scores(y[test], model.predict_proba(X[test]), prior, rng)}
    X_cut = _features(events, feedback, customers, cut, spec, comment_model)
    later = (classes.attrs["answered_at"] >= pd.Timestamp(cut)).reindex(classes.index)
    train, test = classes[~later], classes[later]
    train = train[train.index.isin(X_cut.index)]
    test = test[test.index.isin(X_cut.index)]
    if len(train) > MAX_RESPONDENTS:
        train = train.sample(MAX_RESPONDENTS, random_state=0)
    model = NpsClassModel().fit(X_cut.loc[train.index], train.to_numpy())
    prior = np.bincount(train.to_numpy(), minlength=3) / len(train)
    return {"split": f"time: learned from the respondents whose latest answer came before {cut.date()} (features "
                     f"before then), tested on the later ones with features from before {cut.date()}",
            "held_out_respondents": len(test),
            **_scores(test.to_numpy(), model.predict_proba(X_cut.loc[test.index]), prior, rng)}


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
        validation = _validation(events, feedback, customers, spec, comment_model, train, rng)
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
            validation.update(_scores(later.to_numpy(), held, prior, rng))
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
    informative, said = verdict(validation)
    rows = [{"customer_id": str(cid), "p_promoter": float(p[2]), "p_detractor": float(p[0])}
            for cid, p in zip(X_all.index[others], base[others], strict=True)]
    return PredictedNpsResult(records=tuple(rows), params={
        "surveyed_nps": float(NPS_WEIGHTS[classes.to_numpy()].mean()), "predicted_nps": _nps(base),
        "predicted_low": float(low), "predicted_high": float(high), "respondents": len(classes),
        "customers": len(X_all), "validation": validation, "as_of": as_of, "split": split,
        "regularisation_c": model.C_, "informative": informative, "verdict": said,
        "method": "multinomial logistic regression (regularisation by 5-fold cross-validated log loss) on journey features, feedback without an NPS answer (mean CSAT, "
                  "negative comments) and attributes; validated on respondents it did not see; "
                  f"{BOOTSTRAP} bootstrap refits for the interval"})
