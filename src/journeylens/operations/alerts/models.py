"""Tables of alert rules and the alerts they fire (app database).

``alerts.open_key`` is ``"<rule id>:<subject>"`` while an alert is open and NULL once it is
closed; its unique index is what makes "one open alert per rule and subject" hold even when
two workers judge the same rule at once (NULLs never collide on SQLite or PostgreSQL).
``alert_batches`` remembers which warehouse ingest batches the response rules have seen, so
a crash between a landed response and its ticket is caught up by the worker.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from journeylens.operations.models import Base, utcnow

RULE_KINDS: tuple[str, ...] = ("response", "metric", "anomaly")
RULE_STATUSES: tuple[str, ...] = ("active", "paused")
ALERT_STATUSES: tuple[str, ...] = ("open", "closed")


class AlertRule(Base):
    """One rule as code: its validated definition (JSON) and the YAML it came from."""

    __tablename__ = "alert_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="active")
    definition: Mapped[dict[str, Any]] = mapped_column(default=dict)
    source_yaml: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(254), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_run_at: Mapped[datetime | None] = mapped_column(default=None)
    last_fired_at: Mapped[datetime | None] = mapped_column(default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    last_error_at: Mapped[datetime | None] = mapped_column(default=None)


class Alert(Base):
    """A rule fired for a subject (a response, a touchpoint's metric, a series)."""

    __tablename__ = "alerts"
    __table_args__ = (Index("ix_alerts_rule_id_fired_at", "rule_id", "fired_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    rule_id: Mapped[int] = mapped_column(ForeignKey("alert_rules.id", ondelete="CASCADE"))
    rule_name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(16))
    subject: Mapped[str] = mapped_column(String(400))
    fired_at: Mapped[datetime] = mapped_column(default=utcnow)
    explanation: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default="open")
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    closed_at: Mapped[datetime | None] = mapped_column(default=None)
    open_key: Mapped[str | None] = mapped_column(String(420), unique=True, default=None)


class AlertBatch(Base):
    """A warehouse ingest batch (``_batch``) the response rules have fully handled."""

    __tablename__ = "alert_batches"

    table_name: Mapped[str] = mapped_column(String(32), primary_key=True)
    batch: Mapped[str] = mapped_column(String(100), primary_key=True)
    processed_at: Mapped[datetime] = mapped_column(default=utcnow)
    responses: Mapped[int] = mapped_column(default=0)
