"""What-if: change drivers, get the predicted outcome with a 95 % interval and its value.

* **NPS / CSAT** (ordinal scores): a proportional-odds model (statsmodels ``OrderedModel``,
  logit link) of the score on the survey drivers. A change moves every respondent's driver by
  the amount given, capped at the driver's scale, and the predicted *distribution* of each
  respondent's score gives NPS (share 9-10 − share 0-6) or CSAT (share 4-5), so nothing is
  shifted past the top of the scale (ADR 0039).
* **churn / conversion**: a logistic model of the outcome on the journey drivers. A change of
  a 0/1 driver moves the *share* of customers who experience it (``repeat_contacts=-0.1``:
  ten points fewer customers with repeat contacts); a drop-off driver moves the drop-off rate
  at its funnel step among the customers who reach it (``dropoff_onboarding=-0.1``: ten points
  fewer of them drop off); a count driver moves by the amount given.
  ``value_delta`` = Σ customer value × change in probability (revenue kept for churn, gained
  for conversion).

The interval comes from 400 draws of the parameters from their estimated normal distribution
(the delta method by simulation); ``baseline`` is the model's prediction for the data as they
are. Rates are in percent, NPS in points, CSAT as % satisfied.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import expit
from typing_extensions import TypedDict

from journeylens.analyses.result import Result, plain
from journeylens.errors import ParameterError, TooFewRowsError, UnknownNameError
from journeylens.models.drivers import load_responses, scale_of

DRAWS = 400
MAX_ROWS = 20_000
MIN_ROWS = 50
TARGETS = ("nps", "csat", "churn", "conversion")


class WhatIfPayload(TypedDict):
    target: str
    baseline: float
    predicted: float
    delta: float
    low: float
    high: float
    method: str
    value_delta: float | None


@dataclass(frozen=True)
class WhatIfResult(Result):
    """``to_dict()`` → ``{target, baseline, predicted, delta, low, high, method, value_delta}``."""

    title: str = "What-if"

    def to_dict(self) -> WhatIfPayload:  # type: ignore[override]
        p = self.params
        return WhatIfPayload(**{k: plain(p[k]) for k in WhatIfPayload.__annotations__})  # type: ignore[typeddict-item]


def parse_changes(items: Sequence[str]) -> dict[str, float]:
    """``["sat_app=+0.5", "repeat_contacts=-0.1"]`` → ``{"sat_app": 0.5, "repeat_contacts": -0.1}``."""
    out: dict[str, float] = {}
    for item in items:
        name, sep, amount = item.partition("=")
        try:
            out[name.strip()] = float(amount)
        except ValueError:
            sep = ""
        if not sep or not name.strip():
            raise ParameterError(f"A change is DRIVER=AMOUNT (for example sat_app=+0.5), got {item!r}.")
    if not out:
        raise ParameterError("Give at least one --change DRIVER=AMOUNT.")
    return out


def score_metric(probs: np.ndarray, categories: np.ndarray, target: str) -> np.ndarray:
    """NPS or CSAT (%) from per-row score distributions (rows × categories), averaged."""
    if target == "nps":
        weights = np.where(categories >= 9, 100.0, np.where(categories <= 6, -100.0, 0.0))
    else:
        weights = np.where(categories >= 4, 100.0, 0.0)
    return np.asarray(probs @ weights, dtype=float).mean(axis=-1)


def _ordinal(frame: pd.DataFrame, target: str, drivers: list[str], changes: Mapping[str, float],
             random_state: int) -> dict[str, Any]:
    from statsmodels.miscmodels.ordinal_model import OrderedModel

    data = frame[[*drivers, "_target"]].dropna()
    if len(data) < MIN_ROWS:
        raise TooFewRowsError(f"A what-if needs at least {MIN_ROWS} complete responses, got {len(data)}.",
                              details={"needed": MIN_ROWS, "got": len(data)})
    data = data.sample(MAX_ROWS, random_state=random_state) if len(data) > MAX_ROWS else data
    categories = np.sort(data["_target"].unique())
    codes = np.searchsorted(categories, data["_target"].to_numpy())
    X = data[drivers].to_numpy(dtype=float)
    changed = X.copy()
    for name, amount in changes.items():
        j = drivers.index(name)
        low, high = scale_of(name, data[name])
        changed[:, j] = np.clip(changed[:, j] + amount, low, high)
    model = OrderedModel(codes, X, distr="logit")
    fit = model.fit(method="bfgs", disp=False, maxiter=2000)
    rng = np.random.default_rng(random_state)
    draws = rng.multivariate_normal(fit.params, fit.cov_params(), size=DRAWS, check_valid="ignore")

    def outcome(params: np.ndarray, rows: np.ndarray) -> float:
        k = rows.shape[1]
        cuts = model.transform_threshold_params(params[k:])
        eta = rows @ params[:k]
        cdf = expit(cuts[None, :] - eta[:, None])
        probs = np.diff(cdf, axis=1)
        return float(score_metric(probs, categories, target))

    baseline, predicted = outcome(fit.params, X), outcome(fit.params, changed)
    deltas = np.array([outcome(d, changed) - outcome(d, X) for d in draws])
    return {"baseline": baseline, "predicted": predicted, "deltas": deltas, "value_delta": None, "n": len(data),
            "method": f"proportional-odds (ordinal logit) model of {target} on {', '.join(drivers)}; each respondent's "
                      f"driver moved and capped at its scale; {target.upper()} from the predicted score distributions; "
                      f"95 % interval from {DRAWS} parameter draws; n = {len(data)} responses; assumes proportional "
                      "odds and that the change acts as the cross-sectional association does"}


#: Prior standard deviation of a logistic coefficient per standard deviation of its driver (weakly
#: informative, Gelman et al. 2008): keeps estimates finite under separation.
PRIOR_SD = 2.5


def laplace_logit(A: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """MAP logistic regression with an N(0, PRIOR_SD²) prior on each standardised coefficient (the
    intercept, ``A``'s first column, unpenalised) and the Laplace covariance ``H⁻¹``, both on the
    raw scale of ``A``."""
    from scipy.optimize import minimize

    mean, sd = A[:, 1:].mean(axis=0), A[:, 1:].std(axis=0)
    sd = np.where(sd > 0, sd, 1.0)
    Z = np.column_stack([np.ones(len(A)), (A[:, 1:] - mean) / sd])
    penalty = np.r_[0.0, np.full(Z.shape[1] - 1, 1 / PRIOR_SD**2)]

    def loss(b: np.ndarray) -> tuple[float, np.ndarray]:
        eta = Z @ b
        value = np.sum(np.logaddexp(0, eta) - y * eta) + 0.5 * np.sum(penalty * b**2)
        return float(value), Z.T @ (expit(eta) - y) + penalty * b

    b = minimize(loss, np.zeros(Z.shape[1]), jac=True, method="L-BFGS-B", options={"maxiter": 1000}).x
    p = expit(Z @ b)
    hessian = (Z * (p * (1 - p))[:, None]).T @ Z + np.diag(penalty)
    cov_z = np.linalg.pinv(hessian)
    T = np.eye(Z.shape[1])  # raw params = T @ standardised params
    T[1:, 1:] = np.diag(1 / sd)
    T[0, 1:] = -mean / sd
    return T @ b, T @ cov_z @ T.T


def moved_driver(X: np.ndarray, j: int, name: str, amount: float, observed: np.ndarray | None) -> np.ndarray:
    """``X`` with column ``j`` moved by ``amount`` where ``observed`` (all rows when ``None``), kept on
    its scale: 1-5 for a CSAT driver, never below 0 for a count or a duration."""
    out = X.copy()
    rows = np.ones(len(X), dtype=bool) if observed is None else observed
    low, high = (1.0, 5.0) if name.startswith("csat_") else (0.0, np.inf)
    out[rows, j] = np.clip(out[rows, j] + amount, low, high)
    return out


def share_pool(has: np.ndarray, amount: float, reached: np.ndarray | None) -> tuple[np.ndarray, float]:
    """Who a share change can flip, and the fraction of them flipped: a 0/1 driver's share moves
    by ``amount`` among all customers, a drop-off's rate by ``amount`` among those who reached its step."""
    base = np.ones(len(has), dtype=bool) if reached is None else reached
    pool = (has & base) if amount < 0 else (~has & base)
    frac = min(1.0, abs(amount) * base.sum() / pool.sum()) if pool.sum() > 0 else 0.0
    return pool, frac


def _binary_outcome(X: pd.DataFrame, y: np.ndarray, value: np.ndarray, target: str,
                    changes: Mapping[str, float], random_state: int,
                    reached: Mapping[str, np.ndarray] | None = None) -> dict[str, Any]:
    import statsmodels.api as sm

    drivers = list(X.columns)
    A = sm.add_constant(X.to_numpy(dtype=float), has_constant="add")
    params_hat, cov = laplace_logit(A, y)
    binary = {c: bool(set(np.unique(X[c])) <= {0.0, 1.0}) for c in drivers}

    def expected(params: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        base = expit(A @ params)
        new = base.copy()
        for name, amount in changes.items():
            j = drivers.index(name) + 1
            if binary[name]:
                has = A[:, j] == 1
                flipped = A.copy()
                flipped[:, j] = 1 - flipped[:, j]
                other = expit(flipped @ params)
                pool, frac = share_pool(has, amount, (reached or {}).get(name))
                new = np.where(pool, (1 - frac) * new + frac * other, new)
            else:
                moved = np.column_stack([A[:, :1], moved_driver(A[:, 1:], j - 1, name, amount, (reached or {}).get(name))])
                new = new + (expit(moved @ params) - base)
        return base, np.clip(new, 0, 1)

    base, new = expected(params_hat)
    rng = np.random.default_rng(random_state)
    draws = rng.multivariate_normal(params_hat, cov, size=DRAWS, check_valid="ignore")
    deltas = np.array([100 * (n.mean() - b.mean()) for b, n in (expected(d) for d in draws)])
    sign = -1.0 if target == "churn" else 1.0
    known = ~np.isnan(value)
    value_delta = float(sign * np.sum(value[known] * (new - base)[known])) if known.any() else None
    return {"baseline": 100 * base.mean(), "predicted": 100 * new.mean(), "deltas": deltas, "value_delta": value_delta,
            "n": len(y), "method": f"logistic model of {target} on {', '.join(drivers)} (one row per customer; weak "
                                   f"normal prior, sd {PRIOR_SD} per standard deviation of a driver, so a step that "
                                   "always ends the journey stays finite); a 0/1 "
                                   "driver's change moves the share of customers who have it (a drop-off's: the "
                                   "drop-off rate among customers who reach its step), a count moves by the "
                                   f"amount; rates in %; 95 % interval from {DRAWS} draws of the parameters' posterior "
                                   "(Laplace approximation); value_delta = "
                                   "Σ customer value × change in probability"}


def what_if_scores(feedback: Any, *, target: str, changes: Mapping[str, float], drivers: Sequence[str] | None = None,
                   survey: str | None = None, random_state: int = 0) -> WhatIfResult:
    """What-if for an ordinal survey score (``nps`` or ``csat``) against survey drivers."""
    frame, chosen = load_responses(feedback, target, survey, drivers, MAX_ROWS * 50)
    missing = [c for c in changes if c not in chosen]
    if missing:
        frame, chosen = load_responses(feedback, target, survey, [*chosen, *missing], MAX_ROWS * 50)
    return finish(target, _ordinal(frame, target, chosen, changes, random_state))


def check_inputs(X: pd.DataFrame, n_rows: int, changes: Mapping[str, float], *, drivers: str, rows: str) -> None:
    """Refuse a what-if on drivers ``X`` lacks, or on fewer than ``MIN_ROWS`` rows (``drivers``/``rows`` name them)."""
    unknown = [c for c in changes if c not in X.columns]
    if unknown:
        raise UnknownNameError(f"Unknown {drivers} {', '.join(unknown)}; available: {', '.join(X.columns)}.",
                               details={"unknown": unknown, "available": list(X.columns)})
    if n_rows < MIN_ROWS:
        raise TooFewRowsError(f"A what-if needs at least {MIN_ROWS} {rows}, got {n_rows}.",
                              details={"needed": MIN_ROWS, "got": n_rows})


def what_if_outcome(X: pd.DataFrame, y: np.ndarray, value: np.ndarray, *, target: str,
                    changes: Mapping[str, float], random_state: int = 0,
                    reached: Mapping[str, np.ndarray] | None = None) -> WhatIfResult:
    """What-if for churn or conversion on customer-level journey drivers (``X`` one row per customer)."""
    check_inputs(X, len(y), changes, drivers="driver(s)", rows="customers")
    return finish(target, _binary_outcome(X, y, value, target, changes, random_state, reached))


def finish(target: str, fit: dict[str, Any]) -> WhatIfResult:
    deltas = fit["deltas"][np.isfinite(fit["deltas"])]
    delta = fit["predicted"] - fit["baseline"]
    low, high = (np.percentile(deltas, [2.5, 97.5]) if len(deltas) else (np.nan, np.nan))
    return WhatIfResult(records=(), params={
        "target": target, "baseline": fit["baseline"], "predicted": fit["predicted"], "delta": delta,
        "low": fit["baseline"] + float(low), "high": fit["baseline"] + float(high), "method": fit["method"],
        "value_delta": fit["value_delta"], "n": fit["n"]})
