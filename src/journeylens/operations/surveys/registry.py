"""Surveys in the app database: add (or update) from YAML, list, show, pause, resume.

>>> from journeylens.operations.appdb import AppDatabase
>>> db = AppDatabase("sqlite://")
>>> text = open(EXAMPLE).read()
>>> with db.session() as s:
...     row = add_survey(s, text)
...     pause(s, "branch-visit").status
'paused'
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from journeylens.errors import NotFoundError
from journeylens.operations.models import utcnow
from journeylens.operations.surveys.definition import SurveyDefinition, parse_survey
from journeylens.operations.surveys.models import Survey

EXAMPLE = str(Path(__file__).parent / "examples" / "branch-visit.survey.yaml")


def add_survey(session: Session, text: str, *, source: str = "<survey>") -> Survey:
    """Validate ``text`` and store it; an existing survey of that name gets a new version."""
    survey = parse_survey(text, source=source)
    row = session.scalar(select(Survey).where(Survey.name == survey.name))
    if row is None:
        row = Survey(name=survey.name, status="active", version=1)
        session.add(row)
    elif row.source_yaml != text:
        row.version += 1
    row.kind, row.title = survey.kind, survey.text(survey.title, survey.default_language)[:300]
    row.source_yaml, row.definition, row.updated_at = text, survey.to_dict(), utcnow()
    session.flush()
    return row


def check_survey(text: str, *, source: str = "<survey>", lens: Any = None) -> dict[str, Any]:
    """Validate ``text`` (errors raise with line numbers) and warn about what the warehouse has not seen."""
    from journeylens.operations.surveys.definition import warehouse_warnings

    survey = parse_survey(text, source=source)
    touchpoints: set[str] = set()
    channels: set[str] = set()
    if lens is not None and lens.warehouse.has("events"):
        events = lens.warehouse.table("events")
        seen = events.select("touchpoint", "channel").distinct().to_pyarrow().to_pylist()
        touchpoints = {str(r["touchpoint"]) for r in seen if r["touchpoint"] is not None}
        channels = {str(r["channel"]) for r in seen if r["channel"] is not None}
    return {"name": survey.name, "valid": True, "kind": survey.kind, "languages": survey.languages,
            "questions": len(survey.questions), "deliver": list(survey.deliver),
            "warnings": warehouse_warnings(survey, touchpoints, channels)}


def get_survey(session: Session, name: str) -> Survey:
    row = session.scalar(select(Survey).where(Survey.name == name))
    if row is None:
        known = list(session.scalars(select(Survey.name).order_by(Survey.name)))
        raise NotFoundError(f"No survey {name!r}; surveys: {', '.join(known) or 'none (add one with survey add FILE)'}.",
                            code="survey_not_found", details={"allowed": known})
    return row


def list_surveys(session: Session) -> list[Survey]:
    return list(session.scalars(select(Survey).order_by(Survey.name)))


def pause(session: Session, name: str) -> Survey:
    row = get_survey(session, name)
    row.status, row.updated_at = "paused", utcnow()
    return row


def resume(session: Session, name: str) -> Survey:
    row = get_survey(session, name)
    row.status, row.updated_at = "active", utcnow()
    return row


@lru_cache(maxsize=256)
def _definition(survey_id: int, version: int, text: str) -> SurveyDefinition:
    return parse_survey(text)


def definition_of(row: Survey) -> SurveyDefinition:
    """The validated definition of a stored survey (parsed once per version)."""
    return _definition(row.id, row.version, row.source_yaml)


def survey_summary(row: Survey) -> dict[str, Any]:
    survey = definition_of(row)
    trigger = survey.trigger
    return {"name": row.name, "title": row.title, "kind": row.kind, "status": row.status, "version": row.version,
            "languages": survey.languages, "questions": len(survey.questions), "deliver": list(survey.deliver),
            "trigger": trigger.model_dump(mode="json", exclude_none=True) if trigger else None,
            "updated_at": row.updated_at}
