"""``POST /v1/ingest/{table}``, ``GET /v1/quarantine``, ``GET /v1/ingest/log``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

import journeylens
from journeylens.operations.appdb import AppDatabase
from journeylens.operations.keys import create_key
from journeylens.settings import Settings
from journeylens.surfaces.api.app import create_app

CSV = b"customer_id,timestamp,touchpoint\nc1,2024-05-01T10:00:00Z,visit\n,2024-05-01T10:01:00Z,visit\n"


@pytest.fixture
def api(tmp_path: Path) -> Iterator[tuple[TestClient, dict[str, str], dict[str, str]]]:
    settings = Settings(warehouse="duckdb://", app_database_url=f"sqlite:///{tmp_path / 'app.db'}",
                        collector_spool=tmp_path / "spool")
    db = AppDatabase(settings.app_database_url)
    with db.session() as session:
        _, ingest_key = create_key(session, "ingest", ["ingest"])
        _, read_key = create_key(session, "read", ["read"])
    lens = journeylens.open("duckdb://", settings=settings)
    with TestClient(create_app(settings, lens=lens, app_db=db)) as client:
        yield client, {"authorization": f"Bearer {ingest_key}"}, {"authorization": f"Bearer {read_key}"}
    lens.warehouse.close()
    db.dispose()


def test_upload_then_quarantine_and_log(api: Any) -> None:
    client, ingest_auth, read_auth = api
    response = client.post("/v1/ingest/events", files={"file": ("web.csv", CSV, "text/csv")}, headers=ingest_auth)
    assert response.status_code == 200, response.text
    assert response.json() == {"table": "events", "read": 2, "accepted": 1, "duplicates": 0, "quarantined": 1,
                               "reasons": {"missing_customer_id": 1}}
    quarantine = client.get("/v1/quarantine", params={"table": "events"}, headers=read_auth).json()
    assert quarantine["total"] == 1 and quarantine["rows"][0]["source"] == "web.csv"
    log = client.get("/v1/ingest/log", headers=read_auth).json()["rows"]
    assert [(r["table"], r["source"], r["accepted"]) for r in log] == [("events", "web.csv", 1)]


def test_upload_with_map_and_errors(api: Any) -> None:
    client, ingest_auth, read_auth = api
    body = b"user;when;what\nu1;2024-05-01;open\n"
    response = client.post("/v1/ingest/events", files={"file": ("x.csv", body)}, headers=ingest_auth,
                           data={"map": ["customer_id=user", "timestamp=when", "touchpoint=what"]})
    assert response.status_code == 200, response.text
    assert response.json()["accepted"] == 1
    missing = client.post("/v1/ingest/events", files={"file": ("x.csv", body)}, headers=ingest_auth)
    assert missing.status_code == 400 and missing.json()["error"]["code"] == "missing_columns"
    unknown = client.post("/v1/ingest/events", files={"file": ("x.xlsx", body)}, headers=ingest_auth)
    assert unknown.json()["error"]["code"] == "unsupported_format"
    assert client.post("/v1/ingest/events", files={"file": ("x.csv", body)},
                       headers=read_auth).status_code == 403  # read scope cannot ingest
    assert client.get("/v1/quarantine").status_code == 401
    assert client.get("/v1/quarantine", params={"reason": "nope"}, headers=read_auth).status_code == 422
