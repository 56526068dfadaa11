"""BG/NBD (Fader, Hardie and Lee 2005, "Counting your customers the easy way") and
Gamma-Gamma (Fader, Hardie and Lee 2005, "RFM and CLV") fitted by maximum likelihood with
scipy. Our own ~150 lines instead of ``lifetimes`` (archived, breaks on current pandas); the
tests check the fits against the published CDNOW parameters (ADR 0038).

Inputs per customer, in one time unit (days in JourneyLens, weeks in the papers):
``frequency`` x = repeat purchase occasions, ``recency`` t_x = time of the last purchase since
the first, ``T`` = time since the first purchase; for Gamma-Gamma also the mean value of the
repeat purchases (customers with x ≥ 1).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy import optimize, special

from journeylens.errors import DegenerateDataError, TooFewRowsError

MIN_CUSTOMERS = 30
#: A fitted drop-out probability per purchase below this is treated as no drop-out at all.
NO_DROPOUT = 1e-6


def _fit(neg_ll: Callable[[np.ndarray], float], starts: list[np.ndarray]) -> np.ndarray:
    """Nelder-Mead on the log parameters (the likelihoods are smooth but flat), restarted from
    its own answer until it stops improving, from each start; the best answer wins."""
    best_x, best_f = np.log(starts[0]), np.inf
    for start in starts:
        x, f = np.log(start), np.inf
        for _ in range(4):
            result = optimize.minimize(neg_ll, x, method="Nelder-Mead",
                                       options={"maxiter": 20_000, "xatol": 1e-8, "fatol": 1e-10})
            if result.fun >= f - 1e-9:
                break
            x, f = result.x, float(result.fun)
        if f < best_f:
            best_x, best_f = x, f
    return np.asarray(np.exp(best_x), dtype=float)


@dataclass
class BetaGeoModel:
    """BG/NBD purchase-occasion model (scikit-learn contract; ``params_`` = r, alpha, a, b)."""

    penalizer: float = 0.0

    def _neg_ll(self, log_params: np.ndarray, x: np.ndarray, t_x: np.ndarray, T: ArrayLike) -> float:
        r, alpha, a, b = np.exp(log_params)
        a1 = special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha)
        a2 = special.gammaln(a + b) + special.gammaln(b + x) - special.gammaln(b) - special.gammaln(a + b + x)
        a3 = -(r + x) * np.log(alpha + T)
        with np.errstate(divide="ignore", invalid="ignore"):
            a4 = np.where(x > 0, np.log(a) - np.log(np.maximum(b + x - 1, 1e-12)) - (r + x) * np.log(alpha + t_x), -np.inf)
        ll = a1 + a2 + np.logaddexp(a3, a4)
        return float(-ll.sum() + self.penalizer * np.sum(np.exp(log_params) ** 2))

    def fit(self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike) -> BetaGeoModel:
        x, t_x, big_t = (np.asarray(v, dtype=float) for v in (frequency, recency, T))
        if len(x) < MIN_CUSTOMERS:
            raise TooFewRowsError(f"A purchase model needs at least {MIN_CUSTOMERS} customers with purchases, "
                                  f"got {len(x)}.", details={"needed": MIN_CUSTOMERS, "got": len(x)})
        if not (x > 0).any():
            raise DegenerateDataError("No customer bought on a second day: repeat buying cannot be modelled.",
                                      details={"repeat_buyers": 0})
        starts = [np.ones(4), np.array([1.0, max(float(big_t.mean()), 1e-3), 1.0, 1.0])]
        self.params_ = _fit(lambda p: self._neg_ll(p, x, t_x, big_t), starts)
        self.n_ = len(x)
        return self

    def p_alive(self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike) -> np.ndarray:
        r, alpha, a, b = self.params_
        x, t_x, big_t = (np.asarray(v, dtype=float) for v in (frequency, recency, T))
        if a / (a + b) < NO_DROPOUT:
            return np.ones(len(x))
        with np.errstate(divide="ignore", over="ignore"):
            odds = np.where(x > 0, a / np.maximum(b + x - 1, 1e-12) * ((alpha + big_t) / (alpha + t_x)) ** (r + x), 0.0)
        return np.asarray(1 / (1 + odds), dtype=float)

    def expected_purchases(self, t: float, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike) -> np.ndarray:
        """Expected purchase occasions in the next ``t`` time units, given each customer's history."""
        r, alpha, a, b = self.params_
        x, big_t = (np.asarray(v, dtype=float) for v in (frequency, T))
        if a / (a + b) < NO_DROPOUT:
            # The fit says customers (almost) never drop out: the NBD limit, where the closed form
            # divides by a - 1 and loses every digit.
            return np.asarray((r + x) / (alpha + big_t) * t, dtype=float)
        z = t / (alpha + big_t + t)
        hyp = special.hyp2f1(r + x, b + x, a + b + x - 1, z)
        head = (a + b + x - 1) / (a - 1) * (1 - ((alpha + big_t) / (alpha + big_t + t)) ** (r + x) * hyp)
        return np.asarray(head * self.p_alive(frequency, recency, T), dtype=float)


@dataclass
class GammaGammaModel:
    """Gamma-Gamma spend model (scikit-learn contract; ``params_`` = p, q, v)."""

    def _neg_ll(self, log_params: np.ndarray, x: np.ndarray, m: np.ndarray) -> float:
        p, q, v = np.exp(log_params)
        ll = (special.gammaln(p * x + q) - special.gammaln(p * x) - special.gammaln(q) + q * np.log(v)
              + (p * x - 1) * np.log(m) + p * x * np.log(x) - (p * x + q) * np.log(v + x * m))
        return float(-ll.sum())

    def fit(self, frequency: ArrayLike, monetary: ArrayLike) -> GammaGammaModel:
        x, m = np.asarray(frequency, dtype=float), np.asarray(monetary, dtype=float)
        keep = (x > 0) & (m > 0)
        if keep.sum() < MIN_CUSTOMERS:
            raise TooFewRowsError(f"A spend model needs at least {MIN_CUSTOMERS} repeat buyers with a positive value, "
                                  f"got {int(keep.sum())}.", details={"needed": MIN_CUSTOMERS, "got": int(keep.sum())})
        starts = [np.ones(3), np.array([1.0, 1.0, float(np.median(m[keep]))])]
        self.params_ = _fit(lambda p: self._neg_ll(p, x[keep], m[keep]), starts)
        self.mean_value_ = float(m[keep].mean())
        return self

    def expected_value(self, frequency: ArrayLike, monetary: ArrayLike) -> np.ndarray:
        """Expected mean value of a future purchase (population mean for customers with x = 0)."""
        p, q, v = self.params_
        x, m = np.asarray(frequency, dtype=float), np.nan_to_num(np.asarray(monetary, dtype=float))
        return np.asarray((p * (v + x * m)) / (p * x + q - 1), dtype=float)
