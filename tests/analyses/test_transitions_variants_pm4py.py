"""Transitions and variants on real process-mining logs equal pm4py's exactly.

pm4py is a dev-only oracle: the product never imports it. Each XES log is parsed by pm4py
once (module fixture), stored as ``journey_events`` (XES order as ``_seq``), and compared with
``pm4py.discover_dfg`` (counts, start and end activities) and ``pm4py.get_variants``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from journeylens.analyses.transitions import END, START, transitions
from journeylens.analyses.variants import variants
from journeylens.warehouse import Warehouse, open_warehouse
from journeylens.warehouse.schema import JOURNEY_EVENTS, JOURNEY_EVENTS_SCHEMA

pm4py = pytest.importorskip("pm4py")

ROOT = Path(__file__).parents[2]
LOGS = [
    pytest.param(ROOT / "src/journeylens/samples/helpdesk.xes.gz", id="helpdesk"),
    pytest.param(ROOT / "src/journeylens/samples/receipt.xes.gz", id="receipt"),
    pytest.param(ROOT / "tests/data/07_bpic2013_incidents.xes.gz", id="bpic2013", marks=pytest.mark.slow),
]
CASE, ACTIVITY, TIME = "case:concept:name", "concept:name", "time:timestamp"


def journey_events_from_pm4py(frame: Any) -> pa.Table:
    frame = frame.reset_index(drop=True)
    seq = pa.array(range(1, len(frame) + 1), pa.int64())
    columns = {"customer_id": pa.array(frame[CASE].astype(str)), "touchpoint": pa.array(frame[ACTIVITY].astype(str)),
               "timestamp": pa.array(frame[TIME]).cast(pa.timestamp("us", tz="UTC")), "_seq": seq}
    schema = JOURNEY_EVENTS_SCHEMA.to_pyarrow()
    return pa.table({f.name: columns.get(f.name, pa.nulls(len(frame), f.type)).cast(f.type) for f in schema},
                    schema=schema)


@pytest.fixture(scope="module", params=LOGS)
def log(request: pytest.FixtureRequest) -> Iterator[tuple[Any, Warehouse]]:
    frame = pm4py.read_xes(str(request.param), show_progress_bar=False)
    warehouse = open_warehouse("duckdb://")
    warehouse.replace(JOURNEY_EVENTS, journey_events_from_pm4py(frame))
    yield frame, warehouse
    warehouse.close()


def test_transitions_equal_pm4py_dfg(log: tuple[Any, Warehouse]) -> None:
    frame, warehouse = log
    dfg, starts, ends = pm4py.discover_dfg(frame, activity_key=ACTIVITY, timestamp_key=TIME, case_id_key=CASE)
    rows = transitions(warehouse.table(JOURNEY_EVENTS)).records
    ours = {(r["from"], r["to"]): r["count"] for r in rows}
    assert {k: v for k, v in ours.items() if START not in k and END not in k} == dict(dfg)
    assert {k[1]: v for k, v in ours.items() if k[0] == START} == dict(starts)
    assert {k[0]: v for k, v in ours.items() if k[1] == END} == dict(ends)


def test_variants_equal_pm4py(log: tuple[Any, Warehouse]) -> None:
    frame, warehouse = log
    expected = pm4py.get_variants(frame, activity_key=ACTIVITY, timestamp_key=TIME, case_id_key=CASE)
    expected_counts = {tuple(k): (v if isinstance(v, int) else len(v)) for k, v in expected.items()}
    rows = variants(warehouse.table(JOURNEY_EVENTS), top=None).records
    assert {tuple(r["path"]): r["customers"] for r in rows} == expected_counts
    assert sum(r["share"] for r in rows) == pytest.approx(1.0)
