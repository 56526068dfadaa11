"""Gaps in journey drivers (no CSAT answer about a touchpoint, a funnel step never reached): the
older mean fill against median + missing indicator (ADR 0090), judged on held-out customers.

    .venv/bin/python bench/models_imputation.py demo-data/journeylens.duckdb demo-data/bank.journey.yaml

For each outcome the customers are split at random into three quarters to fit and one quarter to
score (the same split for both fills); the table prints the held-out log loss per customer of the
model the what-if uses — logistic for conversion and churn, proportional odds for NPS and CSAT
(the latest answer) — and how many drivers had gaps (indicators made). Lower loss is better.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np
import pandas as pd
from scipy.special import expit


def _logistic_loss(X: pd.DataFrame, y: np.ndarray, test: np.ndarray) -> float:
    from journeylens.models.whatif import laplace_logit

    A = np.column_stack([np.ones(len(X)), X.to_numpy(dtype=float)])
    params, _ = laplace_logit(A[~test], y[~test])
    p = np.clip(expit(A[test] @ params), 1e-12, 1 - 1e-12)
    return float(-np.mean(y[test] * np.log(p) + (1 - y[test]) * np.log(1 - p)))


def _ordinal_loss(X: pd.DataFrame, y: np.ndarray, test: np.ndarray) -> float:
    from statsmodels.miscmodels.ordinal_model import OrderedModel

    A = X.to_numpy(dtype=float)
    mean, sd = A[~test].mean(axis=0), A[~test].std(axis=0)
    keep = sd > 0
    Z = (A[:, keep] - mean[keep]) / sd[keep]
    categories = np.sort(np.unique(y[~test]))
    codes = np.searchsorted(categories, y)
    fit = OrderedModel(codes[~test], Z[~test], distr="logit").fit(method="bfgs", disp=False, maxiter=3000)
    probs = fit.model.predict(fit.params, exog=Z[test])
    seen = np.isin(y[test], categories)
    return float(-np.mean(np.log(np.clip(probs[np.flatnonzero(seen), codes[test][seen]], 1e-12, 1))))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("warehouse")
    parser.add_argument("journey")
    parser.add_argument("--targets", default="conversion,churn,nps,csat")
    args = parser.parse_args()
    import journeylens
    from journeylens.models.journey_drivers import customer_table

    lens = journeylens.open(args.warehouse, args.journey)
    sys.stdout.write(f"load average: {os.getloadavg()[0]:.1f} (2 cores shared)\n")
    sys.stdout.write(f"{'outcome':<11} {'customers':>9} {'held out':>8} {'gaps':>4} {'mean fill':>10} "
                     f"{'median+indicator':>17} {'seconds':>8}\n")
    for target in args.targets.split(","):
        started = time.perf_counter()
        losses, n, gaps = {}, 0, 0
        for missing in ("mean", "indicator"):
            X, y, _, _ = customer_table(lens.events(), lens.warehouse.table("feedback"), target=target,
                                        definition=lens.definition, customers=lens._customers(), missing=missing)
            test = np.random.default_rng(0).random(len(y)) < 0.25
            fit = _ordinal_loss if target in ("nps", "csat") else _logistic_loss
            losses[missing], n = fit(X, y, test), len(y)
            gaps = max(gaps, sum(c.endswith("_missing") for c in X.columns))
        sys.stdout.write(f"{target:<11} {n:>9,} {int(test.sum()):>8,} {gaps:>4} {losses['mean']:>10.4f} "
                         f"{losses['indicator']:>17.4f} {time.perf_counter() - started:>8.1f}\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
