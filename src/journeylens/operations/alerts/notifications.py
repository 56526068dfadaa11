"""Notifications of alerts and tickets, queued in the durable outbox (never sent inline).

Every message is written with :func:`journeylens.operations.outbox.enqueue` in the same
transaction as the alert or ticket that caused it, with an idempotency key derived from the
event (so a re-run queues nothing twice and a receiver can drop a redelivery). The
``source`` column names the rule (``alert_rule:<id>``), which is how the rule's page finds
its failed deliveries. Payload keys follow the operations core (``subject``, ``text``,
``event_type``, ``data``); ``data`` is the documented webhook body (docs/alerts-and-tickets.md).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from journeylens.operations.alerts.models import AlertRule
from journeylens.operations.models import utcnow
from journeylens.operations.notify import get_channel
from journeylens.operations.outbox import enqueue
from journeylens.operations.outbox_models import OutboxMessage

EVENT_TYPES: tuple[str, ...] = ("alert.fired", "ticket.created", "ticket.escalated", "ticket.breached",
                                "digest")


def rule_source(rule_id: int) -> str:
    return f"alert_rule:{rule_id}"


def idempotency_key(event_type: str, event_key: str, channel: str, target: str) -> str:
    digest = hashlib.sha256(f"{channel}|{target}".encode()).hexdigest()[:16]
    return f"{event_type}:{event_key}:{digest}"[:200]


def queue(session: Session, *, targets: Sequence[tuple[str, str]], event_type: str, event_key: str,
          subject: str, text: str, data: dict[str, Any], source: str = "") -> list[OutboxMessage]:
    """Queue one message per ``(channel, target)``; returns the outbox rows (existing ones for a re-run)."""
    payload = {"subject": subject, "text": text, "event_type": event_type, "data": data}
    return [enqueue(session, channel=channel, target=target, payload=payload, source=source,
                    idempotency_key=idempotency_key(event_type, event_key, channel, target))
            for channel, target in dict.fromkeys(targets)]


@dataclass(frozen=True)
class Outgoing:
    """One event to notify: queued once per ``(channel, target)``."""

    targets: list[tuple[str, str]]
    event_type: str
    event_key: str
    subject: str
    text: str
    data: dict[str, Any]
    source: str


def alert_message(stored: AlertRule, rule: Any, alert: dict[str, Any] | None, ticket: Any,
                  now: datetime) -> Outgoing | None:
    """What a fired response rule tells its targets (and the ticket's owner when the rule asks)."""
    from journeylens.operations.tickets.inbox import ticket_row

    if alert is None:
        return None
    targets = rule_targets(rule)
    spec = getattr(rule, "ticket", None)
    if ticket is not None and spec is not None and spec.notify_owner and ticket.owner:
        targets.append(("email", ticket.owner))
    if not targets:
        return None
    fired_at = alert["fired_at"]
    data: dict[str, Any] = {"rule": stored.name, "alert": {
        "alert_id": alert["alert_id"], "subject": alert["subject"], "explanation": alert["explanation"],
        "fired_at": fired_at.isoformat() if isinstance(fired_at, datetime) else fired_at},
        "response": (alert.get("details") or {}).get("response")}
    subject = f"[JourneyLens] {stored.name}: {alert['explanation'][:120]}"
    text = alert["explanation"]
    if ticket is not None:
        data["ticket"] = ticket_row(ticket, now)
        subject = f"[JourneyLens] Ticket {ticket.id} ({ticket.priority}) — {stored.name}"
        text += (f"\nTicket {ticket.id}, owner {ticket.owner or 'unassigned'}, "
                 f"first contact due {ticket.first_contact_due}.")
    return Outgoing(targets=targets, event_type="ticket.created" if ticket is not None else "alert.fired",
                    event_key=f"alert-{alert['alert_id']}", subject=subject, text=text, data=data,
                    source=rule_source(stored.id))


def queue_many(session: Session, messages: Sequence[Outgoing]) -> int:
    """Queue many events set-wise (keys already queued are skipped); returns the rows inserted."""
    rows: dict[str, dict[str, Any]] = {}
    now = utcnow()
    known: set[str] = set()
    for m in messages:
        payload = {"subject": m.subject, "text": m.text, "event_type": m.event_type, "data": m.data}
        for channel, target in dict.fromkeys(m.targets):
            if channel not in known:
                get_channel(channel)  # raises for an unknown channel
                known.add(channel)
            key = idempotency_key(m.event_type, m.event_key, channel, target)
            rows.setdefault(key, {"channel": channel, "target": target, "payload": payload, "idempotency_key": key,
                                  "source": m.source, "status": "queued", "next_attempt_at": now,
                                  "max_attempts": 8, "attempts": 0, "claimed_by": "", "claimed_until": None,
                                  "last_error": "", "created_at": now, "sent_at": None})
    keys = list(rows)
    for start in range(0, len(keys), 500):
        part = keys[start:start + 500]
        for taken in session.scalars(select(OutboxMessage.idempotency_key)
                                     .where(OutboxMessage.idempotency_key.in_(part))):
            rows.pop(taken, None)
    if rows:
        session.execute(insert(OutboxMessage.metadata.tables[OutboxMessage.__tablename__]), list(rows.values()))
    return len(rows)


def rule_targets(rule: Any) -> list[tuple[str, str]]:
    """``(channel, target)`` of each ``notify:`` entry of a rule."""
    return [(n.channel, n.target) for n in getattr(rule, "notify", [])]


def delivery_problems(session: Session, rule: AlertRule, *, limit: int = 20) -> list[dict[str, Any]]:
    """The rule's messages that failed (being retried) or gave up (dead), newest first."""
    query = (select(OutboxMessage).where(OutboxMessage.source == rule_source(rule.id),
                                         OutboxMessage.status.in_(("failed", "dead")))
             .order_by(OutboxMessage.id.desc()).limit(limit))
    return [{"message_id": m.id, "channel": m.channel, "target": m.target, "status": m.status,
             "attempts": m.attempts, "last_error": m.last_error,
             "next_attempt_at": m.next_attempt_at.isoformat() if m.next_attempt_at else None}
            for m in session.scalars(query)]


def delivery_counts(session: Session, rule: AlertRule) -> dict[str, int]:
    """Messages of the rule by outbox status."""
    counts: dict[str, int] = {}
    for status in session.scalars(select(OutboxMessage.status).where(OutboxMessage.source == rule_source(rule.id))):
        counts[status] = counts.get(status, 0) + 1
    return counts
