"""Reusable statistics for analyses: intervals, tests and multiple-testing control.

Every function works from *sufficient statistics* (counts, sums, sums of squares), so the
engine only aggregates and the finishing arithmetic happens here, once, for every surface.

>>> low, high = wilson_interval(8, 10)
>>> round(low, 4), round(high, 4)
(0.4902, 0.9433)
>>> benjamini_hochberg([0.01, 0.04, 0.03])
[0.03, 0.04, 0.04]
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from scipy import (
    special as _sp,  # the distribution functions scipy.stats wraps; it takes seconds to import
)

Z95 = 1.96  # two-sided 95 % normal quantile as CX reports write it (exact: 1.95996…)


@dataclass(frozen=True)
class TestResult:
    """A two-sample test: the estimated difference (second minus first), statistic and p-value."""

    difference: float
    statistic: float
    p_value: float


def z_quantile(confidence: float = 0.95) -> float:
    """Two-sided normal quantile for ``confidence`` (1.96 for 95 %)."""
    return Z95 if confidence == 0.95 else float(_sp.ndtri(0.5 + confidence / 2))


def wilson_interval(successes: float, n: float, *, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a proportion ``successes / n``.

    >>> wilson_interval(0, 0)
    (nan, nan)
    """
    if n <= 0:
        return math.nan, math.nan
    z = z_quantile(confidence)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def sample_variance(n: float, total: float, total_sq: float) -> float:
    """Unbiased sample variance from n, Σx and Σx² (nan when n < 2)."""
    if n < 2:
        return math.nan
    return max(0.0, (total_sq - total * total / n) / (n - 1))


def t_interval(n: float, total: float, total_sq: float, *,
               confidence: float = 0.95) -> tuple[float, float]:
    """Student-t interval of the mean from n, Σx and Σx².

    >>> low, high = t_interval(3, 6.0, 14.0)   # values 1, 2, 3
    >>> round(low, 4), round(high, 4)
    (-0.4841, 4.4841)
    """
    if n < 2:
        return math.nan, math.nan
    mean = total / n
    half = float(_sp.stdtrit(n - 1, 0.5 + confidence / 2)) * math.sqrt(sample_variance(n, total, total_sq) / n)
    return mean - half, mean + half


def nps_score(promoters: float, detractors: float, n: float) -> float:
    """NPS = 100 x (share 9-10 - share 0-6)."""
    return math.nan if n <= 0 else 100.0 * (promoters - detractors) / n


def nps_variance(promoters: float, detractors: float, n: float) -> float:
    """Per-response variance of the +1/0/-1 score: p_pro + p_det - (p_pro - p_det)²."""
    if n <= 0:
        return math.nan
    p_pro, p_det = promoters / n, detractors / n
    return p_pro + p_det - (p_pro - p_det) ** 2


def nps_margin(promoters: float, detractors: float, n: float, *, confidence: float = 0.95) -> float:
    """Margin of error of NPS: z x 100 x sqrt(var / n), on the -100..100 scale.

    >>> round(nps_margin(50, 20, 100), 4)
    15.3081
    """
    if n <= 0:
        return math.nan
    return z_quantile(confidence) * 100.0 * math.sqrt(nps_variance(promoters, detractors, n) / n)


def two_proportion_ztest(successes_a: float, n_a: float, successes_b: float, n_b: float) -> TestResult:
    """Pooled two-proportion z-test of p_b - p_a (two-sided)."""
    if n_a <= 0 or n_b <= 0:
        return TestResult(math.nan, math.nan, math.nan)
    p_a, p_b = successes_a / n_a, successes_b / n_b
    pooled = (successes_a + successes_b) / (n_a + n_b)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n_a + 1 / n_b))
    diff = p_b - p_a
    if se == 0:
        return TestResult(diff, math.nan, 1.0 if diff == 0 else 0.0)
    z = diff / se
    return TestResult(diff, z, float(2 * _sp.ndtr(-abs(z))))


