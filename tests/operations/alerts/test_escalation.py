"""Escalation before and at the breach (each step once) and per-person digests (once per period)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from journeylens.operations import users
from journeylens.operations.alerts import actions
from journeylens.operations.alerts.models import AlertRule
from journeylens.operations.appdb import AppDatabase
from journeylens.operations.outbox_models import OutboxMessage
from journeylens.operations.tickets import service
from journeylens.operations.tickets.digests import queue_digests
from journeylens.operations.tickets.escalation import escalate
from journeylens.operations.tickets.routing import ensure_team

T0 = datetime(2024, 3, 4, 9, 0, tzinfo=UTC)  # a Monday
RULE = """\
name: esc
on: response
when: {nps: "<= 6"}
ticket: {team: branch, owner: a1@x.example, priority: normal, first_contact_hours: 24, close_hours: 72,
         escalation: {warn_before_hours: 4, reassign_to: lead}}
notify:
  - webhook: https://hooks.example.com/cx
"""


def _setup(db: AppDatabase) -> int:
    with db.session() as s:
        for email in ("a1@x.example", "lead@x.example"):
            users.create_user(s, email, "correct horse battery", role="agent", actor="t")
        ensure_team(s, "branch", lead_email="lead@x.example", members=["a1@x.example"])
        actions.add(s, None, RULE, source="esc.yaml", actor="t")
        rule_id = s.scalar(select(AlertRule.id))
        ticket = service.create_ticket(s, rule_id=rule_id, rule_name="esc", response_key="r1",
                                       response={"customer_id": "c1", "nps": 2}, priority="normal",
                                       owner="a1@x.example", team="branch", first_contact_hours=24, close_hours=72,
                                       now=T0)
        return ticket.id


def test_warn_then_breach_each_once(app_db: AppDatabase) -> None:
    ticket_id = _setup(app_db)
    with app_db.session() as s:
        assert escalate(s, now=T0 + timedelta(hours=10)).to_dict() == {"warned": [], "breached": []}
        assert escalate(s, now=T0 + timedelta(hours=21)).warned == [ticket_id]
        assert escalate(s, now=T0 + timedelta(hours=22)).warned == []
        assert escalate(s, now=T0 + timedelta(hours=25)).breached == [ticket_id]
        assert escalate(s, now=T0 + timedelta(hours=26)).breached == []
        ticket = service.get_ticket(s, ticket_id)
        assert (ticket.priority, ticket.owner, ticket.escalation_level) == ("high", "lead@x.example", 2)
        trail = [e.details for e in service.events_of(s, ticket_id) if e.action == "escalated"]
        kinds = sorted(m.payload["event_type"] for m in s.scalars(select(OutboxMessage)))
    assert trail[1]["priority"] == ["normal", "high"] and trail[1]["owner"] == ["a1@x.example", "lead@x.example"]
    # warning: owner, lead, webhook; breach: the lead (now the owner) and the webhook
    assert kinds.count("ticket.escalated") == 3 and kinds.count("ticket.breached") == 2


def test_pending_tickets_are_not_escalated(app_db: AppDatabase) -> None:
    ticket_id = _setup(app_db)
    with app_db.session() as s:
        service.set_status(s, ticket_id, "pending", actor="a1@x.example")
        assert escalate(s, now=T0 + timedelta(days=10)).to_dict() == {"warned": [], "breached": []}


def test_digests_once_per_period(app_db: AppDatabase) -> None:
    _setup(app_db)
    with app_db.session() as s:
        assert queue_digests(s, None, now=T0.replace(hour=6)) == 0  # before the digest hour
        first = queue_digests(s, None, now=T0.replace(hour=8))
        again = queue_digests(s, None, now=T0.replace(hour=9))
        digests = [m for m in s.scalars(select(OutboxMessage)) if m.payload["event_type"] == "digest"]
    assert first == 4 and again == 4  # a1 and lead (team member of branch): daily + weekly on a Monday
    assert len(digests) == 4
    mine = next(m for m in digests if m.target == "a1@x.example" and m.payload["data"]["period"] == "daily")
    assert mine.payload["data"]["open_tickets"][0]["ticket_id"] == 1 and "1 open ticket" in mine.payload["text"]


def test_maturity_evidence_of_rules_and_tickets(app_db: AppDatabase) -> None:
    from journeylens.operations.alerts.plugin import alert_facts, ticket_facts
    from journeylens.operations.maturity.evidence import PROVIDERS

    ticket_id = _setup(app_db)
    with app_db.session() as s:
        service.contact(s, ticket_id, actor="a1@x.example", now=T0 + timedelta(hours=1))
        service.close(s, ticket_id, actor="a1@x.example", root_cause="people", outcome="recovered",
                      now=T0 + timedelta(hours=2))
        facts = alert_facts(s, T0), ticket_facts(s, T0 + timedelta(days=1))
    assert facts == ({"active_rules": 1, "watched_touchpoints": [], "ticket_rules": 1},
                     {"closed": 1, "closed_within_sla": 1, "closed_with_root_cause": 1})
    assert PROVIDERS["alerts"] is alert_facts and PROVIDERS["tickets"] is ticket_facts
