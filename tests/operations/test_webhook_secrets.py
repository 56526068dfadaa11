"""Signing secrets per endpoint, and rotation with a grace period (old and new both sign)."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest
from local_servers import WebhookReceiver
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from journeylens.operations import outbox
from journeylens.operations.appdb import AppDatabase
from journeylens.operations.outbox_models import OutboxMessage
from journeylens.settings import Settings


def _secret(seed: bytes) -> str:
    return "whsec_" + base64.b64encode(seed * (32 // len(seed))).decode()


GLOBAL, CX_OLD, CX_NEW, OTHER = _secret(b"global00"), _secret(b"cx-old00"), _secret(b"cx-new00"), _secret(b"other000")
PAYLOAD = {"subject": "Alert", "text": "t", "event_type": "alert.fired", "data": {"rule": "r"}}


def _deliver(db: AppDatabase, target: str, settings: Settings, key: str) -> OutboxMessage:
    with db.session() as session:
        message_id = outbox.enqueue(session, channel="webhook", target=target, payload=PAYLOAD,
                                    idempotency_key=key).id
    outbox.deliver_due(db, settings)
    with db.session() as session:
        row = session.get(OutboxMessage, message_id)
        assert row is not None
        return row


def _verifies(secret: str, request: dict) -> bool:  # type: ignore[type-arg]
    try:
        Webhook(secret).verify(request["body"], request["headers"])
    except WebhookVerificationError:
        return False
    return True


def test_each_endpoint_has_its_own_secret_and_rotation_signs_with_both(
        app_db: AppDatabase, webhook_receiver: WebhookReceiver, monkeypatch: pytest.MonkeyPatch) -> None:
    base = webhook_receiver.url
    grace_ends = datetime.now(UTC) + timedelta(hours=1)
    # The way an operator sets it: JSON in the environment.
    monkeypatch.setenv("JOURNEYLENS_WEBHOOK_SECRETS", json.dumps({
        base + "/cx": [CX_NEW, {"secret": CX_OLD, "until": grace_ends.isoformat()}],
        base + "/other": [OTHER]}))
    monkeypatch.setenv("JOURNEYLENS_WEBHOOK_SECRET", GLOBAL)
    settings = Settings()
    assert _deliver(app_db, base + "/cx/hook", settings, "k1").status == "sent"
    assert _deliver(app_db, base + "/other", settings, "k2").status == "sent"
    assert _deliver(app_db, base + "/elsewhere", settings, "k3").status == "sent"
    cx, other, elsewhere = webhook_receiver.requests
    assert len(cx["headers"]["webhook-signature"].split(" ")) == 2  # during the grace period: two signatures
    assert _verifies(CX_NEW, cx) and _verifies(CX_OLD, cx)  # a receiver with either secret accepts
    assert not _verifies(GLOBAL, cx) and not _verifies(OTHER, cx)  # other endpoints' secrets do not verify
    assert _verifies(OTHER, other) and not _verifies(CX_NEW, other)
    assert _verifies(GLOBAL, elsewhere) and not _verifies(OTHER, elsewhere)  # no entry: the global secret


def test_after_the_grace_period_only_the_new_secret_signs(app_db: AppDatabase, webhook_receiver: WebhookReceiver) -> None:
    ended = datetime.now(UTC) - timedelta(minutes=1)
    settings = Settings(webhook_secrets={webhook_receiver.url: [CX_NEW, {"secret": CX_OLD, "until": ended}]})
    assert _deliver(app_db, webhook_receiver.url + "/cx", settings, "k1").status == "sent"
    (request,) = webhook_receiver.requests
    assert _verifies(CX_NEW, request) and not _verifies(CX_OLD, request)


def test_an_endpoint_whose_secrets_all_expired_is_not_signed_with_another(
        app_db: AppDatabase, webhook_receiver: WebhookReceiver) -> None:
    ended = datetime.now(UTC) - timedelta(minutes=1)
    settings = Settings(webhook_secret=GLOBAL,
                        webhook_secrets={webhook_receiver.url: [{"secret": CX_OLD, "until": ended}]})
    row = _deliver(app_db, webhook_receiver.url, settings, "k1")
    assert row.status == "failed" and "expired" in row.last_error
    assert webhook_receiver.requests == []
