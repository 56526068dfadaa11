"""The durable outbox: every message JourneyLens owes someone, delivered at least once.

A caller writes the message with :func:`enqueue` in the same transaction as its cause (an
invitation, an alert): both commit or neither does. :func:`deliver_due` then claims due
messages one by one with a conditional ``UPDATE`` (portable to SQLite and PostgreSQL), so
two workers never send the same row at the same time; a worker that dies mid-send leaves
its claim to expire and the message is retried with the same idempotency key, which the
receiver uses to drop the duplicate. Failures retry with exponential backoff until
``max_attempts``, then the message is ``dead``. Every attempt lands in ``outbox_deliveries``.

>>> from journeylens.operations.appdb import AppDatabase
>>> from journeylens.settings import Settings
>>> db = AppDatabase("sqlite://")
>>> with db.session() as s:
...     first = enqueue(s, channel="email", target="a@example.com", idempotency_key="k1",
...                     payload={"subject": "Hi", "text": "Hello"})
...     again = enqueue(s, channel="email", target="a@example.com", idempotency_key="k1",
...                     payload={"subject": "Hi", "text": "Hello"})
>>> first.id == again.id
True
>>> report = deliver_due(db, Settings(smtp_host=""))  # email not configured: retried later
>>> report.failed, report.sent
(1, 0)
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from journeylens.errors import ConfigError, DeliveryError, JourneyLensError, PermanentDeliveryError
from journeylens.hooks import plugin_manager
from journeylens.operations.appdb import AppDatabase
from journeylens.operations.models import utcnow
from journeylens.operations.notify import Message, get_channel
from journeylens.operations.outbox_models import OUTBOX_STATUSES, OutboxDelivery, OutboxMessage
from journeylens.settings import Settings

log = logging.getLogger(__name__)

#: How long a claim holds before another worker may take the message over.
CLAIM_SECONDS = 300.0


def worker_id() -> str:
    """``host:pid:random`` — names the claimant in ``outbox.claimed_by`` and the delivery log."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def enqueue(session: Session, *, channel: str, target: str, payload: dict[str, Any], idempotency_key: str,
            source: str = "", send_at: datetime | None = None, max_attempts: int | None = None) -> OutboxMessage:
    """Queue a message, or return the one already queued under ``idempotency_key``.

    Runs inside the caller's transaction. The channel must exist (a :class:`ConfigError`
    names the known ones). A savepoint keeps a concurrent duplicate from breaking the
    caller's transaction.
    """
    get_channel(channel)
    if not idempotency_key or len(idempotency_key) > 200:
        raise ConfigError("An outbox idempotency key must be 1-200 characters.", code="bad_idempotency_key")
    existing = session.scalar(select(OutboxMessage).where(OutboxMessage.idempotency_key == idempotency_key))
    if existing is not None:
        return existing
    message = OutboxMessage(channel=channel, target=target, payload=payload, idempotency_key=idempotency_key,
                            source=source, status="queued", next_attempt_at=send_at or utcnow(),
                            max_attempts=max_attempts or 8)
    try:
        with session.begin_nested():
            session.add(message)
    except IntegrityError:
        found = session.scalar(select(OutboxMessage).where(OutboxMessage.idempotency_key == idempotency_key))
        if found is None:
            raise
        return found
    return message


@dataclass
class DeliveryReport:
    """What one :func:`deliver_due` pass did."""

    claimed: int = 0
    sent: int = 0
    failed: int = 0
    dead: int = 0
    errors: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"claimed": self.claimed, "sent": self.sent, "failed": self.failed, "dead": self.dead,
                "errors": list(self.errors)}


def backoff_seconds(attempts: int, settings: Settings) -> float:
    """Delay before the next attempt after ``attempts`` failures: base × 2^(attempts-1), capped.

    >>> s = Settings(outbox_backoff_seconds=30, outbox_backoff_max_seconds=600)
    >>> [backoff_seconds(n, s) for n in (1, 2, 3, 6)]
    [30.0, 60.0, 120.0, 600.0]
    """
    return float(min(settings.outbox_backoff_seconds * 2 ** max(attempts - 1, 0), settings.outbox_backoff_max_seconds))


def _due_ids(db: AppDatabase, now: datetime, limit: int) -> list[int]:
    with db.session() as session:
        rows = session.scalars(
            select(OutboxMessage.id).where(_claimable(now)).order_by(OutboxMessage.next_attempt_at).limit(limit))
        return list(rows)


def _claimable(now: datetime) -> Any:
    return or_(
        (OutboxMessage.status.in_(("queued", "failed"))) & (OutboxMessage.next_attempt_at <= now),
        (OutboxMessage.status == "sending") & (OutboxMessage.claimed_until < now),
    )


