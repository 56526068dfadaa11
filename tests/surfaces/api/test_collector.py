"""The collector in-process: durable answers, auth, limits, gzip, quarantine, Segment mapping."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

import journeylens
from journeylens.operations.appdb import AppDatabase
from journeylens.operations.keys import create_key, revoke_key
from journeylens.settings import Settings
from journeylens.surfaces.api.app import create_app


@dataclass
class Collector:
    client: TestClient
    lens: Any
    settings: Settings
    key: str
    read_key: str
    db: AppDatabase

    def auth(self, key: str | None = None) -> dict[str, str]:
        return {"authorization": f"Bearer {key or self.key}"}

    def post(self, path: str, body: Any, **headers: str) -> Any:
        return self.client.post(path, content=json.dumps(body), headers={**self.auth(), **headers})

    def flush(self) -> dict[str, Any]:
        response = self.client.post("/v1/flush", headers=self.auth())
        assert response.status_code == 200, response.text
        return response.json()

    def rows(self, table: str) -> list[dict[str, Any]]:
        return self.lens.warehouse.table(table).to_pyarrow().to_pylist()  # type: ignore[no-any-return]


@pytest.fixture
def collector(tmp_path: Path) -> Iterator[Collector]:
    settings = Settings(warehouse="duckdb://", app_database_url=f"sqlite:///{tmp_path / 'app.db'}",
                        collector_spool=tmp_path / "spool", collector_max_body_bytes=20_000,
                        collector_max_batch_events=50, collector_load_interval_seconds=30)
    db = AppDatabase(settings.app_database_url)
    with db.session() as session:
        _, key = create_key(session, "test ingest", ["ingest"])
        _, read_key = create_key(session, "test read", ["read"])
    lens = journeylens.open("duckdb://", settings=settings)
    app = create_app(settings, lens=lens, app_db=db)
    with TestClient(app) as client:
        yield Collector(client, lens, settings, key, read_key, db)
    lens.warehouse.close()
    db.dispose()


def _event(i: int, **overrides: Any) -> dict[str, Any]:
    return {"event_id": f"e{i}", "customer_id": f"c{i % 2}", "timestamp": f"2024-05-01T10:00:{i:02d}Z",
            "touchpoint": "visit", "channel": "web", "properties": {"n": i}, **overrides}


def test_events_are_on_disk_when_answered_and_in_the_warehouse_after_flush(collector: Collector) -> None:
    response = collector.post("/v1/events", [_event(1), _event(2)])
    assert response.status_code == 200
    assert response.json() == {"accepted": 2, "queued": True}
    spooled = "".join(p.read_text() for p in Path(collector.settings.collector_spool).glob("*.jsonl"))
    assert '"event_id":"e1"' in spooled and '"event_id":"e2"' in spooled  # durable before the answer
    report = collector.flush()
    assert report["records_by_table"] == {"events": 2} and report["pending_segments"] == 0
    rows = collector.rows("events")
    assert sorted(r["event_id"] for r in rows) == ["e1", "e2"]
    assert {r["_source"] for r in rows} == {"http"}
    assert json.loads(next(r for r in rows if r["event_id"] == "e2")["properties"]) == {"n": 2}
    assert list(Path(collector.settings.collector_spool).glob("*.jsonl")) == []


def test_replayed_or_resent_events_are_not_duplicated(collector: Collector) -> None:
    collector.post("/v1/events", [_event(1)])
    collector.flush()
    collector.post("/v1/events", {"events": [_event(1), _event(3)]})
    collector.flush()
    assert sorted(r["event_id"] for r in collector.rows("events")) == ["e1", "e3"]


def test_bad_events_are_quarantined_not_lost(collector: Collector) -> None:
    body = [_event(1), {"event_id": "no-tp", "customer_id": "c", "timestamp": "2024-05-01T10:00:00Z"},
            _event(2, timestamp="yesterday-ish"), "not an object"]
    assert collector.post("/v1/events", body).json() == {"accepted": 4, "queued": True}
    collector.flush()
    assert [r["event_id"] for r in collector.rows("events")] == ["e1"]
    reasons = sorted(r["reason"] for r in collector.rows("quarantine"))
    assert reasons == ["bad_timestamp", "missing_customer_id", "missing_touchpoint"]


@pytest.mark.parametrize("headers", [{}, {"authorization": "Bearer jl_00000000_wrongwrongwrongwrongwrong"},
                                     {"authorization": "Basic !!!"}])
def test_missing_or_wrong_key_is_refused(collector: Collector, headers: dict[str, str]) -> None:
    response = collector.client.post("/v1/events", content=json.dumps([_event(1)]), headers=headers)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"
    assert set(response.json()["error"]) == {"code", "message", "details"}


def test_revoked_key_is_refused(collector: Collector) -> None:
    assert collector.post("/v1/track", {"userId": "u", "event": "x"}).status_code == 200
    with collector.db.session() as session:
        revoke_key(session, collector.key.split("_")[1])
    response = collector.post("/v1/track", {"userId": "u", "event": "x"})
    assert response.status_code == 401 and response.json()["error"]["code"] == "unauthorized"


def test_key_without_ingest_scope_is_forbidden(collector: Collector) -> None:
    response = collector.post("/v1/events", [_event(1)], authorization=f"Bearer {collector.read_key}")
    assert response.status_code == 403 and response.json()["error"]["code"] == "forbidden"


def test_write_key_as_basic_user_and_x_api_key_are_accepted(collector: Collector) -> None:
    basic = collector.client.post("/v1/events", content=json.dumps([_event(1)]), auth=(collector.key, ""))
    header = collector.client.post("/v1/events", content=json.dumps([_event(2)]), headers={"x-api-key": collector.key})
    assert basic.status_code == header.status_code == 200


def test_gzip_bodies(collector: Collector) -> None:
    body = gzip.compress(json.dumps({"batch": [{"type": "track", "userId": "u1", "event": "zipped",
                                                "messageId": "gz-1", "timestamp": "2024-05-01T10:00:00Z"}]}).encode())
    response = collector.client.post("/v1/batch", content=body,
                                     headers={**collector.auth(), "content-encoding": "gzip"})
    assert response.status_code == 200 and response.json() == {"success": True}
    collector.flush()
    assert [(r["event_id"], r["touchpoint"]) for r in collector.rows("events")] == [("gz-1", "zipped")]


def test_broken_gzip_and_unknown_encoding(collector: Collector) -> None:
    broken = collector.client.post("/v1/events", content=b"\x1f\x8b not gzip",
                                   headers={**collector.auth(), "content-encoding": "gzip"})
    assert broken.status_code == 400 and broken.json()["error"]["code"] == "invalid_gzip"
    brotli = collector.client.post("/v1/events", content=b"[]", headers={**collector.auth(), "content-encoding": "br"})
    assert brotli.status_code == 415 and brotli.json()["error"]["code"] == "unsupported_encoding"


def test_body_too_large_is_413_also_after_decompression(collector: Collector) -> None:
    big = [_event(i, properties={"pad": "x" * 1_000}) for i in range(30)]
    plain = collector.post("/v1/events", big)
    assert plain.status_code == 413 and plain.json()["error"]["code"] == "payload_too_large"
    bomb = gzip.compress(json.dumps([{"pad": "y" * 200_000}]).encode())
    assert len(bomb) < collector.settings.collector_max_body_bytes
    zipped = collector.client.post("/v1/events", content=bomb, headers={**collector.auth(), "content-encoding": "gzip"})
    assert zipped.status_code == 413 and zipped.json()["error"]["details"] == {"max_body_bytes": 20_000}


def test_too_many_events_is_422(collector: Collector) -> None:
    response = collector.post("/v1/events", [{"event_id": str(i)} for i in range(51)])
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "batch_too_large"
    assert response.json()["error"]["details"] == {"events": 51, "max_batch_events": 50}
    batch = collector.post("/v1/batch", {"batch": [{"type": "track"}] * 51})
    assert batch.status_code == 422


def test_invalid_json_and_wrong_shapes(collector: Collector) -> None:
    bad = collector.client.post("/v1/events", content=b"{not json", headers=collector.auth())
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_json"
    assert collector.post("/v1/track", [1, 2]).json()["error"]["code"] == "invalid_payload"
    assert collector.post("/v1/batch", {"batch": "no"}).json()["error"]["code"] == "invalid_payload"


def test_segment_calls_map_to_events_and_customers(collector: Collector) -> None:
    ts = "2024-05-01T10:00:00Z"
    calls = [("/v1/page", {"anonymousId": "a1", "name": "Pricing", "messageId": "m1", "timestamp": ts,
                           "context": {"library": {"name": "analytics.js"}}}),
             ("/v1/track", {"anonymousId": "a1", "event": "Signed Up", "messageId": "m2", "timestamp": ts}),
             ("/v1/identify", {"userId": "u1", "anonymousId": "a1", "messageId": "m3", "timestamp": ts,
                               "traits": {"plan": "pro", "email": "u1@example.com"}}),
             ("/v1/screen", {"userId": "u1", "name": "Basket", "messageId": "m4", "timestamp": ts,
                             "context": {"library": {"name": "analytics-ios"}}})]
    for path, body in calls:
        response = collector.post(path, body)
        assert response.status_code == 200 and response.json() == {"success": True}
    collector.flush()
    events = {r["event_id"]: r for r in collector.rows("events")}
    assert [events[m]["touchpoint"] for m in ("m1", "m2", "m3", "m4")] == \
        ["page:Pricing", "Signed Up", "$identify", "screen:Basket"]
    assert events["m1"]["channel"] == "web" and events["m4"]["channel"] == "mobile"
    assert events["m3"]["customer_id"] == "u1" and events["m3"]["anonymous_id"] == "a1"
    [customer] = collector.rows("customers")
    assert customer["customer_id"] == "u1" and customer["plan"] == "pro"
    assert json.loads(customer["attributes"]) == {"email": "u1@example.com"}


def test_status_counts_appends_and_loads(collector: Collector) -> None:
    collector.post("/v1/events", [_event(1)])
    collector.flush()
    status = collector.client.get("/v1/collector", headers=collector.auth()).json()
    assert status["commit"] == "group" and status["appends"] == 1 and status["fsyncs"] >= 1
    assert status["loaded_records"] == 1 and status["pending_segments"] == 0 and status["last_error"] is None


def test_one_clients_bad_value_does_not_quarantine_another_clients_events(collector: Collector) -> None:
    """Issue 9 item 1: a JSON array as timestamp in the same spool segment as valid events."""
    good = {"event_id": "ok", "customer_id": "d", "timestamp": "2025-03-01T10:00:00Z", "touchpoint": "v"}
    collector.post("/v1/events", [good, {"event_id": "bad", "customer_id": "d", "timestamp": [1], "touchpoint": "b"}])
    collector.post("/v1/events", [{**good, "event_id": "ok2", "customer_id": True}])
    collector.flush()
    assert [r["event_id"] for r in collector.rows("events")] == ["ok"]
    assert sorted(r["reason"] for r in collector.rows("quarantine")) == ["bad_value", "bad_value"]
