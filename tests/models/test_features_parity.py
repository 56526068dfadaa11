"""Journey features are the same on every engine (DuckDB and Spark: the ``wh`` fixture), and
match a hand count."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import pytest
from tests.analyses.conftest import load_journey_events

from journeylens.models.features import FeatureSpec, journey_features
from journeylens.warehouse import Warehouse

ROWS = [
    {"customer_id": "a", "timestamp": "2024-01-01T10:00:00", "touchpoint": "Help", "channel": "web"},
    {"customer_id": "a", "timestamp": "2024-01-01T10:10:00", "touchpoint": "Call", "channel": "call_centre"},
    {"customer_id": "a", "timestamp": "2024-01-04T09:00:00", "touchpoint": "Call", "channel": "call_centre"},
    {"customer_id": "a", "timestamp": "2024-02-20T09:00:00", "touchpoint": "Call", "channel": "call_centre"},
    {"customer_id": "b", "timestamp": "2024-01-02T08:00:00", "touchpoint": "Login", "channel": "app"},
    {"customer_id": "b", "timestamp": "2024-01-30T08:00:00", "touchpoint": "Login", "channel": "app"},
    {"customer_id": "b", "timestamp": "2024-03-05T08:00:00", "touchpoint": "Call", "channel": "call_centre"},
]


@pytest.mark.parametrize("as_of", [None, datetime(2024, 3, 1, tzinfo=UTC)])
def test_journey_features_by_hand_on_every_engine(wh: Warehouse, as_of: datetime | None) -> None:
    events = load_journey_events(wh, ROWS)
    spec = FeatureSpec(as_of=as_of, repeat_window_days=7, touchpoints=("Call", "Login"), channels=("app",))
    got = journey_features(events, spec).to_pandas().set_index("customer_id").sort_index()
    a, b = got.loc["a"], got.loc["b"]
    assert a["events"] == 4 and a["channel_switches"] == 1 and a["repeat_contacts"] == 1  # 10:10 → 3 days later
    assert a["tp_call"] == 3 and a["ch_app"] == 0
    assert b["events"] == (2 if as_of else 3) and b["tp_login"] == 2 and b["repeat_contacts"] == 0
    reference = pd.Timestamp(as_of) if as_of else pd.Timestamp("2024-03-05T08:00:00", tz="UTC")
    assert a["recency_days"] == pytest.approx((reference - pd.Timestamp("2024-02-20T09:00:00", tz="UTC")).total_seconds() / 86400)
    assert a["tenure_days"] == pytest.approx((reference - pd.Timestamp("2024-01-01T10:00:00", tz="UTC")).total_seconds() / 86400)
