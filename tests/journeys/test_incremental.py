"""Incremental journey_events equals a full rebuild exactly, batch after batch (property test),
and a rebuild is swapped in without readers ever missing the table."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.journeys.test_enrich import DEFINITION

import journeylens
from journeylens.ingest.stitching import identity_graph
from journeylens.journeys.definition import parse_definition
from journeylens.journeys.enrich import IDENTITIES_TABLE, journey_events_expr
from journeylens.journeys.incremental import read_state, update_journey_events
from journeylens.settings import Settings
from journeylens.warehouse import Warehouse
from journeylens.warehouse.schema import JOURNEY_EVENTS, JOURNEY_EVENTS_SCHEMA

T0 = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)
OTHER = parse_definition("""
name: Shop2
stages: [{name: Any}]
touchpoints:
  - {name: Everything, regex: ".*", stage: Any}
settings: {episode_gap_minutes: 5}
""")

# Few ids and timestamps on purpose: collisions make ties, late links, conflicts and duplicates.
event = st.fixed_dictionaries({
    "event_id": st.one_of(st.none(), st.sampled_from([f"e{i}" for i in range(30)])),
    "customer_id": st.sampled_from([None, None, "", "c1", "c2", "c3"]),
    "anonymous_id": st.sampled_from([None, "", "a1", "a2", "a3", "a4"]),
    "minute": st.integers(0, 240),
    "touchpoint": st.sampled_from(["landing", "view shoes", "checkout", "help", "$identify"]),
    "channel": st.sampled_from([None, "", "store"]),
})
batches = st.lists(st.lists(event, min_size=1, max_size=12), min_size=1, max_size=5)


def _arrow(rows: list[dict[str, Any]]) -> pa.Table:
    out = [{**{k: v for k, v in r.items() if k != "minute"}, "timestamp": T0 + timedelta(minutes=r["minute"])}
           for r in rows]
    return pa.Table.from_pylist(out, schema=pa.schema([
        ("event_id", pa.string()), ("customer_id", pa.string()), ("anonymous_id", pa.string()),
        ("touchpoint", pa.string()), ("channel", pa.string()), ("timestamp", pa.timestamp("us", "UTC"))]))


def _rows(table: Any) -> list[tuple[Any, ...]]:
    """Rows as sorted tuples; timestamps as naive UTC (Spark's stored TIMESTAMP has no zone)."""
    return _plain(table.select(*JOURNEY_EVENTS_SCHEMA.names).to_pyarrow().to_pylist())


def _plain(data: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    plain = [tuple(v.astimezone(UTC).replace(tzinfo=None) if isinstance(v, datetime) and v.tzinfo else v
                   for v in r.values()) for r in data]
    return sorted(plain, key=repr)


def assert_equals_full_rebuild(wh: Warehouse, definition: Any = DEFINITION) -> None:
    events = wh.table("events")
    expected = journey_events_expr(events, definition, episode_gap_minutes=definition.settings.episode_gap_minutes)
    assert _rows(wh.table(JOURNEY_EVENTS)) == _rows(expected)
    graph = wh.table(IDENTITIES_TABLE).to_pyarrow().to_pylist()
    assert _plain(graph) == _plain(identity_graph(events).to_pyarrow().to_pylist())


def _append_batches(wh: Warehouse, batches_: list[list[dict[str, Any]]]) -> None:
    lens = journeylens.JourneyLens(wh, DEFINITION, Settings(warehouse="duckdb://"))
    modes = []
    for rows in batches_:
        summary = lens.ingest("events", _arrow(rows))
        state = read_state(wh)
        if summary.accepted:
            assert state is not None and state["applied_seq"] == int(wh.table("events")._seq.max().execute())
            modes.append(lens.refresh().mode)  # already applied by ingest: nothing left to do
            assert_equals_full_rebuild(wh)
    assert set(modes) <= {"none"}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batches_=batches)
def test_incremental_equals_full_rebuild_duckdb(batches_: list[list[dict[str, Any]]]) -> None:
    wh = journeylens.open("duckdb://", settings=Settings(warehouse="duckdb://", duckdb_memory_limit="1GB")).warehouse
    try:
        _append_batches(wh, batches_)
    finally:
        wh.close()


@pytest.mark.spark
@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batches_=st.lists(st.lists(event, min_size=2, max_size=8), min_size=2, max_size=3))
def test_incremental_equals_full_rebuild_spark(spark_session: Any, batches_: list[list[dict[str, Any]]]) -> None:
    from tests.conftest import _spark_warehouse

    _append_batches(_spark_warehouse(spark_session), batches_)


