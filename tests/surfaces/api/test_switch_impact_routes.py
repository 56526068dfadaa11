"""``GET /v1/journey/switch-impact``: read scope, the analysis JSON, parameters passed through."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from fastapi.testclient import TestClient

import journeylens
from journeylens.analyses.filters import Filters
from journeylens.analyses.switch_impact import switch_impact
from journeylens.operations.appdb import AppDatabase
from journeylens.operations.keys import create_key
from journeylens.settings import Settings
from journeylens.surfaces.api.app import create_app
from journeylens.warehouse.schema import JOURNEY_EVENTS, JOURNEY_EVENTS_SCHEMA

T0 = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)
JOURNEY = """
name: Tiny
stages: [{name: usage}, {name: service}]
touchpoints:
  - {name: Help, stage: service, channel: web}
  - {name: Call, stage: service, channel: call_centre}
  - {name: Login, stage: usage, channel: app}
"""
# a1-a3 web -> call 5 minutes apart (b3: 2 hours apart); b1, b2 only call; all log in first
ROWS = [(c, m, tp, ch, st) for c, gap in (("a1", 5), ("a2", 5), ("a3", 5), ("b1", None), ("b2", None), ("b3", 120))
        for m, tp, ch, st in ((0, "Login", "app", "usage"), (60, "Help", "web", "service"),
                              (60 + (gap or 0), "Call", "call_centre", "service"))
        if gap is not None or tp != "Help"]
NPS = {"a1": 2, "a2": 5, "a3": 9, "b1": 10, "b2": 9, "b3": 7}


def _table(schema: Any, records: list[dict[str, Any]]) -> pa.Table:
    arrow = schema.to_pyarrow() if hasattr(schema, "to_pyarrow") else schema
    return pa.table({f.name: pa.array([r.get(f.name) for r in records], type=f.type) for f in arrow}, schema=arrow)


@pytest.fixture
def api(tmp_path: Path) -> Iterator[tuple[TestClient, dict[str, str], Any]]:
    settings = Settings(warehouse="duckdb://", app_database_url=f"sqlite:///{tmp_path / 'app.db'}",
                        collector_spool=tmp_path / "spool")
    db = AppDatabase(settings.app_database_url)
    with db.session() as session:
        _, read_key = create_key(session, "read", ["read"])
        _, ingest_key = create_key(session, "ingest-only", ["ingest"])
    (tmp_path / "tiny.journey.yaml").write_text(JOURNEY, encoding="utf-8")
    lens = journeylens.open("duckdb://", tmp_path / "tiny.journey.yaml", settings=settings)
    events = [{"customer_id": c, "timestamp": T0 + timedelta(minutes=m), "touchpoint": tp, "channel": ch,
               "stage": st, "_seq": i} for i, (c, m, tp, ch, st) in enumerate(ROWS)]
    lens.warehouse.replace(JOURNEY_EVENTS, _table(JOURNEY_EVENTS_SCHEMA, events))
    feedback_schema = lens.warehouse.schema("feedback").to_pyarrow()
    lens.warehouse.append("feedback", _table(feedback_schema, [
        {"customer_id": c, "timestamp": T0, "nps": score} for c, score in NPS.items()]))
    with TestClient(create_app(settings, lens=lens, app_db=db)) as client:
        yield client, {"read": f"Bearer {read_key}", "ingest": f"Bearer {ingest_key}"}, lens
    lens.warehouse.close()
    db.dispose()


def test_route_returns_the_analysis_json(api: Any) -> None:
    client, keys, lens = api
    auth = {"authorization": keys["read"]}
    events, feedback = lens.events(), lens.warehouse.table("feedback")
    got = client.get("/v1/journey/switch-impact", params={"min_customers": 1}, headers=auth)
    assert got.status_code == 200, got.text
    assert got.json() == switch_impact(events, feedback, definition=lens.definition, min_customers=1,
                                       customers=lens.warehouse.table("customers")).to_dict()
    row = got.json()[0]
    assert (row["stage"], row["from_channel"], row["to_channel"], row["customers"], row["others"]) == (
        "service", "web", "call_centre", 3, 3)
    assert (row["nps_switchers"], row["nps_others"]) == (pytest.approx(-100 / 3), pytest.approx(200 / 3))
    no_limit = client.get("/v1/journey/switch-impact", params={"min_customers": 1, "max_gap_minutes": 0,
                                                                "stage": "service"}, headers=auth).json()
    assert no_limit == switch_impact(events, feedback, definition=lens.definition, min_customers=1,
                                     max_gap_minutes=None, filters=Filters(stage=("service",))).to_dict()
    assert no_limit[0]["customers"] == 4  # b3's call two hours later counts without the limit
    across = client.get("/v1/journey/switch-impact", params={"min_customers": 1, "within_stage": False, "max_gap_minutes": 0},
                        headers=auth).json()
    assert {(r["from_channel"], r["to_channel"]) for r in across} == {("web", "call_centre"),
                                                                       ("app", "web"), ("app", "call_centre")}


def test_scope_and_errors(api: Any) -> None:
    client, keys, _ = api
    assert client.get("/v1/journey/switch-impact").status_code == 401
    assert client.get("/v1/journey/switch-impact", headers={"authorization": keys["ingest"]}).status_code == 403
    bad = client.get("/v1/journey/switch-impact", params={"min_customers": 0},
                     headers={"authorization": keys["read"]})
    assert bad.status_code in (400, 422) and "error" in bad.json()
    assert client.get("/v1/journey/switch-impact", headers={"authorization": keys["read"]}).json() == []
