"""``GET /v1/journey/outcomes`` and ``/v1/metrics/touchpoint-scores``: read scope, the analyses' JSON."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient

import journeylens
from journeylens.analyses.filters import Filters
from journeylens.operations.appdb import AppDatabase
from journeylens.operations.keys import create_key
from journeylens.settings import Settings
from journeylens.surfaces.api.app import create_app

JOURNEY = """
name: Bank
stages: [{name: Look}, {name: Open, targets: {csat: 0.8}}]
touchpoints:
  - {name: Visit, stage: Look, channel: web}
  - {name: Approved, stage: Open, channel: email, targets: {csat: 0.9}}
outcomes: {conversion: [Approved]}
"""


@pytest.fixture
def api(tmp_path: Path) -> Iterator[tuple[TestClient, dict[str, str], Any]]:
    journey = tmp_path / "bank.journey.yaml"
    journey.write_text(JOURNEY, encoding="utf-8")
    settings = Settings(warehouse="duckdb://", app_database_url=f"sqlite:///{tmp_path / 'app.db'}",
                        collector_spool=tmp_path / "spool")
    db = AppDatabase(settings.app_database_url)
    with db.session() as session:
        _, read_key = create_key(session, "read", ["read"])
    lens = journeylens.open("duckdb://", journey, settings=settings)
    lens.ingest("events", pd.DataFrame({
        "customer_id": ["a", "a", "b", "c"], "touchpoint": ["Visit", "Approved", "Visit", "Visit"],
        "timestamp": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-05", "2024-02-01"], utc=True)}))
    lens.ingest("feedback", pd.DataFrame({
        "customer_id": ["a"] * 6, "touchpoint": ["Approved"] * 6, "csat": [5, 5, 4, 2, 5, 5],
        "timestamp": pd.to_datetime(["2024-01-03"] * 6, utc=True)}))
    client = TestClient(create_app(settings, lens=lens, app_db=db))
    yield client, {"authorization": f"Bearer {read_key}"}, lens
    client.close()
    lens.warehouse.close()
    db.dispose()


def test_outcomes_route(api: Any) -> None:
    client, auth, lens = api
    got = client.get("/v1/journey/outcomes", headers=auth)
    assert got.status_code == 200, got.text
    assert got.json() == lens.outcomes().to_dict()
    assert got.json()["overall"]["converted"] == 1
    filtered = client.get("/v1/journey/outcomes", params={"start": "2024-01-04", "period": "week"}, headers=auth)
    assert filtered.json() == lens.outcomes(filters=Filters(start="2024-01-04"), period="week").to_dict()
    assert client.get("/v1/journey/outcomes").status_code == 401
    bad = client.get("/v1/journey/outcomes", params={"period": "year"}, headers=auth)
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_request"


def test_touchpoint_scores_route(api: Any) -> None:
    client, auth, lens = api
    got = client.get("/v1/metrics/touchpoint-scores", headers=auth)
    assert got.status_code == 200, got.text
    assert got.json() == lens.touchpoint_scores().to_dict()
    approved = next(r for r in got.json() if r["level"] == "touchpoint" and r["touchpoint"] == "Approved")
    assert approved["csat_n"] == 6 and approved["csat_target"] == 0.9


def test_endpoints_are_in_the_openapi_document(api: Any) -> None:
    client, _, _ = api
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/v1/journey/outcomes", "/v1/metrics/touchpoint-scores"} <= set(paths)
    assert not any(p.startswith(("/journey-map", "/settings", "/export")) for p in paths)  # pages stay out of the API docs


def test_cli_prints_the_same_json(tmp_path: Path) -> None:
    import json

    from typer.testing import CliRunner

    from journeylens.surfaces.cli.main import app

    journey = tmp_path / "bank.journey.yaml"
    journey.write_text(JOURNEY, encoding="utf-8")
    events = tmp_path / "events.csv"
    events.write_text("customer_id,touchpoint,timestamp\na,Visit,2024-01-01\na,Approved,2024-01-02\n"
                      "b,Visit,2024-02-01\n", encoding="utf-8")
    warehouse = str(tmp_path / "w.duckdb")
    runner = CliRunner()
    assert runner.invoke(app, ["--warehouse", warehouse, "--journey", str(journey), "ingest", "events",
                               str(events)]).exit_code == 0
    out = runner.invoke(app, ["--warehouse", warehouse, "--journey", str(journey), "journey", "outcomes", "--json"])
    assert out.exit_code == 0, out.output
    payload = json.loads(out.output)
    lens = journeylens.open(warehouse, journey)
    assert payload == json.loads(json.dumps(lens.outcomes().to_dict()))
    lens.warehouse.close()
    assert payload["overall"]["converted"] == 1 and [p["period"] for p in payload["periods"]] == ["2024-01", "2024-02"]
    text = runner.invoke(app, ["--warehouse", warehouse, "--journey", str(journey), "journey", "outcomes"])
    assert text.exit_code == 0 and "conversion 50.0%" in text.output
