"""App-database tables of surveys: definitions, invitations, responses, suppressions, opt-outs.

An invitation is created once per (survey, triggering event) — ``event_key`` is unique per
survey — so replaying a batch never invites twice. A suppressed trigger is a row too, with
its reason, so "why did this customer not get a survey" has an answer.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from journeylens.operations.models import Base, utcnow

SURVEY_STATUSES = ("active", "paused")
#: scheduled (waiting for delay / business hours) → sent → opened → started → completed;
#: or expired / suppressed at send time (opt-out arrived meanwhile).
INVITATION_STATUSES = ("scheduled", "sent", "opened", "started", "completed", "expired", "cancelled")
#: Why a matching trigger did not produce an invitation.
SUPPRESSION_REASONS = ("sampled_out", "survey_fatigue", "global_fatigue", "opted_out", "no_customer",
                       "paused", "already_answered")


def _one_of(column: str, allowed: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in allowed)})"


class Survey(Base):
    __tablename__ = "surveys"
    __table_args__ = (CheckConstraint(_one_of("status", SURVEY_STATUSES), name="status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(16), default="customer")
    title: Mapped[str] = mapped_column(String(300), default="")
    source_yaml: Mapped[str] = mapped_column(Text)
    definition: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(16), default="active")
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class SurveyInvitation(Base):
    __tablename__ = "survey_invitations"
    __table_args__ = (
        CheckConstraint(_one_of("status", INVITATION_STATUSES), name="status"),
        UniqueConstraint("survey_id", "event_key", name="uq_survey_invitations_survey_event"),
        Index("ix_survey_invitations_customer", "customer_id", "created_at"),
        Index("ix_survey_invitations_due", "status", "send_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"))
    survey: Mapped[str] = mapped_column(String(64))
    customer_id: Mapped[str] = mapped_column(String(200))
    event_key: Mapped[str] = mapped_column(String(200))
    event_id: Mapped[str | None] = mapped_column(String(200), default=None)
    event_at: Mapped[datetime | None] = mapped_column(default=None)
    touchpoint: Mapped[str] = mapped_column(String(200), default="")
    channel: Mapped[str] = mapped_column(String(100), default="")
    stage: Mapped[str] = mapped_column(String(100), default="")
    language: Mapped[str] = mapped_column(String(16), default="")
    contact: Mapped[dict[str, Any]] = mapped_column(default=dict)  # email / phone for delivery
    deliver: Mapped[dict[str, Any]] = mapped_column(default=dict)  # {"channels": [...], "outbox": {channel: id}}
    status: Mapped[str] = mapped_column(String(16), default="scheduled")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    send_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(default=None)
    opened_at: Mapped[datetime | None] = mapped_column(default=None)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    answered_at: Mapped[datetime | None] = mapped_column(default=None)
    expires_at: Mapped[datetime] = mapped_column(default=utcnow)
    reminder_at: Mapped[datetime | None] = mapped_column(default=None)
    reminded_at: Mapped[datetime | None] = mapped_column(default=None)


class SurveyResponse(Base):
    __tablename__ = "survey_responses"
    __table_args__ = (
        CheckConstraint(_one_of("status", ("started", "completed")), name="status"),
        Index("ix_survey_responses_invitation", "invitation_id"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    invitation_id: Mapped[str | None] = mapped_column(
        ForeignKey("survey_invitations.id", ondelete="CASCADE"), default=None)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"))
    survey: Mapped[str] = mapped_column(String(64))
    customer_id: Mapped[str | None] = mapped_column(String(200), default=None)
    touchpoint: Mapped[str] = mapped_column(String(200), default="")
    channel: Mapped[str] = mapped_column(String(100), default="")
    language: Mapped[str] = mapped_column(String(16), default="")
    answers: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(16), default="started")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(default=None)


class SurveySuppression(Base):
    __tablename__ = "survey_suppressions"
    __table_args__ = (
        UniqueConstraint("survey", "event_key", name="uq_survey_suppressions_survey_event"),
        Index("ix_survey_suppressions_customer", "customer_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    survey: Mapped[str] = mapped_column(String(64))
    customer_id: Mapped[str] = mapped_column(String(200), default="")
    event_key: Mapped[str] = mapped_column(String(200))
    touchpoint: Mapped[str] = mapped_column(String(200), default="")
    channel: Mapped[str] = mapped_column(String(100), default="")
    reason: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str] = mapped_column(String(500), default="")
    at: Mapped[datetime] = mapped_column(default=utcnow)


class SurveyOptOut(Base):
    __tablename__ = "survey_opt_outs"

    customer_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    source: Mapped[str] = mapped_column(String(100), default="")
    at: Mapped[datetime] = mapped_column(default=utcnow)


class AppSecret(Base):
    """Secrets the app generates once and keeps (survey links must outlive a restart)."""

    __tablename__ = "app_secrets"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
