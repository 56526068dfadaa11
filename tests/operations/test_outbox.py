"""The outbox delivers through a real SMTP server, retries with backoff, and never double-sends."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from local_servers import SmtpServer, free_port
from sqlalchemy import select, update

from journeylens.errors import ConfigError
from journeylens.hooks import hookimpl, plugin_manager
from journeylens.operations import outbox
from journeylens.operations.appdb import AppDatabase
from journeylens.operations.models import utcnow
from journeylens.operations.outbox_models import OutboxDelivery, OutboxMessage
from journeylens.settings import Settings

MAIL = {"subject": "How was your visit?", "text": "Tell us: https://x/s/abc", "html": "<p>Tell us</p>"}


def _queue(db: AppDatabase, key: str = "k1", target: str = "ann@example.com", **kw: Any) -> int:
    with db.session() as session:
        return outbox.enqueue(session, channel="email", target=target, payload=MAIL, idempotency_key=key, **kw).id


def _row(db: AppDatabase, message_id: int) -> OutboxMessage:
    with db.session() as session:
        row = session.get(OutboxMessage, message_id)
        assert row is not None
        return row


def test_email_reaches_the_smtp_server_with_the_key_as_message_id(app_db: AppDatabase,
                                                                 smtp_server: SmtpServer) -> None:
    message_id = _queue(app_db)
    report = outbox.deliver_due(app_db, smtp_server.settings())
    assert report.to_dict() | {"errors": []} == {"claimed": 1, "sent": 1, "failed": 0, "dead": 0, "errors": []}
    [mail] = smtp_server.messages
    assert mail["To"] == "ann@example.com" and mail["Subject"] == "How was your visit?"
    assert mail["X-JourneyLens-Idempotency-Key"] == "k1"
    assert "Tell us: https://x/s/abc" in mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "<p>Tell us</p>" in mail.get_body(("html",)).get_content()  # type: ignore[union-attr]
    row = _row(app_db, message_id)
    assert row.status == "sent" and row.sent_at is not None and row.attempts == 1
    assert outbox.deliver_due(app_db, smtp_server.settings()).claimed == 0  # nothing left
    assert len(smtp_server.messages) == 1


def test_enqueue_is_idempotent_on_the_key(app_db: AppDatabase) -> None:
    assert _queue(app_db, "same") == _queue(app_db, "same")
    with app_db.session() as session:
        assert outbox.status_counts(session)["queued"] == 1


def test_unknown_channel_is_refused_with_the_known_ones(app_db: AppDatabase) -> None:
    with app_db.session() as session, pytest.raises(ConfigError) as info:
        outbox.enqueue(session, channel="pigeon", target="x", payload={}, idempotency_key="p")
    assert info.value.code == "unknown_channel" and "email" in info.value.details["allowed"]


def test_smtp_down_leaves_the_message_queued_with_its_error_and_retries_with_backoff(
        app_db: AppDatabase, smtp_server: SmtpServer) -> None:
    down = Settings(smtp_host="127.0.0.1", smtp_port=free_port(), smtp_timeout_seconds=2,
                    outbox_backoff_seconds=60, outbox_backoff_max_seconds=3600)
    message_id = _queue(app_db)
    before = utcnow()
    assert outbox.deliver_due(app_db, down).failed == 1
    row = _row(app_db, message_id)
    assert row.status == "failed" and "SMTP" in row.last_error and row.attempts == 1
    assert row.next_attempt_at >= before + timedelta(seconds=60)
    assert outbox.deliver_due(app_db, down).claimed == 0  # not due yet
    later = row.next_attempt_at + timedelta(seconds=1)
    assert outbox.deliver_due(app_db, down, now=later).failed == 1
    second = _row(app_db, message_id)
    assert second.next_attempt_at - later >= timedelta(seconds=119)  # doubled
    # the server comes back: the next due attempt goes through
    assert outbox.deliver_due(app_db, smtp_server.settings(), now=second.next_attempt_at).sent == 1
    assert len(smtp_server.messages) == 1
    with app_db.session() as session:
        log = outbox.deliveries(session, message_id)
    assert [d.ok for d in log] == [False, False, True]


def test_a_message_is_dead_after_max_attempts(app_db: AppDatabase) -> None:
    settings = Settings(smtp_host="127.0.0.1", smtp_port=free_port(), smtp_timeout_seconds=2,
                        outbox_max_attempts=2, outbox_backoff_seconds=1)
    message_id = _queue(app_db)
    outbox.deliver_due(app_db, settings)
    outbox.deliver_due(app_db, settings, now=utcnow() + timedelta(seconds=5))
    assert _row(app_db, message_id).status == "dead"
    with app_db.session() as session:
        outbox.retry(session, message_id)
    assert _row(app_db, message_id).status == "queued"


def test_a_bad_address_is_dead_at_once(app_db: AppDatabase, smtp_server: SmtpServer) -> None:
    message_id = _queue(app_db, target="not-an-address")
    assert outbox.deliver_due(app_db, smtp_server.settings()).dead == 1
    assert "not an email address" in _row(app_db, message_id).last_error


def test_two_workers_never_send_the_same_message(app_db: AppDatabase, smtp_server: SmtpServer) -> None:
    for n in range(12):
        _queue(app_db, key=f"k{n}", target=f"c{n}@example.com")
    start = threading.Barrier(2)
    reports: list[outbox.DeliveryReport] = []

    def run() -> None:
        start.wait()
        reports.append(outbox.deliver_due(app_db, smtp_server.settings()))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(r.sent for r in reports) == 12
    assert sorted(m["To"] for m in smtp_server.messages) == sorted(f"c{n}@example.com" for n in range(12))
    with app_db.session() as session:
        assert session.scalar(select(OutboxDelivery.id).where(OutboxDelivery.ok.is_(False))) is None


def test_a_claim_left_by_a_dead_worker_is_taken_over_after_it_expires(app_db: AppDatabase,
                                                                     smtp_server: SmtpServer) -> None:
    message_id = _queue(app_db)
    assert outbox.claim(app_db, message_id, "crashed-worker", utcnow()) is not None
    assert outbox.deliver_due(app_db, smtp_server.settings()).claimed == 0  # still held
    with app_db.session() as session:
        session.execute(update(OutboxMessage).values(claimed_until=utcnow() - timedelta(seconds=1)))
    assert outbox.deliver_due(app_db, smtp_server.settings()).sent == 1
    assert _row(app_db, message_id).attempts == 2
    assert smtp_server.messages[0]["X-JourneyLens-Idempotency-Key"] == "k1"


def test_settled_hook_runs_in_the_recording_transaction(app_db: AppDatabase, smtp_server: SmtpServer) -> None:
    seen: list[tuple[str, str]] = []

    class Plugin:
        @hookimpl
        def journeylens_outbox_settled(self, session: Any, message: OutboxMessage) -> None:
            seen.append((message.idempotency_key, message.status))

    plugin = Plugin()
    plugin_manager().register(plugin)
    try:
        _queue(app_db, key="ok")
        _queue(app_db, key="bad", target="nope")
        outbox.deliver_due(app_db, smtp_server.settings())
    finally:
        plugin_manager().unregister(plugin)
    assert sorted(seen) == [("bad", "dead"), ("ok", "sent")]


def test_send_at_in_the_future_waits(app_db: AppDatabase, smtp_server: SmtpServer) -> None:
    later = utcnow() + timedelta(hours=2)
    _queue(app_db, send_at=later)
    assert outbox.deliver_due(app_db, smtp_server.settings()).claimed == 0
    assert outbox.deliver_due(app_db, smtp_server.settings(), now=later).sent == 1
