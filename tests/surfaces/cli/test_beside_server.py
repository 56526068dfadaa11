"""The CLI beside a running ``journeylens serve``: analysis commands go through the server, writing
commands fail with one clear error, ``key create`` writes the server's app database, and no
command silently creates ``./journeylens.duckdb``."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

import journeylens
from journeylens.settings import Settings
from journeylens.surfaces.server_marker import marker_path

CLI = [sys.executable, "-m", "journeylens.surfaces.cli.main"]


@dataclass
class Served:
    warehouse: Path
    app_db: Path
    url: str
    workdir: Path


def _port() -> int:
    for port in range(21040, 21099):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in 21040-21099")


def _cli(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("JOURNEYLENS_")}
    return subprocess.run([*CLI, *args], cwd=cwd, env={**base, **(env or {})}, capture_output=True, text=True,
                          timeout=120)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    workdir = tmp_path_factory.mktemp("beside")
    warehouse = workdir / "data" / "wh.duckdb"
    lens = journeylens.open(str(warehouse), settings=Settings(warehouse=str(warehouse)))
    stamps = pd.date_range("2025-01-01", periods=6, freq="D", tz="UTC")
    lens.ingest("events", pd.DataFrame({"customer_id": ["a", "a", "a", "b", "b", "c"], "timestamp": stamps,
                                        "touchpoint": ["Visit", "Sign up", "Buy", "Visit", "Sign up", "Visit"]}))
    lens.warehouse.close()
    app_db = workdir / "data" / "app.db"
    port = _port()
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("JOURNEYLENS_")},
           "JOURNEYLENS_APP_DATABASE_URL": f"sqlite:///{app_db.relative_to(workdir)}"}
    server = subprocess.Popen([*CLI, "--warehouse", str(warehouse.relative_to(workdir)), "serve", "--port", str(port),
                               "--log-level", "warning"], cwd=workdir, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        for _ in range(300):
            if marker_path(warehouse).exists() or server.poll() is not None:
                break
            time.sleep(0.1)
        assert marker_path(warehouse).exists(), server.stderr.read() if server.stderr else ""
        yield Served(warehouse, app_db, f"http://127.0.0.1:{port}", workdir)
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert not marker_path(warehouse).exists(), "the server removes its marker when it stops"


def test_analysis_command_runs_through_the_server(served: Served, tmp_path: Path) -> None:
    done = _cli("--warehouse", str(served.warehouse), "journey", "funnel", "--steps", "Visit,Sign up,Buy", "--json",
                cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    steps = json.loads(done.stdout)
    assert [s["customers"] for s in steps] == [3, 2, 1]


def test_errors_keep_their_shape_through_the_server(served: Served, tmp_path: Path) -> None:
    done = _cli("--warehouse", str(served.warehouse), "journey", "funnel", "--steps", "Visit,Sign-up", "--json",
                cwd=tmp_path)
    assert done.returncode == 2
    assert json.loads(done.stdout)["error"]["code"] in {"unknown_step", "invalid_parameter"}


def test_writing_command_fails_with_one_clear_error(served: Served, tmp_path: Path) -> None:
    events = tmp_path / "e.csv"
    events.write_text("customer_id,timestamp,touchpoint\nz,2025-01-09,Visit\n")
    done = _cli("--warehouse", str(served.warehouse), "ingest", "events", str(events), "--json", cwd=tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    error = json.loads(done.stdout)["error"]
    assert error["code"] == "warehouse_held_by_server" and served.url in error["message"]


def test_key_create_writes_the_servers_app_database(served: Served, tmp_path: Path) -> None:
    done = _cli("--warehouse", str(served.warehouse), "key", "create", "script", "--scope", "read", "--json",
                cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    raw = json.loads(done.stdout)["key"]
    assert not (tmp_path / "journeylens.db").exists()
    request = urllib.request.Request(f"{served.url}/v1/cli", data=json.dumps({"args": ["cohorts", "--json"]}).encode(),
                                     headers={"Authorization": f"Bearer {raw}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        assert json.loads(response.read())["exit_code"] == 0


def test_server_option_needs_a_key(served: Served, tmp_path: Path) -> None:
    done = _cli("--server", served.url, "cohorts", "--json", cwd=tmp_path)
    assert done.returncode == 2 and json.loads(done.stdout)["error"]["code"] == "server_refused"


def test_no_warehouse_is_not_created_silently(tmp_path: Path) -> None:
    done = _cli("metrics", "--json", cwd=tmp_path)
    assert done.returncode == 2 and json.loads(done.stdout)["error"]["code"] == "no_warehouse"
    assert not (tmp_path / "journeylens.duckdb").exists()
