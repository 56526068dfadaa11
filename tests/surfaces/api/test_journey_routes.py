"""``/v1/journey/definition|check|suggest`` and ``/v1/identities``."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
import yaml
from fastapi.testclient import TestClient

import journeylens
from journeylens.journeys.definition import parse_definition
from journeylens.operations.appdb import AppDatabase
from journeylens.operations.keys import create_key
from journeylens.settings import Settings
from journeylens.surfaces.api.app import create_app

T0 = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)
JOURNEY = """\
name: Shop
stages: [{name: Explore}, {name: Buy}]
touchpoints:
  - {name: Browse, match: ["view *", landing], stage: Explore, channel: web}
  - {name: Checkout, match: checkout, stage: Buy}
"""


@pytest.fixture
def api(tmp_path: Path) -> Iterator[tuple[TestClient, dict[str, str]]]:
    journey = tmp_path / "journey.yaml"
    journey.write_text(JOURNEY)
    settings = Settings(warehouse="duckdb://", app_database_url=f"sqlite:///{tmp_path / 'app.db'}",
                        collector_spool=tmp_path / "spool", journey=journey)
    db = AppDatabase(settings.app_database_url)
    with db.session() as session:
        _, read_key = create_key(session, "read", ["read"])
    lens = journeylens.open("duckdb://", journey=journey, settings=settings)
    rows = [("c1", None, "landing"), ("c1", None, "view shoes"), ("c1", None, "checkout"),
            (None, "a1", "landing"), ("c2", "a1", "$identify"), ("c2", None, "help page")]
    lens.warehouse.append("events", pa.Table.from_pylist([
        {"customer_id": c, "anonymous_id": a, "touchpoint": t, "timestamp": T0 + timedelta(minutes=i),
         "_seq": i} for i, (c, a, t) in enumerate(rows)]))
    with TestClient(create_app(settings, lens=lens, app_db=db)) as client:
        yield client, {"authorization": f"Bearer {read_key}"}
    lens.warehouse.close()
    db.dispose()


def test_definition_in_use(api: Any) -> None:
    client, auth = api
    response = client.get("/v1/journey/definition", headers=auth)
    assert response.status_code == 200
    assert response.json() == parse_definition(JOURNEY).to_dict()
    assert client.get("/v1/journey/definition").status_code == 401


def test_check_a_posted_definition(api: Any) -> None:
    client, auth = api
    ok = client.post("/v1/journey/check", content=JOURNEY, headers={**auth, "content-type": "application/yaml"})
    assert ok.status_code == 200, ok.text
    assert ok.json()["coverage"]["share"] == 0.8 and ok.json()["unmatched"][0]["touchpoint"] == "help page"
    bad = client.post("/v1/journey/check", content=JOURNEY.replace("stage: Buy", "stage: Pay"), headers=auth)
    assert bad.status_code == 400
    error = bad.json()["error"]
    assert error["code"] == "journey_definition_invalid"
    assert error["details"]["errors"][0]["line"] == 5 and error["details"]["source"] == "request body"
    binary = client.post("/v1/journey/check", content=b"\xff\xfe", headers=auth)
    assert binary.status_code == 400 and binary.json()["error"]["code"] == "input_error"


def test_suggest_as_json_and_yaml(api: Any) -> None:
    client, auth = api
    as_json = client.get("/v1/journey/suggest", params={"stages": 2}, headers=auth)
    assert as_json.status_code == 200
    suggested = parse_definition(yaml.safe_dump(as_json.json()))
    assert len(suggested.stages) <= 2 and suggested.touchpoints[0].name == "landing"
    as_yaml = client.get("/v1/journey/suggest", params={"stages": 2, "format": "yaml"}, headers=auth)
    assert as_yaml.headers["content-type"].startswith("application/yaml")
    assert parse_definition(as_yaml.text) == suggested
    assert client.get("/v1/journey/suggest", params={"stages": 0}, headers=auth).status_code == 422


def test_identities(api: Any) -> None:
    client, auth = api
    body = client.get("/v1/identities", params={"limit": 5}, headers=auth).json()
    assert set(body) == {"stats", "identities", "conflicts"}
    assert body["stats"]["anonymous_only"] == 1 and body["stats"]["resolved"] == 1
    assert body["identities"][0]["customer_id"] == "c2"
