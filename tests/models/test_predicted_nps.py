"""Predicted NPS for non-respondents: validated on held-out respondents of a simulated base."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

import journeylens
from journeylens.settings import Settings


def test_predicted_nps_finds_the_journey_signal_and_the_non_response_gap(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    n = 1200
    complained = rng.random(n) < 0.4
    t0 = pd.Timestamp("2024-01-01", tz="UTC")
    rows = [{"customer_id": f"c{i}", "timestamp": t0 + pd.Timedelta(days=int(d)), "touchpoint": "Login", "channel": "app"}
            for i in range(n) for d in range(2)]
    rows += [{"customer_id": f"c{i}", "timestamp": t0 + pd.Timedelta(days=3), "touchpoint": "Complaint",
              "channel": "call_centre"} for i in np.flatnonzero(complained)]
    # complainers answer more often and are mostly detractors: the surveyed NPS is too low
    answers = rng.random(n) < np.where(complained, 0.6, 0.2)
    score = np.where(complained, rng.choice([2, 5, 8], n), rng.choice([7, 9, 10], n))
    feedback = pd.DataFrame({"customer_id": [f"c{i}" for i in np.flatnonzero(answers)],
                             "timestamp": t0 + pd.Timedelta(days=5), "nps": score[answers]})
    path = str(tmp_path / "wh.duckdb")
    lens = journeylens.open(path, settings=Settings(warehouse=path))
    lens.ingest("events", pd.DataFrame(rows))
    lens.ingest("feedback", feedback)
    result = lens.predict_nps()
    data, validation = result.to_dict(), result.params["validation"]
    assert list(data) == ["surveyed_nps", "predicted_nps", "predicted_low", "predicted_high", "customers"]
    assert validation["log_loss"] < validation["baseline_log_loss"]
    true_nps = 100 * ((score >= 9).mean() - (score <= 6).mean())
    assert data["predicted_low"] <= true_nps <= data["predicted_high"]
    assert data["predicted_nps"] > data["surveyed_nps"] + 10
    assert len(data["customers"]) == n - answers.sum()
    assert set(data["customers"][0]) == {"customer_id", "p_promoter", "p_detractor"}
    assert 0 <= data["customers"][0]["p_promoter"] <= 1
    assert data["customers"][0]["p_promoter"] + data["customers"][0]["p_detractor"] <= 1 + 1e-9
