"""The worker runs each job once per interval across workers and delivers the outbox."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from pathlib import Path

from local_servers import SmtpServer
from typer.testing import CliRunner

from journeylens.hooks import hookimpl, plugin_manager
from journeylens.operations import outbox
from journeylens.operations.appdb import AppDatabase
from journeylens.operations.models import utcnow
from journeylens.operations.worker import Job, JobContext, Worker, lease_rows, registered_jobs
from journeylens.settings import Settings
from journeylens.surfaces.cli.main import app


def test_a_job_runs_once_per_interval_even_with_two_workers(app_db: AppDatabase) -> None:
    runs: list[str] = []
    lock = threading.Lock()

    def count(context: JobContext) -> None:
        with lock:
            runs.append(context.now.isoformat())

    job = Job("test.count", interval_seconds=60, run=count)
    now = utcnow()
    first, second = (Worker(app_db, Settings(), jobs=[job]) for _ in range(2))
    start = threading.Barrier(2)

    def tick(worker: Worker) -> None:
        start.wait()
        worker.run_once(now)

    threads = [threading.Thread(target=tick, args=(w,)) for w in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(runs) == 1
    first.run_once(now + timedelta(seconds=30))
    assert len(runs) == 1  # not due yet
    second.run_once(now + timedelta(seconds=61))
    assert len(runs) == 2
    [lease] = lease_rows(app_db)
    assert lease["runs"] == 2 and lease["locked_until"] is None


def test_a_failing_job_is_recorded_and_does_not_stop_the_others(app_db: AppDatabase) -> None:
    ran: list[str] = []

    def broken(context: JobContext) -> None:
        raise RuntimeError("boom")

    report = Worker(app_db, Settings(), jobs=[Job("a.broken", 10, broken),
                                              Job("b.fine", 10, lambda c: ran.append("b"))]).run_once()
    assert report.job_errors == {"a.broken": "RuntimeError: boom"} and ran == ["b"]
    assert {r["name"]: r["last_error"] for r in lease_rows(app_db)}["a.broken"] == "RuntimeError: boom"


def test_jobs_come_from_plugins_and_the_tick_delivers_what_they_queue(app_db: AppDatabase,
                                                                     smtp_server: SmtpServer) -> None:
    def queue_mail(context: JobContext) -> None:
        with context.db.session() as session:
            outbox.enqueue(session, channel="email", target="ops@example.com", idempotency_key="job-mail",
                           payload={"subject": "Daily", "text": "report"})

    class Plugin:
        @hookimpl
        def journeylens_worker_jobs(self) -> list[Job]:
            return [Job("test.mail", 3600, queue_mail)]

    plugin = Plugin()
    plugin_manager().register(plugin)
    try:
        assert "test.mail" in [j.name for j in registered_jobs()]
        report = Worker(app_db, smtp_server.settings()).run_once()
    finally:
        plugin_manager().unregister(plugin)
    assert "test.mail" in report.jobs_run and report.delivery.sent == 1
    assert smtp_server.messages[0]["Subject"] == "Daily"


def test_background_thread_delivers(app_db: AppDatabase, smtp_server: SmtpServer) -> None:
    with app_db.session() as session:
        outbox.enqueue(session, channel="email", target="a@example.com", idempotency_key="bg",
                       payload={"subject": "bg", "text": "x"})
    worker = Worker(app_db, smtp_server.settings(worker_interval_seconds=0.05), jobs=[]).start()
    try:
        for _ in range(200):
            if smtp_server.messages:
                break
            threading.Event().wait(0.05)
    finally:
        worker.stop()
    assert not worker.running and [m["Subject"] for m in smtp_server.messages] == ["bg"]


def test_cli_worker_once_and_outbox_list(tmp_path: Path, smtp_server: SmtpServer, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'app.db'}"
    db = AppDatabase(url)
    with db.session() as session:
        outbox.enqueue(session, channel="email", target="a@example.com", idempotency_key="cli",
                       payload={"subject": "cli", "text": "x"})
    env = {"JOURNEYLENS_APP_DATABASE_URL": url, "JOURNEYLENS_SMTP_HOST": smtp_server.host,
           "JOURNEYLENS_SMTP_PORT": str(smtp_server.port)}
    runner = CliRunner()
    result = runner.invoke(app, ["worker", "--once", "--json"], env=env)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["delivery"]["sent"] == 1
    listed = runner.invoke(app, ["outbox", "list", "--json"], env=env)
    [row] = json.loads(listed.stdout)
    assert row["status"] == "sent" and row["idempotency_key"] == "cli"
    shown = json.loads(runner.invoke(app, ["outbox", "show", str(row["id"]), "--json"], env=env).stdout)
    assert shown["deliveries"][0]["ok"] is True
