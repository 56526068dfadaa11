"""Score distributions with an exact expected value: a discretised normal whose centre is
solved (by bisection) so that the mean, or the NPS, comes out at the target.

>>> round(float(np.arange(1, 6) @ mean_probs(4.3, 1, 5)), 3)
4.3
>>> p = nps_probs(22.0)
>>> round(float(100 * (p[9:].sum() - p[:7].sum())), 3)
22.0
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

import numpy as np


def _discrete_normal(centre: float, low: int, high: int, sd: float) -> np.ndarray:
    k = np.arange(low, high + 1, dtype=float)
    weights = np.exp(-((k - centre) ** 2) / (2 * sd**2))
    return weights / weights.sum()


def _solve(statistic: Callable[[float], float], target: float, lo: float, hi: float) -> float:
    for _ in range(80):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if statistic(mid) < target else (lo, mid)
    return (lo + hi) / 2


@lru_cache(maxsize=256)
def mean_probs(target_mean: float, low: int, high: int, sd: float = 0.9) -> np.ndarray:
    """Probabilities of ``low..high`` whose expected value is ``target_mean``."""
    values = np.arange(low, high + 1, dtype=float)

    def mean(centre: float) -> float:
        return float(values @ _discrete_normal(centre, low, high, sd))

    centre = _solve(mean, target_mean, low - 10.0, high + 10.0)
    return _discrete_normal(centre, low, high, sd)


@lru_cache(maxsize=64)
def nps_probs(target_nps: float, sd: float = 2.0) -> np.ndarray:
    """Probabilities of 0..10 whose NPS (promoters 9-10 minus detractors 0-6) is ``target_nps``."""

    def nps(centre: float) -> float:
        p = _discrete_normal(centre, 0, 10, sd)
        return float(100 * (p[9:].sum() - p[:7].sum()))

    return _discrete_normal(_solve(nps, target_nps, -10.0, 20.0), 0, 10, sd)


def draw(rng: np.random.Generator, probs: np.ndarray, n: int, low: int) -> np.ndarray:
    """``n`` scores from ``probs`` over ``low..``."""
    return low + np.searchsorted(np.cumsum(probs), rng.random(n) * (1 - 1e-12)).astype(np.int32)
