"""Churn on dated journeys: the backtest keeps the CLI contract (a prediction list), the scores
are reachable, and the same data gives the same model whatever order its rows arrived in."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
from fastapi.testclient import TestClient
from typer.testing import CliRunner

import journeylens
from journeylens.operations.appdb import AppDatabase
from journeylens.operations.keys import create_key
from journeylens.settings import Settings
from journeylens.surfaces.api.app import create_app
from journeylens.surfaces.cli.main import app as cli

START = datetime(2024, 1, 1, tzinfo=UTC)
ROW_KEYS = ["customer_id", "churn_probability", "value_at_risk", "reasons"]


def dated_frames(n: int = 3000, seed: int = 3) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Customers with a year of events; repeat call-centre contacts raise the churn risk."""
    rng = np.random.default_rng(seed)
    ids = np.array([f"c{i:05d}" for i in range(n)])
    calls = rng.poisson(0.8, n)
    churned = rng.random(n) < 1 / (1 + np.exp(-(-2.2 + 0.9 * calls)))
    churn_day = rng.integers(120, 365, n)
    rows = []
    for i, cid in enumerate(ids):
        last = churn_day[i] if churned[i] else 365
        for day in sorted(rng.integers(0, last, rng.integers(3, 12))):
            rows.append((cid, START + pd.Timedelta(days=int(day), hours=int(rng.integers(0, 24))), "Login", "app"))
        first_call = int(rng.integers(0, max(1, last - 10)))
        for k in range(calls[i]):
            rows.append((cid, START + pd.Timedelta(days=first_call + 2 * k, hours=9), "Call", "call_centre"))
    events = pd.DataFrame(rows, columns=["customer_id", "timestamp", "touchpoint", "channel"])
    events = events[events["timestamp"] < START + pd.Timedelta(days=365)]
    customers = pd.DataFrame({"customer_id": ids, "segment": rng.choice(["mass", "premium"], n),
                              "value": np.round(rng.lognormal(5, 0.4, n), 2),
                              "churn_date": (pd.Timestamp(START) + pd.to_timedelta(churn_day, unit="D")).where(churned)})
    return customers, events


def _warehouse(root: Path, customers: pd.DataFrame, events: pd.DataFrame) -> str:
    path = str(root / "wh.duckdb")
    lens = journeylens.open(path, settings=Settings(warehouse=path, app_database_url=f"sqlite:///{root / 'app.db'}"))
    lens.ingest("customers", customers)
    lens.ingest("events", events)
    lens.warehouse.close()
    return path


def test_backtest_json_is_the_prediction_list_and_scores_are_reachable(tmp_path: Path) -> None:
    path = _warehouse(tmp_path, *dated_frames())
    args = ["--warehouse", path, "predict", "churn", "--as-of", "2024-09-01", "--backtest", "--json"]
    out = CliRunner().invoke(cli, args)
    assert out.exit_code == 0, out.output
    rows = json.loads(out.output)
    assert isinstance(rows, list) and list(rows[0]) == ROW_KEYS
    assert all(list(r["reasons"][0]) == ["feature", "value", "effect", "sentence"] for r in rows if r["reasons"])
    out = CliRunner().invoke(cli, [*args, "--scores"])
    scores = json.loads(out.output)
    assert scores["model_scores"]["n"] == len(rows)
    assert scores["model_scores"]["roc_auc"] > scores["baseline_scores"]["roc_auc"]  # calls carry the signal
    assert scores["split"].startswith("time:")
    out = CliRunner().invoke(cli, ["--warehouse", path, "predict", "churn", "--scores", "--json"])
    assert out.exit_code == 2 and json.loads(out.output)["error"]["code"] == "invalid_parameter"


def test_backtest_over_http(tmp_path: Path) -> None:
    path = _warehouse(tmp_path, *dated_frames(1500))
    settings = Settings(warehouse=path, app_database_url=f"sqlite:///{tmp_path / 'app.db'}")
    db = AppDatabase(settings.app_database_url)
    with db.session() as session:
        _, key = create_key(session, "read", ["read"])
    auth = {"Authorization": f"Bearer {key}"}
    lens = journeylens.open(path, settings=settings)
    with TestClient(create_app(settings, lens=lens, appdb=db)) as client:
        rows = client.get("/v1/predict/churn", params={"as_of": "2024-09-01", "backtest": True}, headers=auth).json()
        scores = client.get("/v1/predict/churn/backtest", params={"as_of": "2024-09-01"}, headers=auth).json()
    lens.warehouse.close()
    assert list(rows[0]) == ROW_KEYS
    assert scores["model_scores"]["n"] == len(rows) and "baseline_scores" in scores


def test_same_data_in_another_order_gives_the_same_predictions(tmp_path: Path) -> None:
    customers, events = dated_frames(2500)
    first = journeylens.open(_warehouse(tmp_path / "a", customers, events))
    (tmp_path / "b").mkdir()
    shuffled = journeylens.open(_warehouse(tmp_path / "b", customers.sample(frac=1, random_state=1),
                                           events.sample(frac=1, random_state=2)))
    runs = [first.predict_churn(), first.predict_churn(), shuffled.predict_churn()]
    assert runs[0].params["model"] == "lightgbm" or runs[0].params["model"] == "logistic"
    totals = [sum(r["value_at_risk"] or 0.0 for r in run.to_dict()) for run in runs]
    assert totals[0] == totals[1] == totals[2]
    assert runs[0].to_dict() == runs[2].to_dict()
