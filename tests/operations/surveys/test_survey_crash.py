"""Reliability: SIGKILL between trigger and send, and between answer and load — nothing sent
twice, no answer lost (real processes, a real SMTP server, `journeylens serve`)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pandas as pd
import pytest
from local_servers import SmtpServer, free_port
from survey_helpers import EXAMPLE

import journeylens
from journeylens.operations.appdb import AppDatabase
from journeylens.operations.keys import create_key
from journeylens.operations.models import utcnow
from journeylens.operations.outbox import CLAIM_SECONDS
from journeylens.operations.outbox_models import OutboxMessage
from journeylens.operations.surveys import registry, stats
from journeylens.operations.worker import Worker
from journeylens.settings import Settings

EMAIL_SURVEY = EXAMPLE.replace("deliver: [link]", "deliver: [link, email]")

TRIGGER_THEN_DIE = """
import os, signal, sys
import pandas as pd
import journeylens
from journeylens.operations.models import utcnow
lens = journeylens.open(sys.argv[1])
lens.ingest("events", pd.DataFrame([{"customer_id": "c1", "touchpoint": "Branch visit", "channel": "branch",
                                     "timestamp": utcnow(), "email": "ann@example.com"}]))
os.kill(os.getpid(), signal.SIGKILL)   # the invitation is committed; nothing has been sent
"""

CLAIM_THEN_DIE = """
import os, signal, sys
from journeylens.operations.appdb import AppDatabase
from journeylens.operations.outbox import claim, _due_ids
from journeylens.operations.models import utcnow
db = AppDatabase(sys.argv[1])
[message_id] = _due_ids(db, utcnow(), 10)
assert claim(db, message_id, "doomed-worker", utcnow()) is not None
os.kill(os.getpid(), signal.SIGKILL)   # claimed for sending, then the process dies
"""


def _run_until_killed(code: str, arg: str, env: dict[str, str]) -> None:
    process = subprocess.run([sys.executable, "-c", code, arg], env={**os.environ, **env}, capture_output=True,
                             timeout=300, check=False)
    assert process.returncode == -signal.SIGKILL, process.stderr.decode()[-2000:]


def test_sigkill_between_trigger_and_send_sends_exactly_once(tmp_path: Path, smtp_server: SmtpServer) -> None:
    settings = Settings(warehouse=str(tmp_path / "wh.duckdb"), app_database_url=f"sqlite:///{tmp_path / 'app.db'}",
                        smtp_host=smtp_server.host, smtp_port=smtp_server.port, public_url="http://survey.test")
    db = AppDatabase(settings.app_database_url)
    with db.session() as session:
        registry.add_survey(session, EMAIL_SURVEY)
    env = {"JOURNEYLENS_APP_DATABASE_URL": settings.app_database_url, "JOURNEYLENS_PUBLIC_URL": settings.public_url}
    _run_until_killed(TRIGGER_THEN_DIE, settings.warehouse, env)
    assert smtp_server.messages == []
    [invitation] = stats.invitations(db, settings)
    assert invitation["status"] == "sent"  # issued: link made, email queued in the same transaction
    _run_until_killed(CLAIM_THEN_DIE, settings.app_database_url, env)  # a worker dies holding the message
    Worker(db, settings, jobs=[]).run_once()
    assert smtp_server.messages == []  # the dead worker's claim still holds
    after_expiry = utcnow() + timedelta(seconds=CLAIM_SECONDS + 1)
    for _ in range(3):  # restarted workers, run again and again
        Worker(db, settings, jobs=[]).run_once(after_expiry)
    assert [m["To"] for m in smtp_server.messages] == ["ann@example.com"]
    assert invitation["url"] in smtp_server.messages[0].get_body(("plain",)).get_content()  # type: ignore[union-attr]
    with db.session() as session:
        [message] = session.query(OutboxMessage).all()
        assert message.status == "sent" and message.attempts == 2
    db.dispose()


class Serve:
    def __init__(self, workdir: Path, port: int, key: str):
        self.workdir, self.port, self.key = workdir, port, key
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Serve:
        env = {**os.environ, "JOURNEYLENS_APP_DATABASE_URL": f"sqlite:///{self.workdir / 'app.db'}",
               "JOURNEYLENS_COLLECTOR_SPOOL": str(self.workdir / "spool"),
               "JOURNEYLENS_COLLECTOR_LOAD_INTERVAL_SECONDS": "60"}  # only the restart replay loads
        self.process = subprocess.Popen(
            [sys.executable, "-m", "journeylens.surfaces.cli.main", "--warehouse", str(self.workdir / "wh.duckdb"),
             "serve", "--port", str(self.port), "--log-level", "warning"],
            env=env, stdout=subprocess.DEVNULL, stderr=open(self.workdir / "server.log", "ab"))  # noqa: SIM115
        deadline = time.time() + 90
        while time.time() < deadline:
            assert self.process.poll() is None, (self.workdir / "server.log").read_text()
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.2)
        raise AssertionError("journeylens serve did not come up")

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=60)
        self.process = None


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Serve]:
    db = AppDatabase(f"sqlite:///{tmp_path / 'app.db'}")
    with db.session() as session:
        _, key = create_key(session, "ingest", ["ingest"])
    db.dispose()
    server = Serve(tmp_path, free_port(), key)
    yield server
    server.kill()


def test_sigkill_between_answer_and_load_loses_nothing(tmp_path: Path, serve: Serve) -> None:
    settings = Settings(warehouse=str(tmp_path / "wh.duckdb"), app_database_url=f"sqlite:///{tmp_path / 'app.db'}")
    db = AppDatabase(settings.app_database_url)
    with db.session() as session:
        registry.add_survey(session, EXAMPLE)
    lens = journeylens.open(settings.warehouse, settings=settings)
    lens.ingest("events", pd.DataFrame([{"customer_id": "c7", "touchpoint": "Branch visit", "channel": "branch",
                                         "timestamp": utcnow(), "event_id": "visit-7"}]))
    lens.warehouse.close()
    path = urlsplit(stats.invitations(db, settings)[0]["url"]).path
    serve.start()
    answered = httpx.post(serve.url + path, data={"nps": "4", "why": "Long queue", "shown": "nps,why",
                                                  "action": "submit"}, timeout=60)
    assert answered.status_code == 303  # "thank you" is next: the answer is on disk
    serve.kill()  # before the loader (every 60 s) moved it into the warehouse
    serve.start()
    assert "Thank you" in httpx.get(serve.url + path, timeout=30).text  # no second answer possible
    flushed = httpx.post(serve.url + "/v1/flush", headers={"authorization": f"Bearer {serve.key}"}, timeout=120)
    assert flushed.status_code == 200, flushed.text
    again = httpx.post(serve.url + path, json={"answers": {"nps": 10}}, timeout=30)
    assert again.json() == {"status": "completed", "already_answered": True}
    serve.kill()
    lens = journeylens.open(settings.warehouse, settings=settings)
    try:
        rows = lens.warehouse.table("feedback").to_pyarrow().to_pylist()
    finally:
        lens.warehouse.close()
    assert [(r["customer_id"], r["nps"], r["comment"], r["touchpoint"]) for r in rows] == [
        ("c7", 4, "Long queue", "Branch visit")]
    assert stats.invitations(db, settings)[0]["status"] == "completed"
    db.dispose()
