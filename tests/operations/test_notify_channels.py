"""Webhook, Slack, Teams and SMS channels against a real local HTTP receiver."""

from __future__ import annotations

import base64
import json

import pytest
from local_servers import WebhookReceiver
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from journeylens.operations import outbox
from journeylens.operations.appdb import AppDatabase
from journeylens.operations.notify import channel_names
from journeylens.operations.outbox_models import OutboxMessage
from journeylens.settings import Settings

SECRET = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()
PAYLOAD = {"subject": "Alert", "text": "NPS dropped at Branch visit", "event_type": "alert.fired",
           "data": {"rule": "nps-drop", "value": -12}}


def _send(db: AppDatabase, channel: str, target: str, settings: Settings, key: str = "msg_1") -> OutboxMessage:
    with db.session() as session:
        message_id = outbox.enqueue(session, channel=channel, target=target, payload=PAYLOAD, idempotency_key=key).id
    outbox.deliver_due(db, settings)
    with db.session() as session:
        row = session.get(OutboxMessage, message_id)
        assert row is not None
        return row


def test_shipped_channels_are_plugins() -> None:
    assert set(channel_names()) >= {"email", "webhook", "slack", "teams", "sms"}


def test_webhook_is_signed_per_standard_webhooks(app_db: AppDatabase, webhook_receiver: WebhookReceiver) -> None:
    row = _send(app_db, "webhook", webhook_receiver.url + "/hook", Settings(webhook_secret=SECRET))
    assert row.status == "sent"
    [request] = webhook_receiver.requests
    headers = request["headers"]
    assert headers["webhook-id"] == "msg_1"
    payload = Webhook(SECRET).verify(request["body"], headers)  # raises when the signature is wrong
    assert payload["type"] == "alert.fired" and payload["data"]["rule"] == "nps-drop"
    assert payload["data"]["text"] == "NPS dropped at Branch visit"
    with pytest.raises(WebhookVerificationError):
        Webhook("whsec_" + base64.b64encode(b"another-secret-another-secret!!").decode()).verify(
            request["body"], headers)


def test_webhook_without_a_secret_stays_queued_with_the_reason(app_db: AppDatabase,
                                                               webhook_receiver: WebhookReceiver) -> None:
    row = _send(app_db, "webhook", webhook_receiver.url, Settings())
    assert row.status == "failed" and "JOURNEYLENS_WEBHOOK_SECRET" in row.last_error
    assert webhook_receiver.requests == []


@pytest.mark.parametrize(("status", "expected"), [(503, "failed"), (429, "failed"), (404, "dead")])
def test_receiver_errors_retry_or_stop(app_db: AppDatabase, webhook_receiver: WebhookReceiver, status: int,
                                       expected: str) -> None:
    webhook_receiver.status = status
    row = _send(app_db, "webhook", webhook_receiver.url, Settings(webhook_secret=SECRET))
    assert row.status == expected and str(status) in row.last_error


def test_slack_and_teams_formats(app_db: AppDatabase, webhook_receiver: WebhookReceiver) -> None:
    _send(app_db, "slack", webhook_receiver.url + "/slack", Settings(), key="s")
    _send(app_db, "teams", webhook_receiver.url + "/teams", Settings(), key="t")
    slack, teams = (json.loads(r["body"]) for r in webhook_receiver.requests)
    assert slack["text"] == "*Alert*\nNPS dropped at Branch visit"
    assert slack["blocks"][0]["text"]["type"] == "mrkdwn"
    [attachment] = teams["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert [b["text"] for b in attachment["content"]["body"]] == ["Alert", "NPS dropped at Branch visit"]


def test_sms_goes_signed_to_the_provider_webhook(app_db: AppDatabase, webhook_receiver: WebhookReceiver) -> None:
    settings = Settings(webhook_secret=SECRET, sms_webhook_url=webhook_receiver.url + "/sms")
    assert _send(app_db, "sms", "+31612345678", settings).status == "sent"
    [request] = webhook_receiver.requests
    payload = Webhook(SECRET).verify(request["body"], request["headers"])
    assert payload["type"] == "sms.send"
    assert payload["data"] == {"to": "+31612345678", "text": "NPS dropped at Branch visit"}


def test_a_non_http_target_is_refused(app_db: AppDatabase) -> None:
    row = _send(app_db, "slack", "file:///etc/passwd", Settings())
    assert row.status == "dead" and "not an http(s) URL" in row.last_error
