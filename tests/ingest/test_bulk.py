"""The DuckDB bulk path for CSV / Parquet files: same results as the chunked path, one read."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from journeylens.ingest import ingest
from journeylens.warehouse import Warehouse, open_warehouse

CSV = """customer_id,timestamp,touchpoint,channel,device,note
c1,2024-05-01T10:00:00Z,visit,web,ios,"a, quoted"
c1,not-a-date,visit,web,ios,
,2024-05-01T10:02:00Z,visit,web,ios,x
c2,2024-05-01 12:00:00,buy,,android,
c2,1899-12-31,visit,web,ios,y
c3,2024-05-01T10:05:00+02:00,visit,app,,"line one
line two"
c3,2024-05-01T10:05:00+02:00,visit,app,,"line one
line two"
"""


def _rows(wh: Warehouse, table: str) -> list[dict[str, Any]]:
    return wh.table(table).to_pyarrow().to_pylist()  # type: ignore[no-any-return]


def _landed(wh: Warehouse) -> list[tuple[Any, ...]]:
    return sorted((r["_row"], r["customer_id"], r["timestamp"], r["touchpoint"], r["channel"], r["properties"],
                   r["_seq"], r["_key"]) for r in _rows(wh, "events"))


def _quarantined(wh: Warehouse) -> list[tuple[Any, ...]]:
    return sorted((r["row"], r["reason"], r["detail"], json.loads(r["raw"])) for r in _rows(wh, "quarantine"))


def _bulk_used(caplog: pytest.LogCaptureFixture) -> bool:
    return any("(bulk)" in r.getMessage() for r in caplog.records)


def test_csv_bulk_matches_the_chunked_path(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "e.csv"
    path.write_text(CSV)
    bulk, chunked = open_warehouse("duckdb://"), open_warehouse("duckdb://")
    with caplog.at_level(logging.INFO, logger="journeylens.ingest"):
        summary = ingest(bulk, "events", path, timezone="Europe/Paris")
    assert _bulk_used(caplog)
    frame = pd.read_csv(path, dtype=str, keep_default_na=False).replace("", None)
    reference = ingest(chunked, "events", frame, timezone="Europe/Paris")
    assert summary.to_dict() == reference.to_dict() == {
        "table": "events", "read": 7, "accepted": 4, "duplicates": 0, "quarantined": 3,
        "reasons": {"bad_timestamp": 1, "missing_customer_id": 1, "timestamp_out_of_range": 1}}
    assert _landed(bulk) == _landed(chunked)
    assert _quarantined(bulk) == _quarantined(chunked)
    got = {r["_row"]: r for r in _rows(bulk, "events")}
    assert got[4]["timestamp"].isoformat() == "2024-05-01T10:00:00+00:00"  # naive, read in Paris (+2 h)
    assert json.loads(got[1]["properties"]) == {"device": "ios", "note": "a, quoted"}
    assert json.loads(got[6]["properties"])["note"] == "line one\nline two"
    assert [r["_seq"] for r in sorted(_rows(bulk, "events"), key=lambda r: r["_row"])] == [1, 4, 6, 7]
    assert [(r["row"], r["reason"]) for r in _rows(bulk, "quarantine")] == [
        (2, "bad_timestamp"), (3, "missing_customer_id"), (5, "timestamp_out_of_range")]
    log = _rows(bulk, "ingest_log")[0]
    assert (log["read"], log["accepted"], log["quarantined"]) == (7, 4, 3)


def test_bulk_reingest_and_overlap_add_only_new_rows(tmp_path: Path) -> None:
    wh = open_warehouse("duckdb://")
    path = tmp_path / "e.csv"
    path.write_text(CSV)
    ingest(wh, "events", path)
    again = ingest(wh, "events", path)  # non-empty table: staged, anti-joined on content
    assert (again.read, again.accepted, again.duplicates, again.quarantined) == (7, 0, 4, 3)
    longer = tmp_path / "more.csv"
    longer.write_text(CSV + 'c3,2024-05-01T10:05:00+02:00,visit,app,,"line one\nline two"\nc4,2024-05-02,buy,web,,\n')
    more = ingest(wh, "events", longer)
    assert (more.accepted, more.duplicates) == (2, 4)  # a third identical click and c4
    assert wh.count("events") == 6
    assert max(r["_seq"] for r in _rows(wh, "events")) == 7 + 9  # continues from the table's max(_seq)


def test_bulk_ids_collapse_within_file_and_across_loads(tmp_path: Path) -> None:
    wh = open_warehouse("duckdb://")
    path = tmp_path / "ids.csv"
    path.write_text("event_id,customer_id,timestamp,touchpoint\ne1,c1,2024-05-01,a\ne2,c1,2024-05-02,b\n"
                    "e1,c1,2024-05-03,c\n,c2,2024-05-01,a\n")
    first = ingest(wh, "events", path)
    assert (first.accepted, first.duplicates) == (3, 1)
    rows = {r["_row"]: r for r in _rows(wh, "events")}
    assert (rows[1]["_key"], rows[1]["touchpoint"], rows[4]["_key"]) == ("e1", "a", None)
    assert ingest(wh, "events", path).accepted == 0


def test_parquet_bulk_keeps_types_row_numbers_and_zones(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "e.parquet"
    table = pa.table({
        "customer_id": ["c1", "c2", None, "c3"],
        "timestamp": pa.array([1_714_557_600_000_000, 1_714_557_660_000_000, 1_714_557_720_000_000, None],
                              type=pa.timestamp("us")),  # naive: read in the ingest zone
        "touchpoint": ["visit", "buy", "visit", "visit"],
        "amount": [1.5, None, 3.0, 4.0],
    })
    pq.write_table(table, path, row_group_size=2)
    wh = open_warehouse("duckdb://")
    with caplog.at_level(logging.INFO, logger="journeylens.ingest"):
        summary = ingest(wh, "events", path, timezone="America/New_York")
    assert _bulk_used(caplog)
    assert summary.reasons == {"missing_customer_id": 1, "missing_timestamp": 1}
    rows = sorted(_rows(wh, "events"), key=lambda r: r["_row"])
    assert [(r["_row"], r["timestamp"].isoformat()) for r in rows] == [
        (1, "2024-05-01T14:00:00+00:00"), (2, "2024-05-01T14:01:00+00:00")]
    assert [json.loads(r["properties"]) for r in rows] == [{"amount": 1.5}, {"amount": None}]
    assert sorted(r["row"] for r in _rows(wh, "quarantine")) == [3, 4]


def test_odd_column_names_are_quoted_not_executed(tmp_path: Path) -> None:
    path = tmp_path / "odd.csv"
    path.write_text('customer_id,timestamp,touchpoint,"we""ird",sp ace,"x) AS _raw FROM t; --",Sp Ace\n'
                    'c1,2024-05-01,visit,1,2,3,4\n')
    wh = open_warehouse("duckdb://")
    assert ingest(wh, "events", path).accepted == 1
    props = json.loads(_rows(wh, "events")[0]["properties"])
    assert props == {'we"ird': "1", "sp ace": "2", "x) AS _raw FROM t; --": "3", "Sp Ace_2": "4"}


def test_customers_bulk_collapse_identical_rows(tmp_path: Path) -> None:
    path = tmp_path / "customers.csv"
    path.write_text("customer_id,segment,churned\nc1,a,yes\nc1,a,yes\nc2,b,maybe\n,x,no\n")
    wh = open_warehouse("duckdb://")
    summary = ingest(wh, "customers", path)
    assert (summary.accepted, summary.duplicates, summary.reasons) == (
        1, 1, {"bad_boolean": 1, "missing_customer_id": 1})
    assert ingest(wh, "customers", path).accepted == 0


def test_malformed_csv_falls_back_to_the_exact_reader(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("customer_id,timestamp,touchpoint\nc1,2024-05-01,a\nc1,2024-05-02\nc1,2024-05-03,c\n")
    wh = open_warehouse("duckdb://")
    with caplog.at_level(logging.INFO, logger="journeylens.ingest"):
        summary = ingest(wh, "events", path)
    assert not _bulk_used(caplog)
    assert (summary.accepted, summary.reasons) == (2, {"malformed_row": 1})
    assert [r["row"] for r in _rows(wh, "quarantine")] == [2]
    assert wh.count("ingest_log") == 1  # the refused bulk attempt left nothing behind


def test_a_frame_and_the_same_rows_as_csv_are_duplicates(tmp_path: Path) -> None:
    frame = pd.DataFrame({"customer_id": ["c1", "c1"], "timestamp": ["2024-05-01T10:00:00Z"] * 2,
                          "touchpoint": ["click"] * 2, "page": ["/a", "/a"]})
    wh = open_warehouse("duckdb://")
    assert ingest(wh, "events", frame).accepted == 2
    path = tmp_path / "same.csv"
    frame.to_csv(path, index=False)
    assert (ingest(wh, "events", path).duplicates, wh.count("events")) == (2, 2)


IDS_CSV = """event_id,customer_id,timestamp,touchpoint,campaign
e1,c1,2024-05-01T10:00:00Z,visit,spring
e2,c1,not-a-date,visit,
e3,,2024-05-01T10:02:00Z,visit,x
e4,c2,2024-05-01 12:00:00,buy,
e5,c3,2024-05-02T08:00:00Z,visit,spring
"""
MORE_IDS_CSV = """event_id,customer_id,timestamp,touchpoint,campaign
e4,c2,2024-05-01 12:00:00,buy,
e6,c4,2024-05-03T09:00:00Z,visit,
e7,c4,1899-12-31,visit,
e1,c9,2024-06-01T00:00:00Z,other,
"""


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_distinct_ids_stream_in_one_insert_like_the_staged_path(tmp_path: Path, fmt: str,
                                                               caplog: pytest.LogCaptureFixture) -> None:
    """A file whose ids are all distinct lands by one streaming insert (no staging table), into
    an empty table and then a non-empty one with an anti-join on the stored ids: the same rows,
    _seq, quarantine and counts as the chunked path, bad rows quarantined one by one."""
    bulk, chunked = open_warehouse("duckdb://"), open_warehouse("duckdb://")
    for n, text in enumerate((IDS_CSV, MORE_IDS_CSV)):
        frame = pd.read_csv(pd.io.common.StringIO(text), dtype=str, keep_default_na=False).replace("", None)
        path = tmp_path / f"ids{n}.{fmt}"
        if fmt == "csv":
            path.write_text(text)
        else:
            pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path)
        with caplog.at_level(logging.INFO, logger="journeylens.ingest"):
            got = ingest(bulk, "events", path)
        assert _bulk_used(caplog)
        caplog.clear()
        want = ingest(chunked, "events", frame)
        assert got.to_dict() == want.to_dict()
        assert _landed(bulk) == _landed(chunked)
        assert _quarantined(bulk) == _quarantined(chunked)
    assert got.to_dict() == {"table": "events", "read": 4, "accepted": 1, "duplicates": 2, "quarantined": 1,
                             "reasons": {"timestamp_out_of_range": 1}}
    assert sorted(r["_key"] for r in _rows(bulk, "events")) == ["e1", "e4", "e5", "e6"]


def test_ids_with_gaps_into_a_filled_table_use_the_staged_path(tmp_path: Path) -> None:
    """Rows without an id are deduplicated on content against the stored rows: a file that has
    some, or repeats an id, is staged (the streaming insert cannot decide those)."""
    wh = open_warehouse("duckdb://")
    path = tmp_path / "a.csv"
    path.write_text("event_id,customer_id,timestamp,touchpoint\ne1,c1,2024-05-01,a\n,c2,2024-05-01,a\n")
    assert ingest(wh, "events", path).accepted == 2
    again = tmp_path / "b.csv"
    again.write_text("event_id,customer_id,timestamp,touchpoint\ne2,c1,2024-05-02,b\n,c2,2024-05-01,a\n"
                     ",c2,2024-05-01,a\ne2,c1,2024-05-03,c\n")
    second = ingest(wh, "events", again)
    assert (second.read, second.accepted, second.duplicates) == (4, 2, 2)
    assert sorted((r["_key"] or "", r["touchpoint"]) for r in _rows(wh, "events")) == [
        ("", "a"), ("", "a"), ("e1", "a"), ("e2", "b")]