def test_late_identify_reattributes_earlier_anonymous_events(duckdb_wh: Warehouse) -> None:
    lens = journeylens.JourneyLens(duckdb_wh, DEFINITION)
    lens.ingest("events", _arrow([
        {"event_id": "1", "customer_id": None, "anonymous_id": "a1", "minute": 0, "touchpoint": "landing", "channel": None},
        {"event_id": "2", "customer_id": "c1", "anonymous_id": None, "minute": 100, "touchpoint": "checkout",
         "channel": None}]))
    assert sorted(lens.events().customer_id.to_list()) == ["anon:a1", "c1"]
    update = None
    lens.ingest("events", _arrow([{"event_id": "3", "customer_id": "c1", "anonymous_id": "a1", "minute": 50,
                                   "touchpoint": "$identify", "channel": None}]))
    update = read_state(duckdb_wh)
    assert update is not None
    journey = lens.events().order_by("step").to_pyarrow().to_pylist()
    assert [(r["customer_id"], r["step"], r["episode"]) for r in journey] == [("c1", 1, 1), ("c1", 2, 2)]
    assert_equals_full_rebuild(duckdb_wh)


def test_changed_definition_rebuilds_and_readers_never_miss_the_table(duckdb_wh: Warehouse) -> None:
    lens = journeylens.JourneyLens(duckdb_wh, DEFINITION)
    rows = [{"event_id": str(i), "customer_id": f"c{i % 50}", "anonymous_id": None, "minute": i % 600,
             "touchpoint": ["landing", "checkout", "help"][i % 3], "channel": None} for i in range(3000)]
    lens.ingest("events", _arrow(rows))
    reader = duckdb_wh.con.con.cursor()  # type: ignore[attr-defined]
    stop, seen, errors = threading.Event(), [], []

    def read() -> None:
        while not stop.is_set():
            try:
                seen.append(reader.execute(f"SELECT count(*) FROM {JOURNEY_EVENTS}").fetchone()[0])
            except Exception as exc:
                errors.append(exc)

    thread = threading.Thread(target=read)
    thread.start()
    try:
        for definition in (OTHER, DEFINITION, OTHER):
            assert update_journey_events(duckdb_wh, definition).mode == "full"
    finally:
        stop.set()
        thread.join()
    assert errors == [] and seen and set(seen) == {3000}
    assert_equals_full_rebuild(duckdb_wh, OTHER)


def test_data_version_changes_when_journeys_update(duckdb_wh: Warehouse) -> None:
    lens = journeylens.JourneyLens(duckdb_wh, DEFINITION)
    lens.ingest("events", _arrow([{"event_id": "1", "customer_id": "c1", "anonymous_id": None, "minute": 0,
                                   "touchpoint": "landing", "channel": None}]))
    before = duckdb_wh.data_version()
    update_journey_events(duckdb_wh, OTHER)
    assert duckdb_wh.data_version() != before


@pytest.mark.spark
def test_spark_freshness_check_sees_events_landed_after_it_remembered(spark_session: Any) -> None:
    """On Spark the state and last _seq are remembered per file listing (ADR 0107): events that
    land without updating the journeys must still be seen, and a refresh must be seen too."""
    from tests.conftest import _spark_warehouse

    from journeylens.ingest.pipeline import ingest
    from journeylens.journeys import incremental

    wh = _spark_warehouse(spark_session)
    settings_ = Settings(warehouse="duckdb://")
    lens = journeylens.JourneyLens(wh, DEFINITION, settings_)
    first = [{"event_id": "e1", "customer_id": "c1", "anonymous_id": None, "minute": 0, "touchpoint": "landing",
              "channel": None}]
    lens.ingest("events", _arrow(first))
    assert not incremental.needs_update(wh, lambda: DEFINITION)
    assert not incremental.needs_update(wh, lambda: DEFINITION)  # answered from the listing
    assert incremental._spark_files(wh, ("events", incremental.STATE_TABLE)) in incremental._seen
    later = [{**first[0], "event_id": "e2", "minute": 5, "touchpoint": "checkout"}]
    ingest(wh, "events", _arrow(later), settings=settings_)  # lands; the journeys are not updated
    assert incremental.needs_update(wh, lambda: DEFINITION)
    assert lens.refresh().mode == "incremental"
    assert not incremental.needs_update(wh, lambda: DEFINITION)
    assert [r["touchpoint"] for r in lens.events().order_by("step").to_pyarrow().to_pylist()] == ["landing", "checkout"]
