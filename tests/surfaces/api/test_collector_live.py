"""The collector as deployed: `journeylens serve` in a subprocess, the real Segment SDK,
and a SIGKILL right after the answer (nothing acknowledged may be lost)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

import journeylens
from journeylens.operations.appdb import AppDatabase
from journeylens.operations.keys import create_key


@dataclass
class Server:
    """Starts and stops `journeylens serve` on one warehouse file, spool and app database."""

    workdir: Path
    key: str
    port: int
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def warehouse(self) -> str:
        return str(self.workdir / "wh.duckdb")

    def headers(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.key}"}

    def start(self) -> Server:
        env = {**os.environ, "JOURNEYLENS_APP_DATABASE_URL": f"sqlite:///{self.workdir / 'app.db'}",
               "JOURNEYLENS_COLLECTOR_SPOOL": str(self.workdir / "spool"),
               "JOURNEYLENS_COLLECTOR_LOAD_INTERVAL_SECONDS": "60"}  # only flush/replay load here
        self.process = subprocess.Popen(
            [sys.executable, "-m", "journeylens.surfaces.cli.main", "--warehouse", self.warehouse,
             "serve", "--port", str(self.port), "--log-level", "warning"],
            env=env, stdout=subprocess.DEVNULL, stderr=open(self.workdir / "server.log", "ab"))  # noqa: SIM115
        deadline = time.time() + 90
        while time.time() < deadline:
            assert self.process.poll() is None, (self.workdir / "server.log").read_text()
            try:
                if httpx.get(f"{self.url}/v1/collector", headers=self.headers(), timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.2)
        raise AssertionError("journeylens serve did not come up within 90 s")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(sig)
            self.process.wait(timeout=60)
        self.process = None

    def flush(self) -> dict[str, Any]:
        response = httpx.post(f"{self.url}/v1/flush", headers=self.headers(), timeout=120)
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    db = AppDatabase(f"sqlite:///{tmp_path / 'app.db'}")
    with db.session() as session:
        _, key = create_key(session, "live collector", ["ingest"])
    db.dispose()
    srv = Server(tmp_path, key, _free_port())
    yield srv
    srv.stop(signal.SIGKILL)


def _rows(warehouse: str, table: str) -> list[dict[str, Any]]:
    lens = journeylens.open(warehouse)
    try:
        return lens.warehouse.table(table).order_by("_seq").to_pyarrow().to_pylist()  # type: ignore[no-any-return]
    finally:
        lens.warehouse.close()


@pytest.mark.slow
def test_segment_sdk_events_and_identity_land_in_the_warehouse(server: Server) -> None:
    import segment.analytics as analytics

    server.start()
    client = analytics.Client(write_key=server.key, host=server.url, sync_mode=True, max_retries=0,
                              gzip=True)
    client.page(anonymous_id="anon-1", name="Pricing", properties={"path": "/pricing"})
    client.track(anonymous_id="anon-1", event="Started Trial", properties={"plan": "pro"})
    client.identify("user-1", {"plan": "pro", "email": "u1@example.com"}, anonymous_id="anon-1")
    client.track(user_id="user-1", event="Order Completed", properties={"total": 42.5})
    refused = analytics.Client(write_key="jl_00000000_notakeynotakeynotakey", host=server.url,
                               sync_mode=True, max_retries=0)
    with pytest.raises(analytics.request.APIError) as info:
        refused.track(user_id="user-1", event="Never Stored")
    assert info.value.status == 401
    server.flush()
    server.stop()

    events = _rows(server.warehouse, "events")
    assert [e["touchpoint"] for e in events] == ["page:Pricing", "Started Trial", "$identify", "Order Completed"]
    assert {e["channel"] for e in events} == {"server"}  # analytics-python is a server library
    identify = events[2]
    assert (identify["anonymous_id"], identify["customer_id"]) == ("anon-1", "user-1")
    properties = json.loads(events[3]["properties"])
    assert properties == {"total": 42.5}  # only the record's own keys, no other events' keys
    [customer] = _rows(server.warehouse, "customers")
    assert (customer["customer_id"], customer["plan"]) == ("user-1", "pro")
    stitched = {r["touchpoint"]: r["customer_id"] for r in _rows(server.warehouse, "journey_events")}
    assert stitched["page:Pricing"] == stitched["Started Trial"] == "user-1"  # the anonymous visit is stitched


def _post_batch(server: Server, first: int, size: int) -> list[str]:
    ids = [f"k{first + i}" for i in range(size)]
    body = [{"event_id": e, "customer_id": f"c{first % 7}", "timestamp": "2024-05-01T10:00:00Z",
             "touchpoint": "visit"} for e in ids]
    response = httpx.post(f"{server.url}/v1/events", json=body, headers=server.headers(), timeout=30)
    assert response.status_code == 200, response.text
    return ids


@pytest.mark.slow
def test_sigkill_right_after_the_answer_loses_nothing(server: Server) -> None:
    server.start()
    with ThreadPoolExecutor(max_workers=8) as pool:  # concurrent requests share fsyncs
        acknowledged = [e for ids in pool.map(lambda i: _post_batch(server, i * 25, 25), range(24)) for e in ids]
    acknowledged += _post_batch(server, 10_000, 5)
    server.stop(signal.SIGKILL)  # immediately after the last 200: no flush, no shutdown hook
    assert list((server.workdir / "spool").glob("*.jsonl")), "acknowledged events must be in the spool"

    server.start()  # replays the spool on start
    server.flush()
    acknowledged += _post_batch(server, 20_000, 5)
    server.flush()
    server.stop()
    stored = [r["event_id"] for r in _rows(server.warehouse, "events")]
    assert sorted(stored) == sorted(acknowledged)  # every acknowledged event, exactly once
