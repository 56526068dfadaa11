"""Transitions (directly-follows graph): hand-checked units, reference properties, engine parity."""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reference import END, START, load, ts
from reference import transitions as reference_transitions

from journeylens.analyses.filters import Filters
from journeylens.analyses.transitions import transitions
from journeylens.errors import ParameterError
from journeylens.warehouse import Warehouse, open_warehouse

STAGES = {"A": "s1", "B": "s1", "C": "s2", "D": None}


def event(customer: str, seconds: float, touchpoint: str, **extra: Any) -> dict[str, Any]:
    return {"customer_id": customer, "timestamp": ts(seconds), "touchpoint": touchpoint,
            "stage": STAGES.get(touchpoint), **extra}


def same_rows(actual: Sequence[Mapping[str, Any]], expected: Sequence[Mapping[str, Any]]) -> bool:
    """Equal rows in equal order; floats to 1e-9 (engines sum in their own order)."""
    if len(actual) != len(expected):
        return False
    for a, e in zip(actual, expected, strict=True):
        if a.keys() != e.keys():
            return False
        for key, value in e.items():
            if isinstance(value, float) and isinstance(a[key], float):
                if not math.isclose(a[key], value, rel_tol=1e-9, abs_tol=1e-9):
                    return False
            elif a[key] != value:
                return False
    return True


@pytest.fixture(scope="module")
def duck() -> Iterator[Warehouse]:
    warehouse = open_warehouse("duckdb://")
    yield warehouse
    warehouse.close()


random_logs = st.lists(
    st.tuples(st.sampled_from("abcd"), st.integers(0, 6), st.sampled_from("ABCD")),
    min_size=1, max_size=25,
).map(lambda rows: [event(c, s * 3600.0, t) for c, s, t in rows])


def test_hand_checked_graph(duck: Warehouse) -> None:
    events = load(duck, [event("a", 0, "A"), event("a", 10, "B"), event("a", 40, "A"),
                         event("b", 0, "A"), event("b", 20, "B")])
    rows = {(r["from"], r["to"]): r for r in transitions(events).to_dict()}
    assert rows[(START, "A")]["count"] == 2 and rows[(START, "A")]["median_seconds"] is None
    assert rows[("A", "B")] == {"from": "A", "to": "B", "count": 2, "customers": 2, "median_seconds": 15.0,
                                "mean_seconds": 15.0, "p90_seconds": 19.0}
    assert rows[("B", "A")]["median_seconds"] == 30.0
    assert rows[("A", END)]["count"] == 1 and rows[("B", END)]["count"] == 1
    assert list(transitions(events).to_dict()[0]) == ["from", "to", "count", "customers", "median_seconds",
                                                        "mean_seconds", "p90_seconds"]


def test_equal_timestamps_keep_source_order(duck: Warehouse) -> None:
    events = load(duck, [event("a", 5, "B", _seq=2), event("a", 5, "A", _seq=1), event("a", 5, "C", _seq=3)])
    edges = {(r["from"], r["to"]) for r in transitions(events).records}
    assert edges == {(START, "A"), ("A", "B"), ("B", "C"), ("C", END)}


def test_stage_level_collapses_runs_and_skips_unmapped(duck: Warehouse) -> None:
    events = load(duck, [event("a", 0, "A"), event("a", 10, "B"), event("a", 20, "D"), event("a", 60, "C")])
    rows = transitions(events, level="stage").to_dict()
    assert [(r["from"], r["to"], r["median_seconds"]) for r in rows if r["from"] == "s1"] == [("s1", "s2", 60.0)]


def test_min_share_prunes_rare_edges(duck: Warehouse) -> None:
    rows = [event(c, 0, "A") for c in "abcd"] + [event(c, 1, "B") for c in "abc"] + [event("d", 1, "C")]
    events = load(duck, rows)
    kept = transitions(events, min_share=0.1).records
    assert ("A", "C") not in {(r["from"], r["to"]) for r in kept}
    assert ("A", "B") in {(r["from"], r["to"]) for r in kept}


def test_filters_apply_before_the_graph(duck: Warehouse) -> None:
    events = load(duck, [event("a", 0, "A", channel="web"), event("a", 5, "B", channel="store"),
                         event("a", 9, "C", channel="web")])
    rows = transitions(events, filters=Filters(channel=("web",))).records
    assert {(r["from"], r["to"]) for r in rows} == {(START, "A"), ("A", "C"), ("C", END)}


@pytest.mark.parametrize(("kwargs", "message"), [({"level": "page"}, "level"), ({"min_share": 2.0}, "min_share")])
def test_bad_parameters_are_refused(duck: Warehouse, kwargs: dict[str, Any], message: str) -> None:
    events = load(duck, [event("a", 0, "A")])
    with pytest.raises(ParameterError, match=message):
        transitions(events, **kwargs)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=random_logs, level=st.sampled_from(["touchpoint", "stage"]),
       min_share=st.sampled_from([0.0, 0.05, 0.2]))
def test_matches_reference(duck: Warehouse, rows: list[dict[str, Any]], level: str, min_share: float) -> None:
    events = load(duck, rows)
    actual = transitions(events, level=level, min_share=min_share).to_dict()
    assert same_rows(actual, reference_transitions(rows, level, min_share))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=random_logs, level=st.sampled_from(["touchpoint", "stage"]), bucket_events=st.sampled_from([1, 2, 5]))
def test_customer_buckets_give_the_same_graph(duck: Warehouse,
                                              rows: list[dict[str, Any]], level: str, bucket_events: int) -> None:
    """Large logs are built bucket by bucket with quantiles from counts: still exact."""
    events = load(duck, rows)
    actual = transitions(events, level=level, bucket_events=bucket_events).to_dict()
    assert same_rows(actual, reference_transitions(rows, level))


def test_engines_agree(wh: Warehouse) -> None:
    rows = [event("a", 0, "A"), event("a", 7.5, "B"), event("a", 7.5, "C"), event("b", 0, "A"),
            event("b", 3, "B"), event("c", 0, "D")]
    events = load(wh, rows)
    assert same_rows(transitions(events).to_dict(), reference_transitions(rows))
    assert same_rows(transitions(events, level="stage").to_dict(), reference_transitions(rows, "stage"))
    assert same_rows(transitions(events, bucket_events=2).to_dict(), reference_transitions(rows))
