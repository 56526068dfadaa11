"""The hosted survey's logic, without HTTP: open a token, validate, save partial, complete.

The answer becomes a ``feedback`` row (:func:`feedback_row`) written through ``land`` — the
collector's durable spool in the server — *before* the response is marked completed, so
"thank you" is only shown for an answer that is on disk. A crash between the two leaves a
started response whose row is already spooled; answering again writes the same
``response_id``, which the warehouse deduplicates.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select

from journeylens.operations.appdb import AppDatabase
from journeylens.operations.models import utcnow
from journeylens.operations.surveys.definition import Question, SurveyDefinition
from journeylens.operations.surveys.links import read_token, signing_key
from journeylens.operations.surveys.models import Survey, SurveyInvitation, SurveyResponse
from journeylens.operations.surveys.registry import definition_of
from journeylens.settings import Settings

MAX_TEXT_CHARS = 5000


@dataclass
class Opened:
    """What a token opens, and in which state: ``open``, ``completed``, ``expired``, ``invalid``, ``paused``."""

    state: str
    survey: SurveyDefinition | None = None
    survey_id: int | None = None
    invitation: SurveyInvitation | None = None
    response: SurveyResponse | None = None
    touchpoint: str = ""
    answers: dict[str, Any] = field(default_factory=dict)

    @property
    def anonymous(self) -> bool:
        return self.invitation is None


def open_token(db: AppDatabase, settings: Settings, token: str, *, mark_opened: bool = True,
               now: datetime | None = None) -> Opened:
    """Resolve ``token``; records the first opening of an invitation."""
    now = now or utcnow()
    target = read_token(signing_key(db, settings), token)
    if target is None:
        return Opened("invalid")
    with db.session() as session:
        if target.invitation_id is None:
            row = session.scalar(select(Survey).where(Survey.name == target.survey))
            if row is None:
                return Opened("invalid")
            state = "open" if row.status == "active" else "paused"
            return Opened(state, definition_of(row), row.id, touchpoint=target.touchpoint or "")
        invitation = session.get(SurveyInvitation, target.invitation_id)
        if invitation is None or not target.matches_customer(invitation.customer_id):
            return Opened("invalid")
        row = session.get(Survey, invitation.survey_id)
        if row is None:
            return Opened("invalid")
        response = session.get(SurveyResponse, response_id_of(invitation.id))
        opened = Opened("open", definition_of(row), row.id, invitation, response, invitation.touchpoint,
                        dict(response.answers) if response else {})
        if invitation.status == "completed" or (response is not None and response.status == "completed"):
            opened.state = "completed"
        elif invitation.status in ("expired", "cancelled") or invitation.expires_at <= now:
            opened.state = "expired"
        elif mark_opened and invitation.opened_at is None:
            invitation.opened_at = now
            if invitation.status in ("scheduled", "sent"):
                invitation.status = "opened"
        return opened


def response_id_of(invitation_id: str) -> str:
    """One response per invitation, with a stable id (the warehouse deduplicates on it)."""
    return f"r_{invitation_id}"


def visible_questions(survey: SurveyDefinition, answers: dict[str, Any]) -> list[Question]:
    return [q for q in survey.questions if q.visible(answers)]


def _parse(question: Question, raw: Any) -> tuple[Any, str | None]:
    """One value → (clean value or None when empty, error message)."""
    if raw is None or raw == "" or raw == []:
        return None, None
    if question.type == "multiple":
        values = raw if isinstance(raw, list) else [raw]
        allowed = {o.id for o in question.options}
        bad = [v for v in values if str(v) not in allowed]
        if bad:
            return None, f"Choose from the listed options ({', '.join(sorted(allowed))})."
        return sorted({str(v) for v in values}), None
    if isinstance(raw, list):
        raw = raw[-1]
    if question.type == "single":
        allowed = {o.id for o in question.options}
        return (str(raw), None) if str(raw) in allowed else (None, "Choose one of the listed options.")
    if question.type == "text":
        text = str(raw).strip()
        if len(text) > MAX_TEXT_CHARS:
            return None, f"Please keep your answer under {MAX_TEXT_CHARS} characters."
        return (text or None), None
    bounds = question.bounds
    assert bounds is not None
    try:
        number = float(raw)
    except (TypeError, ValueError):
        number = float("nan")
    if not number.is_integer() or not bounds[0] <= number <= bounds[1]:
        return None, f"Choose a whole number from {bounds[0]} to {bounds[1]}."
    return int(number), None


def validate(survey: SurveyDefinition, raw: dict[str, Any], saved: dict[str, Any], *,
             complete: bool) -> tuple[dict[str, Any], dict[str, str]]:
    """Merge ``raw`` over ``saved`` answers; errors by question id (required only when completing)."""
    answers = dict(saved)
    errors: dict[str, str] = {}
    for question in survey.questions:
        if question.id not in raw:
            continue
        value, error = _parse(question, raw[question.id])
        if error:
            errors[question.id] = error
        elif value is None:
            answers.pop(question.id, None)
        else:
            answers[question.id] = value
    shown = visible_questions(survey, answers)
    answers = {k: v for k, v in answers.items() if any(q.id == k for q in shown)}
    if complete:
        for question in shown:
            if question.required and question.id not in answers and question.id not in errors:
                errors[question.id] = "Please answer this question."
    return answers, errors


def save_partial(db: AppDatabase, opened: Opened, answers: dict[str, Any], language: str) -> None:
    """Keep the answers given so far (a reopened link continues from them)."""
    if opened.invitation is None or opened.survey is None:
        return
    now = utcnow()
    with db.session() as session:
        invitation = session.get(SurveyInvitation, opened.invitation.id)
        if invitation is None or invitation.status == "completed":
            return
        response = session.get(SurveyResponse, response_id_of(invitation.id))
        if response is None:
            response = SurveyResponse(id=response_id_of(invitation.id), invitation_id=invitation.id,
                                      survey_id=invitation.survey_id, survey=invitation.survey,
                                      customer_id=invitation.customer_id, touchpoint=invitation.touchpoint,
                                      channel=invitation.channel, created_at=now)
            session.add(response)
        response.answers, response.language, response.updated_at = answers, language, now
        if invitation.started_at is None:
            invitation.started_at = now
        invitation.status = "started"


def feedback_row(survey: SurveyDefinition, response_id: str, answers: dict[str, Any], *, customer_id: str | None,
                 touchpoint: str, channel: str, language: str, at: datetime,
                 invitation: SurveyInvitation | None = None) -> dict[str, Any]:
    """The ``feedback`` row of a response, in the data contract (scores in their columns)."""
    row: dict[str, Any] = {"response_id": response_id, "customer_id": customer_id, "timestamp": at.isoformat(),
                           "touchpoint": touchpoint or None, "channel": channel or None, "survey": survey.name,
                           "respondent": "employee" if survey.kind == "employee" else "customer",
                           "language": language}
    metrics: dict[str, float] = {}
    properties: dict[str, Any] = {"source": "journeylens-survey", "survey_kind": survey.kind}
    comments: list[str] = []
    for question in survey.questions:
        value = answers.get(question.id)
        if value is None:
            continue
        if question.type in ("nps", "csat", "ces") and question.type not in row:
            row[question.type] = value
        elif question.type in ("nps", "csat", "ces", "rating"):
            metrics[question.id] = float(value)
        elif question.type == "text":
            comments.append(str(value))
        else:
            properties[question.id] = value
    if comments:
        row["comment"] = "\n\n".join(comments)
    if metrics:
        row["metrics"] = metrics
    if invitation is not None:
        properties |= {"invitation_id": invitation.id, "event_id": invitation.event_id,
                       "event_at": invitation.event_at.isoformat() if invitation.event_at else None,
                       "stage": invitation.stage or None}
    row["properties"] = properties
    return row


def complete(db: AppDatabase, opened: Opened, answers: dict[str, Any], language: str,
             land: Callable[[dict[str, Any]], None]) -> str:
    """Land the answer durably with ``land(row)``, then mark it completed; returns the response id."""
    assert opened.survey is not None and opened.survey_id is not None
    now = utcnow()
    invitation = opened.invitation
    response_id = response_id_of(invitation.id) if invitation is not None else f"r_{uuid.uuid4().hex}"
    row = feedback_row(opened.survey, response_id, answers, customer_id=invitation.customer_id if invitation else None,
                       touchpoint=opened.touchpoint, channel=invitation.channel if invitation else "qr",
                       language=language, at=now, invitation=invitation)
    land(row)  # durable before anything says "done"
    with db.session() as session:
        response = session.get(SurveyResponse, response_id)
        if response is None:
            response = SurveyResponse(id=response_id, invitation_id=invitation.id if invitation else None,
                                      survey_id=opened.survey_id, survey=opened.survey.name,
                                      customer_id=invitation.customer_id if invitation else None,
                                      touchpoint=opened.touchpoint, channel=row["channel"] or "", created_at=now)
            session.add(response)
        response.answers, response.language, response.status = answers, language, "completed"
        response.updated_at = response.completed_at = now
        if invitation is not None:
            stored = session.get(SurveyInvitation, invitation.id)
            if stored is not None:
                stored.status, stored.answered_at = "completed", now
                stored.started_at = stored.started_at or now
    return response_id
