"""The email channel: SMTP through the standard library (plain, STARTTLS or implicit TLS).

Settings: ``JOURNEYLENS_SMTP_HOST``, ``_SMTP_PORT``, ``_SMTP_USER``, ``_SMTP_PASSWORD``,
``_SMTP_TLS`` (``none``/``starttls``/``ssl``), ``_SMTP_FROM``, ``_SMTP_TIMEOUT_SECONDS``.
The outbox idempotency key becomes the ``Message-ID`` so a receiver (or a person) can
recognise a message delivered twice after a crash.
"""

from __future__ import annotations

import base64
import hashlib
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate

from journeylens.errors import DeliveryError, PermanentDeliveryError
from journeylens.hooks import hookimpl
from journeylens.operations.notify import Channel, Message
from journeylens.settings import Settings


def build_email(message: Message, settings: Settings) -> EmailMessage:
    """The MIME message (plain text, plus an HTML alternative when the payload has one)."""
    email = EmailMessage()
    email["From"] = settings.smtp_from
    email["To"] = message.target
    email["Subject"] = message.subject or "JourneyLens"
    email["Date"] = formatdate(localtime=False)
    digest = hashlib.sha256(message.idempotency_key.encode()).hexdigest()[:32]
    domain = settings.smtp_from.rpartition("@")[2] or "journeylens.local"
    email["Message-ID"] = f"<{digest}@{domain}>"
    email["X-JourneyLens-Idempotency-Key"] = message.idempotency_key
    email.set_content(message.text or message.subject)
    if message.html:
        email.add_alternative(message.html, subtype="html")
    for attachment in message.payload.get("attachments") or ():
        # {"filename", "content_type", "data_base64"}: a report PDF, for example
        maintype, _, subtype = str(attachment.get("content_type", "application/octet-stream")).partition("/")
        email.add_attachment(base64.b64decode(attachment["data_base64"]), maintype=maintype,
                             subtype=subtype or "octet-stream", filename=str(attachment.get("filename", "attachment")))
    return email


class EmailChannel:
    name = "email"

    def send(self, message: Message, settings: Settings) -> str:
        if not settings.smtp_host:
            raise DeliveryError("Email is not configured: set JOURNEYLENS_SMTP_HOST (and _SMTP_FROM).",
                                code="smtp_not_configured")
        if "@" not in message.target:
            raise PermanentDeliveryError(f"{message.target!r} is not an email address.")
        email = build_email(message, settings)
        try:
            with _connect(settings) as smtp:
                if settings.smtp_user:
                    smtp.login(settings.smtp_user, settings.smtp_password)
                refused = smtp.send_message(email)
        except smtplib.SMTPRecipientsRefused as exc:
            raise PermanentDeliveryError(f"SMTP server refused {message.target}: {exc.recipients}") from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"SMTP {settings.smtp_host}:{settings.smtp_port} failed: {exc}") from exc
        if refused:
            raise PermanentDeliveryError(f"SMTP server refused {sorted(refused)}")
        return f"accepted by {settings.smtp_host}:{settings.smtp_port} as {email['Message-ID']}"


def _connect(settings: Settings) -> smtplib.SMTP:
    timeout = settings.smtp_timeout_seconds
    if settings.smtp_tls == "ssl":
        return smtplib.SMTP_SSL(settings.smtp_host, settings.smtp_port, timeout=timeout,
                                context=ssl.create_default_context())
    smtp = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=timeout)
    if settings.smtp_tls == "starttls":
        smtp.starttls(context=ssl.create_default_context())
    return smtp


@hookimpl
def journeylens_notify_channels() -> list[Channel]:
    return [EmailChannel()]