def nps_ztest(pro_a: float, det_a: float, n_a: float,
              pro_b: float, det_b: float, n_b: float) -> TestResult:
    """z-test on the difference of means of the +1/0/-1 scores; difference on the NPS scale (x100)."""
    if n_a <= 0 or n_b <= 0:
        return TestResult(math.nan, math.nan, math.nan)
    mean_a, mean_b = (pro_a - det_a) / n_a, (pro_b - det_b) / n_b
    se = math.sqrt(nps_variance(pro_a, det_a, n_a) / n_a + nps_variance(pro_b, det_b, n_b) / n_b)
    diff = mean_b - mean_a
    if se == 0:
        return TestResult(100 * diff, math.nan, 1.0 if diff == 0 else 0.0)
    z = diff / se
    return TestResult(100 * diff, z, float(2 * _sp.ndtr(-abs(z))))


def welch_ttest(n_a: float, sum_a: float, sumsq_a: float,
                n_b: float, sum_b: float, sumsq_b: float) -> TestResult:
    """Welch's unequal-variance t-test of mean_b - mean_a from sufficient statistics."""
    if n_a < 2 or n_b < 2:
        return TestResult(math.nan, math.nan, math.nan)
    diff = sum_b / n_b - sum_a / n_a
    va = sample_variance(n_a, sum_a, sumsq_a) / n_a
    vb = sample_variance(n_b, sum_b, sumsq_b) / n_b
    se = math.sqrt(va + vb)
    if se == 0:
        return TestResult(diff, math.nan, 1.0 if diff == 0 else 0.0)
    df = (va + vb) ** 2 / (va * va / (n_a - 1) + vb * vb / (n_b - 1))
    t = diff / se
    return TestResult(diff, t, float(2 * _sp.stdtr(df, -abs(t))))


def benjamini_hochberg(p_values: Sequence[float]) -> list[float]:
    """Benjamini-Hochberg adjusted p-values (q-values), in input order; nan stays nan.

    >>> benjamini_hochberg([0.005, float("nan"), 0.02])
    [0.01, nan, 0.02]
    """
    indexed = [(p, i) for i, p in enumerate(p_values) if p is not None and not math.isnan(p)]
    m = len(indexed)
    out = [math.nan] * len(p_values)
    running = 1.0
    for rank, (p, i) in reversed(list(enumerate(sorted(indexed), start=1))):
        running = min(running, p * m / rank)
        out[i] = min(1.0, running)
    return out


@dataclass(frozen=True)
class ChiSquareResult:
    """Pearson chi-square test of independence on a groups x outcomes table of counts."""

    statistic: float
    dof: int
    p_value: float


def chi_square(table: Sequence[Sequence[float]]) -> ChiSquareResult:
    """Pearson chi-square (no continuity correction) on a table of counts, one row per group.

    Rows or columns that are all zero are left out; fewer than two of either gives nan.

    >>> r = chi_square([[30, 70], [60, 40]])
    >>> round(r.statistic, 3), r.dof, r.p_value < 0.001
    (18.182, 1, True)
    """
    rows = [list(map(float, r)) for r in table if sum(r) > 0]
    columns = [j for j in range(len(rows[0]) if rows else 0) if sum(r[j] for r in rows) > 0]
    if len(rows) < 2 or len(columns) < 2:
        return ChiSquareResult(math.nan, 0, math.nan)
    total = sum(r[j] for r in rows for j in columns)
    col_totals = {j: sum(r[j] for r in rows) for j in columns}
    statistic = 0.0
    for r in rows:
        row_total = sum(r[j] for j in columns)
        for j in columns:
            expected = row_total * col_totals[j] / total
            statistic += (r[j] - expected) ** 2 / expected
    dof = (len(rows) - 1) * (len(columns) - 1)
    return ChiSquareResult(statistic, dof, float(_sp.chdtrc(dof, statistic)))
