"""Invitations reach a real SMTP server through the outbox; reminders once; exit surveys on churn."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pandas as pd
from local_servers import SmtpServer, free_port
from survey_helpers import EXAMPLE, add

import journeylens
from journeylens.lens import JourneyLens
from journeylens.operations.appdb import AppDatabase
from journeylens.operations.models import utcnow
from journeylens.operations.outbox_models import OutboxMessage
from journeylens.operations.surveys import answers, stats
from journeylens.operations.worker import Worker
from journeylens.settings import Settings

EMAIL_SURVEY = EXAMPLE.replace("deliver: [link]", "deliver: [link, email]\nreminder: {after_days: 3}")


def _visit(lens: JourneyLens, customer: str = "c1", **props: str) -> None:
    lens.ingest("events", pd.DataFrame([{"customer_id": customer, "touchpoint": "Branch visit", "channel": "branch",
                                         "timestamp": utcnow(), "email": props.get("email"),
                                         "language": props.get("language")}]))


def test_the_invitation_email_reaches_smtp_with_the_score_block_and_one_reminder(
        lens: JourneyLens, survey_db: AppDatabase, survey_settings: Settings, smtp_server: SmtpServer) -> None:
    add(survey_db, EMAIL_SURVEY)
    _visit(lens, email="ann@example.com", language="nl")
    settings = survey_settings.model_copy(update={"smtp_host": smtp_server.host, "smtp_port": smtp_server.port})
    worker = Worker(survey_db, settings)
    worker.run_once()
    [mail] = smtp_server.messages
    [invitation] = stats.invitations(survey_db, settings)
    assert mail["To"] == "ann@example.com" and mail["Subject"] == "Hoe was uw bezoek?"  # the event's language
    html = mail.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert f'{invitation["url"]}?nps=0"' in html and f'{invitation["url"]}?nps=10"' in html  # one-click scores
    assert invitation["url"] in mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    worker.run_once()
    assert len(smtp_server.messages) == 1  # nothing sent twice
    later = utcnow() + timedelta(days=3, minutes=1)
    Worker(survey_db, settings).run_once(later)
    Worker(survey_db, settings).run_once(later + timedelta(days=1))
    assert [m["Subject"] for m in smtp_server.messages] == ["Hoe was uw bezoek?", "Reminder: Hoe was uw bezoek?"]


def test_a_response_stops_the_reminder(lens: JourneyLens, survey_db: AppDatabase, survey_settings: Settings,
                                       smtp_server: SmtpServer) -> None:
    add(survey_db, EMAIL_SURVEY)
    _visit(lens, email="bob@example.com")
    settings = survey_settings.model_copy(update={"smtp_host": smtp_server.host, "smtp_port": smtp_server.port})
    token = stats.invitations(survey_db, settings)[0]["url"].rsplit("/", 1)[1]
    opened = answers.open_token(survey_db, settings, token)
    answers.complete(survey_db, opened, {"nps": 9}, "en", lambda row: None)
    Worker(survey_db, settings).run_once(utcnow() + timedelta(days=4))
    assert [m["Subject"] for m in smtp_server.messages] == ["How was your visit?"]


def test_smtp_down_leaves_the_invitation_email_queued_with_its_error(
        lens: JourneyLens, survey_db: AppDatabase, survey_settings: Settings) -> None:
    add(survey_db, EMAIL_SURVEY)
    _visit(lens, email="cy@example.com")
    down = survey_settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": free_port(),
                                              "smtp_timeout_seconds": 2})
    Worker(survey_db, down).run_once()
    with survey_db.session() as session:
        [message] = session.query(OutboxMessage).all()
        assert message.status == "failed" and "SMTP" in message.last_error
        assert message.next_attempt_at > utcnow()
    assert stats.invitations(survey_db, down)[0]["status"] == "sent"  # the link exists; the email retries


CHURN_JOURNEY = """
name: mini-bank
stages: [{name: usage}, {name: departure}]
touchpoints:
  - {name: App login, stage: usage, channel: app}
  - {name: Account closed, stage: departure, channel: post}
outcomes: {churn: [Account closed]}
"""

EXIT = """
name: exit
kind: exit
title: {en: "Sorry to see you go"}
trigger: {outcome: churn, expires_days: 30}
questions:
  - {id: reason, type: single, required: true, text: {en: "Why are you leaving?"}, options: [Fees, Service, The app]}
"""


def test_exit_survey_on_the_churn_outcome_reports_reasons_by_stage(tmp_path: Path, survey_db: AppDatabase,
                                                                   survey_settings: Settings) -> None:
    journey = tmp_path / "journey.yaml"
    journey.write_text(CHURN_JOURNEY)
    lens = journeylens.open(str(tmp_path / "exit.duckdb"), journey, settings=survey_settings)
    try:
        add(survey_db, EXIT)
        now = utcnow()
        lens.ingest("events", pd.DataFrame([
            {"customer_id": "c1", "touchpoint": "App login", "channel": "app", "timestamp": now - timedelta(hours=2)},
            {"customer_id": "c1", "touchpoint": "Account closed", "channel": "post", "timestamp": now}]))
    finally:
        lens.warehouse.close()
    [invitation] = stats.invitations(survey_db, survey_settings)
    assert invitation["touchpoint"] == "Account closed"
    opened = answers.open_token(survey_db, survey_settings, invitation["url"].rsplit("/", 1)[1])
    rows: list[dict] = []  # type: ignore[type-arg]
    answers.complete(survey_db, opened, {"reason": "fees"}, "en", rows.append)
    assert rows[0]["properties"]["reason"] == "fees" and rows[0]["properties"]["stage"] == "departure"
    assert stats.exit_reasons(survey_db, "exit") == [
        {"reason": "fees", "label": "Fees", "count": 1, "journeys": {"departure": 1}}]


def test_enps_answers_are_kept_apart() -> None:
    from journeylens.operations.surveys.definition import parse_survey

    survey = parse_survey("name: enps\nkind: employee\ntitle: Work here?\ndeliver: [link, qr]\n"
                          "questions: [{id: nps, type: nps, required: true, text: \"Recommend us as employer?\"}]\n")
    row = answers.feedback_row(survey, "r1", {"nps": 8}, customer_id=None, touchpoint="", channel="qr",
                               language="en", at=utcnow())
    assert row["respondent"] == "employee" and row["nps"] == 8
    assert json.dumps(row)  # a plain JSON row for the spool
