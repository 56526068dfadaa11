"""Breakdown by any property (event properties as of the answer), top N + other, property
discovery, freshness, window comparisons, cohort-fair conversion and annotations from data."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

import journeylens
from journeylens.analyses.filters import Filters
from journeylens.analyses.periods import Window, is_complete, preset_window
from journeylens.errors import ParameterError
from journeylens.operations.annotations import from_property, list_annotations
from journeylens.operations.appdb import AppDatabase
from journeylens.settings import Settings


def _day(d: int, month: int = 1) -> pd.Timestamp:
    return pd.Timestamp(datetime(2024, month, d, 12, tzinfo=UTC))


@pytest.fixture
def lens() -> journeylens.JourneyLens:
    jl = journeylens.open("duckdb://", settings=Settings(warehouse="duckdb://"))
    jl.ingest("events", pd.DataFrame({
        "customer_id": ["a", "a", "b", "c", "a"],
        "timestamp": [_day(1), _day(10), _day(1), _day(2), _day(20)],
        "touchpoint": ["Login", "Login", "Login", "Visit", "Buy"],
        "app_version": ["1.0", "2.0", "1.0", None, None]}))
    jl.ingest("feedback", pd.DataFrame({
        "customer_id": ["a", "a", "b", "c"], "timestamp": [_day(5), _day(12), _day(3), _day(4)],
        "touchpoint": ["Login", "Login", "Login", "Visit"], "csat": [5, 1, 4, 3]}))
    jl.ingest("customers", pd.DataFrame({"customer_id": ["a", "b", "c"], "segment": ["x", "y", "x"],
                                         "tier": ["gold", "silver", "gold"]}))
    return jl


def test_feedback_takes_the_event_property_as_of_the_answer(lens: journeylens.JourneyLens) -> None:
    rows = {r["app_version"]: r for r in lens.metrics(by=["app_version"], metrics=["csat"], min_sample_size=1).to_dict()}
    assert rows["1.0"]["csat_n"] == 2 and rows["1.0"]["csat"] == 1.0  # a on day 5 (1.0) and b
    assert rows["2.0"]["csat_n"] == 1 and rows["2.0"]["csat"] == 0.0  # a on day 12, after the upgrade
    assert rows[None]["csat_n"] == 1  # c never carried the property


def test_customer_attribute_from_the_attributes_json(lens: journeylens.JourneyLens) -> None:
    rows = {r["tier"]: r["n"] for r in lens.metrics(by=["tier"], metrics=["csat"], min_sample_size=1).to_dict()}
    assert rows == {"gold": 3, "silver": 1}


def test_unknown_property_lists_close_matches(lens: journeylens.JourneyLens) -> None:
    with pytest.raises(ParameterError) as refused:
        lens.metrics(by=["app_versio"])
    assert refused.value.details["suggestions"] == {"app_versio": ["app_version"]}


def test_properties_are_discovered_with_cardinality(lens: journeylens.JourneyLens) -> None:
    found = {(r["source"], r["property"]): r for r in lens.properties().to_dict()}
    assert found[("event", "app_version")]["distinct"] == 2
    assert found[("customer", "tier")]["top_values"][0] == {"value": "gold", "n": 2}


def test_high_cardinality_keeps_the_top_values_and_other() -> None:
    import ibis

    from journeylens.analyses.properties import OTHER, top_or_other

    t = ibis.memtable({"v": [f"v{i}" for i in range(12) for _ in range(12 - i)]})
    out = top_or_other(t, "v", top=3).v.value_counts().to_pyarrow().to_pylist()
    assert {r["v"]: r["v_count"] for r in out} == {"v0": 12, "v1": 11, "v2": 10, OTHER: sum(range(1, 10))}


def test_funnel_by_event_property(lens: journeylens.JourneyLens) -> None:
    groups = {r["group"]: r["customers"] for r in lens.funnel(["Login", "Buy"], breakdown_col="app_version").records
              if r["step"] == "Login"}
    assert groups == {"1.0": 2}


def test_freshness_warns_when_the_newest_row_is_old(lens: journeylens.JourneyLens) -> None:
    fresh = lens.freshness(now=datetime(2024, 3, 1, tzinfo=UTC), stale_after_days=2)
    payload = fresh.to_dict()
    assert payload["first"] == _day(1).isoformat() and payload["last"] == _day(20).isoformat()
    events = next(r for r in payload["sources"] if r["table"] == "events")
    assert events["stale"] and events["age_days"] == pytest.approx(40.5)
    assert any("newest event row is 40 days old" in w for w in payload["warnings"])


def test_window_change_tests_one_window_against_the_previous(lens: journeylens.JourneyLens) -> None:
    current = Filters(start="2024-01-08", end="2024-01-15")
    base = Filters(start="2024-01-01", end="2024-01-08")
    row = lens.window_change(current, base, metrics=["csat"], min_sample_size=1).to_dict()[0]
    assert (row["base"], row["current"], row["base_n"], row["current_n"]) == (pytest.approx(2 / 3), 0.0, 3, 1)
    assert row["p"] is not None


def test_periods_and_windows() -> None:
    end = datetime(2025, 2, 10, tzinfo=UTC)
    assert not is_complete(pd.Timestamp("2025-02-01"), "month", end)
    assert is_complete(pd.Timestamp("2025-01-01"), "month", end)
    w = preset_window("30d", end)
    assert (w.start.date().isoformat(), w.end.date().isoformat()) == ("2025-01-12", "2025-02-11")
    assert Window(w.start, w.end).last_year().start.year == 2024
    with pytest.raises(ParameterError):
        preset_window("2w", end)


def test_conversion_within_days_marks_young_cohorts(tmp_path: Path) -> None:
    journey = tmp_path / "journey.yaml"
    journey.write_text("name: shop\nstages:\n  - name: look\n  - name: buy\ntouchpoints:\n"
                       "  - {name: Visit, stage: look}\n  - {name: Buy, stage: buy}\n"
                       "outcomes:\n  conversion: [Buy]\n")
    jl = journeylens.open("duckdb://", journey, settings=Settings(warehouse="duckdb://"))
    jl.ingest("events", pd.DataFrame({
        "customer_id": ["a", "a", "b", "b", "c"], "touchpoint": ["Visit", "Buy", "Visit", "Buy", "Visit"],
        "timestamp": [_day(1), _day(3), _day(2), _day(28, 2), _day(5, 3)]}))
    result = jl.outcomes(within_days=10).to_dict()
    periods = {p["period"]: p for p in result["periods"]}
    assert periods["2024-01"]["converted"] == 1  # b converted after 57 days: not within 10
    assert periods["2024-01"]["complete"] and not periods["2024-03"]["complete"]


def test_annotations_from_an_event_property_are_idempotent(lens: journeylens.JourneyLens) -> None:
    db = AppDatabase("sqlite://")
    with db.session() as session:
        made = from_property(session, lens.events(), "app_version")
        again = from_property(session, lens.events(), "app_version")
        assert [a.title for a in made] == ["app_version 2.0"] and again == []
        assert list_annotations(session)[0].at == _day(10).to_pydatetime()
