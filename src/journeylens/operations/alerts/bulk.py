"""Set-based firing of response rules: a batch's alerts, tickets, trail and outbox rows in a few INSERTs.

The row-by-row path (:func:`~journeylens.operations.alerts.firing.fire`,
:func:`~journeylens.operations.tickets.service.create_ticket`,
:func:`~journeylens.operations.outbox.enqueue`) costs several queries and a savepoint per fired
row. Here the same decisions are taken for a whole batch with one read per question and one
``INSERT`` per table (chunked), keeping every promise:

* one open alert per rule and subject — open ``open_key``\\ s are read for the batch's
  subjects, and a subject repeated inside the batch fires once (the first row);
* the cool-down — the last ``fired_at`` per subject is read in one grouped query;
* one ticket per response and rule — existing ``(rule_id, response_key)`` pairs are read;
* the audit trail — one ``created`` row in ``ticket_events`` per new ticket;
* notifications — one outbox row per target with the same idempotency key as before
  (keys already queued are skipped).

Everything runs in a savepoint of the caller's transaction (which also marks the batch done).
When a concurrent writer slipped a conflicting row in between the reads and the inserts, a
unique index rejects the insert, the savepoint rolls back and :func:`fire_batch` returns
``False``: the caller then takes the row-by-row path, which settles each conflict on its own.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any, TypeVar

from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from journeylens.operations.alerts import notifications
from journeylens.operations.alerts.firing import open_key
from journeylens.operations.alerts.models import Alert, AlertRule
from journeylens.operations.alerts.rules import ResponseRule
from journeylens.operations.tickets.models import Ticket, TicketEvent
from journeylens.operations.tickets.routing import Router
from journeylens.operations.tickets.service import new_ticket_values

#: Values per ``IN (…)`` list (well under SQLite's and PostgreSQL's parameter limits).
CHUNK = 500
T = TypeVar("T")


@dataclass
class Hit:
    """One row a rule matched: what to fire, and (filled in here) what it caused."""

    stored: AlertRule
    rule: ResponseRule
    key: str
    explanation: str
    response: dict[str, Any]
    touchpoint_owner: str | None
    alert: dict[str, Any] | None = None
    ticket: Any = None  # the ticket (ORM row, or a plain view of one just inserted)


@dataclass
class Fired:
    alerts: int = 0
    tickets: int = 0
    hits: list[Hit] = field(default_factory=list)


def chunks(values: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(values), size):
        yield values[start:start + size]


def _open_keys(session: Session, keys: list[str]) -> set[str]:
    found: set[str] = set()
    for part in chunks(keys):
        found.update(k for k in session.scalars(select(Alert.open_key).where(Alert.open_key.in_(part))) if k)
    return found


def _last_fired(session: Session, rule_id: int, subjects: list[str]) -> dict[str, datetime]:
    last: dict[str, datetime] = {}
    for part in chunks(subjects):
        query = (select(Alert.subject, func.max(Alert.fired_at)).where(Alert.rule_id == rule_id,
                                                                       Alert.subject.in_(part))
                 .group_by(Alert.subject))
        last.update({subject: at for subject, at in session.execute(query) if at is not None})
    return last


def _alerts(session: Session, hits: list[Hit], now: datetime) -> list[Hit]:
    """Decide which hits open an alert (dedupe + cool-down) and insert those alerts; returns them."""
    firing: list[Hit] = []
    by_rule: dict[int, list[Hit]] = {}
    for hit in hits:
        by_rule.setdefault(hit.stored.id, []).append(hit)
    taken = _open_keys(session, [open_key(h.stored.id, f"response:{h.key}") for h in hits])
    for rule_id, group in by_rule.items():
        cooldown = timedelta(minutes=group[0].rule.cooldown_minutes)
        last = _last_fired(session, rule_id, [f"response:{h.key}" for h in group]) if cooldown else {}
        for hit in group:
            subject = f"response:{hit.key}"
            key = open_key(rule_id, subject)
            if key in taken or (subject in last and now - last[subject] < cooldown):
                continue
            taken.add(key)
            hit.alert = {"rule_id": rule_id, "rule_name": hit.stored.name, "kind": hit.stored.kind,
                         "subject": subject, "fired_at": now, "explanation": hit.explanation, "status": "open",
                         "details": {"response": hit.response}, "open_key": key, "closed_at": None}
            firing.append(hit)
    for part in chunks(firing):
        ids = session.scalars(_insert_returning_ids(Alert), [_columns(Alert, h.alert) for h in part]).all()
        for hit, alert_id in zip(part, ids, strict=True):
            assert hit.alert is not None
            hit.alert["alert_id"] = alert_id
    for hit in firing:
        hit.stored.last_fired_at = now
    return firing


def _existing_tickets(session: Session, rule_id: int, keys: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for part in chunks(keys):
        query = select(Ticket.response_key, Ticket.id).where(Ticket.rule_id == rule_id,
                                                             Ticket.response_key.in_(part))
        found.update((key, ticket_id) for key, ticket_id in session.execute(query))
    return found


def _tickets(session: Session, hits: list[Hit], *, timezone: str, now: datetime) -> int:
    """Open the tickets the hits ask for (one per rule and response); returns how many are new."""
    router = Router(session)
    new: list[tuple[Hit, dict[str, Any]]] = []
    by_rule: dict[int, list[Hit]] = {}
    for hit in hits:
        if hit.rule.ticket is not None:
            by_rule.setdefault(hit.stored.id, []).append(hit)
    for rule_id, group in by_rule.items():
        existing = _existing_tickets(session, rule_id, [h.key for h in group])
        seen: set[str] = set()
        for hit in group:
            spec = hit.rule.ticket
            assert spec is not None
            if hit.key in existing:
                hit.ticket = session.get(Ticket, existing[hit.key]) if hit.alert is not None else None
                continue
            if hit.key in seen:
                continue
            seen.add(hit.key)
            owner, team = router.route(spec, hit.touchpoint_owner)
            values = new_ticket_values(
                session, rule_id=rule_id, rule_name=hit.stored.name, response_key=hit.key, response=hit.response,
                priority=spec.priority, owner=owner, team=team, business_hours=spec.business_hours,
                first_contact_hours=spec.first_contact_hours, close_hours=spec.close_hours,
                alert_id=hit.alert["alert_id"] if hit.alert else None, timezone=timezone, now=now,
                calendar=router.calendar(team, timezone) if spec.business_hours else None)
            new.append((hit, values))
    for part in chunks(new):
        ids = session.scalars(_insert_returning_ids(Ticket), [values for _, values in part]).all()
        trail = []
        for (hit, values), ticket_id in zip(part, ids, strict=True):
            hit.ticket = _ticket_view(ticket_id, values)
            trail.append({"ticket_id": ticket_id, "actor": "rules", "action": "created", "note": "",
                          "from_status": None, "to_status": "new", "at": now,
                          "details": {"owner": values["owner"], "team": values["team"],
                                      "priority": values["priority"]}})
        session.execute(insert(TicketEvent.metadata.tables[TicketEvent.__tablename__]), trail)
    return len(new)


def _insert_returning_ids(model: type[Any]) -> Any:
    """A Core ``INSERT … RETURNING id`` (ids in parameter order): no ORM objects per row."""
    table = model.__table__
    return insert(table).returning(table.c.id, sort_by_parameter_order=True)


def _columns(model: type[Any], values: dict[str, Any] | None) -> dict[str, Any]:
    assert values is not None
    names = model.__table__.c.keys()
    return {k: v for k, v in values.items() if k in names}


def _ticket_view(ticket_id: int, values: dict[str, Any]) -> Any:
    """What the notification's ticket row reads of a ticket just inserted (a plain object, not ORM)."""
    return SimpleNamespace(id=ticket_id, paused_at=None, first_contact_at=None, resolved_at=None, closed_at=None,
                           root_cause=None, outcome=None, **values)


def fire_batch(session: Session, hits: list[Hit], *, timezone: str, now: datetime) -> Fired | None:
    """Fire ``hits`` set-wise; ``None`` when a concurrent writer conflicted (nothing was written)."""
    try:
        with session.begin_nested():
            firing = _alerts(session, hits, now)
            tickets = _tickets(session, hits, timezone=timezone, now=now)
            messages = [notifications.alert_message(h.stored, h.rule, h.alert, h.ticket, now)
                        for h in firing if h.alert is not None]
            notifications.queue_many(session, [m for m in messages if m is not None])
            session.flush()
    except IntegrityError:
        return None
    return Fired(alerts=len(firing), tickets=tickets, hits=firing)
