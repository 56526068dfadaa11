"""Many threads and two client processes over every analysis route of a real server, while
an ingest, journey rebuilds and a definition change run: no errors, the serial answers.

The ingest re-sends rows the warehouse has (so every answer stays the same), the rebuild
recomputes ``journey_events`` from the same data, and the definition change installs a
freshly loaded (equal) definition: each exercises the path that failed (issue 9 item 2)
without changing what a correct answer is. Every answer is compared with the serial one —
models refitted for each new data version included (seeded, rows in a fixed order) — except
the ingest log, which lists the churn's ingests, and the moment an answer was made
(``now`` in freshness, "Generated ..." in the report).
"""

from __future__ import annotations

import faulthandler
import json
import re
import socket
import subprocess
import sys
import threading
import traceback
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import ibis.expr.types.core as ibis_core
import pytest
import uvicorn

from journeylens.journeys.definition import load_definition
from journeylens.lens import JourneyLens
from journeylens.operations import keys
from journeylens.operations.appdb import AppDatabase
from journeylens.surfaces import policy

WATCHDOG_SECONDS = 1500  # stuck longer: print every thread's stack and end the run (a GIL deadlock
# cannot be reported from Python; only faulthandler's own C thread still runs)
THREADS = 8
REPEATS = 6  # each route asked this often by the threads, plus once by each client process
CLIENT = """
import json, sys, httpx
url, key, paths = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
out = []
with httpx.Client(base_url=url, headers={"authorization": "Bearer " + key}, timeout=300) as client:
    for path in paths:
        r = client.get(path)
        out.append([path, r.status_code, r.text])
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def server(web_env: Any) -> Iterator[tuple[str, str]]:
    db = AppDatabase(web_env.settings.app_database_url)
    with db.session() as session:
        key = keys.create_key(session, "concurrency", ["read"])[1]
    db.dispose()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))  # a free port, bound before the server starts
    # keep-alive longer than the test: with uvicorn's 5 s default the server closes a pooled
    # connection while a client thread is sending on it ("connection reset by peer"), a race
    # of the HTTP client's pool, not an answer of the server
    uv = uvicorn.Server(uvicorn.Config(web_env.app, log_level="warning", timeout_keep_alive=900))
    thread = threading.Thread(target=uv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    for _ in range(600):
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            threading.Event().wait(0.1)
    yield url, key
    uv.should_exit = True
    thread.join(60)
    sock.close()


def _analysis_paths(app: Any) -> list[str]:
    return [path for method, path in policy.route_table(app.routes)
            if method == "GET" and path.startswith("/v1/") and "{" not in path
            and policy.rule_for(method, path) == "read" and not path.startswith("/v1/text/")]


def _get(client: httpx.Client, path: str) -> tuple[str, int, str]:
    response = client.get(path)
    return path, response.status_code, response.text


def _timeless(path: str, text: str) -> str:
    """The answer without the moment it was made (what the same data cannot fix)."""
    if path == "/v1/freshness":
        answer = json.loads(text)
        for row in answer.get("sources", []):
            row.pop("age_days", None)  # now - last, rounded: moves with the clock
        return json.dumps({k: v for k, v in answer.items() if k not in ("now", "warnings")}, sort_keys=True)
    return re.sub(r"Generated \d{4}-\d\d-\d\d \d\d:\d\d UTC", "Generated …", text)


def _first_difference(a: str, b: str) -> str:
    at = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))
    return f"serial …{a[max(0, at - 150):at + 150]}… vs concurrent …{b[max(0, at - 150):at + 150]}…"


@pytest.fixture
def watchdog(request: pytest.FixtureRequest) -> Iterator[None]:
    from _pytest.faulthandler import fault_handler_stderr_fd_key  # the real stderr, not the capture

    stderr = request.config.stash.get(fault_handler_stderr_fd_key, None)
    faulthandler.dump_traceback_later(WATCHDOG_SECONDS, exit=True,
                                      file=stderr if stderr is not None else 2)
    yield
    faulthandler.cancel_dump_traceback_later()


def test_concurrent_requests_answer_as_serial_ones(web_env: Any, server: tuple[str, str],
                                                   monkeypatch: pytest.MonkeyPatch, watchdog: None) -> None:
    url, key = server
    # No request may compute on Ibis's one process-wide connection (what deadlocked, issue 9):
    # every query runs on the request's own cursor.
    default_backend, on_default = ibis_core._default_backend, []

    def note_default() -> Any:
        on_default.append("".join(traceback.format_stack(limit=12)))
        return default_backend()

    monkeypatch.setattr(ibis_core, "_default_backend", note_default)
    paths = _analysis_paths(web_env.app)
    assert len(paths) >= 15
    headers = {"authorization": f"Bearer {key}"}
    with httpx.Client(base_url=url, headers=headers, timeout=300) as client:
        serial = {path: _get(client, path)[1:] for path in paths}
    assert all(status < 500 for status, _ in serial.values()), serial
    base_lens, stop = web_env.app.state.lens, threading.Event()
    events = base_lens.warehouse.table("events").limit(200).to_pyarrow()

    def churn() -> None:  # an ingest of rows it has, a rebuild, a definition change, again
        while not stop.is_set():
            base_lens.ingest("events", events)
            base_lens.refresh()
            web_env.app.state.lens = JourneyLens(base_lens.warehouse, load_definition(web_env.journey),
                                                 web_env.settings)

    clients = [subprocess.Popen([sys.executable, "-c", CLIENT, url, key, json.dumps(paths)],
                                stdout=subprocess.PIPE, text=True) for _ in range(2)]
    churner = threading.Thread(target=churn)
    churner.start()
    try:
        with httpx.Client(base_url=url, headers=headers, timeout=300) as client, \
                ThreadPoolExecutor(THREADS) as pool:
            answers = list(pool.map(lambda p: _get(client, p), paths * REPEATS))
        for process in clients:
            output, _ = process.communicate(timeout=600)
            answers += [tuple(a) for a in json.loads(output)]
    finally:
        for process in clients:
            if process.poll() is None:
                process.kill()
        stop.set()
        churner.join(600)
        web_env.app.state.lens = base_lens
    errors = [(p, s, t[:200]) for p, s, t in answers if s >= 500]
    assert errors == []
    changing = {"/v1/ingest/log"}  # lists the ingests the churn runs: the one answer that moves
    different = [(p, s, _first_difference(_timeless(p, serial[p][1]), _timeless(p, t)))
                 for p, s, t in answers if p not in changing
                 and (s, _timeless(p, t)) != (serial[p][0], _timeless(p, serial[p][1]))]
    assert different == []
    assert on_default == []
    assert len(answers) == len(paths) * (REPEATS + 2)
