"""The ingest pipeline end to end: real logs, accounting row by row, dedupe, time, order."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from journeylens.errors import MissingColumnsError, ParameterError
from journeylens.ingest import ingest, ingest_records, reasons
from journeylens.warehouse import Warehouse

ROOT = Path(__file__).parents[2]
SAMPLES = ROOT / "src" / "journeylens" / "samples"
DATA = ROOT / "tests" / "data"
XES_MAP = {"customer_id": "case:concept:name", "touchpoint": "concept:name", "timestamp": "time:timestamp"}


def _rows(wh: Warehouse, table: str) -> list[dict[str, Any]]:
    return wh.table(table).to_pyarrow().to_pylist()  # type: ignore[no-any-return]


def _utc(value: datetime) -> datetime:
    """Spark hands timestamps back naive (in its UTC session zone), DuckDB tz-aware."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _distinct(wh: Warehouse, table: str, column: str) -> int:
    return int(wh.table(table)[column].nunique().execute())


def test_helpdesk_xes_counts_and_trace_customers(duckdb_wh: Warehouse) -> None:
    summary = ingest(duckdb_wh, "events", SAMPLES / "helpdesk.xes.gz")
    assert summary.to_dict() == {"table": "events", "read": 21_348, "accepted": 21_348, "duplicates": 0,
                                 "quarantined": 0, "reasons": {}}
    assert duckdb_wh.count("events") == 21_348
    assert _distinct(duckdb_wh, "events", "customer_id") == 4_580
    assert duckdb_wh.count("customers") == 4_580  # one per trace
    again = ingest(duckdb_wh, "events", SAMPLES / "helpdesk.xes.gz")
    assert (again.accepted, again.duplicates) == (0, 21_348)
    assert duckdb_wh.count("customers") == 4_580


def test_receipt_xes_and_csv_with_map_agree(duckdb_wh: Warehouse, settings: Any) -> None:
    xes = ingest(duckdb_wh, "events", SAMPLES / "receipt.xes.gz", source_name="receipt-xes")
    assert (xes.read, xes.accepted) == (8_577, 8_577)
    assert _distinct(duckdb_wh, "events", "customer_id") == 1_434
    customers = {r["customer_id"]: json.loads(r["attributes"]) for r in _rows(duckdb_wh, "customers")}
    assert len(customers) == 1_434 and customers["case-10011"]["channel"] == "Internet"
    csv = ingest(duckdb_wh, "events", DATA / "receipt.csv.gz", mapping=XES_MAP)
    assert (csv.read, csv.accepted, csv.quarantined) == (8_577, 8_577, 0)
    events = duckdb_wh.table("events")
    from_csv = events.filter(events._source == "receipt.csv.gz")
    assert from_csv.customer_id.nunique().execute() == 1_434
    # the same instants from both formats (offsets honoured in both)
    both = events.group_by(["customer_id", "touchpoint", "timestamp"]).aggregate(n=events.count())
    assert both.filter(both.n != 2).count().execute() == 0


@pytest.mark.slow
def test_bpic2013_xes_counts(duckdb_wh: Warehouse) -> None:
    summary = ingest(duckdb_wh, "events", DATA / "07_bpic2013_incidents.xes.gz")
    assert (summary.read, summary.accepted) == (65_533, 65_533)
    assert _distinct(duckdb_wh, "events", "customer_id") == 7_554


def test_bpi2016_csv_with_map_keeps_accents(duckdb_wh: Warehouse) -> None:
    summary = ingest(duckdb_wh, "events", SAMPLES / "bpi2016_complaints.csv", encoding="latin-1",
                     mapping={"customer_id": "CustomerID", "timestamp": "ContactDate", "touchpoint": "ComplaintTopic"})
    assert (summary.read, summary.accepted) == (289, 289)
    touchpoints = {r["touchpoint"] for r in _rows(duckdb_wh, "events")}
    assert "boos over beëindiging gesprek" in touchpoints
    props = json.loads(_rows(duckdb_wh, "events")[0]["properties"])
    assert props["ComplaintTheme_EN"] and "CustomerID" not in props


CORRUPT = """event_id,customer_id,timestamp,touchpoint,channel,plan
e1,c1,2024-05-01T10:00:00Z,visit,web,gold
e2,c1,not-a-date,visit,web,gold
e3,,2024-05-01T10:02:00Z,visit,web,gold
e4,c2,2024-05-01T10:03:00Z,,web
e5,c2,2024-05-01T10:04:00Z,buy,web,gold
e1,c1,2024-05-01T10:00:00Z,visit,web,gold
e6,c3,1899-12-31,visit,web,gold
e7,c3,2024-05-01T10:07:00Z,buy,web,gold
e8,c3,,buy,web,gold
"""


