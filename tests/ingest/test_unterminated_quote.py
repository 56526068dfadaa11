"""An unterminated quote in a CSV file swallows the following lines into one field: the row is
quarantined with a reason (on the DuckDB bulk path and on the exact chunked path alike),
never accepted as one long touchpoint name."""

from __future__ import annotations

from pathlib import Path

import pytest

from journeylens.ingest import ingest
from journeylens.ingest.reports import quarantine_report
from journeylens.warehouse import Warehouse

BROKEN = ('customer_id,timestamp,touchpoint\n'
          'a,2025-01-01,Visit\n'
          'b,2025-01-02,"Mobile app login\n'
          'c,2025-01-03,Visit\n'
          'd,2025-01-04,Buy\n'
          'e,2025-01-05,Visit"\n'
          'f,2025-01-06,Buy\n')


@pytest.mark.parametrize("encoding", ["utf-8", "cp1252"])  # cp1252: DuckDB cannot decode it, the chunked path runs
def test_swallowed_lines_are_quarantined_with_a_reason(duckdb_wh: Warehouse, tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "events.csv"
    path.write_bytes(BROKEN.encode(encoding))
    summary = ingest(duckdb_wh, "events", path, encoding=encoding)
    assert (summary.accepted, summary.quarantined) == (2, 1)
    assert summary.to_dict()["reasons"] == {"line_break_in_name": 1}
    touchpoints = duckdb_wh.table("events").touchpoint.to_pyarrow().to_pylist()
    assert sorted(touchpoints) == ["Buy", "Visit"] and not any("\n" in t for t in touchpoints)
    row = quarantine_report(duckdb_wh).to_dict()["rows"][0]
    assert row["row"] == 2 and "runs over 4 lines" in row["detail"] and "unterminated quote" in row["detail"]
    assert "c,2025-01-03,Visit" in row["raw"]  # the swallowed lines are kept, not lost


def test_multi_line_comments_stay_accepted(duckdb_wh: Warehouse, tmp_path: Path) -> None:
    path = tmp_path / "feedback.csv"
    path.write_text('customer_id,timestamp,touchpoint,csat,comment\n'
                    'a,2025-01-01,Visit,4,"Fine.\nReally fine."\n')
    summary = ingest(duckdb_wh, "feedback", path)
    assert (summary.accepted, summary.quarantined) == (1, 0)
