"""The audit trail: who did what, when (append only).

>>> from journeylens.operations.appdb import AppDatabase
>>> db = AppDatabase("sqlite://")
>>> with db.session() as s:
...     _ = record(s, actor="cli", action="user.create", target="ana@example.com")
...     [e.action for e in recent_events(s)]
['user.create']
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from journeylens.operations.models import AuditEvent


def record(session: Session, *, actor: str, action: str, target: str = "",
           details: dict[str, Any] | None = None) -> AuditEvent:
    """Add one audit event to ``session`` (committed with the change it describes)."""
    event = AuditEvent(actor=actor, action=action, target=target, details=dict(details or {}))
    session.add(event)
    return event


def recent_events(session: Session, *, limit: int = 100) -> list[AuditEvent]:
    """The newest ``limit`` audit events, newest first."""
    return list(session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)))
