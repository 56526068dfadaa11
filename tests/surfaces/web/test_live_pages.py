"""A new customer's events, posted to the collector, show on the customer page and in the journey
map without a flush: the loader lands them, updates journey_events for that customer only, and
the pages' cached results are keyed by the data version that moved."""

from __future__ import annotations

import io
import json
import time
from pathlib import Path

import pandas as pd
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from tests.surfaces.web.conftest import sign_in

import journeylens
from journeylens.demo import build_demo
from journeylens.operations import auth, users
from journeylens.operations.appdb import AppDatabase
from journeylens.operations.keys import create_key
from journeylens.settings import Settings
from journeylens.surfaces.api.app import create_app

NEW = "LIVE-NEW-1"
TOUCHPOINT = "Open account online"
WAIT_SECONDS = 120.0  # an upper bound for a loaded CI machine, not a speed assertion


def _map_customers(client: TestClient) -> int:
    frame = pd.read_csv(io.StringIO(client.get("/export/journey_map.csv").text))
    column = "customers" if "customers" in frame.columns else "events"
    return int(frame.loc[frame["touchpoint"] == TOUCHPOINT, column].sum())


def _until(check: object, what: str) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        time.sleep(0.2)
    raise AssertionError(f"{what} did not happen within {WAIT_SECONDS:.0f} s")


def test_new_customer_reaches_customer_page_and_journey_map_without_flush(tmp_path: Path,
                                                                         monkeypatch: object) -> None:
    monkeypatch.setattr(auth, "_hasher", lambda: PasswordHasher(time_cost=1, memory_cost=1024,  # type: ignore[attr-defined]
                                                                parallelism=1))
    settings = Settings(warehouse=str(tmp_path / "demo.duckdb"), app_database_url=f"sqlite:///{tmp_path / 'app.db'}",
                        cache_dir=tmp_path / "cache", collector_spool=tmp_path / "spool",
                        collector_load_interval_seconds=0.2, duckdb_memory_limit="1GB")
    report = build_demo(lambda journey: journeylens.open(settings.warehouse, journey, settings=settings),
                        customers=150, seed=3, out_dir=tmp_path / "data")
    lens = journeylens.open(settings.warehouse, report.journey, settings=settings)
    db = AppDatabase(settings.app_database_url)
    with db.session() as session:
        users.create_user(session, "admin@example.com", "correct horse battery", role="admin")
        _, key = create_key(session, "collector", ["ingest"])
    app = create_app(settings, lens=lens, app_db=db)
    app.state.web_prewarm = False
    try:
        with TestClient(app) as client:
            sign_in(client, "admin")
            assert client.get(f"/customers/{NEW}").status_code == 404
            before = _map_customers(client)
            body = [{"event_id": f"live-{i}", "customer_id": NEW, "timestamp": f"2024-06-0{i + 1}T10:00:00Z",
                     "touchpoint": name, "channel": "web"}
                    for i, name in enumerate(["Website product page", TOUCHPOINT, "KYC document upload"])]
            posted = client.post("/v1/events", content=json.dumps(body),
                                 headers={"authorization": f"Bearer {key}"})
            assert posted.status_code == 200, posted.text
            _until(lambda: client.get(f"/customers/{NEW}").status_code == 200, "the customer page")
            page = client.get(f"/customers/{NEW}").text
            assert TOUCHPOINT in page and "KYC document upload" in page
            _until(lambda: _map_customers(client) == before + 1, "the journey map counting the new customer")
    finally:
        lens.warehouse.close()
        db.dispose()


def test_background_result_is_served_stale_until_the_new_one_is_ready() -> None:
    """What the customer page does with the churn model: never wait; show the latest scores
    (an earlier data version) while this version's are computed; keep a failure to show it."""
    import threading

    from journeylens.errors import ParameterError
    from journeylens.surfaces.web.cache import ResultCache

    cache = ResultCache()
    gate = threading.Event()
    cache.compute_in_background(("v1", "d", "churn", ()), lambda: (gate.wait(30), "scores v1")[1])
    assert cache.latest(("d", "churn", ())) is None  # nothing computed yet: the page says "being computed"
    gate.set()
    _until(lambda: cache.contains(("v1", "d", "churn", ())), "the background computation")
    release = threading.Event()
    cache.compute_in_background(("v2", "d", "churn", ()), lambda: (release.wait(30), "scores v2")[1])
    assert cache.latest(("d", "churn", ())) == "scores v1"  # stale while v2 is computed
    release.set()
    _until(lambda: cache.latest(("d", "churn", ())) == "scores v2", "the newer scores")

    def fail() -> str:
        raise ParameterError("Not enough customers to train the churn model.")

    cache.compute_in_background(("v3", "d", "other", ()), fail)
    _until(lambda: isinstance(cache.latest(("d", "other", ())), ParameterError), "the failure being kept")
