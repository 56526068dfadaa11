"""The journey update after a file ingest runs under the ingest's memory budget, and running
out of memory under a budget is an ``out_of_memory`` error naming that budget's setting."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

import journeylens
from journeylens.errors import OutOfMemoryError
from journeylens.journeys import incremental
from journeylens.journeys.incremental import update_journey_events
from journeylens.settings import Settings
from journeylens.surfaces.cli.main import app
from journeylens.warehouse.memory import parse_bytes

T0 = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)
ROWS = 20_000


def _events_file(tmp_path: Path) -> Path:
    path = tmp_path / "events.parquet"
    pq.write_table(pa.table({
        "event_id": [f"e{i}" for i in range(ROWS)],
        "customer_id": [f"C{i % 500}" for i in range(ROWS)],
        "touchpoint": [("visit", "login", "checkout")[i % 3] for i in range(ROWS)],
        "channel": [("web", "app")[i % 2] for i in range(ROWS)],
        "timestamp": [T0 + timedelta(minutes=7 * i) for i in range(ROWS)],
    }), path)
    return path


def _limit(lens: Any) -> int:
    """DuckDB's memory limit in bytes, to 0.1 MiB (DuckDB prints it rounded; restoring that
    printed value can move it by one last digit)."""
    with lens.warehouse.duckdb() as raw:
        text = str(raw.execute("SELECT current_setting('memory_limit')").fetchone()[0])
    return round(parse_bytes(text.replace(" ", "")) / 2**20 * 5)


def test_journey_update_after_an_ingest_runs_under_the_ingest_budget(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings(warehouse=str(tmp_path / "wh.duckdb"), duckdb_memory_limit="1GB", ingest_memory_limit="300MB")
    lens = journeylens.open(str(tmp_path / "wh.duckdb"), settings=settings)
    seen: list[int] = []
    build = incremental._full_build

    def spy(*args: Any) -> None:
        seen.append(_limit(lens))
        build(*args)

    monkeypatch.setattr(incremental, "_full_build", spy)
    before = _limit(lens)
    summary = lens.ingest("events", str(_events_file(tmp_path)))
    assert summary.accepted == ROWS
    assert len(seen) == 1 and abs(seen[0] / 5 * 2**20 - 300e6) < 1e6  # the budget while journey_events was built
    assert _limit(lens) == before  # ... and the warehouse's 1 GB again afterwards
    assert lens.warehouse.table("journey_events").count().execute() == ROWS


def test_out_of_memory_under_a_budget_names_its_setting_and_restores_the_limit(tmp_path: Path) -> None:
    settings = Settings(warehouse=str(tmp_path / "wh.duckdb"), duckdb_memory_limit="1GB")
    lens = journeylens.open(str(tmp_path / "wh.duckdb"), settings=settings)
    lens.ingest("events", str(_events_file(tmp_path)))
    before = _limit(lens)
    with pytest.raises(OutOfMemoryError) as caught:
        update_journey_events(lens.warehouse, lens.definition, full=True, memory_limit="1MB")
    assert caught.value.code == "out_of_memory"
    assert "JOURNEYLENS_INGEST_MEMORY_LIMIT" in caught.value.message and "now 1MB" in caught.value.message
    assert caught.value.details["settings"][0] == "JOURNEYLENS_INGEST_MEMORY_LIMIT"
    assert _limit(lens) == before
    assert update_journey_events(lens.warehouse, lens.definition, full=True).mode == "full"


def test_cli_ingest_out_of_memory_is_a_clear_error_not_a_traceback(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["--warehouse", str(tmp_path / "wh.duckdb"), "ingest", "events", str(_events_file(tmp_path)), "--json"],
        env={"JOURNEYLENS_INGEST_MEMORY_LIMIT": "1MB", "JOURNEYLENS_DUCKDB_MEMORY_LIMIT": "1GB"})
    assert result.exit_code != 0
    assert "Traceback" not in result.output
    error = json.loads(result.stdout)["error"]
    assert error["code"] == "out_of_memory"
    assert "JOURNEYLENS_INGEST_MEMORY_LIMIT" in error["message"]
