"""journey_events: stitching + definition + step/time/episode, identical on DuckDB and Spark."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import ibis
import pyarrow as pa
import pytest

import journeylens
from journeylens.errors import ParameterError
from journeylens.journeys.definition import parse_definition
from journeylens.journeys.enrich import build_journey_events
from journeylens.settings import Settings
from journeylens.warehouse import Warehouse, open_warehouse
from journeylens.warehouse.schema import JOURNEY_EVENTS, JOURNEY_EVENTS_SCHEMA

SAMPLES = Path(__file__).parents[2] / "src" / "journeylens" / "samples"
T0 = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)

DEFINITION = parse_definition("""
name: Shop
stages: [{name: Explore}, {name: Buy}]
touchpoints:
  - {name: Browse, match: ["view *", "landing"], stage: Explore, channel: web}
  - {name: Checkout, match: checkout, stage: Buy, channel: app, critical: true, category: partner-owned}
settings: {episode_gap_minutes: 30}
""")


def ev(seq: int, seconds: float, customer: str | None, anon: str | None, touchpoint: str,
       channel: str | None = None) -> dict[str, Any]:
    return {"event_id": f"e{seq}", "customer_id": customer, "anonymous_id": anon,
            "timestamp": T0 + timedelta(seconds=seconds), "touchpoint": touchpoint, "channel": channel,
            "properties": "{}", "_seq": seq}


ROWS = [
    ev(1, 0, None, "a1", "landing"),                  # before login → c1 (retroactive)
    ev(2, 0.5, None, "a1", "view shoes"),             # 0.5 s later
    ev(3, 60, "c1", "a1", "$identify"),               # stitching only, not a journey event
    ev(4, 60 + 45 * 60, "c1", None, "checkout", ""),  # 45 min after the previous kept event → new episode
    ev(5, 60 + 45 * 60, "c1", None, "view shoes", "store"),  # same timestamp: _seq keeps order
    ev(6, 0, "c2", None, "help page", "email"),       # no rule matches
    ev(7, 10, None, "a9", "landing"),                 # never linked → anon:a9
]


def load(wh: Warehouse, rows: list[dict[str, Any]] = ROWS) -> None:
    wh.append("events", pa.Table.from_pylist(rows))


def assert_journey_schema(schema: ibis.Schema, engine: str = "duckdb") -> None:
    """The documented schema. Engines report the timestamp's microsecond scale (the contract has
    none), and Spark's TIMESTAMP carries no zone: it is UTC by the session setting."""
    zone = "UTC" if engine == "pyspark" else None
    plain = {n: t.copy(scale=None, **({"timezone": zone} if zone else {})) if t.is_timestamp() else t
             for n, t in schema.items()}
    assert ibis.schema(plain) == JOURNEY_EVENTS_SCHEMA


def rows_of(wh: Warehouse) -> list[dict[str, Any]]:
    out = wh.table(JOURNEY_EVENTS).to_pyarrow().to_pylist()
    for row in out:  # Spark hands timestamps back without a zone; both are UTC
        row["timestamp"] = row["timestamp"].replace(tzinfo=UTC)
    return sorted(out, key=lambda r: (r["customer_id"], r["step"]))


def test_journey_events_values_and_schema(duckdb_wh: Warehouse) -> None:
    load(duckdb_wh)
    table = build_journey_events(duckdb_wh, DEFINITION)
    assert_journey_schema(table.schema())
    got = [(r["customer_id"], r["event_id"], r["touchpoint"], r["stage"], r["stage_order"], r["channel"],
            r["category"], r["critical"], r["step"], r["seconds_since_previous"], r["episode"])
           for r in rows_of(duckdb_wh)]
    assert got == [
        ("anon:a9", "e7", "landing", "Explore", 1, "web", "brand-owned", False, 1, None, 1),
        ("c1", "e1", "landing", "Explore", 1, "web", "brand-owned", False, 1, None, 1),
        ("c1", "e2", "view shoes", "Explore", 1, "web", "brand-owned", False, 2, 0.5, 1),
        ("c1", "e4", "checkout", "Buy", 2, "app", "partner-owned", True, 3, 2759.5, 2),
        ("c1", "e5", "view shoes", "Explore", 1, "store", "brand-owned", False, 4, 0.0, 2),
        ("c2", "e6", "help page", None, None, "email", None, None, 1, None, 1),
    ]
    assert duckdb_wh.table("identities").to_pyarrow().to_pylist()[0]["customer_id"] == "c1"


