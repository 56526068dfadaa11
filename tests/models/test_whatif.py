"""The what-if against a simulated case whose true answer is known."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from journeylens import JourneyLens
from journeylens.errors import ParameterError, UnknownNameError
from journeylens.models.whatif import parse_changes, what_if_outcome


def _true_nps(x: np.ndarray, beta: float, cuts: np.ndarray) -> float:
    """NPS implied by the true ordinal model for ratings x (scores 0..10)."""
    cdf = 1 / (1 + np.exp(-(cuts[None, :] - beta * x[:, None])))
    cdf = np.column_stack([np.zeros(len(x)), cdf, np.ones(len(x))])
    probs = np.diff(cdf, axis=1)
    scores = np.arange(11)
    return float(100 * (probs[:, scores >= 9].sum(axis=1) - probs[:, scores <= 6].sum(axis=1)).mean())


def test_ordinal_what_if_recovers_the_true_change(survey_lens: JourneyLens) -> None:
    rng = np.random.default_rng(11)
    n, beta = 4000, 1.2
    cuts = np.linspace(-1.0, 7.5, 10)
    x = rng.integers(1, 6, n).astype(float)
    latent = beta * x + rng.logistic(size=n)
    score = np.searchsorted(cuts, latent)  # 0..10
    frame = pd.DataFrame({"customer_id": [f"s{i}" for i in range(n)], "survey": "Sim",
                          "timestamp": pd.Timestamp("2024-01-01", tz="UTC"), "nps": score, "sat_app": x})
    survey_lens.ingest("feedback", frame)
    result = survey_lens.what_if(target="nps", changes={"sat_app": 0.5}, survey="Sim").to_dict()
    truth = _true_nps(np.clip(x + 0.5, 1, 5), beta, cuts) - _true_nps(x, beta, cuts)
    assert list(result) == ["target", "baseline", "predicted", "delta", "low", "high", "method", "value_delta"]
    assert result["delta"] == pytest.approx(truth, abs=2.5)
    assert result["low"] - result["baseline"] <= truth <= result["high"] - result["baseline"]
    assert "proportional-odds" in result["method"]


def test_binary_driver_share_change_on_simulated_churn() -> None:
    rng = np.random.default_rng(2)
    n = 20000
    repeat = (rng.random(n) < 0.3).astype(float)
    p = 1 / (1 + np.exp(-(-2.5 + 1.0 * repeat)))
    churned = (rng.random(n) < p).astype(float)
    X = pd.DataFrame({"repeat_contacts": repeat})
    result = what_if_outcome(X, churned, np.full(n, 100.0), target="churn", changes={"repeat_contacts": -0.1}).to_dict()
    p0, p1 = 1 / (1 + np.exp(2.5)), 1 / (1 + np.exp(1.5))
    truth = -0.1 * (p1 - p0) * 100
    assert result["delta"] == pytest.approx(truth, abs=0.4)
    assert result["low"] <= result["baseline"] + truth <= result["high"]
    assert result["value_delta"] > 0  # fewer churners keep revenue


def test_drop_off_lever_moves_the_rate_among_customers_who_reach_the_step() -> None:
    """Known answer: 60 % reach the step, 35 % of them drop off; converting follows a logistic
    model. Cutting the drop-off rate by 20 points flips 20/35 of the droppers."""
    rng = np.random.default_rng(5)
    n = 30000
    reached = rng.random(n) < 0.6
    dropped = (reached & (rng.random(n) < 0.35)).astype(float)
    visits = rng.poisson(2, n).astype(float)
    coef = np.array([-1.0, 1.5, -2.5, 0.2])  # intercept, reached, dropped, visits

    def prob(drop: np.ndarray) -> np.ndarray:
        return 1 / (1 + np.exp(-(coef[0] + coef[1] * reached + coef[2] * drop + coef[3] * visits)))

    converted = (rng.random(n) < prob(dropped)).astype(float)
    X = pd.DataFrame({"reached_step": reached.astype(float), "dropoff_step": dropped, "visits": visits})
    rate = dropped[reached].mean()
    share = 0.2 / rate  # of the droppers, this share no longer drops off
    truth = 100 * share * np.sum((prob(np.zeros(n)) - prob(dropped))[dropped == 1]) / n
    result = what_if_outcome(X, converted, np.full(n, 50.0), target="conversion", changes={"dropoff_step": -0.2},
                             reached={"dropoff_step": reached}).to_dict()
    assert result["delta"] == pytest.approx(truth, rel=0.1)
    assert result["low"] <= result["baseline"] + truth <= result["high"]
    assert result["value_delta"] == pytest.approx(50 * n * result["delta"] / 100, rel=1e-6)  # conversions gained
    assert "drop-off rate among customers who reach its step" in result["method"]


def test_changes_are_parsed_and_checked(survey_lens: JourneyLens) -> None:
    assert parse_changes(["sat_app=+0.5", "x=-1"]) == {"sat_app": 0.5, "x": -1.0}
    with pytest.raises(ParameterError):
        parse_changes(["sat_app+0.5"])
    with pytest.raises(UnknownNameError) as info:
        survey_lens.what_if(target="nps", changes={"sat_nothing": 1.0})
    assert "sat_app" in info.value.details["available"]
