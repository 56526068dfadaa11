"""App-database tables of the operations core: the outbox, its delivery log, worker leases.

``outbox`` holds every message JourneyLens owes someone (a survey invitation email, an
alert to Slack, a signed webhook). A row is written in the same transaction as the thing
that caused it, so a crash can never lose a message nor create one twice
(``idempotency_key`` is unique). ``outbox_deliveries`` logs every attempt;
``worker_leases`` lets two workers share periodic jobs without running one twice.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, Float, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from journeylens.operations.models import Base, utcnow

#: Lifecycle of a message: queued → sending (claimed by one worker) → sent, or failed
#: (retried after a backoff) → dead after the last attempt.
OUTBOX_STATUSES: tuple[str, ...] = ("queued", "sending", "sent", "failed", "dead")


class OutboxMessage(Base):
    """One message to deliver through one channel to one target."""

    __tablename__ = "outbox"
    __table_args__ = (
        CheckConstraint("status IN ('queued', 'sending', 'sent', 'failed', 'dead')", name="status"),
        Index("ix_outbox_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(40))
    target: Mapped[str] = mapped_column(String(1000))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    source: Mapped[str] = mapped_column(String(40), default="")
    status: Mapped[str] = mapped_column(String(16), default="queued")
    attempts: Mapped[int] = mapped_column(default=0)
    max_attempts: Mapped[int] = mapped_column(default=8)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_by: Mapped[str] = mapped_column(String(100), default="")
    claimed_until: Mapped[datetime | None] = mapped_column(default=None)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(default=None)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "channel": self.channel, "target": self.target,
                "idempotency_key": self.idempotency_key, "source": self.source,
                "status": self.status, "attempts": self.attempts,
                "next_attempt_at": self.next_attempt_at, "last_error": self.last_error,
                "created_at": self.created_at, "sent_at": self.sent_at}

    def __repr__(self) -> str:
        return (f"OutboxMessage(id={self.id!r}, channel={self.channel!r}, status={self.status!r}, "
                f"attempts={self.attempts!r})")


class OutboxDelivery(Base):
    """One delivery attempt of an outbox message (append only)."""

    __tablename__ = "outbox_deliveries"
    __table_args__ = (Index("ix_outbox_deliveries_message_id", "message_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("outbox.id", ondelete="CASCADE"))
    attempt: Mapped[int]
    worker: Mapped[str] = mapped_column(String(100), default="")
    ok: Mapped[bool]
    detail: Mapped[str] = mapped_column(Text, default="")
    duration_ms: Mapped[float] = mapped_column(Float, default=0.0)
    at: Mapped[datetime] = mapped_column(default=utcnow)


class WorkerLease(Base):
    """The claim on one periodic job: who runs it now and when it is due again."""

    __tablename__ = "worker_leases"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    owner: Mapped[str] = mapped_column(String(100), default="")
    locked_until: Mapped[datetime | None] = mapped_column(default=None)
    next_run_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_run_at: Mapped[datetime | None] = mapped_column(default=None)
    last_error: Mapped[str] = mapped_column(Text, default="")
    runs: Mapped[int] = mapped_column(default=0)
