"""The follow-up survey after closure, handed to the surveys module by a worker job.

When a ticket's rule names ``ticket.follow_up_survey`` and the ticket is closed with an
outcome other than ``unreachable``, the ``tickets.follow_up`` job creates one survey
invitation for the customer (event key ``ticket:<id>``, so never twice) and issues it through
the surveys module's own delivery (link, email, SMS as the survey lists), in the transaction
that records it on ``tickets.follow_up``. The answers come back as feedback; their NPS is the
``follow_up_nps`` of the close-the-loop KPIs.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from journeylens.errors import JourneyLensError
from journeylens.operations.alerts.models import AlertRule
from journeylens.operations.models import utcnow
from journeylens.operations.tickets.models import Ticket

EXPIRES_DAYS = 14
CONTACT_KEYS: tuple[str, ...] = ("email", "phone")


def due_follow_ups(session: Session, *, limit: int = 100) -> list[tuple[Ticket, str]]:
    """Closed tickets whose rule asks for a follow-up survey that has not been handled yet."""
    rules = {r.id: ((r.definition.get("ticket") or {}).get("follow_up_survey"))
             for r in session.scalars(select(AlertRule).where(AlertRule.kind == "response"))}
    wanted = [rule_id for rule_id, survey in rules.items() if survey]
    if not wanted:
        return []
    query = (select(Ticket).where(Ticket.status == "closed", Ticket.rule_id.in_(wanted), Ticket.customer_id.isnot(None))
             .order_by(Ticket.closed_at).limit(limit * 4))
    due = [(t, str(rules[t.rule_id])) for t in session.scalars(query) if not t.follow_up and t.rule_id is not None]
    return due[:limit]


def send_follow_up(session: Session, settings: Any, key: str, ticket: Ticket, survey_name: str,
                   now: datetime) -> dict[str, Any]:
    """Invite the ticket's customer to ``survey_name`` and record what happened on the ticket."""
    from journeylens.operations.surveys.models import SurveyInvitation
    from journeylens.operations.surveys.registry import definition_of, get_survey
    from journeylens.operations.surveys.triggers import send

    if ticket.outcome == "unreachable":
        ticket.follow_up = {"survey": survey_name, "status": "skipped", "reason": "customer unreachable"}
        return ticket.follow_up
    try:
        row = get_survey(session, survey_name)
    except JourneyLensError as exc:
        ticket.follow_up = {"survey": survey_name, "status": "failed", "reason": exc.message}
        return ticket.follow_up
    contact = {k: str(v) for k, v in (ticket.response.get("contact") or {}).items() if k in CONTACT_KEYS and v}
    invitation = SurveyInvitation(
        id=uuid.uuid4().hex, survey_id=row.id, survey=row.name, customer_id=str(ticket.customer_id),
        event_key=f"ticket:{ticket.id}", event_at=ticket.closed_at or now, touchpoint=ticket.touchpoint or "",
        channel=str(ticket.response.get("channel") or ""), contact=contact, status="scheduled", created_at=now,
        send_at=now, expires_at=now + timedelta(days=EXPIRES_DAYS))
    session.add(invitation)
    session.flush()
    send(session, settings, invitation, definition_of(row), key, now)
    ticket.follow_up = {"survey": survey_name, "status": "sent", "invitation_id": invitation.id,
                        "sent_at": now.isoformat()}
    return ticket.follow_up


def run_follow_ups(db: Any, settings: Any, *, now: datetime | None = None) -> int:
    """Hand every due follow-up to the surveys module; returns how many tickets were handled."""
    from journeylens.operations.surveys.links import signing_key

    now = now or utcnow()
    with db.session() as session:
        if not due_follow_ups(session, limit=1):
            return 0
    key = signing_key(db, settings)
    with db.session() as session:
        due = due_follow_ups(session)
        for ticket, survey in due:
            send_follow_up(session, settings, key, ticket, survey, now)
        return len(due)
