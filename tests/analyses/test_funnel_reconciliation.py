"""The funnel reconciled with the journey map: at every step the map's customers split into
parts that add up, each part counted by hand on a tiny log, on every engine."""

from __future__ import annotations

from typing import Any

import pytest
from tests.analyses.conftest import load_journey_events

from journeylens.analyses.funnel import funnel
from journeylens.analyses.funnel_reconciliation import PARTS, reconcile_funnel
from journeylens.errors import ParameterError
from journeylens.warehouse import Warehouse

LOG = [  # (customer, touchpoint, day)
    ("a", "approve", 1), ("a", "card", 2), ("a", "use", 3),          # reaches every step
    ("b", "card", 1), ("b", "approve", 2),                            # card only before approve
    ("c", "card", 1), ("c", "use", 2),                                # never approved
    ("d", "approve", 1), ("d", "use", 2),                             # use without card: stopped earlier
    ("e", "approve", 1), ("e", "card", 20), ("e", "use", 21),         # card too late with within_days=7
]


def _events(wh: Warehouse) -> Any:
    return load_journey_events(wh, [{"customer_id": c, "touchpoint": t, "timestamp": f"2024-01-{d:02d}T10:00:00"}
                                    for c, t, d in LOG])


def test_the_parts_add_up_to_the_map_on_every_engine(wh: Warehouse) -> None:
    events = _events(wh)
    rows = {r["step"]: r for r in reconcile_funnel(events, steps=["approve", "card", "use"]).to_dict()}
    assert rows["card"] == {"step": "card", "previous_step": "approve", "on_map": 4, "reached": 2,
                            "never_step_1": 1, "stopped_earlier": 0, "not_after_previous": 1}  # a, e | c | b
    assert rows["use"] == {"step": "use", "previous_step": "card", "on_map": 4, "reached": 2,
                           "never_step_1": 1, "stopped_earlier": 1, "not_after_previous": 0}  # a, e | c | d
    reached = {r["step"]: r["customers"] for r in funnel(events, steps=["approve", "card", "use"]).to_dict()}
    for row in rows.values():
        assert sum(row[p] for p in PARTS) == row["on_map"]
        assert row["reached"] == reached[row["step"]]


def test_a_window_moves_late_steps_to_not_after_previous(duckdb_wh: Warehouse) -> None:
    events = _events(duckdb_wh)
    rows = {r["step"]: r for r in reconcile_funnel(events, steps=["approve", "card", "use"],
                                                   within_days=7).to_dict()}
    assert rows["card"]["reached"] == 1 and rows["card"]["not_after_previous"] == 2  # b and e (too late)
    assert rows["use"]["stopped_earlier"] == 2  # d, and e (card outside the window)
    for mode in ("strict", "any"):
        for row in reconcile_funnel(events, steps=["approve", "card", "use"], mode=mode).to_dict():
            assert sum(row[p] for p in PARTS) == row["on_map"]


def test_unknown_step_lists_close_matches(duckdb_wh: Warehouse) -> None:
    with pytest.raises(ParameterError, match="did you mean 'card'"):
        reconcile_funnel(_events(duckdb_wh), steps=["approve", "cart"])
