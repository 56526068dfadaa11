"""Relative importance of correlated drivers: the Shapley decomposition of R² (LMG) and
Johnson's relative weights, both computed from a correlation matrix.

LMG (Lindeman, Merenda and Gold 1980; Grömping 2006) gives each driver its average gain in
R² over all orders of entry, which is the Shapley value of the "R² game". It needs the R² of
every subset of drivers (2**k of them); each comes from the correlation matrix alone,
``R²(S) = r_yS' R_SS⁻¹ r_yS``, solved in batches of equal-size subsets — of many matrices at
once for a bootstrap (:func:`lmg_many`) — so 15 drivers (32,768 subsets) take a fraction of a
second and 200 bootstrap matrices of 12 drivers about a second. Above :data:`MAX_EXACT_DRIVERS` Johnson's
relative weights (Johnson 2000) approximate it: regress y on the orthogonal counterpart of X
and share each component's R² back to the drivers by their squared loadings.

>>> import numpy as np
>>> corr = np.array([[1.0, 0.0, 0.6], [0.0, 1.0, 0.3], [0.6, 0.3, 1.0]])  # x1, x2 uncorrelated; y last
>>> lmg(corr).round(2).tolist()
[0.36, 0.09]
>>> relative_weights(corr).round(2).tolist()
[0.36, 0.09]
"""

from __future__ import annotations

import math
from functools import lru_cache
from itertools import combinations

import numpy as np

from journeylens.errors import DegenerateDataError

#: Largest driver count for the exact Shapley decomposition (2**15 subsets).
MAX_EXACT_DRIVERS = 15

#: A smallest eigenvalue of the drivers' correlation matrix below this means perfect collinearity.
COLLINEAR_EIGENVALUE = 1e-8


@lru_cache(maxsize=32)
def _subsets(k: int) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    """Per subset size: the subsets (rows of driver indices) and their bit masks (cached: the
    bootstrap asks for the same k hundreds of times)."""
    out = []
    for size in range(1, k + 1):
        subsets = np.array(list(combinations(range(k), size)), dtype=np.int64)
        out.append((subsets, np.left_shift(1, subsets).sum(axis=1)))
    return tuple(out)


@lru_cache(maxsize=32)
def _shapley_weights(k: int) -> tuple[np.ndarray, np.ndarray]:
    """Bit masks 0..2**k - 1 and the Shapley weight of a coalition of each mask's size."""
    masks = np.arange(1 << k)
    sizes = np.array([bin(m).count("1") for m in masks])
    weight = np.array([math.factorial(s) * math.factorial(k - s - 1) / math.factorial(k) if s < k else 0.0
                       for s in range(k + 1)])
    return masks, weight[sizes]


#: Most matrix entries held at once per subset size in :func:`subset_r2_many` (matrices are chunked).
_CHUNK_ENTRIES = 8_000_000


def subset_r2_many(corrs: np.ndarray) -> np.ndarray:
    """R² of every subset of the k drivers for each of B correlation matrices (``B × 2**k``,
    column = bit mask; each matrix has y as its last row/column): the subsets of one size of
    all B matrices are solved in one batched call."""
    corrs = np.asarray(corrs, dtype=float)
    k = corrs.shape[-1] - 1
    widest = max((len(subsets) * subsets.shape[1] ** 2 for subsets, _ in _subsets(k)), default=1)
    chunk = max(1, _CHUNK_ENTRIES // widest)
    out = np.zeros((len(corrs), 1 << k))
    for start in range(0, len(corrs), chunk):
        part = corrs[start:start + chunk]
        rxx, rxy = part[:, :k, :k], part[:, :k, k]
        for subsets, masks in _subsets(k):
            blocks = rxx[:, subsets[:, :, None], subsets[:, None, :]]
            targets = rxy[:, subsets]
            beta = np.linalg.solve(blocks, targets[..., None])[..., 0]
            out[start:start + chunk, masks] = (beta * targets).sum(axis=-1)
    return np.clip(out, 0.0, 1.0)


def subset_r2(corr: np.ndarray) -> np.ndarray:
    """R² of every subset of the k drivers (index = bit mask; ``corr`` has y as its last row/column)."""
    return subset_r2_many(corr[None])[0]


def lmg_many(corrs: np.ndarray) -> np.ndarray:
    """:func:`lmg` of each of B correlation matrices (``B × k``), all in one vectorised pass."""
    k = corrs.shape[-1] - 1
    if k > MAX_EXACT_DRIVERS:
        raise ValueError(f"LMG is exact up to {MAX_EXACT_DRIVERS} drivers, got {k}; use relative_weights.")
    r2 = subset_r2_many(corrs)
    masks, weight = _shapley_weights(k)
    out = np.zeros((len(r2), k))
    for j in range(k):
        without = masks[(masks >> j) & 1 == 0]
        out[:, j] = (r2[:, without | (1 << j)] - r2[:, without]) @ weight[without]
    return out


def lmg(corr: np.ndarray) -> np.ndarray:
    """Each driver's Shapley share of R² (the shares sum to the full model's R²)."""
    return lmg_many(np.asarray(corr, dtype=float)[None])[0]


def relative_weights(corr: np.ndarray) -> np.ndarray:
    """Johnson's relative weights (they sum to the full model's R²)."""
    k = corr.shape[0] - 1
    rxx, rxy = corr[:k, :k], corr[:k, k]
    values, vectors = np.linalg.eigh(rxx)
    values = np.clip(values, 0.0, None)
    half = vectors @ np.diag(np.sqrt(values)) @ vectors.T  # correlations of X with its orthogonal twin Z
    beta = np.linalg.solve(half, rxy)  # y on Z
    return (half**2) @ (beta**2)


def full_r2(corr: np.ndarray) -> float:
    k = corr.shape[0] - 1
    return float(corr[:k, k] @ np.linalg.solve(corr[:k, :k], corr[:k, k]))


def collinear_groups(corr: np.ndarray, names: list[str]) -> list[list[str]]:
    """Sets of drivers that are (near) perfect linear combinations of each other."""
    k = corr.shape[0] - 1
    values, vectors = np.linalg.eigh(corr[:k, :k])
    groups = []
    for value, vector in zip(values, vectors.T, strict=True):
        if value < COLLINEAR_EIGENVALUE:
            groups.append([names[i] for i in np.flatnonzero(np.abs(vector) > 1e-3)])
    return groups


def check_drivers(corr: np.ndarray, names: list[str]) -> None:
    """Raise :class:`DegenerateDataError` naming perfectly collinear drivers."""
    groups = collinear_groups(corr, names)
    if groups:
        listed = "; ".join(", ".join(g) for g in groups)
        raise DegenerateDataError(f"Perfectly collinear drivers (one is a linear combination of the others): {listed}. "
                                  "Leave one of each group out.", details={"collinear": groups})
