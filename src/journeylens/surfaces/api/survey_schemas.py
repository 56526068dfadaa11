"""The shapes of the survey answers (``/v1/surveys*``), closed like the others in
:mod:`journeylens.surfaces.api.response_schemas`; a survey's definition and trigger are the
definition's own pydantic models.
"""

from __future__ import annotations

from typing import Any

from journeylens.operations.surveys.definition import SurveyDefinition, Trigger
from journeylens.surfaces.api.response_schemas import Number, Scalar, Shape


class SurveySummary(Shape):
    name: str
    title: str | None = None
    kind: str
    status: str
    version: int
    languages: list[str]
    questions: int
    deliver: list[str]
    trigger: Trigger | None = None
    updated_at: str | None = None


class SurveyCreated(SurveySummary):
    warnings: list[str]


class ExitReason(Shape):
    reason: str
    label: str | None
    count: int
    journeys: dict[str, int]


class SurveyDetail(SurveySummary):
    definition: SurveyDefinition
    stats: SurveyStatsRow | None = None
    exit_reasons: list[ExitReason] | None = None


class SurveyCheck(Shape):
    name: str
    valid: bool
    kind: str
    warnings: list[str] = []


class SurveyStatsRow(Shape):
    survey: str
    kind: str
    status: str
    triggered: int
    suppressed: dict[str, int]
    invited: int
    sent: int
    opened: int
    started: int
    completed: int
    response_rate: Number = None
    anonymous_completed: int
    by_channel: list[dict[str, Scalar]]


class Suppression(Shape):
    survey: str | None = None
    touchpoint: str | None = None
    channel: str | None = None
    reason: str
    detail: str | None = None
    at: str | None = None


class OptOut(Shape):
    customer_id: str
    opted_out: bool
    new: bool


#: A survey definition sent as YAML text (``POST /v1/surveys``, ``/v1/surveys/check``).
SURVEY_YAML_BODY: dict[str, Any] = {"requestBody": {"required": True, "description": "The survey definition (YAML, "
                                                    "UTF-8; see docs/surveys.md).",
                                    "content": {"application/yaml": {"schema": {"type": "string"}}}}}
