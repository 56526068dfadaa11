"""The live path: events the collector acknowledges reach journey_events without a flush,
and the rows_landed hook sees them there (incremental journeys, ADR 0010)."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

import journeylens
from journeylens import hooks
from journeylens.journeys.definition import parse_definition
from journeylens.operations.appdb import AppDatabase
from journeylens.operations.keys import create_key
from journeylens.settings import Settings
from journeylens.surfaces.api.app import create_app
from journeylens.warehouse.schema import JOURNEY_EVENTS

DEFINITION = parse_definition("""
name: Live
stages: [{name: Visit}, {name: Buy}]
touchpoints:
  - {name: visit, stage: Visit}
  - {name: buy, stage: Buy}
""")


class SeenInJourney:
    """A plugin recording, for each events batch, which customers journey_events then holds."""

    def __init__(self) -> None:
        self.batches: list[set[str]] = []
        self.landed = threading.Event()

    @hooks.hookimpl
    def journeylens_rows_landed(self, lens: Any, table: str, batch: str) -> None:
        if table == "events":
            self.batches.append(set(lens.warehouse.table(JOURNEY_EVENTS).customer_id.to_list()))
            self.landed.set()


def test_acknowledged_events_reach_journey_events_without_flush(tmp_path: Path) -> None:
    settings = Settings(warehouse="duckdb://", app_database_url=f"sqlite:///{tmp_path / 'app.db'}",
                        collector_spool=tmp_path / "spool", collector_load_interval_seconds=0.05)
    db = AppDatabase(settings.app_database_url)
    with db.session() as session:
        _, key = create_key(session, "ingest", ["ingest"])
    lens = journeylens.JourneyLens(journeylens.open("duckdb://", settings=settings).warehouse, DEFINITION, settings)
    seen = SeenInJourney()
    hooks.plugin_manager().register(seen)
    try:
        with TestClient(create_app(settings, lens=lens, app_db=db)) as client:
            auth = {"authorization": f"Bearer {key}"}
            body = [{"event_id": "1", "customer_id": "c1", "timestamp": "2024-05-01T10:00:00Z", "touchpoint": "visit"},
                    {"event_id": "2", "anonymous_id": "a9", "timestamp": "2024-05-01T09:00:00Z", "touchpoint": "visit"}]
            assert client.post("/v1/events", content=json.dumps(body), headers=auth).status_code == 200
            assert seen.landed.wait(60), "the loader never landed the events"
            assert seen.batches[0] == {"c1", "anon:a9"}  # in journey_events when the hook ran, no flush
            seen.landed.clear()
            login = [{"event_id": "3", "customer_id": "c1", "anonymous_id": "a9", "timestamp": "2024-05-01T10:05:00Z",
                      "touchpoint": "buy"}]
            assert client.post("/v1/events", content=json.dumps(login), headers=auth).status_code == 200
            assert seen.landed.wait(60)
            assert seen.batches[-1] == {"c1"}  # the late login re-attributed a9's earlier visit
            steps = lens.events().order_by("step").select("touchpoint", "step").to_pyarrow().to_pylist()
            assert steps == [{"touchpoint": "visit", "step": 1}, {"touchpoint": "visit", "step": 2},
                             {"touchpoint": "buy", "step": 3}]
    finally:
        hooks.plugin_manager().unregister(seen)
        lens.warehouse.close()
        db.dispose()
