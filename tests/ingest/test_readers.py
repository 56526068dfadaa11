"""Readers on their own: row numbers, rejected rows, encodings, typed XES values."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pytest

from journeylens.errors import InputError, UnsupportedFormatError
from journeylens.ingest.readers import detect_format
from journeylens.ingest.readers.csv import CsvReader, sniff_delimiter
from journeylens.ingest.readers.jsonl import JsonLinesReader
from journeylens.ingest.readers.xes import XesReader

SAMPLES = Path(__file__).parents[2] / "src" / "journeylens" / "samples"


def _rows(batches: list[pa.RecordBatch]) -> list[dict]:
    return pa.Table.from_batches(batches).to_pylist() if batches else []


def test_bpi2016_semicolon_latin1_keeps_accents() -> None:
    reader = CsvReader("bpi", path=SAMPLES / "bpi2016_complaints.csv", encoding="latin-1")
    rows = _rows(list(reader))
    assert len(rows) == 289
    assert reader.rejected == []
    assert rows[0]["CustomerID"] == "1945807" and rows[0]["ContactDate"] == "2016-01-12"
    text = " ".join(v for r in rows for v in r.values() if isinstance(v, str))
    raw = (SAMPLES / "bpi2016_complaints.csv").read_bytes().decode("latin-1")
    accented = {ch for ch in raw if ord(ch) > 127}
    assert accented and accented <= set(text)  # every non-ASCII character survived
    assert [r["_row"] for r in rows] == list(range(1, 290))
    assert not any(v.endswith("\r") for r in rows for v in r.values() if isinstance(v, str))  # CRLF file


def test_non_utf8_file_without_encoding_fails_with_a_hint() -> None:
    with pytest.raises(InputError, match="encoding"):
        list(CsvReader("bpi", path=SAMPLES / "bpi2016_complaints.csv"))


def test_malformed_lines_are_rejected_with_row_number_and_raw_text(tmp_path: Path) -> None:
    path = tmp_path / "x.csv.gz"
    with gzip.open(path, "wt") as out:
        out.write('a,b,c\n1,2,3\n4,5\n"q,uoted",7,8\n\n9,10,11,12\n13,14,15\n')
    reader = CsvReader("x", path=path, batch_rows=1000)
    rows = _rows(list(reader))
    assert [(r["_row"], r["a"]) for r in rows] == [(1, "1"), (3, "q,uoted"), (5, "13")]
    assert [(r.row, r.raw, r.reason) for r in reader.rejected] == [
        (2, "4,5", "malformed_row"), (4, "9,10,11,12", "malformed_row")]
    assert "expected 3 fields, found 2" in reader.rejected[0].detail


def test_csv_blocks_keep_row_numbers_and_quoted_newlines(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    lines = ["id,note"] + [f'{i},"line one\nline two {i}"' if i % 1000 == 0 else f"{i},n{i}" for i in range(1, 30_001)]
    path.write_text("\n".join(lines) + "\n")
    reader = CsvReader("big", path=path, batch_rows=1000)  # many 1 MiB blocks
    batches = list(reader)
    rows = _rows(batches)
    assert len(rows) == 30_000 and reader.rejected == []
    assert all(int(r["id"]) == r["_row"] for r in rows)
    assert rows[999]["note"] == "line one\nline two 1000"


def test_empty_fields_are_null_and_values_stay_text(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("a;b\n007;\n")
    rows = _rows(list(CsvReader("t", path=path)))
    assert rows == [{"a": "007", "b": None, "_row": 1}]


def test_sniff_delimiter() -> None:
    assert sniff_delimiter("a\tb\tc") == "\t"
    assert sniff_delimiter("single") == ","


def test_jsonl_invalid_lines_are_rejected_by_line_number(tmp_path: Path) -> None:
    path = tmp_path / "e.jsonl"
    path.write_text('{"a": 1}\n\nnot json\n[1, 2]\n{"a": "x", "b": {"c": 1}}\n')
    reader = JsonLinesReader("e", path=path)
    rows = _rows(list(reader))
    assert [(r["_row"], r["a"]) for r in rows] == [(1, "1"), (5, '"x"')]  # mixed types kept as JSON, judged per row later
    assert [(r.row, r.reason) for r in reader.rejected] == [(3, "invalid_json"), (4, "invalid_json")]


def test_xes_typed_values_and_trace_attributes(tmp_path: Path) -> None:
    path = tmp_path / "t.xes"
    path.write_text(
        '<?xml version="1.0"?><log xmlns="http://www.xes-standard.org/">'
        '<trace><string key="concept:name" value="T1"/><int key="age" value="41"/>'
        '<event><string key="concept:name" value="A"/><date key="time:timestamp" value="2020-01-01T10:00:00+02:00"/>'
        '<float key="cost" value="1.5"/><boolean key="ok" value="true"/>'
        '<list key="tags"><values><string key="t" value="x"/><string key="t" value="y"/></values></list></event>'
        '</trace></log>')
    reader = XesReader("t", path=path)
    rows = _rows(list(reader))
    assert len(rows) == 1
    row = rows[0]
    assert row["case:concept:name"] == "T1" and row["case:age"] == 41
    assert row["cost"] == 1.5 and row["ok"] is True
    assert row["time:timestamp"] == datetime(2020, 1, 1, 8, tzinfo=UTC)  # the offset was honoured
    assert row["tags"] == '[{"t": "x"}, {"t": "y"}]'
    assert reader.side_tables["customers"] == [{"concept:name": "T1", "age": 41}]


def test_format_detection() -> None:
    assert detect_format(Path("a.CSV.gz")) == "csv"
    assert detect_format(Path("a.ndjson")) == "jsonl"
    assert detect_format(Path("a.parquet")) == "parquet"
    with pytest.raises(UnsupportedFormatError, match="xes"):
        detect_format(Path("a.xlsx"))
