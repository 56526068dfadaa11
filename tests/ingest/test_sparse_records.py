"""Sparse and empty-object properties: each row's JSON holds exactly what its record had."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest

from journeylens.ingest import ingest, ingest_records
from journeylens.ingest.readers.xes import XesReader
from journeylens.warehouse import Warehouse, open_warehouse

T = "2024-05-01T10:00:00Z"


def _json(wh: Warehouse, table: str, column: str, key: str) -> dict[str, Any]:
    rows = wh.table(table).to_pyarrow().to_pylist()
    return {r[key]: json.loads(r[column]) for r in rows}


def test_records_properties_hold_only_their_own_keys() -> None:
    wh = open_warehouse("duckdb://")
    records = [
        {"event_id": "e1", "customer_id": "c1", "touchpoint": "buy", "timestamp": T, "total": 42.5},
        {"event_id": "e2", "customer_id": "c1", "touchpoint": "visit", "timestamp": T, "plan": "gold", "path": "/x"},
        {"event_id": "e3", "customer_id": "c2", "touchpoint": "visit", "timestamp": T, "path": None},  # explicit null
        {"event_id": "e4", "customer_id": "c2", "touchpoint": "visit", "timestamp": T},
    ]
    summary = ingest_records(wh, "events", records)
    assert summary.accepted == 4
    assert _json(wh, "events", "properties", "event_id") == {
        "e1": {"total": 42.5}, "e2": {"plan": "gold", "path": "/x"}, "e3": {"path": None}, "e4": {}}


def test_sparse_bad_records_keep_their_own_raw() -> None:
    wh = open_warehouse("duckdb://")
    ingest_records(wh, "events", [{"customer_id": "c1", "touchpoint": "a", "timestamp": T, "x": 1},
                                  {"touchpoint": "b", "timestamp": T, "y": 2}])
    [bad] = wh.table("quarantine").to_pyarrow().to_pylist()
    assert (bad["row"], bad["reason"], json.loads(bad["raw"])) == (
        2, "missing_customer_id", {"touchpoint": "b", "timestamp": T, "y": 2})


def test_sparse_keys_that_differ_only_in_case() -> None:
    wh = open_warehouse("duckdb://")
    ingest_records(wh, "events", [{"customer_id": "c1", "touchpoint": "a", "timestamp": T, "Plan": "x"},
                                  {"customer_id": "c2", "touchpoint": "a", "timestamp": T, "plan": "y"}])
    assert _json(wh, "events", "properties", "customer_id") == {"c1": {"Plan": "x"}, "c2": {"plan_2": "y"}}


@pytest.mark.parametrize("kind", ["records", "jsonl", "pandas", "arrow"])
def test_empty_object_values_load_and_stay_empty_objects(tmp_path: Path, kind: str) -> None:
    wh = open_warehouse("duckdb://")
    rows = [{"customer_id": "c1", "address": {}, "tags": []}, {"customer_id": "c2", "address": {}, "tags": []}]
    source: Any
    if kind == "records":
        summary = ingest_records(wh, "customers", rows)
    else:
        if kind == "jsonl":
            source = tmp_path / "c.jsonl"
            source.write_text("".join(json.dumps(r) + "\n" for r in rows))
        elif kind == "pandas":
            source = pd.DataFrame(rows)
        else:
            source = pa.table({"customer_id": ["c1", "c2"],
                               "address": pa.array([{}, {}], type=pa.struct([])),
                               "tags": pa.array([[], []], type=pa.list_(pa.string()))})
        summary = ingest(wh, "customers", source)
    assert (summary.accepted, summary.quarantined) == (2, 0)
    assert _json(wh, "customers", "attributes", "customer_id") == {
        "c1": {"address": {}, "tags": []}, "c2": {"address": {}, "tags": []}}


def test_pandas_nested_objects_keep_each_rows_own_keys() -> None:
    wh = open_warehouse("duckdb://")
    frame = pd.DataFrame({"customer_id": ["c1", "c2"], "address": [{}, {"city": "Paris"}]})
    ingest(wh, "customers", frame)
    assert _json(wh, "customers", "attributes", "customer_id") == {
        "c1": {"address": {}}, "c2": {"address": {"city": "Paris"}}}


def test_sparse_jsonl_lines_keep_only_their_keys(tmp_path: Path) -> None:
    path = tmp_path / "e.jsonl"
    path.write_text(f'{{"customer_id": "c1", "touchpoint": "a", "timestamp": "{T}", "total": 3}}\n'
                    f'{{"customer_id": "c2", "touchpoint": "a", "timestamp": "{T}", "ctx": {{"page": "/x"}}}}\n'
                    f'{{"customer_id": "c3", "touchpoint": "a", "timestamp": "{T}", "total": null}}\n')
    wh = open_warehouse("duckdb://")
    assert ingest(wh, "events", path).accepted == 3
    assert _json(wh, "events", "properties", "customer_id") == {
        "c1": {"total": 3}, "c2": {"ctx": {"page": "/x"}}, "c3": {"total": None}}


def test_xes_events_keep_only_their_own_attributes(tmp_path: Path) -> None:
    path = tmp_path / "t.xes"
    path.write_text(
        '<?xml version="1.0"?><log xmlns="http://www.xes-standard.org/"><trace><string key="concept:name" value="T1"/>'
        '<event><string key="concept:name" value="A"/><date key="time:timestamp" value="2020-01-01T10:00:00Z"/>'
        '<int key="cost" value="3"/></event>'
        '<event><string key="concept:name" value="B"/><date key="time:timestamp" value="2020-01-01T11:00:00Z"/>'
        '<string key="agent" value="bot"/></event></trace></log>')
    assert sum(b.num_rows for b in XesReader("t", path=path)) == 2
    wh = open_warehouse("duckdb://")
    ingest(wh, "events", path)
    assert _json(wh, "events", "properties", "touchpoint") == {"A": {"cost": 3}, "B": {"agent": "bot"}}
