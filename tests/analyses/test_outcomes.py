"""Conversion and churn per period of first event (hand-computed expectations)."""

from __future__ import annotations

import pyarrow as pa
import pytest

from journeylens.analyses.filters import Filters
from journeylens.analyses.outcomes import outcomes
from journeylens.analyses.stats import wilson_interval
from journeylens.errors import ParameterError
from journeylens.journeys.definition import parse_definition

DEFINITION = parse_definition("""
name: Bank
stages: [{name: Look}, {name: Open}, {name: Leave}]
touchpoints:
  - {name: Visit, stage: Look, channel: web}
  - {name: Approved, stage: Open, channel: email}
  - {name: Closed, stage: Leave, channel: post}
outcomes: {conversion: [Approved], churn: [Closed]}
""")

ROWS = [
    # January starters: a converts, b converts and closes, c only looks.
    {"customer_id": "a", "timestamp": "2024-01-03T10:00", "touchpoint": "Visit", "stage": "Look", "stage_order": 1},
    {"customer_id": "a", "timestamp": "2024-01-04T10:00", "touchpoint": "Approved", "stage": "Open", "stage_order": 2},
    {"customer_id": "b", "timestamp": "2024-01-10T10:00", "touchpoint": "Visit", "stage": "Look", "stage_order": 1},
    {"customer_id": "b", "timestamp": "2024-02-10T10:00", "touchpoint": "Approved", "stage": "Open", "stage_order": 2},
    {"customer_id": "b", "timestamp": "2024-03-01T10:00", "touchpoint": "Closed", "stage": "Leave", "stage_order": 3},
    {"customer_id": "c", "timestamp": "2024-01-20T10:00", "touchpoint": "Visit", "stage": "Look", "stage_order": 1},
    # February starter: d looks only; churned according to the customers table.
    {"customer_id": "d", "timestamp": "2024-02-02T10:00", "touchpoint": "Visit", "stage": "Look", "stage_order": 1,
     "channel": "web"},
]


def _churned_customer(wh, customer_id: str):  # type: ignore[no-untyped-def]
    schema = wh.schema("customers").to_pyarrow()
    row = {f.name: pa.array([{"customer_id": customer_id, "churned": True}.get(f.name)], type=f.type) for f in schema}
    wh.append("customers", pa.table(row, schema=schema))
    return wh.table("customers")


def test_outcomes_per_period_and_overall(wh, events_loader) -> None:  # type: ignore[no-untyped-def]
    events = events_loader(wh, ROWS)
    customers = _churned_customer(wh, "d")
    result = outcomes(events, definition=DEFINITION, customers=customers).to_dict()
    assert result["period"] == "month"
    jan, feb = result["periods"]
    assert (jan["period"], jan["customers"], jan["converted"], jan["churned"]) == ("2024-01", 3, 2, 1)
    assert (feb["period"], feb["customers"], feb["converted"], feb["churned"]) == ("2024-02", 1, 0, 1)
    assert jan["conversion"] == pytest.approx(2 / 3)
    low, high = wilson_interval(2, 3)
    assert (jan["conversion_low"], jan["conversion_high"]) == (pytest.approx(low), pytest.approx(high))
    overall = result["overall"]
    assert (overall["customers"], overall["converted"], overall["churned"]) == (4, 2, 2)
    change = {c["metric"]: c for c in result["latest_change"]}
    assert change["conversion"]["difference"] == pytest.approx(0 - 2 / 3)
    assert change["churn"]["base_period"] == "2024-01" and change["churn"]["current_period"] == "2024-02"


def test_outcomes_filters_and_weeks(duckdb_wh, events_loader) -> None:  # type: ignore[no-untyped-def]
    events = events_loader(duckdb_wh, ROWS)
    by_week = outcomes(events, definition=DEFINITION, period="week",
                       filters=Filters(start="2024-01-05")).to_dict()
    assert by_week["overall"]["customers"] == 3  # a's events before the start are filtered out: a starts later
    assert [p["period"] for p in by_week["periods"]][:1] == ["2024-01-08"]
    assert len(outcomes(events, definition=DEFINITION).to_frame()) == 2
    with pytest.raises(ParameterError, match="allowed: week, month"):
        outcomes(events, period="year")
