"""NPS/CSAT what-if on journey levers, against simulated cases whose true answer is known."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import journeylens
from journeylens.errors import UnknownNameError
from journeylens.models.whatif import finish
from journeylens.models.whatif_journey import what_if_journey_scores
from journeylens.settings import Settings

CUTS = np.linspace(-2.0, 4.0, 10)  # scores 0..10


def _probs(eta: np.ndarray) -> np.ndarray:
    cdf = 1 / (1 + np.exp(-(CUTS[None, :] - eta[:, None])))
    return np.diff(np.column_stack([np.zeros(len(eta)), cdf, np.ones(len(eta))]), axis=1)


def _nps(eta: np.ndarray) -> float:
    p, scores = _probs(eta), np.arange(11)
    return float(100 * (p[:, scores >= 9].sum(axis=1) - p[:, scores <= 6].sum(axis=1)).mean())


def _scores(rng: np.random.Generator, eta: np.ndarray) -> np.ndarray:
    return np.searchsorted(CUTS, eta + rng.logistic(size=len(eta))).astype(float)


def test_share_lever_recovers_the_true_nps_change() -> None:
    """A 0/1 experience lowers the latent score by 1.5; 25 % have it. Ten points fewer customers
    with it move the NPS by exactly the share moved times each moved customer's change."""
    rng = np.random.default_rng(3)
    n = 12000
    switched = (rng.random(n) < 0.25).astype(float)
    visits = rng.poisson(3, n).astype(float)
    eta = 2.0 - 1.5 * switched + 0.1 * visits
    y = _scores(rng, eta)
    X = pd.DataFrame({"contact_switches_in_episode": switched, "episodes": visits})
    frac = 0.10 / switched.mean()
    truth = frac * (_nps((eta + 1.5 * switched)[switched == 1]) - _nps(eta[switched == 1])) * switched.mean()
    result = finish("nps", what_if_journey_scores(X, y, target="nps",
                                                  changes={"contact_switches_in_episode": -0.10})).to_dict()
    assert result["delta"] == pytest.approx(truth, abs=0.8)
    assert result["low"] <= result["baseline"] + truth <= result["high"]
    assert "journey drivers" in result["method"] and "share of customers" in result["method"]


def test_csat_lever_moves_only_customers_who_answered_and_stops_at_the_top() -> None:
    """CSAT at a touchpoint drives NPS among those who answered (40 %); +1 point is capped at 5,
    and the 60 % without an answer (median + missing indicator) do not move."""
    rng = np.random.default_rng(9)
    n = 12000
    answered = rng.random(n) < 0.4
    csat = np.where(answered, rng.integers(1, 6, n), np.nan)
    eta = 1.0 + np.where(answered, 0.6 * (np.nan_to_num(csat) - 3), 0.3)
    y = _scores(rng, eta)
    filled = np.where(answered, csat, np.nanmedian(csat))
    X = pd.DataFrame({"csat_app": filled, "csat_app_missing": (~answered).astype(float)})
    moved = np.where(answered, np.minimum(np.nan_to_num(csat) + 1, 5), 0)
    eta_new = np.where(answered, 1.0 + 0.6 * (moved - 3), eta)
    truth = _nps(eta_new) - _nps(eta)
    fit = what_if_journey_scores(X, y, target="nps", changes={"csat_app": 1.0}, movable={"csat_app": answered})
    result = finish("nps", fit).to_dict()
    assert result["delta"] == pytest.approx(truth, abs=1.0)
    assert result["low"] <= result["baseline"] + truth <= result["high"]
    # moving everyone (as if the gaps were answers) would claim more than the truth
    everyone = finish("nps", what_if_journey_scores(X, y, target="nps", changes={"csat_app": 1.0})).to_dict()
    assert everyone["delta"] > result["high"] - result["baseline"]


def test_csat_target_is_the_share_satisfied() -> None:
    rng = np.random.default_rng(4)
    n = 6000
    dropped = (rng.random(n) < 0.3).astype(float)
    y = np.clip(np.round(4.2 - 1.2 * dropped + rng.normal(0, 0.8, n)), 1, 5)
    X = pd.DataFrame({"dropoff_kyc": dropped})
    result = finish("csat", what_if_journey_scores(X, y, target="csat", changes={"dropoff_kyc": -0.1},
                                                   movable={"dropoff_kyc": np.ones(n, dtype=bool)})).to_dict()
    assert result["baseline"] == pytest.approx(100 * (y >= 4).mean(), abs=1.5)
    assert 0 < result["delta"] < 10 and result["low"] < result["predicted"] < result["high"]
    with pytest.raises(UnknownNameError):
        what_if_journey_scores(X, y, target="csat", changes={"dropoff_nothing": -0.1})


def test_lens_routes_journey_levers_for_nps(tmp_path: Path) -> None:
    """``what_if(target="nps")`` with a journey lever uses the customers' journeys and latest answers."""
    rng = np.random.default_rng(1)
    n = 900
    t0 = pd.Timestamp("2024-01-01", tz="UTC")
    switched = rng.random(n) < 0.3
    rows = [{"customer_id": f"c{i}", "timestamp": t0 + pd.Timedelta(days=1), "touchpoint": "Login", "channel": "app"}
            for i in range(n)]
    rows += [{"customer_id": f"c{i}", "timestamp": t0 + pd.Timedelta(days=int(d), minutes=m), "touchpoint": tp,
              "channel": ch} for i in np.flatnonzero(switched) for d, m, tp, ch in
             ((5, 0, "Help search", "web"), (5, 10, "Call", "call_centre"))]
    score = np.where(switched, rng.choice([2, 5, 7, 9], n), rng.choice([6, 8, 9, 10], n))
    path = str(tmp_path / "wh.duckdb")
    lens = journeylens.open(path, settings=Settings(warehouse=path, app_database_url=f"sqlite:///{tmp_path / 'a.db'}"))
    lens.ingest("events", pd.DataFrame(rows))
    lens.ingest("feedback", pd.DataFrame({"customer_id": [f"c{i}" for i in range(n)],
                                          "timestamp": t0 + pd.Timedelta(days=9), "nps": score}))
    result = lens.what_if(target="nps", changes={"contact_switches_in_episode": -0.1}).to_dict()
    assert "journey drivers" in result["method"] and result["delta"] > 0
    assert result["low"] <= result["predicted"] <= result["high"]
    lens.warehouse.close()
