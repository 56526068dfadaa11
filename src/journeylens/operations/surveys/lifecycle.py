"""What happens to invitations after they are created: delayed sends, reminders, expiry, erasure.

Worker jobs (``journeylens_worker_jobs``): ``surveys.send_due`` issues invitations whose
delay or business-hours wait is over; ``surveys.remind`` sends the one reminder to
invitations not answered after ``reminder.after_days`` (a response stops it);
``surveys.expire`` closes invitations past ``expires_at``. Each moves due rows in one
transaction per invitation, so a worker killed mid-way repeats nothing that committed.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select

from journeylens.hooks import hookimpl
from journeylens.operations.models import utcnow
from journeylens.operations.outbox_models import OutboxMessage
from journeylens.operations.surveys.delivery import deliver_invitation
from journeylens.operations.surveys.links import signing_key
from journeylens.operations.surveys.models import (
    Survey,
    SurveyInvitation,
    SurveyOptOut,
    SurveyResponse,
    SurveySuppression,
)
from journeylens.operations.surveys.registry import definition_of
from journeylens.operations.surveys.triggers import existing_app_db, invitation_url, send
from journeylens.operations.worker import Job, JobContext

_OPEN = ("sent", "opened", "started")


def send_due(context: JobContext) -> int:
    """Issue scheduled invitations whose ``send_at`` has come; returns how many."""
    db, now = context.db, context.now
    key = signing_key(db, context.settings)
    with db.session() as session:
        ids = list(session.scalars(select(SurveyInvitation.id).where(
            SurveyInvitation.status == "scheduled", SurveyInvitation.send_at <= now)))
    sent = 0
    for invitation_id in ids:
        with db.session() as session:
            invitation = session.get(SurveyInvitation, invitation_id, with_for_update=db.dialect == "postgresql")
            if invitation is None or invitation.status != "scheduled":
                continue  # another worker took it
            survey_row = session.get(Survey, invitation.survey_id)
            if survey_row is None or survey_row.status != "active" or \
                    session.get(SurveyOptOut, invitation.customer_id) is not None:
                invitation.status = "cancelled"
                continue
            send(session, context.settings, invitation, definition_of(survey_row), key, now)
            sent += 1
    return sent


def remind(context: JobContext) -> int:
    """Send the one reminder to unanswered invitations whose reminder time has come."""
    db, now = context.db, context.now
    key = signing_key(db, context.settings)
    with db.session() as session:
        ids = list(session.scalars(select(SurveyInvitation.id).where(
            SurveyInvitation.status.in_(_OPEN), SurveyInvitation.reminder_at <= now,
            SurveyInvitation.reminded_at.is_(None), SurveyInvitation.expires_at > now)))
    reminded = 0
    for invitation_id in ids:
        with db.session() as session:
            invitation = session.get(SurveyInvitation, invitation_id, with_for_update=db.dialect == "postgresql")
            if invitation is None or invitation.status not in _OPEN or invitation.reminded_at is not None:
                continue
            survey_row = session.get(Survey, invitation.survey_id)
            if survey_row is None or session.get(SurveyOptOut, invitation.customer_id) is not None:
                continue
            deliver_invitation(session, invitation, definition_of(survey_row),
                               invitation_url(context.settings, key, invitation), context.settings, reminder=True)
            invitation.reminded_at = now
            reminded += 1
    return reminded


def expire(context: JobContext) -> int:
    """Close invitations past their expiry (their links then show the friendly 'expired' page)."""
    with context.db.session() as session:
        rows = list(session.scalars(select(SurveyInvitation).where(
            SurveyInvitation.status.in_(("scheduled", *_OPEN)), SurveyInvitation.expires_at <= context.now)))
        for row in rows:
            row.status = "expired"
        return len(rows)


@hookimpl
def journeylens_worker_jobs() -> list[Job]:
    return [Job("surveys.send_due", 15, send_due), Job("surveys.remind", 300, remind),
            Job("surveys.expire", 3600, expire)]


@hookimpl
def journeylens_forget_customer(lens: Any, customer_id: str) -> dict[str, int]:
    """Erase the customer's invitations, responses, suppressions, opt-out and queued survey messages."""
    db = existing_app_db(lens.settings) if lens is not None else None
    if db is None:
        return {}
    with db.session() as session:
        invitation_ids = list(session.scalars(select(SurveyInvitation.id).where(
            SurveyInvitation.customer_id == customer_id)))
        keys = [f"survey-{kind}:{i}:{channel}" for i in invitation_ids for kind in ("invite", "reminder")
                for channel in ("email", "sms", "webhook")]
        counts = {
            "outbox": _count(session.execute(delete(OutboxMessage).where(OutboxMessage.idempotency_key.in_(keys)))),
            "survey_responses": _count(session.execute(delete(SurveyResponse).where(
                SurveyResponse.customer_id == customer_id))),
            "survey_invitations": _count(session.execute(delete(SurveyInvitation).where(
                SurveyInvitation.customer_id == customer_id))),
            "survey_suppressions": _count(session.execute(delete(SurveySuppression).where(
                SurveySuppression.customer_id == customer_id))),
            "survey_opt_outs": _count(session.execute(delete(SurveyOptOut).where(
                SurveyOptOut.customer_id == customer_id))),
        }
    return {table: n for table, n in counts.items() if n}


def _count(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


def opt_out(db: Any, customer_id: str, source: str = "") -> bool:
    """Record that ``customer_id`` wants no surveys (idempotent); returns whether it is new."""
    with db.session() as session:
        if session.get(SurveyOptOut, customer_id) is not None:
            return False
        session.add(SurveyOptOut(customer_id=customer_id, source=source, at=utcnow()))
        return True