def test_corrupted_csv_is_accounted_row_by_row(duckdb_wh: Warehouse, tmp_path: Path) -> None:
    path = tmp_path / "corrupt.csv"
    path.write_text(CORRUPT)
    summary = ingest(duckdb_wh, "events", path)
    assert summary.to_dict() == {
        "table": "events", "read": 9, "accepted": 3, "duplicates": 1, "quarantined": 5,
        "reasons": {"bad_timestamp": 1, "malformed_row": 1, "missing_customer_id": 1, "missing_timestamp": 1,
                    "timestamp_out_of_range": 1}}
    quarantined = {(r["row"], r["reason"]) for r in _rows(duckdb_wh, "quarantine")}
    assert quarantined == {(2, reasons.BAD_TIMESTAMP), (3, reasons.MISSING_CUSTOMER_ID), (4, reasons.MALFORMED_ROW),
                           (7, reasons.TIMESTAMP_OUT_OF_RANGE), (9, reasons.MISSING_TIMESTAMP)}
    bad = next(r for r in _rows(duckdb_wh, "quarantine") if r["row"] == 2)
    assert json.loads(bad["raw"])["timestamp"] == "not-a-date" and "not-a-date" in bad["detail"]
    assert next(r for r in _rows(duckdb_wh, "quarantine") if r["row"] == 4)["raw"] == "e4,c2,2024-05-01T10:03:00Z,,web"
    assert sorted(r["event_id"] for r in _rows(duckdb_wh, "events")) == ["e1", "e5", "e7"]
    log = _rows(duckdb_wh, "ingest_log")
    assert len(log) == 1 and (log[0]["read"], log[0]["quarantined"]) == (9, 5)
    assert json.loads(log[0]["reasons"]) == summary.reasons
    assert ingest(duckdb_wh, "events", path).accepted == 0  # re-ingest adds nothing
    assert duckdb_wh.count("events") == 3


def test_identical_rows_without_id_are_kept_but_not_reingested(duckdb_wh: Warehouse) -> None:
    frame = pd.DataFrame({"customer_id": ["c1", "c1", "c1"], "touchpoint": ["click"] * 3,
                          "timestamp": ["2024-05-01T10:00:00Z"] * 3})
    assert ingest(duckdb_wh, "events", frame).accepted == 3  # three equal clicks are three events
    assert ingest(duckdb_wh, "events", frame).duplicates == 3
    assert ingest(duckdb_wh, "events", frame.head(2)).accepted == 0
    assert ingest(duckdb_wh, "events", pd.concat([frame, frame.head(1)])).accepted == 1  # a 4th click
    assert duckdb_wh.count("events") == 4
    assert {r["_key"] for r in _rows(duckdb_wh, "events")} == {None}  # no id: compared on content, no hash


def test_customers_and_spend_collapse_identical_rows(duckdb_wh: Warehouse) -> None:
    customers = pd.DataFrame({"customer_id": ["c1", "c1", "c2", None], "segment": ["a", "a", "b", "x"],
                              "churned": ["yes", "yes", "maybe", "no"], "tier": [1, 1, 2, 3]})
    summary = ingest(duckdb_wh, "customers", customers)
    assert (summary.accepted, summary.duplicates) == (1, 1)
    assert summary.reasons == {"bad_boolean": 1, "missing_customer_id": 1}
    row = _rows(duckdb_wh, "customers")[0]
    assert (row["churned"], json.loads(row["attributes"])) == (True, {"tier": 1})
    spend = pd.DataFrame({"channel": ["web", "web", None], "date": ["2024-05-01", "2024-05-01", "2024-05-02"],
                          "amount": ["10.5", "abc", "3"]})
    result = ingest(duckdb_wh, "spend", spend)
    assert (result.accepted, result.reasons) == (1, {"bad_amount": 1, "missing_channel": 1})


