"""App-database records of the CX programme: maturity answers and assessments, the journey
definitions seen over time, and scheduled leadership reports."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from journeylens.operations.models import Base, utcnow

REPORT_CADENCES: tuple[str, ...] = ("weekly", "monthly")
REPORT_FORMATS: tuple[str, ...] = ("pdf", "html")


class MaturityAnswer(Base):
    """One team member's latest answer to one self-assessment question (one per person)."""

    __tablename__ = "maturity_answers"
    __table_args__ = (UniqueConstraint("respondent", "question_id", name="uq_maturity_answers_respondent_question"),
                      CheckConstraint("value BETWEEN 1 AND 5", name="value"))

    id: Mapped[int] = mapped_column(primary_key=True)
    respondent: Mapped[str] = mapped_column(String(254))
    question_id: Mapped[str] = mapped_column(String(64))
    dimension_id: Mapped[str] = mapped_column(String(64))
    value: Mapped[int] = mapped_column()
    answered_at: Mapped[datetime] = mapped_column(default=utcnow)


class MaturityAssessment(Base):
    """A stored assessment: the whole result, so progress over time stays visible."""

    __tablename__ = "maturity_assessments"
    __table_args__ = (Index("ix_maturity_assessments_created_at", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(254), default="")
    model_name: Mapped[str] = mapped_column(String(200))
    model_version: Mapped[str] = mapped_column(String(50))
    overall_level: Mapped[int] = mapped_column()
    result: Mapped[dict[str, Any]] = mapped_column()


class DefinitionVersion(Base):
    """A journey definition's content, first and last seen (is the map kept up to date?)."""

    __tablename__ = "journey_definition_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    version: Mapped[str] = mapped_column(String(50))
    first_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)


class ReportSchedule(Base):
    """The state-of-the-journey report mailed to a list, weekly or monthly."""

    __tablename__ = "report_schedules"
    __table_args__ = (CheckConstraint("cadence IN ('weekly', 'monthly')", name="cadence"),
                      CheckConstraint("format IN ('pdf', 'html')", name="format"))

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    recipients: Mapped[str] = mapped_column(String(2000))  # comma-separated addresses
    cadence: Mapped[str] = mapped_column(String(16))
    format: Mapped[str] = mapped_column(String(8), default="pdf")
    active: Mapped[bool] = mapped_column(default=True)
    created_by: Mapped[str] = mapped_column(String(254), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_sent_at: Mapped[datetime | None] = mapped_column(default=None)

    @property
    def recipient_list(self) -> list[str]:
        return [r.strip() for r in self.recipients.split(",") if r.strip()]
