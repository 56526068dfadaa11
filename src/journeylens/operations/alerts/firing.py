"""Firing an alert: one open alert per rule and subject, a cool-down, and notifications queued.

A rule that fires for a subject that already has an open alert does nothing; after an alert
closes, the same subject may fire again once ``cooldown_minutes`` have passed since it last
fired. Notifications are queued in the same transaction as the alert (see
:mod:`journeylens.operations.alerts.notifications`), so they are never lost and never block.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from journeylens.operations.alerts.models import Alert, AlertRule
from journeylens.operations.models import utcnow


def open_key(rule_id: int, subject: str) -> str:
    return f"{rule_id}:{subject}"[:420]


def fire(session: Session, rule: AlertRule, subject: str, explanation: str, *, details: dict[str, Any] | None = None,
         cooldown_minutes: float = 0, now: datetime | None = None) -> Alert | None:
    """Open an alert for ``subject`` unless one is open or the cool-down has not passed."""
    now = now or utcnow()
    key = open_key(rule.id, subject)
    if session.scalar(select(Alert.id).where(Alert.open_key == key)) is not None:
        return None
    if cooldown_minutes > 0:
        last = session.scalar(select(Alert.fired_at).where(Alert.rule_id == rule.id, Alert.subject == subject)
                              .order_by(Alert.fired_at.desc()).limit(1))
        if last is not None and now - last < timedelta(minutes=cooldown_minutes):
            return None
    alert = Alert(rule_id=rule.id, rule_name=rule.name, kind=rule.kind, subject=subject, fired_at=now,
                  explanation=explanation, status="open", details=details or {}, open_key=key)
    try:
        with session.begin_nested():
            session.add(alert)
            session.flush()
    except IntegrityError:
        return None  # another worker opened it a moment ago
    rule.last_fired_at = now
    return alert


def resolve_cleared(session: Session, rule: AlertRule, still_firing: set[str], *,
                    now: datetime | None = None) -> list[Alert]:
    """Close the rule's open alerts whose subject no longer meets the condition."""
    now = now or utcnow()
    closed = []
    for alert in session.scalars(select(Alert).where(Alert.rule_id == rule.id, Alert.status == "open")):
        if alert.subject not in still_firing:
            alert.status, alert.closed_at, alert.open_key = "closed", now, None
            closed.append(alert)
    return closed