def test_feedback_scores_and_metrics(duckdb_wh: Warehouse) -> None:
    frame = pd.DataFrame({
        "response_id": ["r1", "r2", "r3", "r4", "r5", "r6"],
        "timestamp": ["2024-05-01"] * 6,
        "nps": ["9", "11", "x", None, None, "7"],
        "csat": [None, None, None, None, 0, 5],
        "effort_minutes": [3.0, None, None, 4.0, None, 1.5],
        "comment": [None, None, None, None, None, "great"],
    })
    frame.loc[3, "effort_minutes"] = None
    summary = ingest(duckdb_wh, "feedback", frame)
    assert summary.reasons == {"bad_number": 1, "no_metric": 1, "score_out_of_range": 2}
    rows = {r["response_id"]: r for r in _rows(duckdb_wh, "feedback")}
    assert sorted(rows) == ["r1", "r6"]
    assert (rows["r6"]["nps"], rows["r6"]["csat"], rows["r6"]["respondent"]) == (7, 5, "customer")
    assert json.loads(rows["r1"]["metrics"]) == {"effort_minutes": 3.0}


def test_naive_and_offset_timestamps(duckdb_wh: Warehouse, settings: Any) -> None:
    frame = pd.DataFrame({"customer_id": ["a", "b", "c"], "touchpoint": ["t"] * 3,
                          "timestamp": ["2024-05-01 10:00:00", "2024-05-01T10:00:00+02:00", "2024-05-01T10:00:00Z"]})
    ingest(duckdb_wh, "events", frame)
    got = {r["customer_id"]: r["timestamp"].isoformat() for r in _rows(duckdb_wh, "events")}
    assert got == {"a": "2024-05-01T10:00:00+00:00", "b": "2024-05-01T08:00:00+00:00",
                   "c": "2024-05-01T10:00:00+00:00"}
    ingest(duckdb_wh, "events", frame.assign(customer_id=["d", "e", "f"]), timezone="America/New_York")
    got = {r["customer_id"]: r["timestamp"].isoformat() for r in _rows(duckdb_wh, "events")}
    assert got["d"] == "2024-05-01T14:00:00+00:00"  # naive read in New York (EDT, -4 h)
    assert got["e"] == "2024-05-01T08:00:00+00:00"  # an explicit offset wins
    with pytest.raises(ParameterError, match="time zone"):
        ingest(duckdb_wh, "events", frame, timezone="Mars/Olympus")


def test_equal_timestamps_keep_source_order_and_seq_continues(duckdb_wh: Warehouse) -> None:
    frame = pd.DataFrame({"customer_id": ["c"] * 4, "touchpoint": ["d", "a", "c", "b"],
                          "timestamp": ["2024-05-01T10:00:00Z"] * 4})
    ingest(duckdb_wh, "events", frame)
    ingest(duckdb_wh, "events", frame.assign(touchpoint=["z", "y", "x", "w"]))
    events = duckdb_wh.table("events")
    ordered = events.order_by(["timestamp", "_seq"]).touchpoint.to_pyarrow().to_pylist()
    assert ordered == ["d", "a", "c", "b", "z", "y", "x", "w"]


def test_missing_columns_error_names_found_columns_and_suggests_maps(duckdb_wh: Warehouse) -> None:
    with pytest.raises(MissingColumnsError) as info:
        ingest(duckdb_wh, "events", DATA / "receipt.csv.gz")
    message = info.value.message
    assert "customer_id, timestamp, touchpoint" in message
    assert "case:concept:name" in message and "Columns found:" in message
    assert ("--map customer_id=case:concept:name --map timestamp=time:timestamp "
            "--map touchpoint=concept:name") in message
    assert duckdb_wh.count("ingest_log") == 0  # nothing half-done
    with pytest.raises(MissingColumnsError, match=r"nps\|csat\|ces\|comment"):
        ingest(duckdb_wh, "feedback", pd.DataFrame({"timestamp": ["2024-01-01"], "who": ["x"]}))
    with pytest.raises(MissingColumnsError, match="customer_id=nope"):
        ingest(duckdb_wh, "events", DATA / "receipt.csv.gz", mapping={**XES_MAP, "customer_id": "nope"})


def _frame() -> pd.DataFrame:
    return pd.DataFrame({"event_id": ["e1", "e2", "e3"], "customer_id": ["c1", "c2", None],
                         "timestamp": pd.to_datetime(["2024-05-01 10:00", "2024-05-01 11:00", "2024-05-01 12:00"]),
                         "touchpoint": ["visit", "buy", "visit"], "device": ["ios", "web", "ios"]})


