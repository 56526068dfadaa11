"""The key-driver estimator: each driver's share of the explained variance, with intervals.

:class:`DriverImportance` follows the scikit-learn contract. ``fit(X, y)`` drops rows with a
missing value (listwise deletion, counted in ``n_dropped_``), refuses constant or perfectly
collinear drivers (named), computes the importance from the correlation matrix — the exact
Shapley decomposition of R² (LMG) up to 15 drivers, Johnson's relative weights above — and
bootstraps 95 % intervals. The bootstrap resamples the rows' cross-product sums in
``bootstrap_groups`` random groups rather than the rows themselves (the ordinary row bootstrap
when there are fewer rows than groups), so a million responses are read once, not once per
replicate, and all replicates' LMG is one vectorised pass (ADR 0099).

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
    bootstrap_groups: int = 2_000
    confidence: float = 0.95
    min_n: int = 30
    random_state: int = 0

    def fit(self, X: pd.DataFrame, y: pd.Series) -> DriverImportance:
        # plain arrays, one copy: at a million rows each pandas concat / dropna is another full copy
        k = X.shape[1]
        values = np.empty((len(X), k + 1))
        values[:, :k] = X.to_numpy(dtype=float)
        values[:, k] = np.asarray(y, dtype=float)
        return self.fit_matrix(values, list(X.columns))

    def fit_matrix(self, values: np.ndarray, names: list[str]) -> DriverImportance:
        """:meth:`fit` from one float matrix: the drivers ``names`` in order, then the target (not copied)."""
        k = len(names)
        self.complete_rows_ = ~np.isnan(values @ np.ones(k + 1))
        if not self.complete_rows_.all():
            values = values[self.complete_rows_]
        self.n_dropped_ = len(self.complete_rows_) - len(values)
        self.n_ = len(values)
        needed = max(self.min_n, k + 2)
        if self.n_ < needed:
            raise TooFewRowsError(f"Driver analysis needs at least {needed} complete rows, got {self.n_} "
                                  f"({self.n_dropped_} had a missing value).", details={"needed": needed, "got": self.n_})
        self.min_, self.max_ = values[:, :k].min(axis=0), values[:, :k].max(axis=0)
        if values[:, k].min() == values[:, k].max():
            raise DegenerateDataError("The target is constant in these rows: nothing to explain.",
                                      details={"constant": ["target"]})
        constant = [names[i] for i in np.flatnonzero(self.min_ == self.max_)]
        if constant:
            raise DegenerateDataError(f"Constant drivers (no variation): {', '.join(constant)}. Leave them out.",
                                      details={"constant": constant})
        # every statistic below comes from one pass: the rows' cross-products in random groups, taken
        # around a shift near the mean (the first rows' mean) so the sums of squares lose no precision
        shift = values[:1_000].mean(axis=0)
        self.group_sums_ = _group_cross_products(values, shift, min(self.n_, self.bootstrap_groups),
                                                 np.random.default_rng(self.random_state))
        totals = self.group_sums_.sum(axis=0)
        self.mean_ = shift[:k] + totals[0, 1:k + 1] / self.n_
        cov = _covariances(totals[None])[0] * self.n_ / (self.n_ - 1)
        corr = _correlations(cov[None])[0]
        shapley.check_drivers(corr, names)
        self.method_ = self._method(len(names))
        self.feature_names_in_ = np.array(names, dtype=object)
        self.raw_ = self._importance(corr)
        self.r2_ = shapley.full_r2(corr)
        self.share_ = self.raw_ / self.r2_ if self.r2_ > 0 else np.full(len(names), 1 / len(names))
        self.coef_ = np.linalg.solve(cov[:-1, :-1], cov[:-1, -1])
        self.share_low_, self.share_high_ = self._bootstrap()
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

    def _bootstrap(self) -> tuple[np.ndarray, np.ndarray]:
        """95 % intervals of the shares from ``n_bootstrap`` resamples of the rows' cross-product sums.

        The rows (centred) were dealt at random into ``bootstrap_groups`` groups and each group's
        count, sums and cross-products taken once (``group_sums_``); a replicate draws groups with
        replacement and adds theirs up — a bootstrap of iid group totals (with one row per group,
        the ordinary row bootstrap) — so a replicate costs its LMG, not a pass over the rows, and
        all replicates' LMG is one vectorised pass (ADR 0099)."""
        nan = np.full(len(self.share_), np.nan)
        if self.n_bootstrap < 1:
            return nan, nan
        rng = np.random.default_rng(self.random_state + 1)
        groups = len(self.group_sums_)
        counts = rng.multinomial(groups, np.full(groups, 1 / groups), size=self.n_bootstrap).astype(float)
        totals = (counts @ self.group_sums_.reshape(groups, -1)).reshape(self.n_bootstrap, *self.group_sums_.shape[1:])
        corr = _correlations(_covariances(totals))
        if len(corr):
            corr = corr[np.linalg.eigvalsh(corr[:, :-1, :-1])[:, 0] >= shapley.COLLINEAR_EIGENVALUE]
        if not len(corr):
            return nan, nan
        raw = shapley.lmg_many(corr) if self.method_ == "lmg" else np.array([shapley.relative_weights(c) for c in corr])
        total = raw.sum(axis=1)
        draws = raw[total > 0] / total[total > 0, None]
        if not len(draws):
            return nan, nan
        spread = draws - draws.mean(axis=0)
        tail = (1 - self.confidence) / 2 * 100
        low = self.share_ + np.percentile(spread, tail, axis=0)
        high = self.share_ + np.percentile(spread, 100 - tail, axis=0)
        return np.clip(low, 0.0, 1.0), np.clip(high, 0.0, 1.0)


def _covariances(totals: np.ndarray) -> np.ndarray:
    """Covariance matrices (divided by n) from ``B × (p+1) × (p+1)`` totals of ``[1, x][1, x]'``."""
    rows, first, cross = totals[:, 0, 0], totals[:, 0, 1:], totals[:, 1:, 1:]
    mean = first / rows[:, None]
    return cross / rows[:, None, None] - mean[:, :, None] * mean[:, None, :]


def _correlations(cov: np.ndarray) -> np.ndarray:
    """Correlation matrices of the covariances whose every variable varies (the others are left out)."""
    std = np.sqrt(np.clip(np.diagonal(cov, axis1=1, axis2=2), 0.0, None))
    usable = (std > 0).all(axis=1)
    corr = cov[usable] / (std[usable, :, None] * std[usable, None, :])
    return np.clip(corr, -1.0, 1.0)


def _group_cross_products(values: np.ndarray, shift: np.ndarray, groups: int, rng: np.random.Generator) -> np.ndarray:
    """``groups × (p+1) × (p+1)``: per random group of rows, ``Σ [1, x − shift][1, x − shift]'``
    (count, sums, cross-products); rows are dealt by a random permutation, one gather."""
    n, p = values.shape
    order = rng.permutation(n)
    size = n // groups
    dealt = np.empty((n, p + 1))
    dealt[:, 0] = 1.0
    dealt[:, 1:] = values[order]
    dealt[:, 1:] -= shift
    blocks = dealt[:groups * size].reshape(groups, size, p + 1)
    sums = np.matmul(blocks.transpose(0, 2, 1), blocks)
    rest = dealt[groups * size:]
    sums[:len(rest)] += rest[:, :, None] * rest[:, None, :]  # fewer leftover rows than groups: one each
    return sums
