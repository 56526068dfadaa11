"""Small warehouses for the model tests (relationship-survey ratings; a customers table alone)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import journeylens
from journeylens import JourneyLens
from journeylens.settings import Settings

DATA = Path(__file__).parents[1] / "data"


def survey_frame(n: int = 1500, seed: int = 1) -> pd.DataFrame:
    """A relationship survey: sat_app drives NPS three times as much as sat_branch; sat_fees does not."""
    rng = np.random.default_rng(seed)
    app, branch, fees = (rng.integers(1, 6, n) for _ in range(3))
    nps = np.clip(np.round(1.5 * app + 0.5 * branch - 1 + rng.normal(0, 1.2, n)), 0, 10).astype(int)
    return pd.DataFrame({
        "response_id": [f"r{i}" for i in range(n)], "customer_id": [f"c{i}" for i in range(n)],
        "timestamp": pd.Timestamp("2024-03-01", tz="UTC") + pd.to_timedelta(np.arange(n), unit="h"),
        "survey": "Relationship NPS", "nps": nps,
        "sat_app": app, "sat_branch": branch, "sat_fees": fees,
    })


@pytest.fixture
def survey_lens(tmp_path: Path) -> Iterator[JourneyLens]:
    path = str(tmp_path / "wh.duckdb")
    lens = journeylens.open(path, settings=Settings(warehouse=path))
    lens.ingest("feedback", survey_frame())
    yield lens
    lens.warehouse.close()


@pytest.fixture
def telco_train() -> pd.DataFrame:
    frame = pd.read_csv(DATA / "telco_churn_train.csv.gz")
    return frame.rename(columns={"customerid": "customer_id", "churn": "churned"})


def dumps(payload: object) -> str:
    return json.dumps(payload)
