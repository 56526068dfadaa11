"""``journeylens ingest`` / ``journeylens quarantine`` through the CLI runner."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from journeylens.surfaces.cli.main import app

ROOT = Path(__file__).parents[3]
RECEIPT_CSV = ROOT / "tests" / "data" / "receipt.csv.gz"
runner = CliRunner()


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_ingest_json_summary_then_quarantine(tmp_path: Path) -> None:
    wh = str(tmp_path / "wh.duckdb")
    good = _write(tmp_path, "a.csv", "customer_id,timestamp,touchpoint\nc1,2024-05-01T10:00:00Z,visit\n"
                                     "c2,yesterday,visit\n")
    result = runner.invoke(app, ["--warehouse", wh, "ingest", "events", str(good), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"table": "events", "read": 2, "accepted": 1, "duplicates": 0,
                                         "quarantined": 1, "reasons": {"bad_timestamp": 1}}
    result = runner.invoke(app, ["--warehouse", wh, "quarantine", "--reason", "bad_timestamp", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["total"] == 1 and report["reasons"] == {"bad_timestamp": 1}
    assert report["rows"][0] | {"detail": ""} == {"table": "events", "source": "a.csv", "row": 2,
                                                  "reason": "bad_timestamp", "detail": "",
                                                  "raw": '{"customer_id":"c2","timestamp":"yesterday","touchpoint":"visit"}'}


def test_ingest_several_files_prints_a_list_and_map_flags_work(tmp_path: Path) -> None:
    wh = str(tmp_path / "wh.duckdb")
    other = _write(tmp_path, "b.csv", "case:concept:name;time:timestamp;concept:name\nx;2024-05-01;open\n")
    args = ["--warehouse", wh, "ingest", "events", str(RECEIPT_CSV), str(other), "--map",
            "customer_id=case:concept:name", "--map", "touchpoint=concept:name", "--map",
            "timestamp=time:timestamp", "--json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert [(p["read"], p["accepted"]) for p in payload] == [(8_577, 8_577), (1, 1)]


def test_missing_columns_fail_with_the_one_error_shape(tmp_path: Path) -> None:
    wh = str(tmp_path / "wh.duckdb")
    result = runner.invoke(app, ["--warehouse", wh, "ingest", "events", str(RECEIPT_CSV), "--json"])
    assert result.exit_code == 2
    error = json.loads(result.stdout)["error"]
    assert error["code"] == "missing_columns"
    assert "--map customer_id=case:concept:name" in error["message"]
    result = runner.invoke(app, ["--warehouse", wh, "ingest", "events", str(RECEIPT_CSV), "--map", "oops"])
    assert result.exit_code == 2 and "TARGET=SOURCE" in result.output


def test_human_output_is_a_table(tmp_path: Path) -> None:
    wh = str(tmp_path / "wh.duckdb")
    path = _write(tmp_path, "s.csv", "channel,date,amount\nweb,2024-05-01,10\n")
    result = runner.invoke(app, ["--warehouse", wh, "ingest", "spend", str(path)])
    assert result.exit_code == 0, result.output
    assert "ingest → spend" in result.stdout and "s.csv" in result.stdout
    result = runner.invoke(app, ["--warehouse", wh, "quarantine"])
    assert result.exit_code == 0 and "quarantine: empty" in result.stdout
