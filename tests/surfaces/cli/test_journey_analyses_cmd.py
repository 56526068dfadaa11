"""``journeylens journey transitions|variants|funnel`` through CliRunner: --json is the API's shape."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pytest
from typer.testing import CliRunner

from journeylens.analyses.funnel import funnel
from journeylens.analyses.transitions import transitions
from journeylens.analyses.variants import variants
from journeylens.settings import Settings
from journeylens.surfaces.cli.main import app
from journeylens.warehouse import open_warehouse
from journeylens.warehouse.schema import JOURNEY_EVENTS, JOURNEY_EVENTS_SCHEMA

runner = CliRunner()
T0 = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)
ROWS = [("c1", "visit", "web", 0), ("c1", "cart", "web", 60), ("c1", "buy", "web", 600),
        ("c2", "visit", "store", 0), ("c2", "buy", "store", 30), ("c3", "visit", "web", 0)]


def journey_events() -> pa.Table:
    records = [{"customer_id": c, "touchpoint": t, "channel": ch, "timestamp": T0 + timedelta(seconds=s),
                "stage": "explore" if t == "visit" else "buy", "_seq": i} for i, (c, t, ch, s) in enumerate(ROWS)]
    return pa.Table.from_pylist(records).select(["customer_id", "touchpoint", "channel", "timestamp", "stage",
                                                  "_seq"])


@pytest.fixture
def warehouse(tmp_path: Path) -> str:
    path = str(tmp_path / "wh.duckdb")
    wh = open_warehouse(path, Settings(warehouse=path))
    schema = JOURNEY_EVENTS_SCHEMA.to_pyarrow()
    data = journey_events()
    wh.replace(JOURNEY_EVENTS, pa.table({f.name: data[f.name].cast(f.type) if f.name in data.column_names
                                         else pa.nulls(data.num_rows, f.type) for f in schema}, schema=schema))
    wh.close()
    return path


def invoke(warehouse: str, *args: str) -> object:
    result = runner.invoke(app, ["--warehouse", warehouse, "journey", *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_json_equals_the_analysis(warehouse: str) -> None:
    wh = open_warehouse(warehouse, Settings(warehouse=warehouse))
    events = wh.table(JOURNEY_EVENTS)
    expected_transitions = transitions(events, level="stage").to_dict()
    expected_variants = variants(events, top=2, collapse_repeats=True).to_dict()
    expected_funnel = funnel(events, steps=["visit", "buy"], within_days=1).to_dict()
    wh.close()
    assert invoke(warehouse, "transitions", "--level", "stage", "--json") == expected_transitions
    assert invoke(warehouse, "variants", "--top", "2", "--collapse-repeats", "--json") == expected_variants
    assert invoke(warehouse, "funnel", "--steps", "visit,buy", "--within-days", "1", "--json") == expected_funnel
    assert set(expected_transitions[0]) == {"from", "to", "count", "customers", "median_seconds", "mean_seconds",
                                            "p90_seconds"}


def test_funnel_breakdown_filters_and_tables(warehouse: str) -> None:
    payload = invoke(warehouse, "funnel", "--steps", "visit,buy", "--by", "channel", "--json")
    assert isinstance(payload, dict)
    assert {(r["group"], r["step"], r["customers"]) for r in payload["groups"]} == {
        ("store", "visit", 1), ("store", "buy", 1), ("web", "visit", 2), ("web", "buy", 1)}
    assert "p_value" in payload["test"]
    web_only = invoke(warehouse, "transitions", "--channel", "web", "--json")
    assert ("visit", "buy") not in {(r["from"], r["to"]) for r in web_only}
    table = runner.invoke(app, ["--warehouse", warehouse, "journey", "funnel", "--steps", "visit,cart,buy"])
    assert table.exit_code == 0 and "cart" in table.output


def test_bad_input_fails_with_the_error_shape(warehouse: str) -> None:
    result = runner.invoke(app, ["--warehouse", warehouse, "journey", "funnel", "--steps", "visit",
                                 "--mode", "loose", "--json"])
    assert result.exit_code == 2
    assert json.loads(result.output)["error"]["code"] == "invalid_parameter"


def test_transitions_split_by_a_column(warehouse: str) -> None:
    rows = invoke(warehouse, "transitions", "--by", "channel", "--json")
    assert isinstance(rows, list)
    edges = {(r["channel"], r["from"], r["to"]): r["count"] for r in rows}
    assert edges[("web", "visit", "cart")] == 1 and edges[("store", "visit", "buy")] == 1
    assert edges[("web", "__start__", "visit")] == 2 and ("store", "visit", "cart") not in edges
    assert sum(edges.values()) == sum(r["count"] for r in invoke(warehouse, "transitions", "--json"))  # type: ignore[union-attr]
    table = runner.invoke(app, ["--warehouse", warehouse, "journey", "transitions", "--by", "channel"])
    assert table.exit_code == 0 and "by channel" in table.output
    bad = runner.invoke(app, ["--warehouse", warehouse, "journey", "transitions", "--by", "chanel", "--json"])
    assert bad.exit_code != 0 and "channel" in bad.output
