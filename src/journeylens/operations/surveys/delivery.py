"""Survey delivery channels: plugins of ``journeylens_survey_deliveries``, one small interface.

A delivery has a ``name`` (what a survey lists under ``deliver:``) and
``deliver(session, invitation, survey, url, settings) -> str`` that runs inside the
transaction issuing the invitation and returns what happened (``"link"``, ``"queued"``,
``"no_address"``). Messages go through the outbox (ADR 0025), so they are sent after the
transaction commits, retried, and never twice. Shipped: ``link`` (the signed personal link,
always), ``email`` (with the embeddable first-question block), ``sms`` and ``webhook``.
QR codes are per survey and touchpoint, not per invitation (:func:`qr_svg`).
"""

from __future__ import annotations

import html
import io
from typing import Any, Protocol

from sqlalchemy.orm import Session

from journeylens.hooks import hookimpl, plugin_manager
from journeylens.operations import outbox
from journeylens.operations.surveys.definition import Question, SurveyDefinition
from journeylens.operations.surveys.models import SurveyInvitation
from journeylens.settings import Settings


class SurveyDelivery(Protocol):
    name: str

    def deliver(self, session: Session, invitation: SurveyInvitation, survey: SurveyDefinition, url: str,
                settings: Settings) -> str: ...


def deliveries() -> dict[str, SurveyDelivery]:
    found: dict[str, SurveyDelivery] = {}
    for provided in reversed(plugin_manager().hook.journeylens_survey_deliveries()):
        for delivery in provided or ():
            found[delivery.name] = delivery
    return found


def score_block(question: Question, survey: SurveyDefinition, url: str, language: str) -> str:
    """The embeddable single-question HTML block: one link per score, opening the survey with it filled in.

    Plain tables and inline styles, so it renders in email clients; works without images or scripts.
    """
    bounds = question.bounds
    if bounds is None:
        return ""
    low, high = bounds
    cells = "".join(
        f'<td style="padding:2px"><a href="{html.escape(url)}?{question.id}={n}" '
        f'style="display:inline-block;min-width:28px;padding:8px 4px;border:1px solid #1f4e79;border-radius:4px;'
        f'color:#1f4e79;text-align:center;text-decoration:none;font:bold 15px sans-serif" '
        f'aria-label="{n}">{n}</a></td>' for n in range(low, high + 1))
    text = html.escape(survey.text(question.text, language))
    return (f'<p style="font:16px sans-serif">{text}</p>'
            f'<table role="presentation" cellspacing="0" cellpadding="0"><tr>{cells}</tr></table>')


def invitation_message(survey: SurveyDefinition, url: str, language: str, *, reminder: bool = False) -> dict[str, Any]:
    """Subject, text and HTML of an invitation (or its reminder) in ``language``."""
    title = survey.text(survey.title, language)
    subject = ("Reminder: " if reminder else "") + title
    text = "\n\n".join(part for part in (title, survey.text(survey.intro, language), url) if part) + "\n"
    first = survey.questions[0]
    block = score_block(first, survey, url, language)
    body = block or f'<p><a href="{html.escape(url)}">{html.escape(title)}</a></p>'
    page = (f'<div style="font:16px sans-serif;max-width:560px"><h1 style="font-size:20px">{html.escape(title)}</h1>'
            f'{body}<p style="font-size:13px"><a href="{html.escape(url)}">{html.escape(url)}</a></p></div>')
    return {"subject": subject, "text": text, "html": page, "event_type": "survey.invitation",
            "data": {"url": url, "survey": survey.name, "language": language}}


class LinkDelivery:
    name = "link"

    def deliver(self, session: Session, invitation: SurveyInvitation, survey: SurveyDefinition, url: str,
                settings: Settings) -> str:
        return "link"  # the signed URL is on the invitation (and in `survey invitations`)


class _OutboxDelivery:
    name = ""
    channel = ""
    contact_key = ""

    def target(self, invitation: SurveyInvitation, survey: SurveyDefinition) -> str | None:
        return str(invitation.contact.get(self.contact_key) or "") or None

    def deliver(self, session: Session, invitation: SurveyInvitation, survey: SurveyDefinition, url: str,
                settings: Settings, *, reminder: bool = False) -> str:
        target = self.target(invitation, survey)
        if not target:
            return "no_address"
        payload = invitation_message(survey, url, invitation.language or survey.default_language, reminder=reminder)
        payload["data"] |= {"invitation_id": invitation.id, "customer_id": invitation.customer_id,
                            "touchpoint": invitation.touchpoint}
        key = f"survey-{'reminder' if reminder else 'invite'}:{invitation.id}:{self.name}"
        outbox.enqueue(session, channel=self.channel, target=target, payload=payload, idempotency_key=key,
                       source="survey")
        return "queued"


class EmailDelivery(_OutboxDelivery):
    name, channel, contact_key = "email", "email", "email"


class SmsDelivery(_OutboxDelivery):
    name, channel, contact_key = "sms", "sms", "phone"


class WebhookDelivery(_OutboxDelivery):
    name, channel = "webhook", "webhook"

    def target(self, invitation: SurveyInvitation, survey: SurveyDefinition) -> str | None:
        return survey.webhook_url


def deliver_invitation(session: Session, invitation: SurveyInvitation, survey: SurveyDefinition, url: str,
                       settings: Settings, *, reminder: bool = False) -> dict[str, str]:
    """Run every delivery the survey lists (``link`` always); returns the outcome per channel."""
    known = deliveries()
    outcome: dict[str, str] = {}
    for name in dict.fromkeys(["link", *survey.deliver]):
        if name == "qr" or name not in known:
            continue
        if reminder and name == "link":
            continue
        delivery = known[name]
        if reminder and isinstance(delivery, _OutboxDelivery):
            outcome[name] = delivery.deliver(session, invitation, survey, url, settings, reminder=True)
        else:
            outcome[name] = delivery.deliver(session, invitation, survey, url, settings)
    return outcome


def qr_svg(url: str, *, scale: int = 6) -> str:
    """An SVG QR code of ``url`` (segno, pure Python), with a title for screen readers."""
    import segno

    out = io.BytesIO()
    segno.make(url, error="m").save(out, kind="svg", scale=scale, title="Survey QR code", svgclass=None,
                                    lineclass=None)
    return out.getvalue().decode()


@hookimpl
def journeylens_survey_deliveries() -> list[Any]:
    return [LinkDelivery(), EmailDelivery(), SmsDelivery(), WebhookDelivery()]
