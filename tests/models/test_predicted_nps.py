"""Predicted NPS for non-respondents: validated on held-out respondents of a simulated base."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import journeylens
from journeylens.settings import Settings
from journeylens.surfaces.cli.main import app as cli


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
    assert validation["gain_low"] > 0 and result.params["informative"] is True
    assert result.params["verdict"].startswith("The journeys tell")
    true_nps = 100 * ((score >= 9).mean() - (score <= 6).mean())
    assert data["predicted_low"] <= true_nps <= data["predicted_high"]
    assert data["predicted_nps"] > data["surveyed_nps"] + 10
    assert len(data["customers"]) == n - answers.sum()
    assert set(data["customers"][0]) == {"customer_id", "p_promoter", "p_detractor"}
    assert 0 <= data["customers"][0]["p_promoter"] <= 1
    assert data["customers"][0]["p_promoter"] + data["customers"][0]["p_detractor"] <= 1 + 1e-9


def test_as_of_learns_from_before_and_is_validated_on_answers_after(tmp_path: Path) -> None:
    """Complaints (an event) make detractors. Answers before the cut-off train the model; the
    answers after it, which it never saw, validate it; an event after the cut-off never counts."""
    rng = np.random.default_rng(8)
    n = 1500
    t0 = pd.Timestamp("2024-01-01", tz="UTC")
    complained = rng.random(n) < 0.4
    rows = [{"customer_id": f"c{i}", "timestamp": t0 + pd.Timedelta(days=int(d)), "touchpoint": "Login",
             "channel": "app"} for i in range(n) for d in (0, 10)]
    rows += [{"customer_id": f"c{i}", "timestamp": t0 + pd.Timedelta(days=20), "touchpoint": "Complaint",
              "channel": "call_centre"} for i in np.flatnonzero(complained)]
    # after the cut-off everybody complains: a leak would make the complaint useless
    rows += [{"customer_id": f"c{i}", "timestamp": t0 + pd.Timedelta(days=200), "touchpoint": "Complaint",
              "channel": "call_centre"} for i in range(n)]
    score = np.where(complained, rng.choice([1, 4, 6, 8], n), rng.choice([7, 9, 10, 10], n))
    day = np.where(rng.random(n) < 0.5, 120, 220)  # half answer before the cut-off (day 180), half after
    answers = rng.random(n) < 0.7
    feedback = pd.DataFrame({"customer_id": [f"c{i}" for i in np.flatnonzero(answers)],
                             "timestamp": [t0 + pd.Timedelta(days=int(d)) for d in day[answers]],
                             "nps": score[answers]})
    path = str(tmp_path / "wh.duckdb")
    lens = journeylens.open(path, settings=Settings(warehouse=path, app_database_url=f"sqlite:///{tmp_path / 'a.db'}"))
    lens.ingest("events", pd.DataFrame(rows))
    lens.ingest("feedback", feedback)
    as_of = (t0 + pd.Timedelta(days=180)).to_pydatetime()
    result = lens.predict_nps(as_of=as_of, horizon_days=90)
    validation = result.params["validation"]
    later = answers & (day == 220)
    assert validation["held_out_respondents"] == later.sum()
    assert validation["split"].startswith("time:")
    assert validation["log_loss"] < validation["baseline_log_loss"] - 0.05
    assert validation["predicted_nps_held_out"] == pytest.approx(
        100 * ((score[later] >= 9).mean() - (score[later] <= 6).mean()), abs=8)
    assert result.params["respondents"] == (answers & (day == 120)).sum()
    out = CliRunner().invoke(cli, ["--warehouse", path, "predict", "nps", "--as-of", "2024-06-29",
                                   "--horizon-days", "90", "--json"])
    assert out.exit_code == 0, out.output
    assert list(json.loads(out.output)) == ["surveyed_nps", "predicted_nps", "predicted_low", "predicted_high",
                                            "customers"]


def test_without_signal_the_result_says_it_is_not_informative(tmp_path: Path) -> None:
    """Scores drawn independently of everything the model sees: on the time-split hold-out it
    cannot beat the class shares, and the result (and the CLI) say so in words."""
    rng = np.random.default_rng(21)
    n = 1600
    t0 = pd.Timestamp("2024-01-01", tz="UTC")
    visits = rng.poisson(3, n) + 1
    rows = [{"customer_id": f"c{i}", "timestamp": t0 + pd.Timedelta(days=int(d)), "touchpoint": tp,
             "channel": "app" if tp == "Login" else "call_centre"}
            for i in range(n) for d, tp in zip(rng.integers(0, 300, visits[i]),
                                               rng.choice(["Login", "Login", "Call"], visits[i]), strict=True)]
    answers = rng.random(n) < 0.6
    feedback = pd.DataFrame({"customer_id": [f"c{i}" for i in np.flatnonzero(answers)],
                             "timestamp": [t0 + pd.Timedelta(days=int(d)) for d in rng.integers(100, 300, answers.sum())],
                             "nps": rng.choice([3, 6, 7, 8, 9, 10], answers.sum())})
    path = str(tmp_path / "wh.duckdb")
    lens = journeylens.open(path, settings=Settings(warehouse=path, app_database_url=f"sqlite:///{tmp_path / 'a.db'}"))
    lens.ingest("events", pd.DataFrame(rows))
    lens.ingest("feedback", feedback)
    result = lens.predict_nps()
    validation = result.params["validation"]
    assert validation["split"].startswith("time:")
    assert validation["gain_low"] <= 0 and result.params["informative"] is False
    assert result.params["verdict"].startswith("Not informative") and "class shares" in result.params["verdict"]
    assert result.validation()["informative"] is False
    out = CliRunner().invoke(cli, ["--warehouse", path, "predict", "nps"], terminal_width=400)
    assert out.exit_code == 0, out.output
    assert "Not informative" in out.output
    lens.warehouse.close()
