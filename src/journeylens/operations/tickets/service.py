"""Hot tickets: open one per response and rule, move it through its states, keep the trail.

Every change goes through :func:`transition` or one of the actions below, which append a
:class:`TicketEvent` (who, when, from → to) in the same transaction as the change. The
CLI, the HTTP API, the dashboard and the worker all call these functions.

>>> from journeylens.operations.appdb import AppDatabase
>>> db = AppDatabase("sqlite://")
>>> with db.session() as s:
...     t = create_ticket(s, rule_id=None, rule_name="manual", response_key="r1", response={"nps": 3},
...                       priority="high", owner=None, team=None, first_contact_hours=24, close_hours=72)
...     _ = contact(s, t.id, actor="ana@example.com", note="Called, apologised")
...     close(s, t.id, actor="ana@example.com", root_cause="people", outcome="recovered").status
'closed'
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from journeylens.errors import JourneyLensError, NotFoundError, ParameterError
from journeylens.operations.calendar import BusinessCalendar
from journeylens.operations.models import utcnow
from journeylens.operations.tickets import sla
from journeylens.operations.tickets.models import (
    PRIORITIES,
    RootCause,
    Ticket,
    TicketEvent,
    TicketState,
)
from journeylens.operations.tickets.routing import check_assignee

OUTCOMES: tuple[str, ...] = ("recovered", "not_recovered", "unreachable")


class TicketStateError(JourneyLensError):
    code = "ticket_state_invalid"
    http_status = 409


def states(session: Session) -> dict[str, TicketState]:
    """Every ticket state by name (rows of ``ticket_states``)."""
    return {s.name: s for s in session.scalars(select(TicketState).order_by(TicketState.position))}


def open_states(session: Session) -> list[str]:
    return [name for name, s in states(session).items() if s.is_open]


def root_causes(session: Session, *, active_only: bool = True) -> list[RootCause]:
    query = select(RootCause).order_by(RootCause.code)
    if active_only:
        query = query.where(RootCause.active.is_(True))
    return list(session.scalars(query))


def get_ticket(session: Session, ticket_id: int) -> Ticket:
    ticket = session.get(Ticket, ticket_id)
    if ticket is None:
        raise NotFoundError(f"No ticket {ticket_id}.", details={"ticket_id": ticket_id})
    return ticket


def _event(session: Session, ticket: Ticket, actor: str, action: str, *, note: str = "",
           from_status: str | None = None, to_status: str | None = None, at: datetime | None = None,
           **details: Any) -> TicketEvent:
    event = TicketEvent(ticket_id=ticket.id, actor=actor, action=action, note=note, from_status=from_status,
                        to_status=to_status, at=at or utcnow(), details=details)
    session.add(event)
    return event


def create_ticket(session: Session, *, rule_id: int | None, rule_name: str, response_key: str,
                  response: dict[str, Any], priority: str, owner: str | None, team: str | None,
                  first_contact_hours: float | None, close_hours: float | None, business_hours: bool = False,
                  alert_id: int | None = None, timezone: str = "UTC", now: datetime | None = None,
                  actor: str = "rules") -> Ticket:
    """The ticket of ``(rule_id, response_key)``: created once, returned as is afterwards.

    The unique key makes a second ingest of the same response (or a second worker) find the
    first ticket instead of opening another.
    """
    existing = find_ticket(session, rule_id, response_key)
    if existing is not None:
        return existing
    now = now or utcnow()
    ticket = Ticket(**new_ticket_values(
        session, rule_id=rule_id, rule_name=rule_name, response_key=response_key, response=response,
        priority=priority, owner=owner, team=team, first_contact_hours=first_contact_hours, close_hours=close_hours,
        business_hours=business_hours, alert_id=alert_id, timezone=timezone, now=now))
    try:
        with session.begin_nested():
            session.add(ticket)
            session.flush()
    except IntegrityError:
        found = find_ticket(session, rule_id, response_key)
        if found is None:
            raise
        return found
    _event(session, ticket, actor, "created", to_status="new", at=now, owner=owner, team=team, priority=priority)
    return ticket


def new_ticket_values(session: Session, *, rule_id: int | None, rule_name: str, response_key: str,
                      response: dict[str, Any], priority: str, owner: str | None, team: str | None,
                      first_contact_hours: float | None, close_hours: float | None, business_hours: bool,
                      alert_id: int | None, timezone: str, now: datetime,
                      calendar: BusinessCalendar | None = None) -> dict[str, Any]:
    """The column values of a new ticket (SLA due times included); shared by the bulk path.

    With ``business_hours`` the due times count the open hours of ``calendar`` (default: the
    team's calendar, looked up)."""
    if priority not in PRIORITIES:
        raise ParameterError(f"Unknown priority {priority!r}; allowed: {', '.join(PRIORITIES)}.")
    if not business_hours:
        calendar = None
    elif calendar is None:
        calendar = sla.calendar_for(session, team, timezone)
    return {
        "rule_id": rule_id, "rule_name": rule_name, "alert_id": alert_id, "response_key": response_key,
        "response_id": response.get("response_id"), "customer_id": response.get("customer_id"),
        "touchpoint": response.get("touchpoint"), "status": "new", "priority": priority, "owner": owner,
        "team": team, "created_at": now, "responded_at": _as_datetime(response.get("timestamp")),
        "first_contact_hours": first_contact_hours, "close_hours": close_hours, "business_hours": business_hours,
        "calendar": calendar.to_dict() if calendar is not None else None,
        "first_contact_due": sla.due(now, first_contact_hours, calendar),
        "due_at": sla.due(now, close_hours, calendar), "response": response, "follow_up": {}}


def _as_datetime(value: Any) -> datetime | None:
    return value if isinstance(value, datetime) else None


def find_ticket(session: Session, rule_id: int | None, response_key: str) -> Ticket | None:
    query = select(Ticket).where(Ticket.response_key == response_key)
    query = query.where(Ticket.rule_id.is_(None) if rule_id is None else Ticket.rule_id == rule_id)
    return session.scalar(query)


def transition(session: Session, ticket: Ticket, to_status: str, *, actor: str, note: str = "",
               now: datetime | None = None, timezone: str = "UTC", action: str = "status") -> Ticket:
    """Move ``ticket`` to ``to_status`` if its state allows it; stop or restart the SLA clock."""
    table = states(session)
    if to_status not in table:
        raise ParameterError(f"Unknown ticket status {to_status!r}; statuses: {', '.join(table)}.")
    current = table[ticket.status]
    allowed = [s for s in current.next_states.split(",") if s]
    if to_status not in allowed:
        raise TicketStateError(f"Ticket {ticket.id} is {ticket.status}; it can move to {', '.join(allowed)}, "
                               f"not {to_status}.", details={"status": ticket.status, "allowed": allowed})
    now = now or utcnow()
    target = table[to_status]
    if not target.clock_runs and ticket.paused_at is None:
        ticket.paused_at = now
    elif target.clock_runs and ticket.paused_at is not None:
        ticket.first_contact_due = (ticket.first_contact_due if ticket.first_contact_at else sla.carry_over(
            ticket.first_contact_due, ticket.paused_at, now, business=ticket.business_hours, timezone=timezone,
            calendar=ticket.calendar))
        ticket.due_at = sla.carry_over(ticket.due_at, ticket.paused_at, now, business=ticket.business_hours,
                                       timezone=timezone, calendar=ticket.calendar)
        ticket.paused_at = None
    if to_status == "resolved":
        ticket.resolved_at = now
    if to_status == "closed":
        ticket.closed_at = now
    if to_status == "reopened":
        ticket.resolved_at = ticket.closed_at = None
        ticket.root_cause = ticket.outcome = None
    previous, ticket.status = ticket.status, to_status
    _event(session, ticket, actor, action, note=note, from_status=previous, to_status=to_status, at=now)
    return ticket


def assign(session: Session, ticket_id: int, owner: str, *, actor: str, team: str | None = None) -> Ticket:
    ticket = get_ticket(session, ticket_id)
    previous = ticket.owner
    ticket.owner = check_assignee(session, owner)
    if team is not None:
        ticket.team = team
    _event(session, ticket, actor, "assigned", from_owner=previous, to_owner=ticket.owner, team=ticket.team)
    return ticket


def note(session: Session, ticket_id: int, text: str, *, actor: str) -> Ticket:
    if not text.strip():
        raise ParameterError("A note needs some text.")
    ticket = get_ticket(session, ticket_id)
    _event(session, ticket, actor, "note", note=text.strip())
    return ticket


def contact(session: Session, ticket_id: int, *, actor: str, note: str = "", channel: str = "phone",
            now: datetime | None = None) -> Ticket:
    """Log a contact with the customer (the first one stops the first-contact timer)."""
    ticket = get_ticket(session, ticket_id)
    now = now or utcnow()
    if not states(session)[ticket.status].is_open:
        raise TicketStateError(f"Ticket {ticket.id} is {ticket.status}; reopen it before logging a contact.")
    if ticket.first_contact_at is None:
        ticket.first_contact_at = now
    _event(session, ticket, actor, "contact", note=note, at=now, channel=channel)
    if ticket.status in ("new", "reopened"):
        transition(session, ticket, "open", actor=actor, now=now)
    return ticket


def set_status(session: Session, ticket_id: int, status: str, *, actor: str, note: str = "") -> Ticket:
    if status == "closed":
        raise ParameterError("Closing needs a root cause and an outcome: use close.")
    return transition(session, get_ticket(session, ticket_id), status, actor=actor, note=note)


def resolve(session: Session, ticket_id: int, *, actor: str, note: str = "") -> Ticket:
    return transition(session, get_ticket(session, ticket_id), "resolved", actor=actor, note=note)


def reopen(session: Session, ticket_id: int, *, actor: str, note: str = "") -> Ticket:
    return transition(session, get_ticket(session, ticket_id), "reopened", actor=actor, note=note)


def close(session: Session, ticket_id: int, *, actor: str, root_cause: str | None, outcome: str | None,
          note: str = "", now: datetime | None = None) -> Ticket:
    """Close with a root cause from the company's list and an outcome (recovered / not / unreachable)."""
    ticket = get_ticket(session, ticket_id)
    codes = [c.code for c in root_causes(session)]
    if not root_cause or root_cause not in codes:
        raise ParameterError(f"Closing needs a root cause from the list: {', '.join(codes)} (got {root_cause!r}).",
                             code="root_cause_required", details={"allowed": codes})
    if outcome not in OUTCOMES:
        raise ParameterError(f"Closing needs an outcome: {', '.join(OUTCOMES)} (got {outcome!r}).",
                             code="outcome_required", details={"allowed": list(OUTCOMES)})
    ticket.root_cause, ticket.outcome = root_cause, outcome
    return transition(session, ticket, "closed", actor=actor, note=note, now=now, action="closed")


def events_of(session: Session, ticket_id: int) -> list[TicketEvent]:
    query = select(TicketEvent).where(TicketEvent.ticket_id == ticket_id).order_by(TicketEvent.at, TicketEvent.id)
    return list(session.scalars(query))


def add_root_cause(session: Session, code: str, label: str) -> RootCause:
    """Add (or re-activate and relabel) a root cause agents may choose."""
    if not code or not code.replace("_", "").replace("-", "").isalnum():
        raise ParameterError(f"Root cause code {code!r}: use letters, digits, '_' or '-'.")
    cause = session.get(RootCause, code)
    if cause is None:
        cause = RootCause(code=code, label=label or code)
        session.add(cause)
    else:
        cause.label, cause.active = label or cause.label, True
    return cause
