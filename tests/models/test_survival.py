"""Survival by segment: the segment that churns faster has the shorter expected time."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

import journeylens
from journeylens.settings import Settings


def test_survival_by_segment(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    n = 400
    t0 = pd.Timestamp("2024-01-01", tz="UTC")
    segment = np.where(np.arange(n) < n // 2, "fast", "slow")
    life = rng.exponential(np.where(segment == "fast", 60, 400))
    churned = life < 300
    events = pd.DataFrame({"customer_id": [f"c{i}" for i in range(n)], "timestamp": t0, "touchpoint": "Open"})
    tail = pd.DataFrame({"customer_id": ["c0"], "timestamp": [t0 + pd.Timedelta(days=300)], "touchpoint": ["Open"]})
    customers = pd.DataFrame({"customer_id": [f"c{i}" for i in range(n)], "segment": segment, "churned": churned,
                              "churn_date": [t0 + pd.Timedelta(days=float(d)) if c else pd.NaT
                                             for d, c in zip(life, churned, strict=True)]})
    path = str(tmp_path / "wh.duckdb")
    lens = journeylens.open(path, settings=Settings(warehouse=path))
    lens.ingest("events", pd.concat([events, tail]))
    lens.ingest("customers", customers)
    rows = {r["segment"]: r for r in lens.survival(by="segment", horizon_days=200).to_dict()}
    assert rows["fast"]["expected_days"] < rows["slow"]["expected_days"]
    assert abs(rows["fast"]["churn_by_horizon"] - (1 - np.exp(-200 / 60))) < 0.1
    assert rows["fast"]["median_days"] is not None and 30 < rows["fast"]["median_days"] < 60
    assert rows["fast"]["curve"][0] == [0.0, 1.0]
