"""What-if for NPS and CSAT on journey levers: what customers experience, not survey ratings.

The outcome is each customer's latest answer (NPS 0-10 or CSAT 1-5), modelled as ordered
categories by a proportional-odds model (statsmodels ``OrderedModel``, logit link) on the
customer's journey drivers (:func:`~journeylens.models.journey_drivers.customer_table`: drop-offs,
online-then-call visits, repeat contacts, CSAT at touchpoints, days to a step, touchpoints
reached, with median + missing-indicator fills). A change is a lever:

* a 0/1 driver moves the **share** of customers who have it — ``contact_switches_in_episode=-0.05``:
  five points fewer customers who start online and then call in the same visit; a drop-off
  driver moves the drop-off **rate** among the customers who reach its step
  (``dropoff_kyc_document_upload=-0.1``); the customers moved are a random share of those who
  can move, so their predicted score *distribution* becomes the flipped one;
* a CSAT-at-a-touchpoint driver moves by the amount for the customers who answered about that
  touchpoint, capped at the 1-5 scale (``csat_mobile_app_login=+0.5``); days to a step move by
  the amount (never below 0) for the customers who reached it.

NPS (share 9-10 − share 0-6) or CSAT (% 4-5) comes from the predicted distributions, so nothing
is pushed past the top of the scale. The 95 % interval comes from 400 draws of the parameters
(their estimated normal distribution). Assumes proportional odds and that changing the lever acts
as the cross-sectional association after adjustment does — an observational estimate.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from scipy.special import expit

from journeylens.errors import DegenerateDataError
from journeylens.models.whatif import (
    DRAWS,
    MAX_ROWS,
    check_inputs,
    moved_driver,
    score_metric,
    share_pool,
)


def what_if_journey_scores(X: pd.DataFrame, y: np.ndarray, *, target: str, changes: Mapping[str, float],
                           movable: Mapping[str, np.ndarray] | None = None, random_state: int = 0) -> dict[str, object]:
    """The fit behind :func:`~journeylens.models.whatif.what_if_scores` with journey levers (``X``:
    one row per customer, ``y`` their latest answer); returns the what-if's raw numbers."""
    from statsmodels.miscmodels.ordinal_model import OrderedModel

    check_inputs(X, len(y), changes, drivers="journey driver(s)", rows="customers with an answer")
    movable = dict(movable or {})
    if len(y) > MAX_ROWS:
        keep = np.sort(np.random.default_rng(random_state).choice(len(y), MAX_ROWS, replace=False))
        X, y = X.iloc[keep], y[keep]
        movable = {k: v[keep] for k, v in movable.items()}
    categories = np.sort(np.unique(y))
    if len(categories) < 2:
        raise DegenerateDataError(f"Every customer gave the same {target} answer: nothing to model.",
                                  details={"single_class": float(categories[0])})
    drivers = list(X.columns)
    A = X.to_numpy(dtype=float)
    mean, sd = A.mean(axis=0), A.std(axis=0)
    sd = np.where(sd > 0, sd, 1.0)
    Z = (A - mean) / sd  # standardised: the optimiser converges on counts and days alike
    model = OrderedModel(np.searchsorted(categories, y), Z, distr="logit")
    fit = model.fit(method="bfgs", disp=False, maxiter=3000)
    k = Z.shape[1]
    binary = {c: bool(set(np.unique(A[:, drivers.index(c)])) <= {0.0, 1.0}) for c in changes}

    def probs(params: np.ndarray, rows: np.ndarray) -> np.ndarray:
        cuts = model.transform_threshold_params(params[k:])
        eta = ((rows - mean) / sd) @ params[:k]
        return np.diff(expit(cuts[None, :] - eta[:, None]), axis=1)

    def outcome(params: np.ndarray) -> tuple[float, float]:
        base = probs(params, A)
        new = base.copy()
        for name, amount in changes.items():
            j = drivers.index(name)
            if binary[name]:
                flipped = A.copy()
                flipped[:, j] = 1 - flipped[:, j]
                pool, frac = share_pool(A[:, j] == 1, amount, movable.get(name))
                new = np.where(pool[:, None], (1 - frac) * new + frac * probs(params, flipped), new)
            else:
                new = new + probs(params, moved_driver(A, j, name, amount, movable.get(name))) - base
        return float(score_metric(base, categories, target)), float(score_metric(np.clip(new, 0, 1), categories, target))

    baseline, predicted = outcome(fit.params)
    rng = np.random.default_rng(random_state)
    draws = rng.multivariate_normal(fit.params, fit.cov_params(), size=DRAWS, check_valid="ignore")
    deltas = np.array([b - a for a, b in (outcome(d) for d in draws)])
    shown = "NPS" if target == "nps" else "CSAT (% 4-5)"
    return {"baseline": baseline, "predicted": predicted, "deltas": deltas, "value_delta": None, "n": len(y),
            "method": f"proportional-odds (ordinal logit) model of each customer's latest {target} answer on the "
                      f"journey drivers {', '.join(drivers)}; a 0/1 driver's change moves the share of customers who "
                      "have it (a drop-off's: the drop-off rate among customers who reach its step), a CSAT driver "
                      "moves for the customers who answered about that touchpoint (capped at 1-5), days for those "
                      f"who reached the step; {shown} from the predicted score distributions; 95 % interval from "
                      f"{DRAWS} parameter draws; n = {len(y)} customers; observational: assumes proportional odds "
                      "and that the change acts as the adjusted cross-sectional association does"}
