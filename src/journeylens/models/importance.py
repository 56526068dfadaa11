"""The key-driver estimator: each driver's share of the explained variance, with intervals.

:class:`DriverImportance` follows the scikit-learn contract. ``fit(X, y)`` drops rows with a
missing value (listwise deletion, counted in ``n_dropped_``), refuses constant or perfectly
collinear drivers (named), computes the importance from the correlation matrix — the exact
Shapley decomposition of R² (LMG) up to 15 drivers, Johnson's relative weights above — and
bootstraps 95 % intervals. The bootstrap resamples at most ``bootstrap_rows`` rows and
rescales the spread by ``sqrt(m / n)`` (an m-out-of-n bootstrap), so a million responses do
not need a million-row resample per replicate.

>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(0)
>>> X = pd.DataFrame({"a": rng.normal(size=500), "b": rng.normal(size=500)})
>>> y = 2 * X["a"] + X["b"] + rng.normal(size=500)
>>> model = DriverImportance(n_bootstrap=50).fit(X, y)
>>> model.share_.round(1).tolist(), model.method_
([0.8, 0.2], 'lmg')
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from journeylens.errors import DegenerateDataError, TooFewRowsError
from journeylens.models import shapley


@dataclass
class DriverImportance:
    """Relative importance of correlated drivers (scikit-learn contract)."""

    method: str = "auto"  # "auto" (LMG up to 15 drivers, else Johnson), "lmg" or "johnson"
    n_bootstrap: int = 200
    bootstrap_rows: int = 20_000
    confidence: float = 0.95
    min_n: int = 30
    random_state: int = 0

    def fit(self, X: pd.DataFrame, y: pd.Series) -> DriverImportance:
        # plain arrays: at a million rows each pandas concat / dropna is another full copy
        values = np.column_stack([X.to_numpy(dtype=float), np.asarray(y, dtype=float)])
        self.complete_rows_ = ~np.isnan(values).any(axis=1)
        if not self.complete_rows_.all():
            values = values[self.complete_rows_]
        self.n_dropped_ = len(self.complete_rows_) - len(values)
        self.n_ = len(values)
        needed = max(self.min_n, X.shape[1] + 2)
        if self.n_ < needed:
            raise TooFewRowsError(f"Driver analysis needs at least {needed} complete rows, got {self.n_} "
                                  f"({self.n_dropped_} had a missing value).", details={"needed": needed, "got": self.n_})
        std = values.std(axis=0)
        names = list(X.columns)
        if std[-1] == 0:
            raise DegenerateDataError("The target is constant in these rows: nothing to explain.",
                                      details={"constant": ["target"]})
        constant = [names[i] for i in np.flatnonzero(std[:-1] == 0)]
        if constant:
            raise DegenerateDataError(f"Constant drivers (no variation): {', '.join(constant)}. Leave them out.",
                                      details={"constant": constant})
        corr = np.corrcoef(values, rowvar=False)
        shapley.check_drivers(corr, names)
        self.method_ = self._method(len(names))
        self.feature_names_in_ = np.array(names, dtype=object)
        self.raw_ = self._importance(corr)
        self.r2_ = shapley.full_r2(corr)
        self.share_ = self.raw_ / self.r2_ if self.r2_ > 0 else np.full(len(names), 1 / len(names))
        cov = np.cov(values, rowvar=False)
        self.coef_ = np.linalg.solve(cov[:-1, :-1], cov[:-1, -1])
        self.mean_ = values[:, :-1].mean(axis=0)
        self.share_low_, self.share_high_ = self._bootstrap(values)
        return self

    def _method(self, k: int) -> str:
        if self.method == "auto":
            return "lmg" if k <= shapley.MAX_EXACT_DRIVERS else "johnson"
        if self.method == "lmg" and k > shapley.MAX_EXACT_DRIVERS:
            raise DegenerateDataError(f"LMG is exact up to {shapley.MAX_EXACT_DRIVERS} drivers, got {k}.",
                                      details={"drivers": k})
        return self.method

    def _importance(self, corr: np.ndarray) -> np.ndarray:
        return shapley.lmg(corr) if self.method_ == "lmg" else shapley.relative_weights(corr)

    def _shares(self, values: np.ndarray) -> np.ndarray | None:
        std = values.std(axis=0)
        if np.any(std == 0):
            return None
        corr = np.corrcoef(values, rowvar=False)
        if np.linalg.eigvalsh(corr[:-1, :-1])[0] < shapley.COLLINEAR_EIGENVALUE:
            return None
        raw = self._importance(corr)
        total = raw.sum()
        return raw / total if total > 0 else None

    def _bootstrap(self, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Percentile intervals of the shares (m-out-of-n, spread rescaled by sqrt(m/n))."""
        rng = np.random.default_rng(self.random_state)
        n = len(values)
        m = min(n, self.bootstrap_rows)
        draws = []
        for _ in range(self.n_bootstrap):
            shares = self._shares(values[rng.integers(0, n, m)])
            if shares is not None:
                draws.append(shares)
        if not draws:
            return np.full(len(self.share_), np.nan), np.full(len(self.share_), np.nan)
        spread = (np.array(draws) - np.mean(draws, axis=0)) * np.sqrt(m / n)
        tail = (1 - self.confidence) / 2 * 100
        low = self.share_ + np.percentile(spread, tail, axis=0)
        high = self.share_ + np.percentile(spread, 100 - tail, axis=0)
        return np.clip(low, 0.0, 1.0), np.clip(high, 0.0, 1.0)
