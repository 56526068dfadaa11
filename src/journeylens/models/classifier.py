"""A calibrated binary classifier with per-row reasons (used for churn).

:class:`CalibratedClassifier` (scikit-learn contract) fits LightGBM *and* a standardised
logistic regression when there are enough rows and positives (:data:`MIN_ROWS_FOR_TREES`,
:data:`MIN_POSITIVES_FOR_TREES`) and keeps the one with the lower held-out log loss, else the
logistic regression alone; in both cases the scores are calibrated on a held-out
quarter of the training rows (Platt scaling).
:meth:`contributions` gives each feature's effect on one row's probability in points: SHAP
values of the raw model (TreeSHAP, or ``coef × (x − mean)`` for the logistic model) taken out
one at a time and passed through the calibration, ``p − p(without that push)``.

>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(0)
>>> X = pd.DataFrame({"calls": rng.poisson(1, 800), "tenure": rng.uniform(0, 60, 800)})
>>> y = rng.random(800) < 1 / (1 + np.exp(-(X["calls"] - X["tenure"] / 20)))
>>> model = CalibratedClassifier().fit(X, y)
>>> model.algorithm_, bool(model.predict_proba(X)[:, 1].mean() > 0)
('logistic', True)
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, fields

import numpy as np
import pandas as pd

from journeylens.errors import DegenerateDataError, TooFewRowsError

MIN_ROWS = 40
MIN_ROWS_FOR_TREES = 2_000
MIN_POSITIVES_FOR_TREES = 100
#: LightGBM threads: one, so the same data gives the same model on any machine (and on a busy machine
#: OpenMP threads waiting for a core made two slower than one).
THREADS = 1
#: Most rows the logistic candidate trains on (a uniform sample above it): ~60 coefficients need far fewer.
MAX_LOGISTIC_ROWS = 100_000


@dataclass
class CalibratedClassifier:
    """Calibrated P(y = 1) with reasons (scikit-learn contract)."""

    algorithm: str = "auto"  # "auto", "lightgbm" or "logistic"
    calibration_share: float = 0.25
    n_estimators: int = 400
    early_stopping_rounds: int = 30
    learning_rate: float = 0.08
    num_leaves: int = 15
    max_depth: int = 4  # shallow trees keep TreeSHAP (cost ~ trees × leaves × depth²) cheap for every customer
    random_state: int = 0

    def fit(self, X: pd.DataFrame, y: pd.Series | np.ndarray) -> CalibratedClassifier:
        target = np.asarray(y, dtype=float)
        if len(target) < MIN_ROWS:
            raise TooFewRowsError(f"A churn model needs at least {MIN_ROWS} customers with a known outcome, "
                                  f"got {len(target)}.", details={"needed": MIN_ROWS, "got": len(target)})
        positives = int(target.sum())
        if positives == 0 or positives == len(target):
            only = "churned" if positives else "stayed"
            raise DegenerateDataError(f"Every customer with a known outcome {only}: a single class, nothing to learn.",
                                      details={"single_class": only, "rows": len(target)})
        usable = [c for c in X.columns if X[c].notna().any() and X[c].nunique(dropna=True) > 1]
        if not usable:
            raise DegenerateDataError("Every feature is constant or empty.", details={"features": list(X.columns)})
        self.feature_names_in_ = np.array(usable, dtype=object)
        data = X[usable].astype(float)
        rng = np.random.default_rng(self.random_state)
        cal = rng.random(len(target)) < self.calibration_share
        if target[cal].sum() in (0, cal.sum()) or target[~cal].sum() in (0, (~cal).sum()):
            cal = np.zeros(len(target), dtype=bool)  # too few of one class to hold out: calibrate in-sample
        candidates = self._candidates(len(target), positives)
        if len(candidates) > 1:
            params = {f.name: getattr(self, f.name) for f in fields(self)}
            fitted = [CalibratedClassifier(**{**params, "algorithm": c}).fit(X, y) for c in candidates]
            losses: list[float] = [m.heldout_log_loss_ for m in fitted]
            best = fitted[int(np.argmin(losses))]
            self.__dict__.update(best.__dict__)
            self.algorithm = "auto"
            self.selection_ = {str(m.algorithm_): loss for m, loss in zip(fitted, losses, strict=True)}
            return self
        self.algorithm_: str = candidates[0]
        self._fit_raw(data[~cal] if cal.any() else data, target[~cal] if cal.any() else target)
        held, held_y = (data[cal], target[cal]) if cal.any() else (data, target)
        self._fit_calibration(self.raw_margin(held), held_y)
        p = np.clip(self._calibrate(self.raw_margin(held)), 1e-9, 1 - 1e-9)
        self.heldout_log_loss_: float = float(-np.mean(held_y * np.log(p) + (1 - held_y) * np.log(1 - p)))
        self.n_train_, self.positives_ = len(target), positives
        return self

    def _candidates(self, n: int, positives: int) -> list[str]:
        """``auto``: LightGBM and logistic regression when there is enough data for trees (the one
        with the lower held-out log loss wins), else logistic regression alone."""
        if self.algorithm != "auto":
            return [self.algorithm]
        enough = n >= MIN_ROWS_FOR_TREES and min(positives, n - positives) >= MIN_POSITIVES_FOR_TREES
        return ["lightgbm", "logistic"] if enough else ["logistic"]

    def _fit_raw(self, X: pd.DataFrame, y: np.ndarray) -> None:
        if self.algorithm_ == "lightgbm":
            import lightgbm as lgb

            # early stopping on a tenth of the training rows: as many trees as help held-out log
            # loss (fewer trees also make TreeSHAP reasons cheaper), at most n_estimators
            rng = np.random.default_rng(self.random_state + 1)
            stop = rng.random(len(y)) < 0.1
            if y[stop].sum() in (0, stop.sum()) or y[~stop].sum() in (0, (~stop).sum()):
                stop = np.zeros(len(y), dtype=bool)
            self.model_ = lgb.LGBMClassifier(n_estimators=self.n_estimators, learning_rate=self.learning_rate,
                                             num_leaves=self.num_leaves, max_depth=self.max_depth,
                                             min_child_samples=20, subsample=0.8,
                                             subsample_freq=1, colsample_bytree=0.8, random_state=self.random_state,
                                             verbose=-1, n_jobs=THREADS, deterministic=True,
                                             force_row_wise=True)
            # a plain array: LightGBM refuses names with JSON characters ("plan: gold"); ours stay in feature_names_in_
            values = X.to_numpy(dtype=float)
            if stop.any():
                with warnings.catch_warnings():  # eval_set works on every LightGBM 4.x; 4.7 prefers eval_X
                    warnings.filterwarnings("ignore", message=".*eval_set.*")
                    self.model_.fit(values[~stop], y[~stop], eval_set=[(values[stop], y[stop])],
                                    callbacks=[lgb.early_stopping(self.early_stopping_rounds, verbose=False)])
            else:
                self.model_.fit(values, y)
            return
        from sklearn.linear_model import LogisticRegression

        if len(X) > MAX_LOGISTIC_ROWS:
            keep = np.sort(np.random.default_rng(self.random_state + 2).choice(len(X), MAX_LOGISTIC_ROWS, replace=False))
            X, y = X.iloc[keep], y[keep]
        self.center_ = X.median()
        filled = X.fillna(self.center_)
        self.scale_ = filled.std().replace(0, 1.0)
        self.mean_ = filled.mean()
        self.model_ = LogisticRegression(C=1.0, max_iter=2000)
        self.model_.fit(((filled - self.mean_) / self.scale_).to_numpy(), y)

    def raw_margin(self, X: pd.DataFrame) -> np.ndarray:
        """The uncalibrated log-odds."""
        data = X[list(self.feature_names_in_)].astype(float)
        if self.algorithm_ == "lightgbm":
            return np.asarray(self.model_.predict(data.to_numpy(), raw_score=True), dtype=float)
        z = ((data.fillna(self.center_) - self.mean_) / self.scale_).to_numpy()
        return np.asarray(self.model_.decision_function(z), dtype=float)

    def _fit_calibration(self, margin: np.ndarray, y: np.ndarray) -> None:
        """Platt scaling on held-out rows: smooth, so the reasons stay continuous (ADR 0037)."""
        from sklearn.linear_model import LogisticRegression

        self.calibrator_ = LogisticRegression(C=1e6).fit(margin.reshape(-1, 1), y)

    def _calibrate(self, margin: np.ndarray) -> np.ndarray:
        from scipy.special import expit

        slope, intercept = float(self.calibrator_.coef_[0, 0]), float(self.calibrator_.intercept_[0])
        return np.asarray(expit(slope * margin + intercept), dtype=float)

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        p = self._calibrate(self.raw_margin(X))
        return np.column_stack([1 - p, p])

    def shap_values(self, X: pd.DataFrame) -> np.ndarray:
        """Per-feature contributions to the raw log-odds (rows × features)."""
        return self._shap_and_margin(X)[0]

    def _shap_and_margin(self, X: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """SHAP values and the raw log-odds from one pass (TreeSHAP's columns sum to the margin)."""
        data = X[list(self.feature_names_in_)].astype(float)
        if self.algorithm_ == "lightgbm":
            from journeylens.models.tree_contributions import tree_contributions

            # exact TreeSHAP, run per tree on one row per group of rows its splits cannot tell apart (ADR 0100)
            values = tree_contributions(self.model_.booster_, data.to_numpy())
            return values[:, :-1], values.sum(axis=1)
        z = ((data.fillna(self.center_) - self.mean_) / self.scale_).to_numpy()
        return z * self.model_.coef_[0], np.asarray(self.model_.decision_function(z), dtype=float)

    def explain(self, X: pd.DataFrame) -> tuple[np.ndarray, pd.DataFrame]:
        """``(P(y = 1), contributions)`` from one model pass: each feature's effect on the calibrated
        probability in points (0-100), ``p − p(without that feature's SHAP push)``."""
        shap, margin = self._shap_and_margin(X)
        p = self._calibrate(margin)
        out = np.empty_like(shap)
        for j in range(shap.shape[1]):
            out[:, j] = p - self._calibrate(margin - shap[:, j])
        return p, pd.DataFrame(100 * out, columns=list(self.feature_names_in_), index=X.index)

    def contributions(self, X: pd.DataFrame) -> pd.DataFrame:
        """Each feature's effect on the calibrated probability, in probability points (0-100)."""
        return self.explain(X)[1]
