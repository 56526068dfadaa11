"""Escalation before and at an SLA breach, run by the worker on a schedule.

For the timer a ticket is working to (first contact until it happened, then close):

* ``warn_before_hours`` before it is due — the owner (and the team lead) are notified;
* when it is breached — notified again, the priority goes up one step (``raise_priority``)
  and the ticket is reassigned (``reassign_to``: ``lead`` or an email) when the rule says so.

``escalation_level`` remembers what was done (1 warned / 2 breached for first contact, 3 / 4
for close), so every step happens once even when the job runs every minute, and a
restarted worker picks up where the stored timestamps say it should.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from journeylens.operations.alerts import notifications
from journeylens.operations.alerts.models import AlertRule
from journeylens.operations.alerts.rules import Escalation, ResponseRule, rule_from_definition
from journeylens.operations.appdb import AppDatabase
from journeylens.operations.models import utcnow
from journeylens.operations.tickets.inbox import ticket_row
from journeylens.operations.tickets.models import PRIORITIES, Ticket
from journeylens.operations.tickets.routing import find_team, user_exists
from journeylens.operations.tickets.service import _event, open_states

ACTOR = "worker"


@dataclass
class EscalationReport:
    warned: list[int] = field(default_factory=list)
    breached: list[int] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"warned": self.warned, "breached": self.breached}


def _policy(session: Session, ticket: Ticket) -> tuple[Escalation, ResponseRule | None]:
    stored = session.get(AlertRule, ticket.rule_id) if ticket.rule_id is not None else None
    rule = rule_from_definition(stored.definition) if stored is not None else None
    if isinstance(rule, ResponseRule) and rule.ticket is not None:
        return rule.ticket.escalation, rule
    return Escalation(), None


def _stage(ticket: Ticket) -> tuple[datetime | None, int]:
    """The due time being worked to and the level its warning corresponds to (1 or 3)."""
    if ticket.first_contact_at is None and ticket.first_contact_due is not None:
        return ticket.first_contact_due, 1
    return ticket.due_at, 3


def _recipients(session: Session, ticket: Ticket, rule: ResponseRule | None) -> list[tuple[str, str]]:
    targets = [("email", ticket.owner)] if ticket.owner else []
    team = find_team(session, ticket.team) if ticket.team else None
    if team is not None and team.lead_email:
        targets.append(("email", team.lead_email))
    return targets + (notifications.rule_targets(rule) if rule is not None else [])


def _notify(session: Session, ticket: Ticket, rule: ResponseRule | None, event: str, level: int, text: str,
            now: datetime) -> None:
    targets = _recipients(session, ticket, rule)
    if targets:
        notifications.queue(session, targets=targets, event_type=event, event_key=f"ticket-{ticket.id}-{level}",
                            subject=f"[JourneyLens] Ticket {ticket.id}: {text}", text=text,
                            data={"rule": ticket.rule_name, "ticket": ticket_row(ticket, now), "level": level},
                            source=notifications.rule_source(ticket.rule_id) if ticket.rule_id else "tickets")


def _breach(session: Session, ticket: Ticket, policy: Escalation, now: datetime) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    if policy.raise_priority and ticket.priority != PRIORITIES[-1]:
        changes["priority"] = [ticket.priority, PRIORITIES[PRIORITIES.index(ticket.priority) + 1]]
        ticket.priority = changes["priority"][1]
    target = policy.reassign_to
    if target == "lead":
        team = find_team(session, ticket.team) if ticket.team else None
        target = team.lead_email if team is not None else None
    if target and target != ticket.owner and user_exists(session, target):
        changes["owner"] = [ticket.owner, target.lower()]
        ticket.owner = target.lower()
    return changes


def escalate(session: Session, *, now: datetime | None = None) -> EscalationReport:
    """Warn and escalate every open, running ticket that needs it (idempotent per level)."""
    now = now or utcnow()
    report = EscalationReport()
    query = select(Ticket).where(Ticket.status.in_(open_states(session)), Ticket.paused_at.is_(None))
    for ticket in session.scalars(query):
        due, warn_level = _stage(ticket)
        if due is None:
            continue
        policy, rule = _policy(session, ticket)
        timer = "first contact" if warn_level == 1 else "close"
        if now > due and ticket.escalation_level < warn_level + 1:
            changes = _breach(session, ticket, policy, now)
            ticket.escalation_level = warn_level + 1
            _event(session, ticket, ACTOR, "escalated", at=now, level=ticket.escalation_level, timer=timer,
                   breached=True, **changes)
            if policy.notify:
                _notify(session, ticket, rule, "ticket.breached", ticket.escalation_level,
                        f"the {timer} SLA was breached (due {due:%Y-%m-%d %H:%M} UTC)", now)
            report.breached.append(ticket.id)
        elif (now <= due and now >= due - timedelta(hours=policy.warn_before_hours)
              and ticket.escalation_level < warn_level):
            ticket.escalation_level = warn_level
            _event(session, ticket, ACTOR, "escalated", at=now, level=warn_level, timer=timer, breached=False)
            if policy.notify:
                _notify(session, ticket, rule, "ticket.escalated", warn_level,
                        f"the {timer} SLA is due at {due:%Y-%m-%d %H:%M} UTC", now)
            report.warned.append(ticket.id)
    return report


def run_escalation(db: AppDatabase, *, now: datetime | None = None) -> EscalationReport:
    with db.session() as session:
        return escalate(session, now=now)
