"""The metrics CLI and HTTP routes print exactly the documented shapes (same numbers as Python)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

import journeylens
from journeylens.operations.appdb import AppDatabase
from journeylens.operations.keys import create_key
from journeylens.settings import Settings
from journeylens.surfaces.api.app import create_app
from journeylens.surfaces.cli.context import human
from journeylens.surfaces.cli.main import app as cli
from journeylens.warehouse.schema import FEEDBACK


def _feedback_rows() -> list[dict[str, Any]]:
    rows = []
    for month in (1, 2):
        for i, nps in enumerate([10, 9, 9, 8, 3, 10, 6] if month == 1 else [10, 10, 9, 9, 9, 2]):
            rows.append({"response_id": f"{month}-{i}", "customer_id": f"c{i}", "touchpoint": "checkout",
                         "timestamp": datetime(2024, month, 2 + i, tzinfo=UTC), "nps": nps, "csat": 4 + i % 2,
                         "ces": 5, "comment": ["Great checkout", "Slow and confusing payment page"][i % 2]})
    rows.append({"response_id": "e1", "touchpoint": "checkout", "timestamp": datetime(2024, 1, 3, tzinfo=UTC),
                 "comment": "Het duurde veel te lang en niemand hielp mij", "nps": 2})
    return rows


def _arrow(rows: list[dict[str, Any]]) -> pa.Table:
    schema = FEEDBACK.to_pyarrow()
    rows = [dict(r, _seq=i + 1) for i, r in enumerate(rows)]
    return pa.table({f.name: pa.array([r.get(f.name) for r in rows], type=f.type) for f in schema}, schema=schema)


@pytest.fixture
def warehouse_file(tmp_path: Path) -> str:
    path = str(tmp_path / "wh.duckdb")
    lens = journeylens.open(path, settings=Settings(warehouse=path))
    lens.warehouse.append("feedback", _arrow(_feedback_rows()))
    lens.warehouse.close()
    return path


def test_cli_metrics_json_has_exactly_the_documented_keys(warehouse_file: str) -> None:
    result = CliRunner().invoke(cli, ["--warehouse", warehouse_file, "metrics", "--by", "touchpoint,month", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert list(rows[0]) == ["touchpoint", "month", "n", "nps", "nps_low", "nps_high", "nps_n",
                                          "csat", "csat_low", "csat_high", "csat_n", "ces", "ces_low", "ces_high",
                                          "ces_n", "target_status"]
    jan = rows[0]
    # Jan: 10 9 9 8 3 10 6 + the Dutch 2 → promoters 4, detractors 3 of 8
    assert (jan["month"], jan["n"], jan["nps"]) == ("2024-01", 8, pytest.approx(100 * (4 - 3) / 8))
    only_nps = CliRunner().invoke(cli, ["--warehouse", warehouse_file, "metrics", "--by", "month", "--metric", "nps",
                                        "--json"])
    assert list(json.loads(only_nps.stdout)[0]) == ["month", "n", "nps", "nps_low", "nps_high", "nps_n",
                                                   "target_status"]


def test_cli_errors_use_the_one_error_shape(warehouse_file: str) -> None:
    result = CliRunner().invoke(cli, ["--warehouse", warehouse_file, "metrics", "--by", "colour", "--json"])
    assert result.exit_code == 2
    assert json.loads(result.stdout)["error"]["code"] == "invalid_parameter"


def test_cli_changes_and_sentiment(warehouse_file: str) -> None:
    changes = CliRunner().invoke(cli, ["--warehouse", warehouse_file, "metric-changes", "--by", "touchpoint",
                                       "--metric", "nps", "--json"])
    row = json.loads(changes.stdout)[0]
    assert (row["base_period"], row["current_period"], row["metric"]) == ("2024-01", "2024-02", "nps")
    assert set(row) >= {"change", "p", "q", "significant", "test"}
    sentiment = CliRunner().invoke(cli, ["--warehouse", warehouse_file, "text", "sentiment", "--json"])
    payload = json.loads(sentiment.stdout)
    assert payload["overall"]["n"] == 14 and payload["overall"]["not_scored"] == 1
    assert payload["overall"]["positive"] == 7 and payload["overall"]["negative"] == 6


@pytest.fixture
def client(tmp_path: Path, warehouse_file: str) -> Iterator[tuple[TestClient, dict[str, str]]]:
    settings = Settings(warehouse=warehouse_file, app_database_url=f"sqlite:///{tmp_path / 'app.db'}",
                        cache_dir=tmp_path / "cache")
    db = AppDatabase(settings.app_database_url)
    with db.session() as session:
        _, key = create_key(session, "reader", ["read"])
    lens = journeylens.open(warehouse_file, settings=settings)
    with TestClient(create_app(settings, lens=lens, app_db=db)) as test_client:
        yield test_client, {"Authorization": f"Bearer {key}"}
    lens.warehouse.close()
    db.dispose()


def test_http_metrics_match_python_and_need_read_scope(client: tuple[TestClient, dict[str, str]]) -> None:
    http, auth = client
    assert http.get("/v1/metrics").status_code == 401
    response = http.get("/v1/metrics?by=month&metric=nps", headers=auth)
    assert response.status_code == 200, response.text
    assert [r["nps_n"] for r in response.json()] == [8, 6]
    detail = http.get("/v1/metrics?by=month&metric=nps&detail=true", headers=auth).json()
    assert detail[0]["nps_distribution"][10] == 2
    bad = http.get("/v1/metrics?by=colour", headers=auth)
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_parameter"
    changes = http.get("/v1/metrics/changes?by=touchpoint&period=none", headers=auth).json()
    # one touchpoint: the rest is empty, so every comparison is listed untested
    assert [(r["metric"], r["base_n"], r["p"], r["significant"]) for r in changes] == [
        ("nps", 0, None, False), ("csat", 0, None, False), ("ces", 0, None, False)]
    sentiment = http.get("/v1/text/sentiment?limit=2", headers=auth).json()
    assert len(sentiment["comments"]) == 2 and sentiment["overall"]["n"] == 14


def test_targets_are_on_the_metrics_own_scale_everywhere(warehouse_file: str, tmp_path: Path) -> None:
    """The YAML may write a CSAT target as "80 %"; JSON keeps it on CSAT's own 0..1 scale (so
    ``csat >= csat_target`` compares directly) and people read it as a percentage."""
    journey = tmp_path / "j.yaml"
    journey.write_text('name: Shop\nstages: [{name: Buy}]\ntouchpoints:\n'
                       '  - {name: checkout, stage: Buy, targets: {csat: "80 %", nps: 30}}\n', encoding="utf-8")
    base = ["--warehouse", warehouse_file, "--journey", str(journey), "metrics", "--by", "touchpoint", "--detail"]
    result = CliRunner().invoke(cli, [*base, "--json"])
    assert result.exit_code == 0, result.output
    row = json.loads(result.stdout)[0]
    assert row["csat_target"] == 0.8 and row["nps_target"] == 30
    assert row["csat_target_status"] == ("met" if row["csat"] >= 0.8 else "missed" if row["csat_high"] < 0.8
                                         else "at_risk")
    table = CliRunner().invoke(cli, [*base, "--metric", "csat"])
    assert table.exit_code == 0 and "%" in table.output
    assert human(0.8, "csat_target") == "80.0 %" and human(30.0, "nps_target") == "30"
    journey.write_text('name: Shop\nstages: [{name: Buy}]\ntouchpoints:\n'
                       '  - {name: checkout, stage: Buy, targets: {csat: 80}}\n', encoding="utf-8")
    refused = CliRunner().invoke(cli, [*base, "--json"])
    assert refused.exit_code != 0 and "csat target 80 is outside its scale" in refused.output
    assert "'80 %'" in refused.output and ":4:" in refused.output  # the line of the target
