"""HTTP channels: signed webhooks (Standard Webhooks), Slack, Microsoft Teams, SMS via webhook.

* ``webhook``: ``POST`` the JSON body ``{"type", "timestamp", "data"}`` to the target URL,
  signed per the Standard Webhooks spec (``webhook-id`` = the idempotency key,
  ``webhook-timestamp``, ``webhook-signature: v1,<base64 HMAC-SHA256>``) through the
  ``standardwebhooks`` package, with the endpoint's own secrets (``JOURNEYLENS_WEBHOOK_SECRETS``,
  by URL prefix; during a rotation old and new both sign, space-separated, as the spec allows)
  or else ``JOURNEYLENS_WEBHOOK_SECRET``. Receivers verify with the same package:
  ``Webhook(secret).verify(body, headers)``.
* ``slack``: the target is a Slack incoming-webhook URL; body ``{"text", "blocks"}``.
* ``teams``: the target is a Teams incoming-webhook (Workflows) URL; body is a message with
  one Adaptive Card.
* ``sms``: the target is a phone number; a signed webhook ``{"type": "sms.send", "data":
  {"to", "text"}}`` goes to ``JOURNEYLENS_SMS_WEBHOOK_URL``, the company's own SMS provider.

A 2xx answer is success; 408, 429 and 5xx are retried; any other 4xx is permanent.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
from standardwebhooks.webhooks import Webhook

from journeylens.errors import ConfigError, DeliveryError, PermanentDeliveryError
from journeylens.hooks import hookimpl
from journeylens.operations.notify import Channel, Message
from journeylens.settings import Settings

_RETRYABLE = {408, 425, 429}


def signed_headers(message_id: str, body: str, secret: str | Sequence[str],
                   at: datetime | None = None) -> dict[str, str]:
    """The three Standard Webhooks headers for ``body``; with several secrets (a rotation's grace
    period) ``webhook-signature`` carries one signature per secret, space-separated, and a
    receiver holding any one of them verifies it.

    >>> h = signed_headers("msg_1", '{"a":1}', "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    ...                    datetime(2024, 1, 1, tzinfo=UTC))
    >>> sorted(h), h["webhook-timestamp"], h["webhook-signature"][:3]
    (['content-type', 'webhook-id', 'webhook-signature', 'webhook-timestamp'], '1704067200', 'v1,')
    """
    at = at or datetime.now(UTC)
    signatures = []
    for one in [secret] if isinstance(secret, str) else secret:
        try:
            signatures.append(Webhook(one).sign(message_id, at, body))
        except Exception as exc:  # the library raises its own errors for a malformed secret
            raise ConfigError("A webhook secret (JOURNEYLENS_WEBHOOK_SECRET or JOURNEYLENS_WEBHOOK_SECRETS) must be "
                              "'whsec_' followed by base64 (for example 'whsec_' + base64 of 32 random bytes).") \
                from exc
    return {"webhook-id": message_id, "webhook-timestamp": str(int(at.timestamp())),
            "webhook-signature": " ".join(signatures), "content-type": "application/json"}


def webhook_body(message: Message, at: datetime | None = None) -> str:
    """The JSON body of a webhook: ``{"type", "timestamp", "data"}`` (Standard Webhooks layout)."""
    at = at or datetime.now(UTC)
    data = dict(message.payload.get("data") or {})
    for key in ("subject", "text"):
        if message.payload.get(key) and key not in data:
            data[key] = message.payload[key]
    return json.dumps({"type": message.payload.get("event_type") or "journeylens.message",
                       "timestamp": at.isoformat().replace("+00:00", "Z"), "data": data},
                      ensure_ascii=False, separators=(",", ":"), default=str)


def _check_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise PermanentDeliveryError(f"{url!r} is not an http(s) URL.")
    return url


def post(url: str, body: str, headers: dict[str, str], settings: Settings) -> str:
    """POST ``body``; classify the outcome as success, retry or permanent failure."""
    try:
        response = httpx.post(_check_url(url), content=body.encode(), headers=headers,
                              timeout=settings.webhook_timeout_seconds)
    except httpx.HTTPError as exc:
        raise DeliveryError(f"POST {url} failed: {exc}") from exc
    if response.is_success:
        return f"{response.status_code} from {urlsplit(url).netloc}"
    detail = f"POST {url} answered {response.status_code}: {response.text[:300]}"
    if response.status_code in _RETRYABLE or response.status_code >= 500:
        raise DeliveryError(detail)
    raise PermanentDeliveryError(detail)


class WebhookChannel:
    name = "webhook"

    def send(self, message: Message, settings: Settings) -> str:
        at = datetime.now(UTC)
        secret = secrets_for(message.target, settings, at)
        body = webhook_body(message, at)
        return post(message.target, body, signed_headers(message.idempotency_key, body, secret, at), settings)


class SlackChannel:
    name = "slack"

    def send(self, message: Message, settings: Settings) -> str:
        text = "\n".join(part for part in (f"*{message.subject}*" if message.subject else "", message.text) if part)
        body = json.dumps({"text": text, "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]},
                          ensure_ascii=False)
        return post(message.target, body, {"content-type": "application/json"}, settings)


class TeamsChannel:
    name = "teams"

    def send(self, message: Message, settings: Settings) -> str:
        blocks: list[dict[str, Any]] = []
        if message.subject:
            blocks.append({"type": "TextBlock", "text": message.subject, "weight": "Bolder", "size": "Medium",
                           "wrap": True})
        blocks.append({"type": "TextBlock", "text": message.text, "wrap": True})
        card = {"type": "AdaptiveCard", "version": "1.4",
                "$schema": "http://adaptivecards.io/schemas/adaptive-card.json", "body": blocks}
        body = json.dumps({"type": "message", "attachments": [
            {"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None, "content": card}]},
            ensure_ascii=False)
        return post(message.target, body, {"content-type": "application/json"}, settings)


class SmsChannel:
    name = "sms"

    def send(self, message: Message, settings: Settings) -> str:
        if not settings.sms_webhook_url:
            raise DeliveryError("SMS is not configured: set JOURNEYLENS_SMS_WEBHOOK_URL to your provider's "
                                "webhook.", code="sms_not_configured")
        at = datetime.now(UTC)
        sms = Message(id=message.id, channel="sms", target=settings.sms_webhook_url,
                      payload={"event_type": "sms.send", "data": {"to": message.target, "text": message.text}},
                      idempotency_key=message.idempotency_key, attempt=message.attempt)
        body = webhook_body(sms, at)
        return post(settings.sms_webhook_url, body,
                    signed_headers(message.idempotency_key, body, secrets_for(settings.sms_webhook_url, settings, at),
                                   at), settings)


def secrets_for(url: str, settings: Settings, at: datetime | None = None) -> list[str]:
    """The secrets that sign a message to ``url`` at ``at``: those of the longest matching prefix in
    ``JOURNEYLENS_WEBHOOK_SECRETS`` still valid then, else ``JOURNEYLENS_WEBHOOK_SECRET``.

    >>> s = Settings(webhook_secret="whsec_Z2xvYmFs", webhook_secrets={
    ...     "https://a.example/": ["whsec_bmV3", {"secret": "whsec_b2xk", "until": "2026-01-02T00:00:00Z"}]})
    >>> secrets_for("https://a.example/cx", s, datetime(2026, 1, 1, tzinfo=UTC))
    ['whsec_bmV3', 'whsec_b2xk']
    >>> secrets_for("https://a.example/cx", s, datetime(2026, 1, 3, tzinfo=UTC))   # grace period over
    ['whsec_bmV3']
    >>> secrets_for("https://b.example/", s)
    ['whsec_Z2xvYmFs']
    """
    at = at or datetime.now(UTC)
    prefixes = sorted((p for p in settings.webhook_secrets if url.startswith(p)), key=len, reverse=True)
    if prefixes:
        valid = []
        for entry in settings.webhook_secrets[prefixes[0]]:
            secret, until = (entry, None) if isinstance(entry, str) else (entry.secret, entry.until)
            if until is None or (until if until.tzinfo else until.replace(tzinfo=UTC)) > at:
                valid.append(secret)
        if valid:
            return valid
        raise DeliveryError(f"Every signing secret of {prefixes[0]!r} in JOURNEYLENS_WEBHOOK_SECRETS has expired; "
                            "add a new one.", code="webhook_secret_expired")
    if not settings.webhook_secret:
        raise DeliveryError("Signed webhooks need JOURNEYLENS_WEBHOOK_SECRET ('whsec_' + base64) or a secret for "
                            f"{url!r} in JOURNEYLENS_WEBHOOK_SECRETS.", code="webhook_secret_missing")
    return [settings.webhook_secret]


@hookimpl
def journeylens_notify_channels() -> list[Channel]:
    return [WebhookChannel(), SlackChannel(), TeamsChannel(), SmsChannel()]
