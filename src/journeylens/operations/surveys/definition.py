"""Surveys as code: the YAML a company keeps under version control, validated by pydantic.

Errors carry line numbers (like the journey definition); a touchpoint the warehouse has not
seen yet is a *warning* (:func:`warehouse_warnings`), since a new programme starts empty.

>>> s = parse_survey('''
... name: branch-visit
... title: {en: "How was your visit?", nl: "Hoe was uw bezoek?"}
... trigger: {touchpoint: "Branch visit", channel: branch, delay_minutes: 0, sample: 1.0, expires_days: 14}
... fatigue: {days: 30}
... questions:
...   - {id: nps, type: nps, text: {en: "How likely are you to recommend us to a friend?"}, required: true}
...   - {id: why, type: text, text: {en: "What is the main reason for your score?"}, show_if: "nps <= 6"}
... deliver: [link]
... ''')
>>> s.languages, s.questions[1].visible({"nps": 9}), s.questions[1].visible({"nps": 3})
(['en', 'nl'], False, True)
"""

from __future__ import annotations

import fnmatch
import operator
import re
from datetime import date
from pathlib import Path
from typing import Any, Literal, NoReturn

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from journeylens.errors import JourneyLensError
from journeylens.journeys import yamlmarks
from journeylens.operations.calendar import BusinessCalendar, check_holidays

QUESTION_TYPES = ("nps", "csat", "ces", "rating", "single", "multiple", "text")
SCALES: dict[str, tuple[int, int]] = {"nps": (0, 10), "csat": (1, 5), "ces": (1, 7)}
DELIVERY_CHANNELS = ("link", "email", "sms", "webhook", "qr")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_OPS = {"<=": operator.le, ">=": operator.ge, "<": operator.lt, ">": operator.gt, "==": operator.eq,
        "!=": operator.ne}
_SHOW_IF = re.compile(r"^\s*([A-Za-z_][\w-]*)\s*(<=|>=|==|!=|<|>)\s*(-?\d+(?:\.\d+)?)\s*$")


Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
DeliveryName = Literal["link", "email", "sms", "webhook", "qr"]
_WORKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri")
_LINK_ONLY: tuple[DeliveryName, ...] = ("link",)


class SurveyDefinitionError(JourneyLensError):
    code = "survey_definition_invalid"


Text = dict[str, str]


def _texts(value: Any) -> Any:
    return {"en": value} if isinstance(value, str) else value


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BusinessHours(_Model):
    """Invitations are only sent inside this window (a trigger outside it waits for the next opening)."""

    start: str = Field(default="09:00", pattern=r"^\d{2}:\d{2}$")
    end: str = Field(default="17:00", pattern=r"^\d{2}:\d{2}$")
    days: list[Weekday] = Field(default_factory=lambda: list(_WORKDAYS))
    timezone: str = "UTC"
    holidays: str | None = Field(default=None, description="No sends on this country's public holidays (NL, "
                                                            "US-CA, …).")
    closed: list[date] = Field(default_factory=list, description="The company's own days off.")

    @model_validator(mode="after")
    def _ordered(self) -> BusinessHours:
        if self.start >= self.end:
            raise ValueError(f"business hours start ({self.start}) must be before end ({self.end})")
        check_holidays(self.holidays)
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {self.timezone!r} (use an IANA name such as 'Europe/Amsterdam')") \
                from exc
        return self


    def calendar(self) -> BusinessCalendar:
        """The same hours as the shared business calendar (tickets' SLA clocks use it too)."""
        return BusinessCalendar(days=tuple(self.days), start=self.start, end=self.end, timezone=self.timezone,
                                holidays=self.holidays, closed=tuple(self.closed))


