"""Breakdowns by a property on every engine: JSON values read alike, the as-of join of an
event property onto feedback answers, and transitions split by a property."""

from __future__ import annotations

from typing import Any

import pytest
from tests.analyses.conftest import load_journey_events, load_table

from journeylens.analyses.metrics import cx_metrics
from journeylens.analyses.properties import discover, json_value
from journeylens.analyses.transitions import transitions
from journeylens.warehouse import Warehouse

# Values that begin and end with the letters t, n, r, v and f and with white space: a ``TRIM``
# of the wrong character set (Spark read Ibis's ``strip`` as trimming those letters) cuts them.
OLD, NEW = "fr-1.0-nt", "v2.0-rtvf"


def _events(wh: Warehouse) -> Any:
    def ev(cid: str, ts: str, tp: str, version: str | None = None) -> dict[str, Any]:
        props = '{"app_version": "' + version + '"}' if version else "{}"
        return {"customer_id": cid, "timestamp": ts, "touchpoint": tp, "properties": props}

    return load_journey_events(wh, [
        ev("a", "2024-01-01T10:00:00", "Login", OLD), ev("a", "2024-01-01T10:05:00", "Pay"),
        ev("a", "2024-01-10T10:00:00", "Login", NEW), ev("a", "2024-01-10T10:01:00", "Help"),
        ev("b", "2024-01-02T10:00:00", "Login", OLD), ev("b", "2024-01-02T10:03:00", "Help"),
        ev("c", "2024-01-03T10:00:00", "Visit"),
        {"customer_id": "d", "timestamp": "2024-01-04T10:00:00", "touchpoint": "Login",
         "properties": '{"app_version" :  " tvn 3 " }'},
    ])


def test_json_values_keep_their_letters_on_every_engine(wh: Warehouse) -> None:
    events = _events(wh)
    values = sorted(v for v in events.select(v=json_value(events.properties, "app_version")).v.to_pyarrow()
                    .to_pylist() if v is not None)
    assert values == ["fr-1.0-nt", "fr-1.0-nt", "tvn 3", "v2.0-rtvf"]
    found = {r["property"]: r for r in discover(events, None, None).to_dict()}
    assert found["app_version"]["distinct"] == 3


def test_feedback_takes_the_event_property_as_of_the_answer_on_every_engine(wh: Warehouse) -> None:
    events = _events(wh)
    feedback = load_table(wh, "feedback", [
        {"customer_id": "a", "timestamp": "2024-01-05T00:00:00", "touchpoint": "Login", "csat": 5.0},
        {"customer_id": "a", "timestamp": "2024-01-11T00:00:00", "touchpoint": "Login", "csat": 1.0},
        {"customer_id": "b", "timestamp": "2024-01-02T12:00:00", "touchpoint": "Login", "csat": 4.0},
        {"customer_id": "c", "timestamp": "2024-01-04T00:00:00", "touchpoint": "Visit", "csat": 3.0},
        {"customer_id": "b", "timestamp": "2024-01-01T00:00:00", "touchpoint": "Login", "csat": 2.0},
    ])
    rows = {r["app_version"]: r for r in cx_metrics(feedback, by=["app_version"], metrics=["csat"], events=events,
                                                    min_sample_size=1).to_dict()}
    assert set(rows) == {OLD, NEW, None}
    assert rows[OLD]["csat_n"] == 2 and rows[OLD]["csat"] == 1.0  # a on day 5, b at noon on day 2
    assert rows[NEW]["csat_n"] == 1 and rows[NEW]["csat"] == 0.0  # a after the upgrade
    assert rows[None]["csat_n"] == 2  # c never carried it; b answered before their first login


def test_transitions_split_by_an_event_property_on_every_engine(wh: Warehouse) -> None:
    events = _events(wh)
    rows = transitions(events, by="app_version").to_dict()
    edges = {(r["app_version"], r["from"], r["to"]): r["count"] for r in rows}
    assert edges[(OLD, "Login", "Pay")] == 1 and edges[(OLD, "Login", "Help")] == 1
    assert edges[(NEW, "Login", "Help")] == 1
    # The move after the upgrade's Help carries the new version as of that event.
    assert edges[(NEW, "Help", "__end__")] == 1 and edges[(OLD, "Help", "__end__")] == 1
    assert edges[(None, "__start__", "Visit")] == 1
    total = sum(r["count"] for r in transitions(events).to_dict())
    assert sum(edges.values()) == total  # every edge occurrence is in exactly one group


@pytest.mark.parametrize("top", [1])
def test_transitions_keep_the_top_values_and_other(wh: Warehouse, top: int) -> None:
    events = _events(wh)
    groups = {r["app_version"] for r in transitions(events, by="app_version", top=top).to_dict()}
    assert groups == {OLD, "other", None}
