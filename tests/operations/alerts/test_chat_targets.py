"""A metric rule's alert reaches Slack and Microsoft Teams incoming webhooks in their formats."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
from local_servers import WebhookReceiver

import journeylens
from journeylens.operations.alerts import actions
from journeylens.operations.alerts.scheduled import run_rules
from journeylens.operations.appdb import AppDatabase
from journeylens.operations.outbox import deliver_due
from journeylens.settings import Settings

AS_OF = datetime(2024, 9, 16, tzinfo=UTC)


def test_metric_alert_to_slack_and_teams(tmp_path: Path, webhook_receiver: WebhookReceiver) -> None:
    settings = Settings(warehouse="duckdb://", app_database_url=f"sqlite:///{tmp_path / 'app.db'}")
    lens = journeylens.open("duckdb://", settings=settings)
    answers = [{"response_id": f"r{i}", "timestamp": AS_OF - timedelta(hours=1 + i % 20), "touchpoint": "App",
                "csat": 2 if i % 5 else 5} for i in range(40)]  # 20 % top-2-box
    lens.ingest("feedback", pd.DataFrame(answers))
    db = AppDatabase(settings.app_database_url)
    rule = (f"name: app-csat\non: metric\nmetric: csat\nwhere: {{touchpoint: App}}\nbelow: 0.6\nwindow_days: 1\n"
            f"notify:\n  - slack: {webhook_receiver.url}/slack\n  - teams: {webhook_receiver.url}/teams\n")
    with db.session() as s:
        actions.add(s, lens, rule, source="rule.yaml", actor="t")
    report = run_rules(lens, db, as_of=AS_OF)
    assert [a["subject"] for a in report.fired] == ["csat @ touchpoint=App"]
    assert deliver_due(db, settings).sent == 2
    bodies = {r["path"]: json.loads(r["body"]) for r in webhook_receiver.requests}
    assert "the whole 95 % interval is below the threshold 0.6" in bodies["/slack"]["text"]
    card = bodies["/teams"]["attachments"][0]
    assert card["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert "app-csat" in card["content"]["body"][0]["text"]
    assert run_rules(lens, db, as_of=AS_OF).fired == []  # still open: no second alert
    lens.warehouse.close()
    db.dispose()