class Trigger(_Model):
    """Which arriving events invite a customer, and when the invitation goes and expires."""

    touchpoint: str | None = Field(default=None, description="touchpoint name or glob pattern ('App *')")
    outcome: Literal["churn", "conversion"] | None = None
    channel: list[str] | None = None
    stage: list[str] | None = None
    cohort: str | None = None
    delay_minutes: int = Field(default=0, ge=0)
    sample: float = Field(default=1.0, ge=0.0, le=1.0)
    business_hours: BusinessHours | None = None
    expires_days: int = Field(default=14, ge=1)

    @field_validator("channel", "stage", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @model_validator(mode="after")
    def _something_to_match(self) -> Trigger:
        if not self.touchpoint and not self.outcome:
            raise ValueError("a trigger needs 'touchpoint' (name or pattern) or 'outcome' (churn/conversion)")
        return self

    def matches_touchpoint(self, name: str) -> bool:
        if self.touchpoint is None:
            return False
        if any(ch in self.touchpoint for ch in "*?["):
            return fnmatch.fnmatchcase(name, self.touchpoint)
        return name == self.touchpoint


class Option(_Model):
    id: str = Field(pattern=r"^[\w-]{1,64}$")
    text: Text

    _texts = field_validator("text", mode="before")(_texts)


class Question(_Model):
    id: str = Field(pattern=r"^[A-Za-z_][\w-]{0,63}$")
    type: Literal["nps", "csat", "ces", "rating", "single", "multiple", "text"]
    text: Text
    required: bool = False
    show_if: str | None = None
    options: list[Option] = Field(default_factory=list)
    scale: tuple[int, int] | None = None
    low_label: Text | None = None
    high_label: Text | None = None

    _texts = field_validator("text", "low_label", "high_label", mode="before")(_texts)

    @field_validator("options", mode="before")
    @classmethod
    def _plain_options(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [{"id": re.sub(r"[^\w-]+", "-", v.strip().lower()).strip("-") or "option", "text": {"en": v}}
                    if isinstance(v, str) else v for v in value]
        return value

    @field_validator("show_if")
    @classmethod
    def _condition(cls, value: str | None) -> str | None:
        if value is not None and not _SHOW_IF.match(value):
            raise ValueError(f"show_if {value!r} must read '<question id> <op> <number>' with op one of "
                             "<=, <, >=, >, ==, != (for example 'nps <= 6')")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Question:
        if self.type in ("single", "multiple") and len(self.options) < 2:
            raise ValueError(f"a {self.type}-choice question needs at least two options")
        if self.type not in ("single", "multiple") and self.options:
            raise ValueError(f"options are only for single/multiple questions, not {self.type}")
        if self.scale is not None and (self.type != "rating" or self.scale[0] >= self.scale[1]):
            raise ValueError("scale: [low, high] is only for rating questions, with low < high")
        return self

    @property
    def bounds(self) -> tuple[int, int] | None:
        """Allowed score range (``None`` for choice and text questions)."""
        if self.type == "rating":
            return self.scale or (1, 5)
        return SCALES.get(self.type)

    def condition(self) -> tuple[str, str, float] | None:
        if self.show_if is None:
            return None
        match = _SHOW_IF.match(self.show_if)
        assert match is not None
        return match.group(1), match.group(2), float(match.group(3))

    def visible(self, answers: dict[str, Any]) -> bool:
        """Whether to ask this question given the answers so far (hidden while its condition's answer is missing)."""
        condition = self.condition()
        if condition is None:
            return True
        ref, op, number = condition
        value = answers.get(ref)
        if value is None or value == "":
            return False
        try:
            return bool(_OPS[op](float(value), number))
        except (TypeError, ValueError):
            return False


class Fatigue(_Model):
    days: int = Field(default=30, ge=0, description="once per customer per this many days, for this survey")


class Reminder(_Model):
    after_days: float = Field(gt=0)


class SurveyDefinition(_Model):
    """One survey: texts per language, questions, trigger, fatigue, delivery channels."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")
    title: Text
    kind: Literal["customer", "exit", "employee"] = "customer"
    default_language: str = "en"
    intro: Text | None = None
    thank_you: Text = Field(default_factory=lambda: {"en": "Thank you for your answer!"})
    trigger: Trigger | None = None
    fatigue: Fatigue = Field(default_factory=Fatigue)
    reminder: Reminder | None = None
    questions: list[Question] = Field(min_length=1)
    deliver: list[DeliveryName] = Field(default_factory=lambda: list(_LINK_ONLY))
    webhook_url: str | None = None

    _texts = field_validator("title", "intro", "thank_you", mode="before")(_texts)

    @model_validator(mode="after")
    def _cross_checks(self) -> SurveyDefinition:
        seen: set[str] = set()
        for question in self.questions:
            if question.id in seen:
                raise ValueError(f"question id {question.id!r} appears twice")
            condition = question.condition()
            if condition is not None and condition[0] not in seen:
                raise ValueError(f"question {question.id!r}: show_if refers to {condition[0]!r}, which is not an "
                                 "earlier question")
            seen.add(question.id)
        if self.kind != "employee" and self.trigger is None and "qr" not in self.deliver:
            raise ValueError("a customer or exit survey needs a 'trigger' (or 'deliver: [qr]' for in-store use)")
        if self.kind == "exit" and not any(q.type == "single" for q in self.questions):
            raise ValueError("an exit survey needs a single-choice question listing the reasons for leaving")
        if "webhook" in self.deliver and not self.webhook_url:
            raise ValueError("'deliver: [webhook]' needs 'webhook_url' (the company's own provider)")
        if self.default_language not in self.title:
            raise ValueError(f"the title has no text in the default language {self.default_language!r}")
        return self

    @property
    def languages(self) -> list[str]:
        """Languages the survey is offered in: the title's, default language first."""
        rest = sorted(lang for lang in self.title if lang != self.default_language)
        return [self.default_language, *rest]

    def text(self, texts: Text | None, language: str) -> str:
        """``texts`` in ``language``, else the default language, else any."""
        if not texts:
            return ""
        return texts.get(language) or texts.get(self.default_language) or next(iter(texts.values()))

    def question(self, question_id: str) -> Question | None:
        return next((q for q in self.questions if q.id == question_id), None)

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)


def parse_survey(text: str, *, source: str = "<survey>") -> SurveyDefinition:
    """Validate survey YAML; raise :class:`SurveyDefinitionError` listing every problem with its line."""
    root, data, issues = yamlmarks.read_document(text)
    if root is None and issues:  # a YAML syntax error
        _raise(source, issues)
    if not isinstance(data, dict):
        _raise(source, [*issues, yamlmarks.Issue(1, 1, "", "a survey is a mapping with at least 'name', 'title' "
                                                           "and 'questions'")])
    try:
        survey = SurveyDefinition.model_validate(data)
    except ValidationError as exc:
        _raise(source, [*issues, *_issues(root, exc)])
    if issues:
        _raise(source, issues)
    return survey


def _issues(root: Any, exc: ValidationError) -> list[yamlmarks.Issue]:
    out: list[yamlmarks.Issue] = []
    for error in exc.errors():
        loc = tuple(p for p in error["loc"] if not (isinstance(p, str) and ("[" in p or p in {"str", "list"})))
        kind = error["type"]
        if kind == "extra_forbidden":
            message = f"unknown field {loc[-1]!r}"
        elif kind == "missing":
            message = f"missing required field {loc[-1]!r}"
        else:
            message = str(error["msg"]).removeprefix("Value error, ")
        line, column = yamlmarks.locate(root, loc, key_node=kind == "extra_forbidden")
        out.append(yamlmarks.Issue(line, column, yamlmarks.format_path(loc), message))
    return out


def _raise(source: str, issues: list[yamlmarks.Issue]) -> NoReturn:
    message, details = yamlmarks.problems("Survey", source, issues)
    raise SurveyDefinitionError(message, details=details)


def load_survey(path: str | Path) -> tuple[SurveyDefinition, str]:
    """Read and validate a survey YAML file; returns the survey and its text."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SurveyDefinitionError(f"Cannot read survey file {path}: {exc.strerror}.") from exc
    return parse_survey(text, source=str(path)), text


def warehouse_warnings(survey: SurveyDefinition, touchpoints: set[str], channels: set[str]) -> list[str]:
    """Warnings (not errors) against what the warehouse has seen so far."""
    warnings: list[str] = []
    trigger = survey.trigger
    if trigger is None or trigger.touchpoint is None:
        return warnings
    if not any(trigger.matches_touchpoint(name) for name in touchpoints):
        warnings.append(f"no event with touchpoint {trigger.touchpoint!r} has arrived yet; the survey is sent "
                        "once one does")
    for channel in trigger.channel or ():
        if channel not in channels:
            warnings.append(f"no event in channel {channel!r} has arrived yet")
    return warnings
