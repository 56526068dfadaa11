"""LMG against a hand-computed case and a brute-force average over orderings; Johnson's weights
against cases with a known answer."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from journeylens.errors import DegenerateDataError
from journeylens.models import shapley


def _r2(X: np.ndarray, y: np.ndarray, cols: list[int]) -> float:
    if not cols:
        return 0.0
    A = np.column_stack([np.ones(len(y)), X[:, cols]])
    resid = y - A @ np.linalg.lstsq(A, y, rcond=None)[0]
    return 1 - resid.var() / y.var()


def _brute_force_lmg(X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The definition: mean gain in R² over all k! orders of entry, each R² by least squares."""
    k = X.shape[1]
    out = np.zeros(k)
    for order in itertools.permutations(range(k)):
        for pos, j in enumerate(order):
            out[j] += _r2(X, y, list(order[: pos + 1])) - _r2(X, y, list(order[:pos]))
    return out / math.factorial(k)


def test_lmg_two_drivers_by_hand() -> None:
    # r1 = 0.5, r2 = 0.4, r12 = 0.3: R² = (r1² + r2² - 2 r1 r2 r12) / (1 - r12²)
    corr = np.array([[1, 0.3, 0.5], [0.3, 1, 0.4], [0.5, 0.4, 1.0]])
    full = (0.25 + 0.16 - 2 * 0.5 * 0.4 * 0.3) / (1 - 0.09)
    expected = [0.5 * 0.25 + 0.5 * (full - 0.16), 0.5 * 0.16 + 0.5 * (full - 0.25)]
    assert shapley.lmg(corr) == pytest.approx(expected, abs=1e-12)
    assert shapley.full_r2(corr) == pytest.approx(full)


def test_lmg_matches_brute_force_over_orderings() -> None:
    rng = np.random.default_rng(3)
    X = rng.normal(size=(400, 4))
    X[:, 1] += 0.7 * X[:, 0]
    X[:, 3] -= 0.5 * X[:, 2]
    y = X @ np.array([1.0, 0.5, -0.8, 0.2]) + rng.normal(size=400)
    corr = np.corrcoef(np.column_stack([X, y]), rowvar=False)
    assert shapley.lmg(corr) == pytest.approx(_brute_force_lmg(X, y), abs=1e-9)
    assert shapley.lmg(corr).sum() == pytest.approx(_r2(X, y, [0, 1, 2, 3]), abs=1e-9)


def test_lmg_handles_fifteen_drivers() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 15))
    y = X[:, 0] + rng.normal(size=300)
    corr = np.corrcoef(np.column_stack([X, y]), rowvar=False)
    values = shapley.lmg(corr)
    assert values.sum() == pytest.approx(shapley.full_r2(corr))
    assert int(np.argmax(values)) == 0


def test_relative_weights_known_cases() -> None:
    # Uncorrelated drivers: each weight is the squared correlation with y (Johnson 2000).
    corr = np.array([[1, 0, 0, 0.5], [0, 1, 0, 0.3], [0, 0, 1, 0.1], [0.5, 0.3, 0.1, 1]])
    assert shapley.relative_weights(corr) == pytest.approx([0.25, 0.09, 0.01])
    # Two exchangeable drivers share R² equally; the weights always sum to R².
    corr = np.array([[1, 0.6, 0.5], [0.6, 1, 0.5], [0.5, 0.5, 1.0]])
    weights = shapley.relative_weights(corr)
    assert weights[0] == pytest.approx(weights[1])
    assert weights.sum() == pytest.approx(shapley.full_r2(corr))


def test_relative_weights_close_to_lmg_on_correlated_data() -> None:
    rng = np.random.default_rng(5)
    X = rng.normal(size=(2000, 5))
    X[:, 1] += X[:, 0]
    y = X @ np.array([0.8, 0.3, 0.5, 0.0, 0.2]) + rng.normal(size=2000)
    corr = np.corrcoef(np.column_stack([X, y]), rowvar=False)
    assert shapley.relative_weights(corr) == pytest.approx(shapley.lmg(corr), abs=0.03)


def test_collinear_drivers_are_named() -> None:
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=200), rng.normal(size=200)
    X = np.column_stack([a, b, a + b, rng.normal(size=200)])
    corr = np.corrcoef(np.column_stack([X, a + rng.normal(size=200)]), rowvar=False)
    with pytest.raises(DegenerateDataError) as info:
        shapley.check_drivers(corr, ["a", "b", "a_plus_b", "other"])
    assert info.value.details["collinear"] == [["a", "b", "a_plus_b"]]