def test_episode_gap_argument_then_definition_then_default(duckdb_wh: Warehouse) -> None:
    load(duckdb_wh)
    build_journey_events(duckdb_wh, DEFINITION, episode_gap_minutes=60)   # 46 min is no break
    assert [r["episode"] for r in rows_of(duckdb_wh) if r["customer_id"] == "c1"] == [1, 1, 1, 1]
    no_setting = DEFINITION.model_copy(update={"settings": DEFINITION.settings.model_copy(
        update={"episode_gap_minutes": 50})})
    build_journey_events(duckdb_wh, no_setting)
    assert [r["episode"] for r in rows_of(duckdb_wh) if r["customer_id"] == "c1"] == [1, 1, 1, 1]
    build_journey_events(duckdb_wh, DEFINITION, episode_gap_minutes=1)
    assert [r["episode"] for r in rows_of(duckdb_wh) if r["customer_id"] == "c1"] == [1, 1, 2, 2]
    with pytest.raises(ParameterError, match="at least 1"):
        build_journey_events(duckdb_wh, DEFINITION, episode_gap_minutes=0)


def test_custom_gap_splits_a_long_session(duckdb_wh: Warehouse) -> None:
    minutes = [0, 4, 8, 20, 21, 40]
    load(duckdb_wh, [ev(i + 1, m * 60, "c", None, "landing") for i, m in enumerate(minutes)])
    build_journey_events(duckdb_wh, DEFINITION, episode_gap_minutes=5)
    assert [r["episode"] for r in rows_of(duckdb_wh)] == [1, 1, 1, 2, 2, 3]
    build_journey_events(duckdb_wh, DEFINITION, episode_gap_minutes=12)
    assert [r["episode"] for r in rows_of(duckdb_wh)] == [1, 1, 1, 1, 1, 2]


def test_duckdb_and_spark_build_identical_journey_events(wh: Warehouse, settings: Settings) -> None:
    reference = open_warehouse("duckdb://", settings)
    try:
        load(reference)
        build_journey_events(reference, DEFINITION)
        expected = rows_of(reference)
    finally:
        reference.close()
    load(wh)
    table = build_journey_events(wh, DEFINITION)
    assert_journey_schema(table.schema(), wh.engine)
    assert rows_of(wh) == expected
    assert len(expected) == 6


def test_lens_refresh_uses_the_definition() -> None:
    lens = journeylens.open("duckdb://", journey=SAMPLES / "helpdesk.journey.yaml",
                            settings=Settings(warehouse="duckdb://"))
    load(lens.warehouse, [ev(1, 0, "t1", None, "Insert ticket"), ev(2, 3600 * 30, "t1", None, "Closed")])
    lens.refresh()
    rows = rows_of(lens.warehouse)
    assert [(r["stage"], r["episode"]) for r in rows] == [("Intake", 1), ("Closure", 2)]  # gap 1440 min


def test_an_explicit_episode_gap_setting_beats_the_definition() -> None:
    lens = journeylens.open("duckdb://", journey=SAMPLES / "helpdesk.journey.yaml",
                            settings=Settings(warehouse="duckdb://", episode_gap_minutes=600))
    load(lens.warehouse, [ev(1, 0, "t1", None, "Insert ticket"), ev(2, 3600 * 11, "t1", None, "Closed")])
    lens.refresh()
    assert [r["episode"] for r in rows_of(lens.warehouse)] == [1, 2]  # 11 h > 600 min, < 1440 min
