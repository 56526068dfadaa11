"""Departures on a tiny hand-made bank: who takes part, the counts, the test, BH — on DuckDB and Spark."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from tests.analyses.conftest import load_journey_events, load_table

from journeylens.analyses.cx.departures import departures
from journeylens.errors import ParameterError
from journeylens.journeys.definition import parse_definition
from journeylens.warehouse import Warehouse

JOURNEY = parse_definition("""
name: Bank
stages: [{name: join}, {name: use}, {name: leave}]
touchpoints:
  - {name: Open, stage: join, channel: web}
  - {name: Login, stage: use, channel: app}
  - {name: Call, stage: use, channel: call_centre}
  - {name: Close request, stage: leave, channel: call_centre}
  - {name: Closed, stage: leave, channel: post}
outcomes: {conversion: [Open], churn: [Closed]}
""")
T0 = datetime(2024, 1, 1, tzinfo=UTC)


def _rows() -> list[dict[str, Any]]:
    rows = []

    def add(c: str, day: int, tp: str, stage: str, channel: str) -> None:
        rows.append({"customer_id": c, "timestamp": T0 + timedelta(days=day), "touchpoint": tp, "stage": stage,
                     "channel": channel})

    for i in range(30):
        c = f"c{i:02d}"
        leaves = i < 10
        add(c, 0, "Open", "join", "web")
        add(c, 150, "Login", "use", "app")
        if leaves:  # two calls then a closure request (same stage as the churn outcome: ignored)
            add(c, 160, "Call", "use", "call_centre")
            add(c, 170, "Call", "use", "call_centre")
            add(c, 175, "Close request", "leave", "call_centre")
            add(c, 180, "Closed", "leave", "post")
        elif i % 5 == 0:
            add(c, 200, "Call", "use", "call_centre")
        add(c, 220 if not leaves else 100, "Login", "use", "app")
    add("late", 150, "Open", "join", "web")  # a customer for 70 days only: not in a 90-day comparison
    add("late", 219, "Login", "use", "app")
    return rows


def test_departures_by_hand(wh: Warehouse) -> None:
    events = load_journey_events(wh, _rows())
    feedback = load_table(wh, "feedback", [
        {"customer_id": "c00", "timestamp": T0 + timedelta(days=175), "comment": "Leaving because of the fees", "nps": 2},
        {"customer_id": "c01", "timestamp": T0 + timedelta(days=176), "comment": "fees too high", "nps": 3},
        {"customer_id": "c20", "timestamp": T0 + timedelta(days=210), "comment": "all good", "nps": 9},
        *({"customer_id": f"c0{i}", "timestamp": T0 + timedelta(days=181), "survey": "exit",
           "properties": json.dumps({"source": "journeylens-survey", "survey_kind": "exit", "reason": r})}
          for i, r in enumerate(["fees", "fees", "service"]))])
    result = departures(events, feedback, definition=JOURNEY, window_days=90, min_customers=3)
    out = result.to_dict()
    assert (out["customers_left"], out["customers_stayed"]) == (10, 20)
    rows = {r["feature"]: r for r in out["differences"]}
    calls = rows["channel: call_centre"]
    # leavers: 2 calls each in their last 90 days; stayers: c20, c25 one call each (4 of 20 → 0.2)
    assert calls["left"] == pytest.approx(2.0) and calls["stayed"] == pytest.approx(4 / 20)
    assert calls["ratio"] == pytest.approx(10.0) and calls["significant"]
    assert "pattern: Call → Login" not in rows  # a pattern needs two different consecutive touchpoints in the window
    assert "touchpoint: Close request" not in rows  # the departure stage is left out
    assert out["headlines"][0] == "Customers who left had 10.0× as many call centre contacts in their last 90 days."
    assert out["reasons"]["comments"][0]["customers"] == 1
    assert out["reasons"]["exit_survey"] == [{"reason": "fees", "answers": 2, "share": 2 / 3},
                                             {"reason": "service", "answers": 1, "share": 1 / 3}]
    assert {w["word"] for w in out["reasons"]["words"]} <= {"fees", "leaving", "because", "too", "high"}


def test_departures_need_both_groups(duckdb_wh: Warehouse) -> None:
    events = load_journey_events(duckdb_wh, [r for r in _rows() if r["customer_id"] >= "c10"])
    feedback = duckdb_wh.table("feedback")
    with pytest.raises(ParameterError, match="left and who stayed"):
        departures(events, feedback, definition=JOURNEY)
    with pytest.raises(ParameterError, match="window_days"):
        departures(events, feedback, definition=JOURNEY, window_days=0)
