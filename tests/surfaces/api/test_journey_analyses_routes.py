"""``GET /v1/journey/transitions|variants|funnel``: read scope, same JSON as the analyses, one error shape."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from fastapi.testclient import TestClient

import journeylens
from journeylens.analyses.funnel import funnel
from journeylens.analyses.transitions import transitions
from journeylens.analyses.variants import variants
from journeylens.operations.appdb import AppDatabase
from journeylens.operations.keys import create_key
from journeylens.settings import Settings
from journeylens.surfaces.api.app import create_app
from journeylens.warehouse.schema import JOURNEY_EVENTS, JOURNEY_EVENTS_SCHEMA

T0 = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)
ROWS = [("c1", "visit", "web", 0), ("c1", "cart", "web", 60), ("c1", "buy", "web", 600),
        ("c2", "visit", "store", 0), ("c2", "buy", "store", 30), ("c3", "visit", "web", 0)]


def journey_events() -> pa.Table:
    schema = JOURNEY_EVENTS_SCHEMA.to_pyarrow()
    records = [{"customer_id": c, "touchpoint": t, "channel": ch, "timestamp": T0 + timedelta(seconds=s),
                "_seq": i} for i, (c, t, ch, s) in enumerate(ROWS)]
    return pa.Table.from_pylist(records, schema=schema)


@pytest.fixture
def api(tmp_path: Path) -> Iterator[tuple[TestClient, dict[str, str], Any]]:
    settings = Settings(warehouse="duckdb://", app_database_url=f"sqlite:///{tmp_path / 'app.db'}",
                        collector_spool=tmp_path / "spool")
    db = AppDatabase(settings.app_database_url)
    with db.session() as session:
        _, read_key = create_key(session, "read", ["read"])
    lens = journeylens.open("duckdb://", settings=settings)
    lens.warehouse.replace(JOURNEY_EVENTS, journey_events())
    with TestClient(create_app(settings, lens=lens, app_db=db)) as client:
        yield client, {"authorization": f"Bearer {read_key}"}, lens.warehouse.table(JOURNEY_EVENTS)
    lens.warehouse.close()
    db.dispose()


def test_routes_return_the_analysis_json(api: Any) -> None:
    client, auth, events = api
    got = client.get("/v1/journey/transitions", params={"min_share": 0.1}, headers=auth)
    assert got.status_code == 200, got.text
    assert got.json() == transitions(events, min_share=0.1).to_dict()
    got = client.get("/v1/journey/variants", params={"top": 1}, headers=auth)
    assert got.json() == variants(events, top=1).to_dict()
    got = client.get("/v1/journey/funnel", params={"steps": "visit,cart,buy", "mode": "any"}, headers=auth)
    assert got.json() == funnel(events, steps=["visit", "cart", "buy"], mode="any").to_dict()
    got = client.get("/v1/journey/funnel", params={"steps": "visit,buy", "by": "channel", "channel": "web"},
                     headers=auth)
    assert set(got.json()) == {"groups", "test"}


def test_auth_and_errors(api: Any) -> None:
    client, auth, _ = api
    assert client.get("/v1/journey/transitions").status_code == 401
    bad = client.get("/v1/journey/funnel", params={"steps": "visit", "by": "nope"}, headers=auth)
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_parameter"
    assert client.get("/v1/journey/variants", params={"level": "page"}, headers=auth).json()["error"]["code"] == \
        "invalid_request"
