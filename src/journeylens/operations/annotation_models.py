"""App-database records of issue 10: dated annotations (release markers and notes drawn on
every time chart) and saved views (a named dashboard page with its query, shared by link)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from journeylens.operations.models import Base, utcnow

ANNOTATION_KINDS: tuple[str, ...] = ("release", "campaign", "incident", "note")
ANNOTATION_SOURCES: tuple[str, ...] = ("manual", "api", "event")


class Annotation(Base):
    """A dated note: ``at`` is when it happened; ``touchpoint`` scopes it (null: everywhere)."""

    __tablename__ = "annotations"
    __table_args__ = (
        Index("ix_annotations_at", "at"),
        CheckConstraint("kind IN ('release', 'campaign', 'incident', 'note')", name="kind"),
        CheckConstraint("source IN ('manual', 'api', 'event')", name="source"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column()
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    kind: Mapped[str] = mapped_column(String(16), default="note")
    touchpoint: Mapped[str | None] = mapped_column(String(200), default=None)
    source: Mapped[str] = mapped_column(String(16), default="manual")
    #: Set for annotations made from data (``property=value``), so re-deriving them is idempotent.
    origin_key: Mapped[str | None] = mapped_column(String(300), unique=True, default=None)
    created_by: Mapped[str] = mapped_column(String(254), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SavedView(Base):
    """A named dashboard page with its query string (filters, funnel steps, cohorts)."""

    __tablename__ = "saved_views"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    page: Mapped[str] = mapped_column(String(100))
    query: Mapped[dict[str, Any]] = mapped_column(default=dict)
    description: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(254), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
