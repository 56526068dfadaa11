"""After closure, the follow-up survey goes to the customer through the surveys module, once."""

from __future__ import annotations

from sqlalchemy import select

from journeylens.operations.alerts import actions
from journeylens.operations.alerts.models import AlertRule
from journeylens.operations.appdb import AppDatabase
from journeylens.operations.surveys.models import SurveyInvitation
from journeylens.operations.surveys.registry import add_survey
from journeylens.operations.tickets import service
from journeylens.operations.tickets.follow_up import run_follow_ups
from journeylens.settings import Settings

SURVEY = """\
name: recovery-check
title: {en: "Did we put it right?"}
trigger: {touchpoint: "Never happens", delay_minutes: 0, sample: 1.0, expires_days: 14}
questions:
  - {id: nps, type: nps, text: {en: "How likely are you to recommend us to a friend?"}, required: true}
deliver: [link]
"""
RULE = """\
name: with-follow-up
on: response
when: {nps: "<= 6"}
ticket: {team: branch, first_contact_hours: 24, follow_up_survey: recovery-check}
"""


def test_follow_up_invitation_after_closure(app_db: AppDatabase) -> None:
    settings = Settings(app_database_url=app_db.url, secret_key="a-test-secret-that-is-long-enough")
    with app_db.session() as s:
        add_survey(s, SURVEY)
        actions.add(s, None, RULE, source="rule.yaml", actor="t")
        rule_id = s.scalar(select(AlertRule.id))
        ids = []
        for key, outcome in (("r1", "recovered"), ("r2", "unreachable"), ("r3", None)):
            t = service.create_ticket(s, rule_id=rule_id, rule_name="with-follow-up", response_key=key,
                                      response={"customer_id": f"c-{key}", "nps": 3,
                                                "contact": {"email": f"{key}@example.com"}},
                                      priority="normal", owner=None, team="branch", first_contact_hours=24,
                                      close_hours=None)
            if outcome:
                service.close(s, t.id, actor="a", root_cause="people", outcome=outcome)
            ids.append(t.id)
    assert run_follow_ups(app_db, settings) == 2
    assert run_follow_ups(app_db, settings) == 0  # handled once
    with app_db.session() as s:
        (invitation,) = s.scalars(select(SurveyInvitation))
        states = [service.get_ticket(s, i).follow_up for i in ids]
    assert (invitation.customer_id, invitation.event_key, invitation.status) == ("c-r1", f"ticket:{ids[0]}", "sent")
    assert invitation.contact == {"email": "r1@example.com"}
    assert states[0]["status"] == "sent" and states[0]["invitation_id"] == invitation.id
    assert states[1]["status"] == "skipped" and states[2] == {}
