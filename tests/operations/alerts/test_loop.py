"""Closing the loop end to end: a detractor answers, a ticket opens, a signed webhook and an email
go out, the agent calls and closes, the KPIs move. Plus the reliability promises."""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import textwrap
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest
from local_servers import SmtpServer, WebhookReceiver
from sqlalchemy import func, select
from standardwebhooks import Webhook

import journeylens
from journeylens.operations import users
from journeylens.operations.alerts import actions, store
from journeylens.operations.alerts.models import Alert
from journeylens.operations.alerts.responses import catch_up
from journeylens.operations.appdb import AppDatabase
from journeylens.operations.models import utcnow
from journeylens.operations.outbox import deliver_due
from journeylens.operations.tickets import inbox, kpis, service
from journeylens.operations.tickets.models import Ticket
from journeylens.operations.tickets.routing import ensure_team

SECRET = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()
PASSWORD = "correct horse battery"
RULE = """\
name: branch-detractor
on: response
when: {{touchpoint: "Branch visit", nps: "<= 6"}}
ticket: {{team: branch, owner: agent@bank.example, priority: high, first_contact_hours: 24, close_hours: 72}}
notify:
  - webhook: {webhook}
  - email: branch-lead@bank.example
"""


def _answers(*rows: tuple[str, str, int, str]) -> pd.DataFrame:
    now = pd.Timestamp.now(tz="UTC")
    return pd.DataFrame([{"response_id": rid, "customer_id": cid, "timestamp": now, "touchpoint": "Branch visit",
                          "channel": "branch", "survey": "branch", "nps": nps, "comment": comment}
                         for rid, cid, nps, comment in rows])


@pytest.fixture
def setup(tmp_path: Path, webhook_receiver: WebhookReceiver, smtp_server: SmtpServer):  # type: ignore[no-untyped-def]
    app_db_url = f"sqlite:///{tmp_path / 'app.db'}"
    settings = smtp_server.settings(warehouse=str(tmp_path / "wh.duckdb"), app_database_url=app_db_url,
                                    webhook_secret=SECRET, outbox_backoff_seconds=60)
    db = AppDatabase(app_db_url)
    with db.session() as s:
        users.create_user(s, "agent@bank.example", PASSWORD, role="agent", actor="t")
        ensure_team(s, "branch", members=["agent@bank.example"])
        actions.add(s, None, RULE.format(webhook=webhook_receiver.url + "/cx"), source="rule.yaml", actor="t")
    lens = journeylens.open(settings.warehouse, settings=settings)
    yield lens, db, settings
    lens.warehouse.close()
    db.dispose()


def test_detractor_to_closed_ticket(setup, webhook_receiver: WebhookReceiver,  # type: ignore[no-untyped-def]
                                    smtp_server: SmtpServer) -> None:
    lens, db, settings = setup
    lens.ingest("feedback", _answers(("r1", "c1", 3, "Queue was 40 minutes"), ("r2", "c2", 10, "Great")))
    lens.ingest("feedback", _answers(("r1", "c1", 3, "Queue was 40 minutes")))  # the same response again

    with db.session() as s:
        tickets = inbox.list_tickets(s, inbox.Visibility.for_user(s, "agent@bank.example", "agent"))
        assert [(t.customer_id, t.owner, t.team, t.priority) for t in tickets] == [
            ("c1", "agent@bank.example", "branch", "high")]
        ticket = tickets[0]
        assert ticket.first_contact_due == ticket.created_at + timedelta(hours=24)
        assert ticket.due_at == ticket.created_at + timedelta(hours=72)
        alerts = [store.alert_row(a) for a in store.list_alerts(s)]
    assert len(alerts) == 1 and "nps <= 6" in alerts[0]["explanation"]

    report = deliver_due(db, settings)
    assert report.sent == 2, report.errors
    (request,) = webhook_receiver.requests
    payload = Webhook(SECRET).verify(request["body"], request["headers"])  # raises when the signature is wrong
    assert payload["type"] == "ticket.created"
    assert payload["data"]["ticket"]["ticket_id"] == ticket.id and payload["data"]["rule"] == "branch-detractor"
    assert payload["data"]["response"]["comment"] == "Queue was 40 minutes"
    (mail,) = smtp_server.messages
    assert mail["To"] == "branch-lead@bank.example" and f"Ticket {ticket.id}" in mail["Subject"]

    with db.session() as s:
        service.contact(s, ticket.id, actor="agent@bank.example", note="Called, apologised")
        service.close(s, ticket.id, actor="agent@bank.example", root_cause="people", outcome="recovered")
        stats = kpis.load_stats(s, inbox.EVERYONE, by="team", feedback=lens.warehouse.table("feedback"))
    assert stats["closed"] == 1 and stats["contacted_within_24h_share"] == 1.0
    assert stats["recovery_rate"] == 1.0 and stats["by"][0]["team"] == "branch"


