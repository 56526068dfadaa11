"""Suggesting a definition from data (the shipped helpdesk and receipt logs)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import ibis
import pyarrow as pa
import pytest

from journeylens.errors import EmptyDataError
from journeylens.ingest import ingest
from journeylens.journeys.check import check_definition
from journeylens.journeys.definition import parse_definition
from journeylens.journeys.suggest import STAGE_DASH, suggest_definition
from journeylens.settings import Settings
from journeylens.warehouse import Warehouse, open_warehouse

SAMPLES = Path(__file__).parents[2] / "src" / "journeylens" / "samples"


@pytest.fixture(scope="module")
def helpdesk() -> Iterator[Warehouse]:
    wh = open_warehouse("duckdb://", Settings(warehouse="duckdb://"))
    ingest(wh, "events", SAMPLES / "helpdesk.xes.gz")
    yield wh
    wh.close()


def test_suggest_orders_the_helpdesk_lifecycle(helpdesk: Warehouse) -> None:
    d = suggest_definition(helpdesk.table("events"))
    names = [t.name for t in d.touchpoints]
    assert len(names) == 14
    main = ["Assign seriousness", "Take in charge ticket", "Resolve ticket", "Closed"]
    assert [n for n in names if n in main] == main
    assert 2 <= len(d.stages) <= 4
    assert all(s.name.startswith(f"Stage {i} {STAGE_DASH} ") for i, s in enumerate(d.stages, start=1))
    stage_of = {t.name: d.stage_order(t.stage) for t in d.touchpoints}
    assert stage_of["Assign seriousness"] == 1 and stage_of["Closed"] == len(d.stages)
    assert [stage_of[n] for n in names] == sorted(stage_of[n] for n in names)
    assert d.outcomes.conversion[0] == "Closed"
    assert {t.channel for t in d.touchpoints} == {"unknown"}  # the helpdesk log has no channel
    assert parse_definition(d.to_yaml()) == d
    assert check_definition(helpdesk.table("events"), d).to_dict()["coverage"]["share"] == 1.0


def test_suggest_limits_touchpoints_and_takes_the_commonest_channel(duckdb_wh: Warehouse) -> None:
    ingest(duckdb_wh, "events", SAMPLES / "receipt.xes.gz", mapping={"channel": "case:channel"})
    d = suggest_definition(duckdb_wh.table("events"), stages=3, max_touchpoints=6)
    assert len(d.touchpoints) == 6 and len(d.stages) <= 3
    assert d.touchpoints[0].name == "Confirmation of receipt"
    assert {t.channel for t in d.touchpoints} == {"Internet"}


def test_suggest_leaves_out_system_events_and_needs_data() -> None:
    ts = pa.array([1, 2, 3, 4], pa.timestamp("s", "UTC"))
    events = ibis.memtable(pa.table({"customer_id": ["c", "c", "c", "c"], "anonymous_id": [None] * 4,
                                     "touchpoint": ["$identify", "a", "b", "$page"], "channel": [None] * 4,
                                     "timestamp": ts, "_seq": [1, 2, 3, 4]}))
    assert [t.name for t in suggest_definition(events).touchpoints] == ["a", "b"]
    with pytest.raises(EmptyDataError, match="no events"):
        suggest_definition(events.filter(events.touchpoint.startswith("$")))
