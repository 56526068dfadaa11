"""Targets from the journey definition, and feedback attached to journeys."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa
import pytest

from journeylens.analyses.feedback_links import feedback_links, link_feedback, touchpoint_scores
from journeylens.analyses.metrics import cx_metrics
from journeylens.analyses.targets import TargetBook, target_status
from journeylens.journeys.definition import parse_definition
from journeylens.warehouse import Warehouse
from journeylens.warehouse.schema import FEEDBACK, JOURNEY_EVENTS, JOURNEY_EVENTS_SCHEMA

DEFINITION = parse_definition("""
name: Shop
stages:
  - {name: Explore}
  - {name: Purchase, targets: {nps: 0, csat: 0.5}}
touchpoints:
  - {name: browse, stage: Explore, channel: web}
  - {name: checkout, stage: Purchase, channel: web, targets: {csat: 0.9, ces: 5.5}}
  - {name: delivery, stage: Purchase, channel: post}
""")

T0 = datetime(2024, 3, 1, 9, tzinfo=UTC)


def table(schema: Any, rows: list[dict[str, Any]]) -> pa.Table:
    rows = [dict(r, _seq=r.get("_seq", i + 1)) for i, r in enumerate(rows)]
    arrow = schema.to_pyarrow()
    return pa.table({f.name: pa.array([r.get(f.name) for r in rows], type=f.type) for f in arrow}, schema=arrow)


def test_target_status_rules() -> None:
    assert target_status(0.9, 0.8, 0.95, 0.9) == "met"
    assert target_status(0.85, 0.7, 0.9, 0.9) == "at_risk"  # interval reaches the target
    assert target_status(0.5, 0.3, 0.89, 0.9) == "missed"
    assert target_status(None, None, None, 0.9) is None  # suppressed
    assert target_status(0.5, 0.3, 0.7, None) is None  # no target
    book = TargetBook.from_definition(DEFINITION)
    assert book.target("csat", touchpoint="checkout") == 0.9  # own target wins
    assert book.target("nps", touchpoint="checkout") == 0.0  # falls back to the stage's
    assert book.target("csat", touchpoint="delivery") == 0.5
    assert book.target("csat", touchpoint="browse") is None


def test_metric_rows_carry_target_status(duckdb_wh: Warehouse) -> None:
    rows = [{"touchpoint": "checkout", "timestamp": T0, "csat": v, "ces": c}
            for v, c in zip([5] * 9 + [2], [6] * 10, strict=True)]  # csat 0.9 → met, ces 6 → met
    rows += [{"touchpoint": "delivery", "timestamp": T0, "csat": v} for v in [5] + [1] * 9]  # 0.1, Wilson high 0.40 → missed
    rows += [{"touchpoint": "browse", "timestamp": T0, "csat": 5} for _ in range(6)]  # no target
    duckdb_wh.append("feedback", table(FEEDBACK, rows))
    result = cx_metrics(duckdb_wh.table("feedback"), by=["touchpoint"], definition=DEFINITION)
    status = {r["touchpoint"]: r["target_status"] for r in result.to_dict()}
    assert status == {"browse": None, "checkout": "met", "delivery": "missed"}
    duckdb_wh.append("feedback", table(FEEDBACK, [{"touchpoint": "delivery", "timestamp": T0, "csat": 5}] * 2))
    # 3 of 12 = 0.25 < 0.5 but the Wilson interval (0.089, 0.532) still reaches 0.5
    again = cx_metrics(duckdb_wh.table("feedback"), by=["touchpoint"], metrics=["csat"], definition=DEFINITION)
    assert next(r for r in again.to_dict() if r["touchpoint"] == "delivery")["target_status"] == "at_risk"
    stage_rows = cx_metrics(duckdb_wh.table("feedback"), by=["stage"], metrics=["csat"], definition=DEFINITION).to_dict()
    purchase = next(r for r in stage_rows if r["stage"] == "Purchase")
    # 12 of 22 top-2-box = 0.545 ≥ stage target 0.5
    assert (purchase["csat"], purchase["target_status"]) == (pytest.approx(12 / 22), "met")


def _events(wh: Warehouse) -> Any:
    rows = [
        {"customer_id": "a", "timestamp": T0, "touchpoint": "browse", "stage": "Explore"},
        {"customer_id": "a", "timestamp": T0 + timedelta(hours=2), "touchpoint": "checkout", "stage": "Purchase"},
        {"customer_id": "a", "timestamp": T0 + timedelta(days=3), "touchpoint": "delivery", "stage": "Purchase"},
        {"customer_id": "b", "timestamp": T0, "touchpoint": "browse", "stage": "Explore"},
    ]
    wh.replace(JOURNEY_EVENTS, table(JOURNEY_EVENTS_SCHEMA, rows))
    return wh.table(JOURNEY_EVENTS)


def _feedback(wh: Warehouse) -> Any:
    rows = [
        {"response_id": "r1", "customer_id": "a", "timestamp": T0 + timedelta(hours=3), "nps": 9},  # → checkout
        {"response_id": "r2", "customer_id": "a", "timestamp": T0 + timedelta(days=3, hours=1), "nps": 3},  # → delivery
        {"response_id": "r3", "customer_id": "a", "timestamp": T0 + timedelta(hours=1), "touchpoint": "delivery",
         "nps": 10},  # names its touchpoint
        {"response_id": "r4", "customer_id": "b", "timestamp": T0 + timedelta(days=8), "nps": 0},  # too late
        {"response_id": "r5", "customer_id": "b", "timestamp": T0 - timedelta(hours=1), "nps": 6},  # before any event
        {"response_id": "r6", "customer_id": None, "timestamp": T0, "nps": 8},  # anonymous
    ]
    wh.append("feedback", table(FEEDBACK, rows))
    return wh.table("feedback")


def test_nearest_preceding_event_within_window_on_every_engine(wh: Warehouse) -> None:
    events, fb = _events(wh), _feedback(wh)
    linked = link_feedback(fb, events, window_days=7).select("response_id", "touchpoint", "stage", "link")
    got = {r["response_id"]: (r["touchpoint"], r["stage"], r["link"]) for r in linked.to_pyarrow().to_pylist()}
    assert got == {
        "r1": ("checkout", "Purchase", "nearest_event"),
        "r2": ("delivery", "Purchase", "nearest_event"),
        "r3": ("delivery", "Purchase", "touchpoint"),
        "r4": (None, None, "unattached"),
        "r5": (None, None, "unattached"),
        "r6": (None, None, "unattached"),
    }
    wider = link_feedback(fb, events, window_days=10).filter(lambda t: t.response_id == "r4")
    assert wider.touchpoint.to_pyarrow().to_pylist() == ["browse"]


def test_feedback_links_counts_and_scores(duckdb_wh: Warehouse) -> None:
    events, fb = _events(duckdb_wh), _feedback(duckdb_wh)
    result = feedback_links(fb, events, definition=DEFINITION, min_sample_size=1).to_dict()
    assert result["summary"] == {"attached_by_touchpoint": 1, "attached_by_nearest_event": 2, "unattached": 3,
                                 "total": 6}
    stages = {r["stage"]: r for r in result["stages"]}
    assert (stages["Purchase"]["nps_n"], stages["Purchase"]["nps"]) == (3, pytest.approx(100 * (2 - 1) / 3))
    customer_a = next(r for r in result["customers"] if r["customer_id"] == "a")
    assert (customer_a["responses"], customer_a["nps_latest"], customer_a["touchpoints"]) == (3, 3, 2)
    scores = touchpoint_scores(fb, events, definition=DEFINITION, metrics=["nps"], min_sample_size=1)
    assert scores.for_touchpoint("checkout")["nps"] == 100.0
    assert scores.for_stage("Purchase")["nps_n"] == 3
    assert scores.for_touchpoint("browse") is None
