"""Variants: hand-checked units, reference properties, engine parity."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reference import load
from reference import variants as reference_variants
from test_transitions import event, random_logs, same_rows

from journeylens.analyses.variants import variants
from journeylens.errors import ParameterError
from journeylens.warehouse import Warehouse, open_warehouse


@pytest.fixture(scope="module")
def duck() -> Iterator[Warehouse]:
    warehouse = open_warehouse("duckdb://")
    yield warehouse
    warehouse.close()


def test_hand_checked_variants(duck: Warehouse) -> None:
    events = load(duck, [event("a", 0, "A"), event("a", 10, "B"), event("b", 0, "A"), event("b", 30, "B"),
                         event("c", 0, "A"), event("c", 5, "A"), event("c", 6, "C")])
    rows = variants(events).to_dict()
    assert rows[0] == {"path": ["A", "B"], "customers": 2, "share": 2 / 3, "median_seconds": 20.0}
    assert rows[1]["path"] == ["A", "A", "C"]
    collapsed = variants(events, collapse_repeats=True).to_dict()
    assert [r["path"] for r in collapsed] == [["A", "B"], ["A", "C"]]
    assert collapsed[1]["median_seconds"] == 6.0  # first to last event, repeats included


def test_top_and_outcome_rate(duck: Warehouse) -> None:
    events = load(duck, [event("a", 0, "A"), event("a", 1, "B"), event("b", 0, "A"), event("b", 1, "B"),
                         event("b", 2, "D"), event("c", 0, "A"), event("c", 1, "B")])
    rows = variants(events, top=1, level="stage", outcome_touchpoints=["D"]).to_dict()
    assert rows == [{"path": ["s1"], "customers": 3, "share": 1.0, "median_seconds": 1.0, "outcome_rate": 1 / 3}]


def test_bad_top_is_refused(duck: Warehouse) -> None:
    events = load(duck, [event("a", 0, "A")])
    with pytest.raises(ParameterError, match="top"):
        variants(events, top=0)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=random_logs, level=st.sampled_from(["touchpoint", "stage"]), collapse=st.booleans(),
       outcomes=st.sampled_from([(), ("C",), ("B", "D")]))
def test_matches_reference(duck: Warehouse, rows: list[dict[str, Any]], level: str, collapse: bool,
                           outcomes: tuple[str, ...]) -> None:
    events = load(duck, rows)
    actual = variants(events, top=None, level=level, collapse_repeats=collapse,
                      outcome_touchpoints=outcomes).to_dict()
    assert same_rows(actual, reference_variants(rows, level, collapse, outcomes))


def test_engines_agree(wh: Warehouse) -> None:
    rows = [event("a", 0, "A"), event("a", 7.5, "B"), event("a", 7.5, "C"), event("b", 0, "A"),
            event("b", 3, "B"), event("b", 3, "C"), event("c", 0, "D"), event("c", 0, "D")]
    events = load(wh, rows)
    assert same_rows(variants(events, top=None).to_dict(), reference_variants(rows))
    assert same_rows(variants(events, top=None, collapse_repeats=True, outcome_touchpoints=["C"]).to_dict(),
                     reference_variants(rows, collapse_repeats=True, outcomes=["C"]))


def test_outcome_from_the_definition(duck: Warehouse) -> None:
    from journeylens.journeys.definition import parse_definition

    definition = parse_definition(
        "name: Shop\nstages: [{name: s1}, {name: s2}]\n"
        "touchpoints:\n  - {name: A, match: A, stage: s1}\n  - {name: D, match: D, stage: s2}\n"
        "outcomes: {conversion: [D]}\n", source="test")
    events = load(duck, [event("a", 0, "A"), event("a", 1, "D"), event("b", 0, "A")])
    rows = variants(events, outcome="conversion", definition=definition).to_dict()
    assert {tuple(r["path"]): r["outcome_rate"] for r in rows} == {("A", "D"): 1.0, ("A",): 0.0}
    with pytest.raises(ParameterError, match="churn"):
        variants(events, outcome="churn", definition=definition)


many_nodes = [f"t{i:03d}" for i in range(300)]  # 9-bit digits: only 7 steps fit in a path code's head


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(paths=st.lists(st.lists(st.sampled_from(["t000", "t001", "t299"]), min_size=1, max_size=16),
                      min_size=1, max_size=8),
       top=st.sampled_from([None, 1, 2, 3]))
def test_long_paths_and_ties_at_the_cut(duck: Warehouse, paths: list[list[str]], top: int | None) -> None:
    """Paths longer than the packed head, differing only late, and the top-N cut on ties."""
    rows = [event("all", i, node) for i, node in enumerate(many_nodes)]
    rows += [event(f"c{c}", i, node) for c, path in enumerate(paths) for i, node in enumerate(path)]
    rows += [event(f"d{c}", i, node) for c, path in enumerate(paths[:2]) for i, node in enumerate(path)]
    actual = variants(load(duck, rows), top=top).to_dict()
    expected = reference_variants(rows)
    assert same_rows(actual, expected if top is None else expected[:top])
