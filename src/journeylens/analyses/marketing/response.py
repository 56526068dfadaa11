"""The marginal picture: response curves per channel, bootstrapped over journeys, and budget what-ifs.

For each spend unit (channel or campaign) the attributed conversions per period are fitted
against that period's spend with a power curve ``conversions = A * spend ** b`` (least
squares on logs; ``b`` < 1 means diminishing returns). At the unit's mean spend per period,
the **marginal** conversions per unit of spend are ``b * conversions / spend`` and the
marginal value ``b * value / spend``. Intervals come from a Poisson bootstrap over journeys:
each draw re-weights every journey, re-runs the attribution model per period and refits the
curves; the 2.5th and 97.5th percentiles of the draws bound each number.

A **what-if** moves a share of one unit's mean spend per period to another and reads the
change in conversions off both curves. Its assumptions: the curves hold (no carry-over
between periods, no interaction between channels, no seasonality beyond what spend tracks),
attribution credit is the right outcome, and spend outside the observed range is an
extrapolation (flagged).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

#: A unit needs spend and credit in this many periods for a curve.
MIN_PERIODS = 4


@dataclass(frozen=True)
class Curve:
    """``conversions = scale * spend ** elasticity`` at the unit's mean spend per period."""

    elasticity: float
    mean_spend: float
    mean_conversions: float
    mean_value: float
    max_spend: float

    def conversions_at(self, spend: float) -> float:
        if self.mean_spend <= 0:
            return 0.0
        return self.mean_conversions * (max(spend, 0.0) / self.mean_spend) ** self.elasticity


def fit_curve(spend: np.ndarray, conversions: np.ndarray, value: np.ndarray) -> Curve | None:
    """Fit over periods with spend > 0 and conversions > 0 (``None`` below :data:`MIN_PERIODS`)."""
    ok = (spend > 0) & (conversions > 0)
    if ok.sum() < MIN_PERIODS:
        return None
    x, y = np.log(spend[ok]), np.log(conversions[ok])
    slope = float(np.polyfit(x, y, 1)[0]) if np.ptp(x) > 0 else 1.0
    positive = spend > 0
    return Curve(elasticity=slope, mean_spend=float(spend[positive].mean()),
                 mean_conversions=float(conversions[positive].mean()), mean_value=float(value[positive].mean()),
                 max_spend=float(spend.max()))


def marginal_row(curve: Curve) -> dict[str, float]:
    per_unit = curve.elasticity / curve.mean_spend if curve.mean_spend > 0 else math.nan
    return {"elasticity": curve.elasticity, "marginal_conversions_per_1000": 1000 * per_unit * curve.mean_conversions,
            "marginal_roas": per_unit * curve.mean_value, "mean_spend_per_period": curve.mean_spend}


@dataclass(frozen=True)
class Shift:
    """Move ``percent`` of ``source``'s spend to ``target``."""

    source: str
    target: str
    percent: float


def shift_effect(curves: Mapping[str, Curve], shift: Shift) -> float | None:
    """Change in conversions per period (``None`` when a curve is missing)."""
    a, b = curves.get(shift.source), curves.get(shift.target)
    if a is None or b is None:
        return None
    moved = a.mean_spend * shift.percent / 100.0
    return (b.conversions_at(b.mean_spend + moved) - b.mean_conversions
            + a.conversions_at(a.mean_spend - moved) - a.mean_conversions)


def interval(draws: Sequence[float | None]) -> tuple[float | None, float | None]:
    values = np.array([d for d in draws if d is not None and math.isfinite(d)])
    if len(values) < 10:
        return None, None
    return float(np.percentile(values, 2.5)), float(np.percentile(values, 97.5))


def what_if_row(curves: Mapping[str, Curve], draws: Sequence[Mapping[str, Curve]], shift: Shift,
                period: str, currency: str) -> dict[str, Any]:
    estimate = shift_effect(curves, shift)
    low, high = interval([shift_effect(c, shift) for c in draws])
    source = curves.get(shift.source)
    target = curves.get(shift.target)
    moved = source.mean_spend * shift.percent / 100.0 if source else None
    extrapolated = bool(target and moved is not None and target.mean_spend + moved > target.max_spend)
    if estimate is None:
        sentence = (f"Cannot estimate moving {shift.percent:g} % from {shift.source} to {shift.target}: "
                    "each needs spend and attributed conversions in at least "
                    f"{MIN_PERIODS} {period}s.")
    else:
        bounds = f" ({low:+,.1f} to {high:+,.1f})" if low is not None and high is not None else ""
        sentence = (f"Move {shift.percent:g} % from {shift.source} to {shift.target} ({currency} {moved:,.0f} a "
                    f"{period}) → conversions {estimate:+,.1f} a {period}{bounds}"
                    + (" — beyond the largest spend seen, an extrapolation." if extrapolated else "."))
    return {"source": shift.source, "target": shift.target, "percent": shift.percent, "moved_per_period": moved,
            "conversions_change_per_period": estimate, "low": low, "high": high, "extrapolated": extrapolated,
            "sentence": sentence}


def marginal_rows(curves: Mapping[str, Curve], draws: Sequence[Mapping[str, Curve]]) -> list[dict[str, Any]]:
    """Marginal return per unit with bootstrap intervals, highest marginal conversions first."""
    rows: list[dict[str, Any]] = []
    for unit, curve in sorted(curves.items()):
        row: dict[str, Any] = {"unit": unit, **marginal_row(curve)}
        for name in ("marginal_conversions_per_1000", "marginal_roas"):
            low, high = interval([marginal_row(d[unit])[name] for d in draws if unit in d])
            row.update({f"{name}_low": low, f"{name}_high": high})
        rows.append(row)
    return sorted(rows, key=lambda r: -r["marginal_conversions_per_1000"])
