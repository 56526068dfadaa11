"""One customer's timeline, plus the CLI and HTTP surfaces of the part-B analyses
(journey map, channels, conformance, retention, time-to-stage, cohorts, customer)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from journeylens.analyses.journey_map import journey_map
from journeylens.analyses.timeline import customer_timeline
from journeylens.errors import NotFoundError
from journeylens.settings import Settings
from journeylens.warehouse import open_warehouse

ROWS = [  # k1 browsed anonymously as a-1, then logged in; z9 never did (stitched id anon:z9)
    {"customer_id": "k1", "anonymous_id": "a-1", "timestamp": "2024-03-01T09:00", "touchpoint": "Visit",
     "channel": "web", "stage": "Discover", "stage_order": 1, "episode": 1},
    {"customer_id": "k1", "anonymous_id": "a-1", "timestamp": "2024-03-01T09:05", "touchpoint": "Login",
     "channel": "web", "stage": "Discover", "stage_order": 1},
    {"customer_id": "k1", "timestamp": "2024-03-03T12:00", "touchpoint": "Purchase", "channel": "store",
     "stage": "Buy", "stage_order": 2},
    {"customer_id": "anon:z9", "anonymous_id": "z9", "timestamp": "2024-03-02T08:00", "touchpoint": "Visit",
     "channel": "web", "stage": "Discover", "stage_order": 1},
]
FEEDBACK = [
    {"customer_id": "k1", "timestamp": "2024-03-03T12:30", "touchpoint": "Purchase", "nps": 9, "comment": "quick"},
    {"customer_id": "a-1", "timestamp": "2024-03-01T09:03", "survey": "web-intercept", "csat": 2,
     "comment": "slow page"},
    {"customer_id": "someone-else", "timestamp": "2024-03-01T09:04", "nps": 0},
]


@pytest.fixture
def history(duckdb_wh: Any, events_loader: Any) -> Any:
    from journeylens.journeys.definition import parse_definition

    events = events_loader(duckdb_wh, ROWS)
    duckdb_wh.append("feedback", _arrow(duckdb_wh, "feedback", FEEDBACK))
    duckdb_wh.append("customers", _arrow(duckdb_wh, "customers", [
        {"customer_id": "k1", "segment": "smb", "plan": "pro", "revenue": 120.5, "churned": False,
         "attributes": '{"tier": "gold"}'}]))
    definition = parse_definition("name: s\nstages: [{name: Discover}, {name: Buy}]\n"
                                  "touchpoints: [{name: Purchase, stage: Buy}]\noutcomes: {conversion: [Purchase]}")
    return events, duckdb_wh.table("feedback"), duckdb_wh.table("customers"), definition


def _arrow(wh: Any, name: str, rows: list[dict[str, Any]]) -> Any:
    import pyarrow as pa

    from journeylens.warehouse.warehouse import conform_arrow

    rows = [{**r, **({"timestamp": _ts(r["timestamp"])} if "timestamp" in r else {})} for r in rows]
    keys = sorted({k for r in rows for k in r})
    table = pa.table({k: [r.get(k) for r in rows] for k in keys})
    return conform_arrow(table, wh.schema(name))


def _ts(text: str) -> Any:
    from datetime import UTC, datetime

    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_events_and_feedback_merged_in_time_order(history: Any) -> None:
    events, feedback, customers, definition = history
    data = customer_timeline(events, "k1", feedback=feedback, customers=customers, definition=definition).to_dict()
    assert [(i["kind"], i.get("touchpoint") or i.get("survey")) for i in data["items"]] == [
        ("event", "Visit"), ("feedback", "web-intercept"), ("event", "Login"), ("event", "Purchase"),
        ("feedback", "Purchase")]
    assert data["items"][1]["comment"] == "slow page" and data["items"][4]["nps"] == 9
    assert data["items"][3]["stage"] == "Buy" and data["items"][0]["episode"] == 1
    assert data["anonymous_ids"] == ["a-1"] and data["resolved_from"] is None
    assert data["attributes"] == {"segment": "smb", "plan": "pro", "tier": "gold"}
    assert data["outcomes"] == {"churned": False, "revenue": 120.5, "converted": True, "churn_event": False}
    assert data["summary"] == {"events": 3, "feedback": 2, "first_seen": "2024-03-01T09:00:00+00:00",
                               "last_seen": "2024-03-03T12:30:00+00:00", "episodes": 2,
                               "stages": ["Discover", "Buy"]}


def test_anonymous_ids_resolve_and_unknown_ids_fail(history: Any) -> None:
    events, feedback, customers, _ = history
    via_anon = customer_timeline(events, "a-1", feedback=feedback, customers=customers).to_dict()
    assert (via_anon["customer_id"], via_anon["resolved_from"]) == ("k1", "a-1")
    visitor = customer_timeline(events, "anon:z9", feedback=feedback).to_dict()
    assert visitor["anonymous_ids"] == ["z9"] and visitor["summary"]["events"] == 1
    with pytest.raises(NotFoundError, match="No customer 'nobody'"):
        customer_timeline(events, "nobody", feedback=feedback, customers=customers)


# --- CLI and HTTP over a DuckDB file holding the shop log --------------------------------------
SECRET = "a-test-secret-that-is-long-enough"


def _cli(db: Path, journey: Path, *args: str) -> Any:
    from journeylens.surfaces.cli.main import app

    return CliRunner().invoke(app, ["--warehouse", str(db), "--journey", str(journey), *args])


def test_cli_json_equals_the_analysis(shop_files: Any, shop_definition: Any, settings: Settings) -> None:
    db, journey = shop_files
    result = _cli(db, journey, "journey", "map", "--json")
    assert result.exit_code == 0, result.output
    warehouse = open_warehouse(str(db), settings)
    try:
        expected = journey_map(warehouse.table("journey_events"), definition=shop_definition,
                               customers=warehouse.table("customers")).to_dict()
    finally:
        warehouse.close()
    assert json.loads(result.stdout) == json.loads(json.dumps(expected))


@pytest.mark.parametrize(("args", "check"), [
    (["journey", "channels", "--json"], lambda d: d["mean_hops"] == pytest.approx(7 / 6)),
    (["journey", "conformance", "--min-transitions", "2", "--json"], lambda d: len(d["friction"]) == 5),
    (["journey", "retention", "--period", "month", "--json"], lambda d: d["cohorts"][0]["customers"] == 6),
    (["journey", "time-to-stage", "--from-stage", "Buy", "--to-stage", "Use", "--json"],
     lambda d: d[0]["n"] == 2),
    (["journey", "map", "--cohort", "buyers", "--json"], lambda d: d["customers"] == 3),
    (["journey", "map", "--by", "smb,blended", "--json"], lambda d: d["baseline"] == "smb"),
    (["cohorts", "--json"], lambda d: d["customers"] == 6),
    (["customer", "c4", "--json"], lambda d: d["outcomes"]["churned"] is True),
])
def test_cli_commands(shop_files: Any, args: list[str], check: Any) -> None:
    result = _cli(*shop_files, *args)
    assert result.exit_code == 0, result.output
    assert check(json.loads(result.stdout))


def test_cli_errors_and_tables(shop_files: Any) -> None:
    missing = _cli(*shop_files, "customer", "nobody", "--json")
    assert missing.exit_code == 2 and json.loads(missing.stdout)["error"]["code"] == "not_found"
    bad = _cli(*shop_files, "journey", "map", "--cohort", "nope", "--json")
    assert bad.exit_code == 2 and json.loads(bad.stdout)["error"]["code"] == "invalid_parameter"
    table = _cli(*shop_files, "journey", "map")
    assert table.exit_code == 0 and "Journey map (6 customers)" in table.stdout and "Touchpoints" in table.stdout


@pytest.fixture
def api(shop_files: Any, tmp_path: Path) -> tuple[TestClient, str]:
    from journeylens.operations import keys
    from journeylens.operations.appdb import AppDatabase
    from journeylens.surfaces.api.app import create_app

    db, journey = shop_files
    url = f"sqlite:///{tmp_path / 'app.db'}"
    app_db = AppDatabase(url)
    with app_db.session() as session:
        raw_key = keys.create_key(session, "reader", ["read"])[1]
    app = create_app(Settings(warehouse=str(db), journey=journey, app_database_url=url, secret_key=SECRET),
                     app_db=app_db)
    return TestClient(app), raw_key


@pytest.mark.parametrize(("path", "check"), [
    ("/v1/journey/map", lambda d: d["stages"][0]["drop_off"] == pytest.approx(1 / 6)),
    ("/v1/journey/map?by=online-only,blended", lambda d: [c["customers"] for c in d["cohorts"]] == [2, 4]),
    ("/v1/journey/channels?channel=web", lambda d: d["multichannel_customers"] == 0),
    ("/v1/journey/conformance?min_transitions=2", lambda d: d["following_customers"] == 5),
    ("/v1/journey/retention?period=month&periods=2", lambda d: d["cohorts"][0]["active"] == [6, None]),
    ("/v1/journey/time-to-stage", lambda d: [r["to_stage"] for r in d] == ["Buy", "Use", "Use"]),
    ("/v1/cohorts", lambda d: len(d["cohorts"]) == 8),
    ("/v1/cohorts/compare?cohorts=smb,blended&analysis=channels", lambda d: d["analysis"] == "channels"),
    ("/v1/customers/c1", lambda d: d["summary"]["events"] == 5),
])
def test_http_routes(api: Any, path: str, check: Any) -> None:
    client, key = api
    response = client.get(path, headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 200, response.text
    assert check(response.json())


def test_http_needs_a_key_and_uses_the_one_error_shape(api: Any) -> None:
    client, key = api
    assert client.get("/v1/journey/map").status_code == 401
    missing = client.get("/v1/customers/nobody", headers={"X-API-Key": key})
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    bad = client.get("/v1/cohorts/compare?cohorts=smb", headers={"X-API-Key": key})
    assert bad.status_code == 422 and "at least two" in bad.json()["error"]["message"]
