"""BG/NBD and Gamma-Gamma against the published CDNOW parameters; the backtest on CDNOW."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

import journeylens
from journeylens.errors import UnknownNameError
from journeylens.models.btyd import BetaGeoModel, GammaGammaModel
from journeylens.settings import Settings

DATA = Path(__file__).parents[1] / "data"


def test_bgnbd_matches_published_cdnow_parameters() -> None:
    d = pd.read_csv(DATA / "cdnow_customers_summary.csv")
    model = BetaGeoModel().fit(d["frequency"], d["recency"], d["T"])
    # Fader, Hardie and Lee (2005): r = 0.243, alpha = 4.414, a = 0.793, b = 2.426
    assert model.params_ == pytest.approx([0.243, 4.414, 0.793, 2.426], abs=2e-3)
    # their Figure 3: about 1,5xx repeat purchases in the 39-week holdout are forecast for the cohort
    assert 1300 < model.expected_purchases(39, d["frequency"], d["recency"], d["T"]).sum() < 1800


def test_gamma_gamma_matches_published_cdnow_parameters() -> None:
    d = pd.read_csv(DATA / "cdnow_customers_summary_with_transactions.csv")
    model = GammaGammaModel().fit(d["x"], d["zbar"])
    # Fader, Hardie and Lee (2005, "RFM and CLV"): p = 6.25, q = 3.74, gamma = 15.44
    assert model.params_ == pytest.approx([6.25, 3.74, 15.44], abs=0.02)


@pytest.fixture
def cdnow_lens(tmp_path: Path):  # type: ignore[no-untyped-def]
    raw = pd.read_csv(DATA / "cdnow_sample.txt.gz", sep=r"\s+", header=None,
                      names=["id", "id2", "date", "qty", "amount"], dtype={"id": str, "date": str})
    events = pd.DataFrame({"customer_id": raw["id"], "timestamp": pd.to_datetime(raw["date"], format="%Y%m%d", utc=True),
                           "touchpoint": "purchase", "amount": raw["amount"]})
    path = str(tmp_path / "wh.duckdb")
    lens = journeylens.open(path, settings=Settings(warehouse=path))
    lens.ingest("events", events)
    return lens


def test_cdnow_backtest_beats_the_past_rate_baseline(cdnow_lens) -> None:  # type: ignore[no-untyped-def]
    result = cdnow_lens.predict_purchases("purchase", value_property="amount",
                                          as_of=datetime(1997, 10, 1, tzinfo=UTC), horizon_days=273,
                                          backtest=True).to_dict()
    assert result["customers"] == 2357
    assert result["model"]["mae"] < result["baseline_scores"]["mae"]
    assert result["model"]["total_predicted"] == pytest.approx(result["actual_total"], rel=0.25)


def test_forecast_rows_and_unknown_touchpoint(cdnow_lens) -> None:  # type: ignore[no-untyped-def]
    rows = cdnow_lens.predict_purchases("purchase", value_property="amount", horizon_days=90).to_dict()
    assert set(rows[0]) == {"customer_id", "expected_purchases", "p_alive", "expected_value"}
    assert all(0 <= r["p_alive"] <= 1 for r in rows)
    assert rows[0]["expected_value"] > 0
    with pytest.raises(UnknownNameError, match="purchase"):
        cdnow_lens.predict_purchases("buy")


def test_no_dropout_fit_gives_the_nbd_limit() -> None:
    import numpy as np

    rng = np.random.default_rng(0)
    n, horizon = 500, 300.0
    rate = rng.gamma(2.0, 0.05, n)  # purchases per day, nobody drops out
    first = rng.uniform(0, 100, n)
    times = [np.sort(f + rng.uniform(0, horizon - f, rng.poisson(lam * (horizon - f)) + 1)) for f, lam in zip(first, rate, strict=True)]
    frequency = np.array([len(t) - 1 for t in times], dtype=float)
    recency = np.array([t[-1] - t[0] for t in times])
    T = np.array([horizon - t[0] for t in times])
    model = BetaGeoModel().fit(frequency, recency, T)
    expected = model.expected_purchases(30, frequency, recency, T)
    assert np.isfinite(expected).all()
    assert expected.sum() == pytest.approx((rate * 30).sum(), rel=0.2)
