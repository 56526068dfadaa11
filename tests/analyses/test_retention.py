"""Retention and time-to-stage, with hand-computed expectations."""

from __future__ import annotations

from typing import Any

import pytest

from journeylens.analyses.retention import retention, time_to_stage
from journeylens.errors import ParameterError

# Weeks start on Monday; 2024-01-01 is a Monday. Last period with data: the week of 2024-02-05.
RETENTION_ROWS = [
    {"customer_id": "u1", "timestamp": "2024-01-01T10:00", "touchpoint": "open"},   # cohort wk Jan 1, k0
    {"customer_id": "u1", "timestamp": "2024-01-09T10:00", "touchpoint": "open"},   # k1
    {"customer_id": "u1", "timestamp": "2024-01-22T10:00", "touchpoint": "open"},   # k3
    {"customer_id": "u2", "timestamp": "2024-01-03T10:00", "touchpoint": "open"},   # cohort wk Jan 1
    {"customer_id": "u2", "timestamp": "2024-01-15T10:00", "touchpoint": "open"},   # k2
    {"customer_id": "u3", "timestamp": "2024-01-10T10:00", "touchpoint": "open"},   # cohort wk Jan 8
    {"customer_id": "u3", "timestamp": "2024-01-17T10:00", "touchpoint": "open"},   # k1
    {"customer_id": "u4", "timestamp": "2024-01-12T10:00", "touchpoint": "open"},   # cohort wk Jan 8
    {"customer_id": "u5", "timestamp": "2024-02-05T10:00", "touchpoint": "open"},   # cohort wk Feb 5 / Feb
]


def test_weekly_retention_table(duckdb_wh: Any, events_loader: Any) -> None:
    events = events_loader(duckdb_wh, RETENTION_ROWS)
    data = retention(events, period="week", periods=6).to_dict()
    assert data["period"] == "week" and data["periods"] == 6
    assert [(c["cohort"], c["customers"], c["active"]) for c in data["cohorts"]] == [
        ("2024-01-01", 2, [2, 1, 1, 1, 0, 0]),
        ("2024-01-08", 2, [2, 1, 0, 0, 0, None]),  # k5 = week of Feb 12: after the data ends
        ("2024-02-05", 1, [1, None, None, None, None, None]),
    ]
    assert data["cohorts"][0]["retention"][:3] == [1.0, 0.5, 0.5]
    assert data["cohorts"][1]["retention"][5] is None


def test_monthly_retention_and_pooled_proportions(duckdb_wh: Any, events_loader: Any) -> None:
    events = events_loader(duckdb_wh, RETENTION_ROWS)
    result = retention(events, period="month", periods=2)
    assert [(c["cohort"], c["active"]) for c in result.to_dict()["cohorts"]] == [
        ("2024-01-01", [4, 0]), ("2024-02-01", [1, None])]
    assert result.proportions() == {"retained_k1": (0, 4)}
    assert list(result.to_frame().columns) == ["cohort", "customers", "k0", "k1"]
    with pytest.raises(ParameterError, match="Unknown period 'day'"):
        retention(events, period="day")


def test_time_to_stage_all_pairs(shop: Any, shop_definition: Any) -> None:
    events, _ = shop
    rows = time_to_stage(events, definition=shop_definition).to_dict()
    assert [(r["from_stage"], r["to_stage"], r["n"]) for r in rows] == [
        ("Discover", "Buy", 3), ("Discover", "Use", 3), ("Buy", "Use", 2)]
    # Discover->Buy: c1 82800 s, c2 3600, c4 3600 (c5 reached Buy before Discover: not counted)
    assert rows[0] == {"from_stage": "Discover", "to_stage": "Buy", "n": 3, "mean_seconds": 30000.0,
                       "p25_seconds": 3600.0, "median_seconds": 3600.0, "p75_seconds": 43200.0,
                       "p90_seconds": 66960.0}
    assert (rows[1]["median_seconds"], rows[2]["mean_seconds"]) == (169200.0, 216000.0)


def test_time_to_stage_explicit_pair(shop: Any, shop_definition: Any) -> None:
    events, _ = shop
    rows = time_to_stage(events, definition=shop_definition, from_stage="Buy", to_stage="Discover").to_dict()
    assert [(r["n"], r["median_seconds"]) for r in rows] == [(1, 300.0)]  # c5: 10:00 -> 10:05
    with pytest.raises(ParameterError, match="Unknown stage 'Pay'"):
        time_to_stage(events, definition=shop_definition, to_stage="Pay")


def test_parity_duckdb_spark(wh: Any, shop_definition: Any, assert_parity: Any) -> None:
    data = assert_parity(wh, lambda events, customers: retention(events, period="week", periods=3))
    assert data["cohorts"][0]["customers"] == 4
    assert_parity(wh, lambda events, customers: time_to_stage(events, definition=shop_definition))