def claim(db: AppDatabase, message_id: int, owner: str, now: datetime) -> Message | None:
    """Take ``message_id`` for ``owner`` if it is still due; ``None`` when another worker has it."""
    with db.session() as session:
        claimed = session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id, _claimable(now))
            .values(status="sending", claimed_by=owner, claimed_until=now + timedelta(seconds=CLAIM_SECONDS),
                    attempts=OutboxMessage.attempts + 1)
            .execution_options(synchronize_session=False))
        if getattr(claimed, "rowcount", 0) != 1:
            return None
        row = session.get(OutboxMessage, message_id, populate_existing=True)
        assert row is not None
        return Message(id=row.id, channel=row.channel, target=row.target, payload=dict(row.payload),
                       idempotency_key=row.idempotency_key, attempt=row.attempts, created_at=row.created_at)


def deliver_due(db: AppDatabase, settings: Settings, *, now: datetime | None = None, limit: int = 100,
                owner: str | None = None) -> DeliveryReport:
    """Send every message due at ``now`` (default: the current time); safe to run concurrently."""
    owner = owner or worker_id()
    report = DeliveryReport()
    for message_id in _due_ids(db, now or utcnow(), limit):
        message = claim(db, message_id, owner, now or utcnow())
        if message is None:
            continue
        report.claimed += 1
        outcome = _send(message, settings)
        _record(db, message, outcome, owner, settings, report, now or utcnow())
    return report


@dataclass(frozen=True)
class _Outcome:
    ok: bool
    detail: str
    permanent: bool
    duration_ms: float


def _send(message: Message, settings: Settings) -> _Outcome:
    started = time.perf_counter()
    try:
        receipt = get_channel(message.channel).send(message, settings)
        return _Outcome(True, receipt, False, (time.perf_counter() - started) * 1000)
    except PermanentDeliveryError as exc:
        return _Outcome(False, exc.message, True, (time.perf_counter() - started) * 1000)
    except (DeliveryError, JourneyLensError) as exc:
        return _Outcome(False, exc.message, False, (time.perf_counter() - started) * 1000)
    except Exception as exc:  # a channel plugin's bug must not stop the worker
        log.exception("channel %s crashed on message %s", message.channel, message.id)
        return _Outcome(False, f"{type(exc).__name__}: {exc}", False, (time.perf_counter() - started) * 1000)


def _record(db: AppDatabase, message: Message, outcome: _Outcome, owner: str, settings: Settings,
            report: DeliveryReport, now: datetime) -> None:
    with db.session() as session:
        row = session.get(OutboxMessage, message.id)
        if row is None:  # deleted meanwhile (for example a customer was forgotten)
            return
        session.add(OutboxDelivery(message_id=row.id, attempt=message.attempt, worker=owner, ok=outcome.ok,
                                   detail=outcome.detail[:4000], duration_ms=outcome.duration_ms))
        row.claimed_by, row.claimed_until = "", None
        if outcome.ok:
            row.status, row.sent_at, row.last_error = "sent", utcnow(), ""
            report.sent += 1
        else:
            row.last_error = outcome.detail[:4000]
            report.errors.append(f"{row.channel} #{row.id}: {outcome.detail}")
            limit = min(row.max_attempts, settings.outbox_max_attempts)
            if outcome.permanent or row.attempts >= limit:
                row.status = "dead"
                report.dead += 1
            else:
                row.status = "failed"
                row.next_attempt_at = now + timedelta(seconds=backoff_seconds(row.attempts, settings))
                report.failed += 1
        if row.status in ("sent", "dead"):
            session.flush()
            plugin_manager().hook.journeylens_outbox_settled(session=session, message=row)


def retry(session: Session, message_id: int) -> OutboxMessage:
    """Put a failed or dead message back in the queue now (an operator's decision)."""
    row = session.get(OutboxMessage, message_id)
    if row is None:
        from journeylens.errors import NotFoundError

        raise NotFoundError(f"No outbox message {message_id}.")
    if row.status in ("failed", "dead"):
        row.status, row.next_attempt_at = "queued", utcnow()
        row.max_attempts = row.attempts + max(row.max_attempts, 1)
    return row


def status_counts(session: Session) -> dict[str, int]:
    """Messages per status (every status present, zero when none)."""
    counts = dict.fromkeys(OUTBOX_STATUSES, 0)
    for status, n in session.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)):
        counts[status] = int(n)
    return counts


def deliveries(session: Session, message_id: int) -> list[OutboxDelivery]:
    """The delivery log of one message, oldest first."""
    return list(session.scalars(select(OutboxDelivery).where(OutboxDelivery.message_id == message_id)
                                .order_by(OutboxDelivery.id)))
