"""``journeylens demo`` end to end: generate, write, ingest into a DuckDB file, summarise."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

import journeylens
from journeylens.demo import generate, write_dataset
from journeylens.ingest import ingest
from journeylens.surfaces.cli.main import app
from journeylens.warehouse import Warehouse

runner = CliRunner()


def test_demo_json_ingests_everything(tmp_path: Path) -> None:
    warehouse, out = tmp_path / "wh.duckdb", tmp_path / "demo-data"
    result = runner.invoke(app, ["--warehouse", str(warehouse), "demo", "--customers", "1500",
                                 "--seed", "5", "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert set(payload) == {"customers", "events", "feedback", "seconds", "warehouse", "journey"}
    assert payload["customers"] == 1500 and payload["warehouse"] == str(warehouse)
    assert payload["journey"] == str(out / "bank.journey.yaml") and payload["seconds"] > 0
    for name in ("events", "feedback", "customers", "spend"):
        assert (out / f"{name}.parquet").exists()
    assert pq.read_metadata(out / "events.parquet").num_rows == payload["events"]

    lens = journeylens.open(str(warehouse), payload["journey"])
    try:
        wh = lens.warehouse
        assert wh.count("events") == payload["events"]
        assert wh.count("feedback") == payload["feedback"]
        assert wh.count("customers") == 1500
        assert wh.count("quarantine") == 0
        journey = lens.events()
        assert journey.count().execute() == payload["events"]
        assert journey.stage.isnull().sum().execute() == 0  # every touchpoint is in the definition
        stitched = journey.filter(journey.customer_id.startswith("anon:")).customer_id.nunique().execute()
        assert stitched == 150  # only the visitors who never signed up stay anonymous
    finally:
        lens.warehouse.close()


def test_demo_human_output_names_files_and_next_steps(tmp_path: Path) -> None:
    result = runner.invoke(app, ["--warehouse", str(tmp_path / "wh.duckdb"), "demo", "-n", "300",
                                 "--out", str(tmp_path / "d")])
    assert result.exit_code == 0, result.output
    assert "events.parquet" in result.output and "Next, try" in result.output
    assert "docs/demo.md" in result.output


def test_demo_files_only(tmp_path: Path) -> None:
    warehouse = tmp_path / "wh.duckdb"
    result = runner.invoke(app, ["--warehouse", str(warehouse), "demo", "-n", "300", "--out", str(tmp_path / "d"),
                                 "--no-ingest", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["warehouse"] is None
    assert not warehouse.exists()


def test_demo_bad_size_is_a_clear_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["--warehouse", str(tmp_path / "wh.duckdb"), "demo", "-n", "5",
                                 "--out", str(tmp_path / "d"), "--json"])
    assert result.exit_code == 2
    error = json.loads(result.stdout)["error"]
    assert error["code"] == "invalid_parameter" and "between" in error["message"]


@pytest.mark.slow
def test_default_size_generates_and_writes(tmp_path: Path) -> None:
    started = time.perf_counter()
    data = generate()
    files = write_dataset(data, tmp_path)
    seconds = time.perf_counter() - started
    print(f"\ndemo default size: {data.events.num_rows:,} events, {data.feedback.num_rows:,} responses "
          f"generated and written in {seconds:.1f} s")
    assert data.customers.num_rows == 50_000
    assert 900_000 <= data.events.num_rows <= 1_200_000
    assert pq.read_metadata(files.tables["events"]).num_rows == data.events.num_rows


def test_demo_tables_ingest_cleanly_on_every_engine(wh: Warehouse, tmp_path: Path) -> None:
    files = write_dataset(generate(customers=150, seed=11), tmp_path)
    for name, path in files.tables.items():
        summary = ingest(wh, name, str(path))
        assert summary.quarantined == 0 and summary.accepted == pq.read_metadata(path).num_rows, name


def test_demo_without_warehouse_creates_the_default_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("JOURNEYLENS_WAREHOUSE", raising=False)
    result = runner.invoke(app, ["demo", "-n", "300", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["warehouse"] == "journeylens.duckdb"
    assert (tmp_path / "journeylens.duckdb").exists() and (tmp_path / "demo-data" / "events.parquet").exists()
    metrics = runner.invoke(app, ["metrics", "--json"])  # the next command finds it without --warehouse
    assert metrics.exit_code == 0, metrics.output
