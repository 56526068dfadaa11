"""Churn from a customers table alone, boolean spellings, errors; the real Telco data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import journeylens
from journeylens.errors import DegenerateDataError, ParameterError
from journeylens.settings import Settings


def _lens(tmp_path: Path, customers: pd.DataFrame):  # type: ignore[no-untyped-def]
    path = str(tmp_path / "wh.duckdb")
    lens = journeylens.open(path, settings=Settings(warehouse=path))
    summary = lens.ingest("customers", customers)
    assert summary.quarantined == 0
    return lens


def _snapshot(n: int = 400, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    monthly = rng.random(n) < 0.5
    complaints = rng.poisson(1.0, n)
    risk = 1 / (1 + np.exp(-(-2 + 2.0 * monthly + 0.8 * complaints)))
    churned = rng.random(n) < risk
    spellings = np.array(["yes", "Y", "TRUE", "1"]), np.array(["no", "n", "False", "0"])
    flag = np.where(churned, rng.choice(spellings[0], n), rng.choice(spellings[1], n)).astype(object)
    flag[:20] = None  # outcome unknown: these get predictions from the model
    tenure = rng.integers(1, 60, n).astype(object)
    tenure[::17] = ""  # blank numeric attribute: a null, not a quarantined row
    return pd.DataFrame({"customer_id": [f"c{i}" for i in range(n)], "churned": flag, "value": 100.0,
                         "contract": np.where(monthly, "Month-to-month", "One year"),
                         "complaints": complaints, "paperless": rng.choice(["Yes", "No"], n), "tenure": tenure})


def test_customers_table_alone_predicts_with_reasons(tmp_path: Path) -> None:
    lens = _lens(tmp_path, _snapshot())
    result = lens.predict_churn()
    rows = result.to_dict()
    assert result.params["input"] == "customers table only"
    assert result.params["features"] == ["customer attributes"]
    ids = {r["customer_id"] for r in rows}
    assert {f"c{i}" for i in range(20)} <= ids  # the unknown outcomes are scored
    row = rows[0]
    assert set(row) == {"customer_id", "churn_probability", "value_at_risk", "reasons"}
    assert 0 <= row["churn_probability"] <= 1
    assert row["value_at_risk"] == pytest.approx(100 * row["churn_probability"])
    assert set(row["reasons"][0]) == {"feature", "value", "effect", "sentence"}
    features = {reason["feature"] for r in rows for reason in r["reasons"]}
    assert "contract=Month-to-month" in features and "complaints" in features
    assert "tenure" in result.params["attributes"] and "paperless" in result.params["attributes"]


def test_snapshot_backtest_and_as_of_error(tmp_path: Path) -> None:
    lens = _lens(tmp_path, _snapshot(800))
    result = lens.predict_churn(backtest=True)
    rows, scores = result.to_dict(), result.scores()
    assert set(rows[0]) == {"customer_id", "churn_probability", "value_at_risk", "reasons"}
    assert len(rows) == scores["model_scores"]["n"]  # the held-out quarter's predictions
    assert "no dates" in scores["split"]
    assert scores["model_scores"]["roc_auc"] > 0.7
    with pytest.raises(ParameterError, match="dated data"):
        lens.predict_churn(as_of=pd.Timestamp("2024-01-01", tz="UTC").to_pydatetime())


def test_single_class_is_named(tmp_path: Path) -> None:
    frame = _snapshot(100)
    frame["churned"] = "no"
    with pytest.raises(DegenerateDataError, match="single class"):
        _lens(tmp_path, frame).predict_churn()


def test_real_telco_snapshot_backtest_beats_numeric_baseline(tmp_path: Path, telco_train: pd.DataFrame) -> None:
    scores = _lens(tmp_path, telco_train).predict_churn(backtest=True).scores()
    assert scores["model_scores"]["roc_auc"] > 0.8
    assert scores["model_scores"]["roc_auc"] > scores["baseline_scores"]["roc_auc"]