def test_receiver_down_retries_with_backoff_and_the_rule_page_shows_it(  # type: ignore[no-untyped-def]
        setup, webhook_receiver: WebhookReceiver) -> None:
    lens, db, settings = setup
    webhook_receiver.status = 503
    lens.ingest("feedback", _answers(("r9", "c9", 0, "Never again")))
    first = deliver_due(db, settings)
    assert first.failed == 1  # the webhook (the email went through)
    with db.session() as s:
        shown = actions.show(s, "branch-detractor")
    (problem,) = shown["delivery_problems"]
    assert problem["channel"] == "webhook" and problem["status"] == "failed" and "503" in problem["last_error"]
    assert deliver_due(db, settings).claimed == 0  # not yet: backing off
    webhook_receiver.status = 200
    later = deliver_due(db, settings, now=utcnow() + timedelta(minutes=5))
    assert later.sent == 1
    ids = [r["headers"]["webhook-id"] for r in webhook_receiver.requests]
    assert len(ids) == 2 and ids[0] == ids[1]  # at least once, with one idempotency key
    with db.session() as s:
        assert actions.show(s, "branch-detractor")["delivery_problems"] == []


CRASH = textwrap.dedent("""
    import os, signal, sys
    import pandas as pd
    import journeylens
    from journeylens.operations.alerts import responses
    from journeylens.settings import Settings

    original = responses.judge_rows

    def judge_then_die(*args, **kwargs):
        original(*args, **kwargs)          # alert and ticket are in the session, not committed
        os.kill(os.getpid(), signal.SIGKILL)

    responses.judge_rows = judge_then_die
    settings = Settings(warehouse=sys.argv[1], app_database_url=sys.argv[2])
    lens = journeylens.open(sys.argv[1], settings=settings)
    now = pd.Timestamp.now(tz="UTC")
    lens.ingest("feedback", pd.DataFrame([{"response_id": "k1", "customer_id": "c1", "timestamp": now,
                                           "touchpoint": "Branch visit", "nps": 2}]))
""")


def test_sigkill_between_response_and_ticket_loses_neither(setup, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    lens, db, settings = setup
    lens.warehouse.close()  # the child process takes the DuckDB file
    script = tmp_path / "crash.py"
    script.write_text(CRASH)
    env = {**os.environ, "PYTHONPATH": str(Path(journeylens.__file__).parents[1])}
    child = subprocess.run([sys.executable, str(script), settings.warehouse, settings.app_database_url],
                           env=env, capture_output=True, text=True, timeout=300)
    assert child.returncode == -signal.SIGKILL, child.stderr
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Ticket)) == 0  # the crash lost the ticket ...
    reopened = journeylens.open(settings.warehouse, settings=settings)
    assert reopened.warehouse.count("feedback") == 1  # ... but not the response
    caught = catch_up(reopened, db)
    again = catch_up(reopened, db)
    reopened.warehouse.close()
    assert [c.tickets for c in caught] == [1] and again == []
    with db.session() as s:
        assert [t.response_key for t in s.scalars(select(Ticket))] == ["k1"]
        assert s.scalar(select(func.count()).select_from(Alert)) == 1


def test_forget_customer_erases_tickets_and_alerts(setup) -> None:  # type: ignore[no-untyped-def]
    from journeylens import hooks

    lens, db, _settings = setup
    lens.ingest("feedback", _answers(("r1", "c1", 3, "slow"), ("r2", "c2", 4, "rude")))
    counts = hooks.forget_customer(lens, "c1")
    assert counts["tickets"] == 1 and counts["alerts"] == 1 and counts["ticket_events"] >= 1
    with db.session() as s:
        left = [t.customer_id for t in s.scalars(select(Ticket))]
        texts = json.dumps([a.details for a in s.scalars(select(Alert))])
    assert left == ["c2"] and '"c1"' not in texts
