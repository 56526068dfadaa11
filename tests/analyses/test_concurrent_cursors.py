"""Analyses computed by many threads at once, each on its own cursor, answer as one thread does.

Issue 9: CX metrics by period roll up stored daily statistics (an in-memory table). Such a query
reads no warehouse table, so Ibis ran it on its one process-wide default DuckDB connection:
every thread met there, and the server deadlocked (a thread holding the GIL waited for that
connection's lock while the thread holding the lock waited for the GIL to read the Arrow data)
or failed with "Attempting to execute an unsuccessful or closed pending query result".

A deadlock holds the GIL, so nothing inside the deadlocked process can report it: the threads
run in a child process with a faulthandler watchdog, and this test fails with the child's
thread dump when it does not finish.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types.core as ibis_core
import pyarrow as pa
import pytest

import journeylens
from journeylens.lens_pool import LensPool

THREADS = 6
ROUNDS = 8
WATCHDOG_SECONDS = 240  # the child's own limit: it dumps every thread's stack and exits

CHILD = """
import faulthandler, json, sys, threading
faulthandler.dump_traceback_later(float(sys.argv[1]), exit=True)
from datetime import UTC, datetime, timedelta
import pyarrow as pa
import journeylens
from journeylens.lens_pool import LensPool

threads, rounds = int(sys.argv[2]), int(sys.argv[3])
lens = journeylens.open("duckdb://")
start = datetime(2024, 1, 1, tzinfo=UTC)
n = 3000
lens.ingest("feedback", pa.table({
    "customer_id": [f"c{i % 700}" for i in range(n)],
    "timestamp": [start + timedelta(hours=7 * i) for i in range(n)],
    "touchpoint": [("web", "branch", "call", "app")[i % 4] for i in range(n)],
    "nps": [i % 11 for i in range(n)],
    "csat": [1 + i % 5 for i in range(n)],
}))
queries = [lambda l: l.metrics(by=["touchpoint", "month"]).to_dict(detail=True),
           lambda l: l.metrics(by=["week"]).to_dict(detail=True),
           lambda l: l.metric_changes(by=["touchpoint"], period="month", every_period=True).to_dict()]
expected = [q(lens) for q in queries]
pool, answers, errors = LensPool(lens), [], []

def work(worker):
    for k in range(rounds):
        which = (worker + k) % len(queries)
        try:
            with pool.checkout() as mine:
                answers.append(queries[which](mine) == expected[which])
        except Exception as exc:
            errors.append(repr(exc)[:300])

running = [threading.Thread(target=work, args=(w,)) for w in range(threads)]
for t in running:
    t.start()
for t in running:
    t.join()
print(json.dumps({"answers": answers, "errors": errors}))
"""


def test_threads_on_pooled_cursors_answer_as_one_thread() -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(journeylens.__file__).parents[1]),
                                                         os.environ.get("PYTHONPATH", "")])}
    child = subprocess.run([sys.executable, "-c", CHILD, str(WATCHDOG_SECONDS), str(THREADS), str(ROUNDS)],
                           capture_output=True, text=True, env=env, timeout=WATCHDOG_SECONDS + 120)
    assert child.returncode == 0, f"the threads did not finish (deadlock?):\n{child.stderr[-6000:]}"
    outcome = json.loads(child.stdout.strip().splitlines()[-1])
    assert outcome["errors"] == []
    assert outcome["answers"] == [True] * (THREADS * ROUNDS)


def test_period_metrics_never_run_on_ibis_default_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    """The stored days are rolled up on the feedback table's own connection (the request's
    cursor), never on the process-wide one every thread would share."""
    used: list[str] = []

    def no_default() -> Any:
        used.append("default")
        raise AssertionError("an analysis query ran on Ibis's process-wide default connection")

    lens = journeylens.open("duckdb://")
    start = datetime(2024, 1, 1, tzinfo=UTC)
    lens.ingest("feedback", pa.table({"timestamp": [start + timedelta(days=i) for i in range(400)],
                                      "touchpoint": [("web", "branch")[i % 2] for i in range(400)],
                                      "nps": [i % 11 for i in range(400)]}))
    monkeypatch.setattr(ibis_core, "_default_backend", no_default)
    pool = LensPool(lens)
    with pool.checkout() as mine:
        first = mine.metrics(by=["touchpoint", "month"]).to_dict()
        second = mine.metrics(by=["touchpoint", "month"]).to_dict()  # from the stored days
        memtables = [t for t in mine.warehouse.con.list_tables() if "memtable" in t]
    assert used == []
    assert first == second
    assert memtables == []  # the stored days are not left registered on a pooled cursor
    assert isinstance(ibis.get_backend(mine.warehouse.table("feedback")), type(lens.warehouse.con))
