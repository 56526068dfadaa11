"""Funnels: hand-checked units, reference properties for every mode, breakdown test, parity."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reference import funnel as reference_funnel
from reference import load
from test_transitions import event, random_logs, same_rows

from journeylens.analyses.funnel import conversion_test, funnel
from journeylens.errors import ParameterError
from journeylens.warehouse import Warehouse, open_warehouse

DAY = 86_400.0


@pytest.fixture(scope="module")
def duck() -> Iterator[Warehouse]:
    warehouse = open_warehouse("duckdb://")
    yield warehouse
    warehouse.close()


def customers(result: Any) -> list[int]:
    return [r["customers"] for r in result.records]


def test_modes_on_a_hand_checked_log(duck: Warehouse) -> None:
    events = load(duck, [
        event("a", 0, "A"), event("a", 10, "B"), event("a", 40, "C"),          # A B C
        event("b", 0, "A"), event("b", 5, "D"), event("b", 9, "B"),            # A D B
        event("c", 0, "B"), event("c", 3, "A"),                                 # B A
    ])
    ordered = funnel(events, steps=["A", "B", "C"])
    assert customers(ordered) == [3, 2, 1]
    assert ordered.to_dict()[1] == {"step": "B", "customers": 2, "conversion_from_start": 2 / 3,
                                    "conversion_from_previous": 2 / 3, "median_seconds_from_previous": 9.5}
    assert ordered.to_dict()[0]["conversion_from_previous"] is None
    assert customers(funnel(events, steps=["A", "B", "C"], mode="strict")) == [3, 1, 1]
    any_order = funnel(events, steps=["A", "B"], mode="any")
    assert customers(any_order) == [3, 3]
    assert any_order.records[1]["median_seconds_from_previous"] == 9.0  # a: 10, b: 9, c: 0
    assert customers(funnel(events, steps=["A", "B"], exclude=["D"])) == [2, 1]


def test_window_counts_from_the_first_step(duck: Warehouse) -> None:
    events = load(duck, [event("a", 0, "A"), event("a", 2 * DAY, "B"), event("b", 0, "A"), event("b", 0.5 * DAY, "B")])
    assert customers(funnel(events, steps=["A", "B"], within_days=1)) == [2, 1]
    assert customers(funnel(events, steps=["A", "B"], within_days=2)) == [2, 2]


def test_breakdown_reports_groups_and_a_test(duck: Warehouse) -> None:
    rows = []
    for i in range(40):
        channel = "web" if i % 2 else "store"
        rows.append(event(f"c{i}", 0, "A", channel=channel))
        if channel == "web" or i % 8 == 0:
            rows.append(event(f"c{i}", 60, "B", channel=channel))
    result = funnel(load(duck, rows), steps=["A", "B"], breakdown_col="channel")
    payload = result.to_dict()
    finals = {r["group"]: r["customers"] for r in payload["groups"] if r["step"] == "B"}
    assert finals == {"store": 5, "web": 20}  # i % 8 == 0: 0, 8, 16, 24, 32
    assert payload["test"]["significant"] is True and payload["test"]["pairs"][0]["significant"] is True
    assert payload["test"]["dof"] == 1


def test_conversion_test_without_difference_is_not_significant() -> None:
    test = conversion_test({"x": (10, 50), "y": (10, 50), "z": (0, 0)})
    assert test["significant"] is False and test["p_value"] == pytest.approx(1.0)
    assert [(p["a"], p["b"]) for p in test["pairs"]] == [("x", "y")]


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"steps": []}, "at least one"), ({"steps": ["A"], "mode": "loose"}, "mode"),
    ({"steps": ["A"], "within_days": 0}, "within_days"), ({"steps": ["A"], "exclude": ["A"]}, "both"),
    ({"steps": ["A"], "breakdown_col": "nope"}, "breakdown"), ({"steps": ["A"], "level": "x"}, "level"),
])
def test_bad_parameters_are_refused(duck: Warehouse, kwargs: dict[str, Any], message: str) -> None:
    events = load(duck, [event("a", 0, "A")])
    with pytest.raises(ParameterError, match=message):
        funnel(events, **kwargs)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=random_logs, mode=st.sampled_from(["ordered", "strict", "any"]),
       steps=st.lists(st.sampled_from("ABC"), min_size=1, max_size=3),
       within_days=st.sampled_from([None, 0.1, 0.25, 1.0]), exclude=st.sampled_from([(), ("D",)]),
       level=st.sampled_from(["touchpoint", "touchpoint", "stage"]))
def test_matches_reference(duck: Warehouse, rows: list[dict[str, Any]], mode: str, steps: list[str],
                           within_days: float | None, exclude: tuple[str, ...], level: str) -> None:
    if level == "stage":
        steps, exclude = [{"A": "s1", "B": "s2", "C": "s1"}[s] for s in steps], ()
    events = load(duck, rows)
    present = set(events[level].to_pyarrow().to_pylist())
    if not set(steps) | set(exclude) <= present:  # a name the data never has: an error, not a zero
        with pytest.raises(ParameterError) as refused:
            funnel(events, steps=steps, mode=mode, within_days=within_days, exclude=exclude, level=level)
        assert refused.value.details["kind"] == "step"
        return
    actual = funnel(events, steps=steps, mode=mode, within_days=within_days, exclude=exclude, level=level)
    assert same_rows(actual.to_dict(), reference_funnel(rows, steps, level, mode, within_days, exclude))


@pytest.mark.parametrize("mode", ["ordered", "strict", "any"])
def test_engines_agree(wh: Warehouse, mode: str) -> None:
    rows = [event("a", 0, "A"), event("a", 7.5, "B"), event("a", 7.5, "C"), event("b", 0, "B"),
            event("b", 3, "A"), event("b", 3, "D"), event("b", 4, "C"), event("c", 0, "A")]
    events = load(wh, rows)
    actual = funnel(events, steps=["A", "B", "C"], mode=mode, exclude=["D"], within_days=1).to_dict()
    assert same_rows(actual, reference_funnel(rows, ["A", "B", "C"], mode=mode, within_days=1, exclude=["D"]))


def test_unknown_step_lists_close_matches(duck: Warehouse) -> None:
    events = load(duck, [event("a", 0, "Account approved"), event("a", 1, "Card delivered")])
    with pytest.raises(ParameterError) as refused:
        funnel(events, steps=["Account approved", "Card delivered", "Card deliverd"])
    assert refused.value.details["kind"] == "step"
    assert refused.value.details["suggestions"] == {"Card deliverd": ["Card delivered"]}
    assert "did you mean 'Card delivered'" in refused.value.message