@pytest.mark.parametrize("kind", ["pandas", "polars", "arrow", "reader", "parquet", "jsonl", "records"])
def test_every_source_kind_lands_the_same(duckdb_wh: Warehouse, tmp_path: Path, kind: str) -> None:
    frame = _frame()
    source: Any
    if kind == "pandas":
        source = frame
    elif kind == "polars":
        source = pl.from_pandas(frame)
    elif kind == "arrow":
        source = pa.Table.from_pandas(frame)
    elif kind == "reader":
        source = pa.Table.from_pandas(frame).to_reader(max_chunksize=1)
    elif kind == "parquet":
        source = tmp_path / "e.parquet"
        pq.write_table(pa.Table.from_pandas(frame), source, row_group_size=1)
    elif kind == "jsonl":
        source = tmp_path / "e.jsonl"
        frame.assign(timestamp=frame.timestamp.astype(str)).to_json(source, orient="records", lines=True)
    if kind == "records":
        summary = ingest_records(duckdb_wh, "events", frame.assign(timestamp=frame.timestamp.astype(str))
                                 .to_dict(orient="records"))
    else:
        summary = ingest(duckdb_wh, "events", source)
    assert summary.to_dict() == {"table": "events", "read": 3, "accepted": 2, "duplicates": 0,
                                 "quarantined": 1, "reasons": {"missing_customer_id": 1}}
    rows = sorted(_rows(duckdb_wh, "events"), key=lambda r: r["event_id"])
    assert [r["timestamp"].isoformat() for r in rows] == ["2024-05-01T10:00:00+00:00", "2024-05-01T11:00:00+00:00"]
    assert [json.loads(r["properties"]) for r in rows] == [{"device": "ios"}, {"device": "web"}]
    assert [r["_row"] for r in rows] == [1, 2]
    assert _rows(duckdb_wh, "quarantine")[0]["row"] == 3


def test_lists_of_files_and_data_version(duckdb_wh: Warehouse, tmp_path: Path) -> None:
    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    first.write_text("customer_id,timestamp,touchpoint\nc1,2024-05-01,visit\n")
    second.write_text("customer_id,timestamp,touchpoint\nc1,2024-05-02,buy\nc1,2024-05-01,visit\n")
    before = duckdb_wh.data_version()
    summary = ingest(duckdb_wh, "events", [first, second])
    assert (summary.read, summary.accepted, summary.duplicates) == (3, 2, 1)
    assert duckdb_wh.count("ingest_log") == 2
    assert duckdb_wh.data_version() != before


def test_unknown_table_and_mapping_target(duckdb_wh: Warehouse) -> None:
    with pytest.raises(ParameterError, match="events, feedback"):
        ingest(duckdb_wh, "orders", _frame())
    with pytest.raises(ParameterError, match="Cannot map"):
        ingest(duckdb_wh, "events", _frame(), mapping={"colour": "device"})


def test_parity_small_ingest_on_every_engine(wh: Warehouse) -> None:
    """DuckDB and Spark land the same rows, keys, sequence and quarantine."""
    frame = _frame().assign(timestamp=["2024-05-01 10:00", "2024-05-01T11:00:00+01:00", "x"])
    frame.loc[2, "customer_id"] = "c3"
    summary = ingest(wh, "events", frame)
    assert summary.to_dict() == {"table": "events", "read": 3, "accepted": 2, "duplicates": 0,
                                 "quarantined": 1, "reasons": {"bad_timestamp": 1}}
    assert ingest(wh, "events", frame).duplicates == 2
    rows = sorted(_rows(wh, "events"), key=lambda r: r["_seq"])
    assert [(r["event_id"], _utc(r["timestamp"]).isoformat(), r["_seq"]) for r in rows] == [
        ("e1", "2024-05-01T10:00:00+00:00", 1), ("e2", "2024-05-01T10:00:00+00:00", 2)]
    assert [(r["row"], r["reason"]) for r in _rows(wh, "quarantine")] == [(3, "bad_timestamp"),
                                                                          (3, "bad_timestamp")]
    assert wh.count("ingest_log") == 2
    clicks = pd.DataFrame({"customer_id": ["c9"] * 2, "touchpoint": ["click"] * 2,  # no id: content dedupe
                           "timestamp": ["2024-05-02T10:00:00Z"] * 2, "page": [None, None]})
    assert ingest(wh, "events", clicks).accepted == 2
    assert ingest(wh, "events", pd.concat([clicks, clicks.head(1)])).accepted == 1
    assert wh.count("events") == 5
