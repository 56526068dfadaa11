"""Departures on a tiny hand-made bank: who takes part, the counts, the test, BH — on DuckDB and Spark."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
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


def test_drop_offs_stages_and_tickets(wh: Warehouse) -> None:
    events = load_journey_events(wh, _rows())
    feedback = load_table(wh, "feedback", [
        {"customer_id": "c00", "timestamp": T0 + timedelta(days=161), "touchpoint": "Call", "nps": 2},
        {"customer_id": "c01", "timestamp": T0 + timedelta(days=161), "touchpoint": "Call", "nps": 3},
        *({"customer_id": f"c{20 + i}", "timestamp": T0 + timedelta(days=151), "touchpoint": "Login", "nps": n,
           "csat": 5 if i else 2} for i, n in enumerate([9, 9, 10, 10, 6])),
        {"customer_id": "c29", "timestamp": T0 + timedelta(days=221), "touchpoint": "Login", "nps": 0}])  # after ref
    tickets = pd.DataFrame({
        "customer_id": ["c00", "c01", "c02", "c03", "c04", "c20", "nobody"],
        "touchpoint": ["Call"] * 5 + ["Login", "Call"],
        "created_at": [T0 + timedelta(days=165)] * 5 + [T0 + timedelta(days=100), T0],
        "hours_to_close": [10.0, 20.0, 30.0, None, None, 4.0, 1.0],
        "open": [False, False, False, True, True, False, False],
        "breached": [True, True, False, False, False, False, False], "root_cause": [None] * 7})
    out = departures(events, feedback, definition=JOURNEY, window_days=90, min_customers=3, tickets=tickets).to_dict()
    rows = {r["feature"]: r for r in out["differences"]}
    # The last step of the window: every leaver's was a call (the closure request is the departure stage);
    # stayers' windows end before the data's last event: c10, c15, c20, c25 last called (day 200), the rest logged in.
    dropped = rows["dropped off at: Call"]
    assert (dropped["left"], dropped["stayed"], dropped["customers_left"]) == (1.0, 0.2, 10) and dropped["significant"]
    assert dropped["ratio"] == pytest.approx(5.0)
    assert rows["dropped off at: Login"]["stayed"] == pytest.approx(0.8) and rows["dropped off at: Login"]["left"] == 0.0
    assert rows["dropped off in: use"]["ratio"] == pytest.approx(1.0)
    assert {r["feature"] for r in out["drop_offs"]} == {"dropped off at: Call", "dropped off at: Login",
                                                        "dropped off in: use"}
    assert "dropped off at 'Call'" in dropped["sentence"]
    # Tickets in the window: five leavers had one each, no stayer (c20's was before the window).
    opened = rows["tickets: opened"]
    assert (opened["left"], opened["stayed"]) == (0.5, 0.0)
    assert "tickets: SLA missed" not in rows  # two customers only, below min_customers
    groups = {g["group"]: g for g in out["tickets"]["groups"]}
    assert out["tickets"]["available"] and out["tickets"]["note"] is None
    assert groups["left"]["tickets"] == 5 and groups["left"]["customers_with_ticket_share"] == 0.5
    assert groups["left"]["median_hours_to_close"] == 20.0 and groups["left"]["sla_breached_share"] == 0.4
    assert groups["stayed"]["tickets"] == 1 and groups["stayed"]["customers_with_ticket_share"] == 1 / 20
    assert {(r["stage"], r["group"]): r["tickets"] for r in out["tickets"]["stages"]} == {("use", "left"): 5,
                                                                                        ("use", "stayed"): 1}
    # Stages over the whole relationship, with the CX metrics answered at their touchpoints.
    stages = {(r["stage"], r["group"]): r for r in out["stages"]}
    assert stages[("join", "left")]["share"] == 1.0 and stages[("use", "stayed")]["customers"] == 20
    assert stages[("use", "stayed")]["nps_responses"] == 5 and stages[("use", "stayed")]["nps"] == pytest.approx(60.0)
    assert stages[("use", "stayed")]["csat"] == pytest.approx(0.8)
    assert stages[("use", "left")]["nps_responses"] == 2 and stages[("use", "left")]["nps"] is None  # below 5
    assert stages[("leave", "stayed")]["customers"] == 0 and stages[("leave", "left")]["customers"] == 10


def test_without_an_app_database_the_tickets_section_says_so(duckdb_wh: Warehouse) -> None:
    events = load_journey_events(duckdb_wh, _rows())
    out = departures(events, duckdb_wh.table("feedback"), definition=JOURNEY, min_customers=3,
                     tickets_note="No app database at x.db: tickets are not part of this view.").to_dict()
    assert out["tickets"] == {"available": False, "note": "No app database at x.db: tickets are not part of this view.",
                              "groups": [], "stages": []}
    assert not any(r["feature"].startswith("tickets") for r in out["differences"])
