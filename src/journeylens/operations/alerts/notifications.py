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
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from journeylens.operations.alerts.models import AlertRule
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
