"""Who sees which tickets, the listing shape of the CLI and HTTP API, and the inbox order.

Agents see the tickets they own and those of their teams; admins (and API keys with the
``tickets`` scope) see every ticket. :func:`ticket_row` is the one JSON shape of a ticket in
a list, :func:`ticket_detail` adds the audit trail and the response.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from journeylens.errors import NotFoundError
from journeylens.operations.calendar import BusinessCalendar
from journeylens.operations.models import utcnow
from journeylens.operations.tickets import sla
from journeylens.operations.tickets.models import Ticket
from journeylens.operations.tickets.routing import teams_of
from journeylens.operations.tickets.service import events_of, get_ticket, open_states

ROW_KEYS: tuple[str, ...] = ("ticket_id", "status", "priority", "owner", "team", "customer_id", "response_id",
                             "rule", "created_at", "first_contact_due", "due_at", "breached", "root_cause")


@dataclass(frozen=True)
class Visibility:
    """Which tickets a caller may see: every ticket, or those of ``email`` and ``teams``."""

    everything: bool = False
    email: str | None = None
    teams: tuple[str, ...] = field(default_factory=tuple)

    @classmethod
    def for_user(cls, session: Session, email: str, role: str) -> Visibility:
        if role == "admin":
            return cls(everything=True, email=email)
        return cls(email=email, teams=tuple(teams_of(session, email)))

    def apply(self, query: Select[Any]) -> Select[Any]:
        if self.everything:
            return query
        conditions = [Ticket.owner == self.email] if self.email else []
        if self.teams:
            conditions.append(Ticket.team.in_(self.teams))
        return query.where(or_(*conditions)) if conditions else query.where(Ticket.id.is_(None))

    def allows(self, ticket: Ticket) -> bool:
        return self.everything or ticket.owner == self.email or (ticket.team is not None and ticket.team in self.teams)


EVERYONE = Visibility(everything=True)


def breached(ticket: Ticket, now: datetime | None = None) -> bool:
    """Either SLA timer missed (or running past due), judged on stored timestamps."""
    clock = sla.clock_now(ticket.paused_at, now or utcnow())
    done = ticket.closed_at or ticket.resolved_at
    return (sla.is_late(ticket.first_contact_at, ticket.first_contact_due, clock if done is None else done)
            or sla.is_late(done, ticket.due_at, clock))


def ticket_row(ticket: Ticket, now: datetime | None = None) -> dict[str, Any]:
    """The listing shape (``journeylens tickets list --json`` and ``GET /v1/tickets``)."""
    return {"ticket_id": ticket.id, "status": ticket.status, "priority": ticket.priority, "owner": ticket.owner,
            "team": ticket.team, "customer_id": ticket.customer_id, "response_id": ticket.response_id,
            "rule": ticket.rule_name, "created_at": _iso(ticket.created_at),
            "first_contact_due": _iso(ticket.first_contact_due), "due_at": _iso(ticket.due_at),
            "breached": breached(ticket, now), "root_cause": ticket.root_cause}


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def next_due(ticket: Ticket) -> datetime | None:
    """The due time the agent works to: first contact until it happened, then close."""
    if ticket.first_contact_at is None and ticket.first_contact_due is not None:
        return ticket.first_contact_due
    return ticket.due_at


def list_tickets(session: Session, visibility: Visibility, *, status: str | None = None,
                 owner: str | None = None, team: str | None = None, customer_id: str | None = None,
                 limit: int = 500, now: datetime | None = None) -> list[Ticket]:
    """Tickets the caller may see; ``status`` is a state, ``open`` (every open state) or ``all``.

    Ordered as the inbox shows them: overdue first, then by due time, then newest.
    """
    query = visibility.apply(select(Ticket))
    if status in (None, "open"):
        query = query.where(Ticket.status.in_(open_states(session)))
    elif status != "all":
        query = query.where(Ticket.status.in_([s.strip() for s in status.split(",")]))
    if owner:
        query = query.where(Ticket.owner == owner.lower())
    if team:
        query = query.where(Ticket.team == team)
    if customer_id:
        query = query.where(Ticket.customer_id == customer_id)
    rows = list(session.scalars(query.order_by(Ticket.id.desc()).limit(limit)))
    now = now or utcnow()
    far = datetime.max.replace(tzinfo=now.tzinfo)
    return sorted(rows, key=lambda t: (not breached(t, now), next_due(t) or far))


def visible_ticket(session: Session, ticket_id: int, visibility: Visibility) -> Ticket:
    """The ticket, or 404 when the caller may not see it (its existence is not revealed)."""
    ticket = get_ticket(session, ticket_id)
    if not visibility.allows(ticket):
        raise NotFoundError(f"No ticket {ticket_id}.", details={"ticket_id": ticket_id})
    return ticket


def ticket_detail(session: Session, ticket: Ticket, now: datetime | None = None) -> dict[str, Any]:
    """The row plus the response, SLA details, outcome and the audit trail (``tickets show``)."""
    trail = [{"at": _iso(e.at), "actor": e.actor, "action": e.action, "from_status": e.from_status,
              "to_status": e.to_status, "note": e.note, "details": e.details} for e in events_of(session, ticket.id)]
    earlier = [] if not ticket.customer_id else [
        {"ticket_id": t.id, "status": t.status, "rule": t.rule_name, "created_at": _iso(t.created_at),
         "root_cause": t.root_cause, "outcome": t.outcome}
        for t in session.scalars(select(Ticket).where(Ticket.customer_id == ticket.customer_id,
                                                      Ticket.id != ticket.id).order_by(Ticket.created_at.desc()))]
    return {**ticket_row(ticket, now), "touchpoint": ticket.touchpoint, "outcome": ticket.outcome,
            "first_contact_at": _iso(ticket.first_contact_at), "resolved_at": _iso(ticket.resolved_at),
            "closed_at": _iso(ticket.closed_at), "paused_at": _iso(ticket.paused_at),
            "escalation_level": ticket.escalation_level, "business_hours": ticket.business_hours,
            "business_calendar": (BusinessCalendar.parse(ticket.calendar).describe()
                                  if ticket.business_hours and ticket.calendar else None),
            "response": ticket.response, "follow_up": ticket.follow_up, "events": trail, "earlier_tickets": earlier}
