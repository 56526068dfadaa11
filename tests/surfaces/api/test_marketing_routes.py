"""``GET /v1/attribution``, ``/v1/spend-return`` and ``/v1/departures``: read scope, the analysis JSON."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from fastapi.testclient import TestClient

import journeylens
from journeylens.operations.appdb import AppDatabase
from journeylens.operations.keys import create_key
from journeylens.settings import Settings
from journeylens.surfaces.api.app import create_app
from journeylens.warehouse.schema import JOURNEY_EVENTS, JOURNEY_EVENTS_SCHEMA

T0 = datetime(2024, 1, 1, 9, 0, tzinfo=UTC)
JOURNEY = """
name: Shop
stages: [{name: find}, {name: buy}, {name: use}, {name: leave}]
touchpoints:
  - {name: Ad, stage: find, channel: social}
  - {name: Buy, stage: buy, channel: web}
  - {name: Call, stage: use, channel: call_centre}
  - {name: Login, stage: use, channel: app}
  - {name: Close, stage: leave, channel: post}
outcomes: {conversion: [Buy], churn: [Close]}
"""


def _events() -> list[dict[str, Any]]:
    rows = []
    for i in range(40):
        c = f"c{i}"
        leaves = i % 4 == 0
        rows += [(c, 0, "Ad", "social", {"campaign": "Spring"}), (c, 1, "Buy", "web", None),
                 (c, 200, "Login", "app", None)]
        rows += [(c, 230, "Call", "call_centre", None), (c, 240, "Call", "call_centre", None)] if leaves else []
        rows += [(c, 250, "Close", "post", None)] if leaves else [(c, 300, "Login", "app", None)]
    return [{"customer_id": c, "timestamp": T0 + timedelta(days=d, minutes=k), "touchpoint": tp, "channel": ch,
             "stage": {"Ad": "find", "Buy": "buy", "Close": "leave"}.get(tp, "use"),
             "properties": json.dumps(p) if p else None, "_seq": k} for k, (c, d, tp, ch, p) in enumerate(rows)]


def _table(schema: Any, records: list[dict[str, Any]]) -> pa.Table:
    arrow = schema.to_pyarrow() if hasattr(schema, "to_pyarrow") else schema
    return pa.table({f.name: pa.array([r.get(f.name) for r in records], type=f.type) for f in arrow}, schema=arrow)


@pytest.fixture
def api(tmp_path: Path) -> Iterator[tuple[TestClient, dict[str, str]]]:
    settings = Settings(warehouse="duckdb://", app_database_url=f"sqlite:///{tmp_path / 'app.db'}",
                        collector_spool=tmp_path / "spool")
    db = AppDatabase(settings.app_database_url)
    with db.session() as session:
        _, read_key = create_key(session, "read", ["read"])
        _, ingest_key = create_key(session, "ingest-only", ["ingest"])
    (tmp_path / "shop.journey.yaml").write_text(JOURNEY, encoding="utf-8")
    lens = journeylens.open("duckdb://", tmp_path / "shop.journey.yaml", settings=settings)
    lens.warehouse.replace(JOURNEY_EVENTS, _table(JOURNEY_EVENTS_SCHEMA, _events()))
    lens.warehouse.append("spend", _table(lens.warehouse.schema("spend"), [
        {"channel": "social", "date": T0, "amount": 400.0, "currency": "GBP", "campaign": "Spring"}]))
    client = TestClient(create_app(settings, lens=lens, appdb=db))
    yield client, {"read": read_key, "ingest": ingest_key}
    lens.warehouse.close()


def test_attribution_route(api: tuple[TestClient, dict[str, str]]) -> None:
    client, keys = api
    response = client.get("/v1/attribution", params={"by": "campaign", "models": "first,markov"},
                          headers={"Authorization": f"Bearer {keys['read']}"})
    assert response.status_code == 200, response.text
    rows = {(r["model"], r["campaign"]): (r["conversions"], r["value"]) for r in response.json()}
    assert rows == {("first", "Spring"): (40.0, 0.0), ("first", "direct / none"): (0.0, 0.0),
                    ("markov", "Spring"): (40.0, 0.0), ("markov", "direct / none"): (0.0, 0.0)}
    assert client.get("/v1/attribution", headers={"Authorization": f"Bearer {keys['ingest']}"}).status_code == 403
    bad = client.get("/v1/attribution", params={"models": "magic"}, headers={"Authorization": f"Bearer {keys['read']}"})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_parameter"


def test_spend_return_and_departures_routes(api: tuple[TestClient, dict[str, str]]) -> None:
    client, keys = api
    auth = {"Authorization": f"Bearer {keys['read']}"}
    spend = client.get("/v1/spend-return", params={"model": "last", "bootstrap": 0}, headers=auth)
    assert spend.status_code == 200, spend.text
    social = next(r for r in spend.json()["totals"] if r["unit"] == "social")
    assert social["spend"] == 400.0 and social["conversions"] == 40.0 and social["cpa"] == 10.0
    dep = client.get("/v1/departures", params={"window_days": 60, "min_customers": 5}, headers=auth)
    assert dep.status_code == 200, dep.text
    body = dep.json()
    assert (body["customers_left"], body["customers_stayed"]) == (10, 30)
    calls = next(r for r in body["differences"] if r["feature"] == "channel: call_centre")
    assert calls["left"] == 2.0 and calls["stayed"] == 0.0 and calls["significant"]


PATHS_CSV = ("path,conversions,value,nulls\n"
             "search > social,3,300,7\n"
             "social,1,50,9\n"
             ",2,10,0\n"
             "search,x,0,1\n"
             "radio > search,1,10,0\n")


def test_paths_upload_multipart_and_body_reject_bad_rows_one_by_one(api: tuple[TestClient, dict[str, str]]) -> None:
    client, keys = api
    auth = {"Authorization": f"Bearer {keys['read']}"}
    multipart = client.post("/v1/attribution/paths", params={"models": "first,markov", "channels": "search,social"},
                            files={"file": ("paths.csv", PATHS_CSV.encode(), "text/csv")}, headers=auth)
    assert multipart.status_code == 200, multipart.text
    body = multipart.json()
    assert [(r["row"], r["reason"]) for r in body["rejected"]] == [
        (3, "empty path"), (4, "conversions not a non-negative number"), (5, "unknown channel(s): radio")]
    first = {r["channel"]: (r["conversions"], r["value"]) for r in body["rows"] if r["model"] == "first"}
    assert first == {"search": (3.0, 300.0), "social": (1.0, 50.0)}
    assert body["summary"]["conversions"] == 4.0 and body["summary"]["journeys"] == 20.0
    assert set(body["removal_effects"]) == {"search", "social"}
    # The same table as the request body gives the same answer (no channel list: radio is kept).
    raw = client.post("/v1/attribution/paths", params={"models": "first,markov"}, content=PATHS_CSV.encode(),
                      headers={**auth, "Content-Type": "text/csv"})
    assert raw.status_code == 200, raw.text
    assert [r["row"] for r in raw.json()["rejected"]] == [3, 4]
    raw_first = {r["channel"]: r["conversions"] for r in raw.json()["rows"] if r["model"] == "first"}
    assert raw_first == {"search": 3.0, "social": 1.0, "radio": 1.0}


def test_paths_upload_parquet_columns_and_errors(api: tuple[TestClient, dict[str, str]], tmp_path: Path) -> None:
    client, keys = api
    auth = {"Authorization": f"Bearer {keys['read']}"}
    table = pa.table({"journey": ["a|b", "b"], "buyers": [2, 1], "lost": [1, 4]})
    import pyarrow.parquet as pq

    pq.write_table(table, tmp_path / "paths.parquet")
    response = client.post("/v1/attribution/paths", params={"models": "last", "path_col": "journey",
                                                            "conversions_col": "buyers", "null_col": "lost",
                                                            "sep": "|"},
                           content=(tmp_path / "paths.parquet").read_bytes(), headers=auth)
    assert response.status_code == 200, response.text
    last = {r["channel"]: r["conversions"] for r in response.json()["rows"]}
    assert last == {"a": 0.0, "b": 3.0} and response.json()["rejected"] == []
    empty = client.post("/v1/attribution/paths", content=b"", headers=auth)
    assert empty.status_code == 400 and empty.json()["error"]["code"] == "input_error"
    missing = client.post("/v1/attribution/paths", content=b"route,conversions\na,1\n", headers=auth)
    assert missing.status_code == 400 and "path" in missing.json()["error"]["message"]
    all_bad = client.post("/v1/attribution/paths", content=b"path,conversions\n,1\n", headers=auth)
    assert all_bad.status_code == 400 and all_bad.json()["error"]["details"]["rejected"][0]["reason"] == "empty path"
    for bad in ({"sep": ""}, {"delimiter": ";;"}):
        refused = client.post("/v1/attribution/paths", params=bad, content=PATHS_CSV.encode(), headers=auth)
        assert refused.status_code == 422 and refused.json()["error"]["code"] == "invalid_parameter"
    forbidden = client.post("/v1/attribution/paths", content=PATHS_CSV.encode(),
                            headers={"Authorization": f"Bearer {keys['ingest']}"})
    assert forbidden.status_code == 403
