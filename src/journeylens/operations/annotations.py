"""Annotations (dated notes such as release markers, drawn on every time chart) and saved views
(a named dashboard page with its query, shared by link).

Annotations are made by hand (dashboard, ``POST /v1/annotations``, ``journeylens annotation
add``) or from the data: :func:`from_property` marks the first day each value of an event
property (for example ``app_version``) appears, so "CSAT fell after app 6.0" is on the chart.

>>> from journeylens.operations.appdb import AppDatabase
>>> db = AppDatabase("sqlite://")
>>> with db.session() as s:
...     a = create_annotation(s, AnnotationCreate(at="2024-09-01T00:00:00Z", title="App 6.0", kind="release"), actor="doc")
...     [x.title for x in list_annotations(s)]
['App 6.0']
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import ibis
import ibis.expr.types as ir
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from journeylens.errors import NotFoundError, ParameterError
from journeylens.operations.annotation_models import ANNOTATION_KINDS, Annotation, SavedView
from journeylens.operations.datetext import IsoDateTime

#: Dashboard pages a saved view may point at.
VIEW_PAGES: tuple[str, ...] = ("/", "/journey-map", "/funnel", "/variants", "/channels", "/micro-journeys",
                               "/data-health")


class AnnotationCreate(BaseModel):
    at: IsoDateTime = Field(description="When it happened (ISO 8601; naive times are UTC).")
    title: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=5000)
    kind: str = Field(default="note", description=f"One of: {', '.join(ANNOTATION_KINDS)}.")
    touchpoint: str | None = Field(default=None, max_length=200, description="Only this touchpoint (null: all).")

    @field_validator("kind")
    @classmethod
    def _kind(cls, value: str) -> str:
        if value not in ANNOTATION_KINDS:
            raise ValueError(f"kind must be one of {', '.join(ANNOTATION_KINDS)}")
        return value

    @field_validator("at")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class AnnotationPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    title: str
    description: str
    kind: str
    touchpoint: str | None
    source: str
    created_by: str
    created_at: datetime


def create_annotation(session: Session, data: AnnotationCreate, *, actor: str, source: str = "manual",
                      origin_key: str | None = None) -> AnnotationPublic:
    row = Annotation(**data.model_dump(), source=source, origin_key=origin_key, created_by=actor)
    session.add(row)
    session.flush()
    return AnnotationPublic.model_validate(row)


def list_annotations(session: Session, *, start: datetime | None = None, end: datetime | None = None,
                     touchpoint: str | None = None) -> list[AnnotationPublic]:
    """Annotations in ``[start, end)``, oldest first; with ``touchpoint``, the global ones plus its own."""
    query = select(Annotation).order_by(Annotation.at, Annotation.id)
    if start is not None:
        query = query.where(Annotation.at >= start)
    if end is not None:
        query = query.where(Annotation.at < end)
    if touchpoint is not None:
        query = query.where((Annotation.touchpoint.is_(None)) | (Annotation.touchpoint == touchpoint))
    return [AnnotationPublic.model_validate(a) for a in session.scalars(query)]


def delete_annotation(session: Session, annotation_id: int) -> None:
    row = session.get(Annotation, annotation_id)
    if row is None:
        raise NotFoundError(f"No annotation with id {annotation_id}.")
    session.delete(row)


def first_seen(events: ir.Table, key: str) -> list[dict[str, Any]]:
    """``[{value, at, customers}]``: the first time each value of event property ``key`` appears."""
    from journeylens.analyses.properties import has_key, json_value

    if not has_key(events, "properties", key):
        from journeylens.analyses.names import check_names
        from journeylens.analyses.properties import known_properties

        check_names("property", [key], known_properties(events, None, None))
    valued = events.filter(events.properties.contains(f'"{key}"'))
    valued = valued.select(value=json_value(valued.properties, key), timestamp=valued.timestamp,
                           customer_id=valued.customer_id).filter(ibis._.value.notnull())
    firsts = valued.group_by("value").aggregate(at=valued.timestamp.min(), customers=valued.customer_id.nunique())
    return firsts.order_by("at").to_pyarrow().to_pylist()


def from_property(session: Session, events: ir.Table, key: str, *, kind: str = "release",
                  actor: str = "data") -> list[AnnotationPublic]:
    """One annotation per value of event property ``key`` at its first appearance (the oldest
    value, present from the start of the data, is skipped); idempotent."""
    values = first_seen(events, key)
    made = []
    for row in values[1:]:
        origin = f"event:{key}={row['value']}"
        exists = session.scalar(select(Annotation).where(Annotation.origin_key == origin))
        if exists is not None:
            continue
        data = AnnotationCreate(at=row["at"], title=f"{key} {row['value']}", kind=kind,
                                description=f"First event with {key} = {row['value']} (from the data).")
        made.append(create_annotation(session, data, actor=actor, source="event", origin_key=origin))
    return made


# --- saved views ------------------------------------------------------------------------------
class ViewCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    page: str = Field(description=f"The dashboard page: {', '.join(VIEW_PAGES)} (or /touchpoints/NAME).")
    query: dict[str, str] = Field(default_factory=dict, description="The page's query (filters, steps, cohorts).")
    description: str = Field(default="", max_length=2000)

    @field_validator("page")
    @classmethod
    def _page(cls, value: str) -> str:
        if value not in VIEW_PAGES and not value.startswith("/touchpoints/"):
            raise ValueError(f"page must be one of {', '.join(VIEW_PAGES)} or /touchpoints/NAME")
        return value


class ViewPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    page: str
    query: dict[str, str]
    description: str
    created_by: str
    created_at: datetime

    @property
    def link(self) -> str:
        from urllib.parse import urlencode

        return f"{self.page}?{urlencode(self.query)}" if self.query else self.page


def save_view(session: Session, data: ViewCreate, *, actor: str) -> ViewPublic:
    if session.scalar(select(SavedView).where(SavedView.name == data.name)) is not None:
        raise ParameterError(f"A saved view named {data.name!r} exists already; pick another name.",
                             code="already_exists")
    row = SavedView(**data.model_dump(), created_by=actor)
    session.add(row)
    session.flush()
    return ViewPublic.model_validate(row)


def list_views(session: Session) -> list[ViewPublic]:
    return [ViewPublic.model_validate(v) for v in session.scalars(select(SavedView).order_by(SavedView.name))]


def saved_cohorts(session: Session) -> list[dict[str, str]]:
    """Cohorts built from conditions that saved views keep (their ``built`` or ``cohort``
    parameter): ``[{"view", "cohort"}]``, one per distinct cohort, the first view by name."""
    from journeylens.analyses.cohort_builder import is_built

    found: dict[str, str] = {}
    for view in list_views(session):
        for key in ("built", "cohort"):
            text = (view.query.get(key) or "").strip()
            if text and is_built(text):
                found.setdefault(text, view.name)
    return [{"view": name, "cohort": text} for text, name in found.items()]


def get_view(session: Session, name_or_id: str) -> ViewPublic:
    query = select(SavedView).where(SavedView.name == name_or_id)
    row = session.scalar(query)
    if row is None and name_or_id.isdigit():
        row = session.get(SavedView, int(name_or_id))
    if row is None:
        from journeylens.analyses.names import check_names

        check_names("saved_view", [name_or_id], [v.name for v in list_views(session)])
        raise NotFoundError(f"No saved view {name_or_id!r}.")
    return ViewPublic.model_validate(row)


def delete_view(session: Session, name_or_id: str) -> None:
    view = get_view(session, name_or_id)
    row = session.get(SavedView, view.id)
    session.delete(row)
