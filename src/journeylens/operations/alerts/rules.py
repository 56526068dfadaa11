"""Alert rules as code: YAML validated by pydantic, every problem reported with its line.

Three kinds, chosen by ``on:``:

* ``response`` — judged on each new feedback row (``when:`` tests, see
  :mod:`journeylens.operations.alerts.conditions`); may open a ``ticket:``;
* ``metric`` — a CX metric (NPS, CSAT, CES) or a behaviour share (conversion, churn, drop-off
  at a funnel step) of a touchpoint / stage / channel / cohort / survey over a rolling
  window, judged with its 95 % interval against ``below:`` / ``above:`` or the journey target;
* ``anomaly`` — event volume or a metric departing from the same weekday and hours of the
  previous weeks, with Benjamini–Hochberg false discovery control across the series watched.

>>> rule = parse_rule('''
... name: branch-detractor
... on: response
... when: {touchpoint: "Branch visit", nps: "<= 6"}
... ticket: {team: branch, owner: agent@bank.example, priority: high, first_contact_hours: 24, close_hours: 72}
... notify:
...   - webhook: https://hooks.example.com/cx
... ''')
>>> rule.kind, rule.ticket.close_hours, rule.notify[0].channel
('response', 72.0, 'webhook')
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any, Literal, NoReturn

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from journeylens.errors import JourneyLensError, NotFoundError
from journeylens.journeys import yamlmarks
from journeylens.journeys.validation import pydantic_issues
from journeylens.operations.alerts.behaviour import BEHAVIOUR_METRICS, LOWER_IS_BETTER
from journeylens.operations.alerts.conditions import Test, parse_when

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$"
CHANNELS: tuple[str, ...] = ("webhook", "email", "slack", "teams")
ASSIGNMENTS: tuple[str, ...] = ("owner", "touchpoint_owner", "round_robin", "team")
SUBJECT_FIELDS: tuple[str, ...] = ("touchpoint", "stage", "channel", "cohort", "survey")


class RuleError(JourneyLensError):
    """A rule file that cannot be used; ``details["errors"]`` lists ``{line, column, path, message}``."""

    code = "alert_rule_invalid"
    http_status = 422


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Notify(_Model):
    """One notification target: ``{webhook: URL}``, ``{email: ADDRESS}``, ``{slack: URL}``, ``{teams: URL}``."""

    webhook: str | None = None
    email: str | None = None
    slack: str | None = None
    teams: str | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Notify:
        given = [c for c in CHANNELS if getattr(self, c)]
        if len(given) != 1:
            raise ValueError(f"give exactly one of {', '.join(CHANNELS)}")
        target = getattr(self, given[0])
        if given[0] != "email" and not str(target).startswith(("http://", "https://")):
            raise ValueError(f"{given[0]} needs an http(s) URL, got {target!r}")
        if given[0] == "email" and "@" not in str(target):
            raise ValueError(f"email needs an address, got {target!r}")
        return self

    @property
    def channel(self) -> str:
        return next(c for c in CHANNELS if getattr(self, c))

    @property
    def target(self) -> str:
        return str(getattr(self, self.channel))


class Escalation(_Model):
    """What happens before and at an SLA breach (run by the worker's escalation job)."""

    warn_before_hours: float = Field(default=2.0, ge=0)
    notify: bool = True
    raise_priority: bool = True
    reassign_to: str | None = Field(default=None, description="'lead' (the team's lead) or a user's email.")


class TicketSpec(_Model):
    """The ticket a response rule opens."""

    team: str | None = None
    owner: str | None = None
    assign: Literal["owner", "touchpoint_owner", "round_robin", "team"] | None = None
    priority: Literal["low", "normal", "high", "urgent"] = "normal"
    first_contact_hours: float | None = Field(default=None, gt=0)
    close_hours: float | None = Field(default=None, gt=0)
    business_hours: bool = False
    escalation: Escalation = Field(default_factory=Escalation)
    follow_up_survey: str | None = None
    notify_owner: bool = Field(default=False, description="Also email the ticket's owner when it opens.")

    @model_validator(mode="after")
    def _routable(self) -> TicketSpec:
        if self.assign == "owner" and not self.owner:
            raise ValueError("assign: owner needs 'owner' (a user's email)")
        if self.assign in ("round_robin", "team") and not self.team:
            raise ValueError(f"assign: {self.assign} needs 'team'")
        if (self.first_contact_hours and self.close_hours
                and self.first_contact_hours > self.close_hours):
            raise ValueError("first_contact_hours cannot be later than close_hours")
        return self

    @property
    def assignment(self) -> str:
        """``assign`` or, when left out: the owner, else the touchpoint's owner (then the team)."""
        return self.assign or ("owner" if self.owner else "touchpoint_owner")


class _RuleBase(_Model):
    name: Annotated[str, Field(pattern=NAME_PATTERN)]
    description: str = ""
    notify: list[Notify] = Field(default_factory=list)
    cooldown_minutes: float = Field(default=0, ge=0)

    @property
    def kind(self) -> str:
        """``response``, ``metric`` or ``anomaly`` (the ``on:`` key)."""
        return str(self.on)  # type: ignore[attr-defined]  # every subclass declares `on`


class ResponseRule(_RuleBase):
    on: Literal["response"]
    when: dict[str, Any] = Field(min_length=1)
    ticket: TicketSpec | None = None

    @field_validator("when")
    @classmethod
    def _tests_parse(cls, when: dict[str, Any]) -> dict[str, Any]:
        parse_when(when)
        return when

    @property
    def tests(self) -> list[Test]:
        return parse_when(self.when)


class MetricRule(_RuleBase):
    on: Literal["metric"]
    metric: str = Field(min_length=1)
    where: dict[str, str] = Field(default_factory=dict)
    below: float | None = None
    above: float | None = None
    target: bool = Field(default=False, description="Judge against the journey definition's target.")
    judge: Literal["interval", "estimate"] = "interval"
    window_days: float = Field(default=7, gt=0)
    min_responses: int = Field(default=10, ge=1, description="Fewest answers to judge a CX metric on.")
    min_customers: int = Field(default=30, ge=1, description="Fewest customers to judge conversion, churn or "
                                                             "drop_off on.")
    step: str | None = Field(default=None, description="drop_off: the funnel step customers drop off at.")
    next_step: str | None = Field(default=None, description="drop_off: the step they should reach next "
                                                            "(default: where customers usually go next).")

    @field_validator("where")
    @classmethod
    def _subject_fields(cls, where: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(where) - set(SUBJECT_FIELDS))
        if unknown:
            raise ValueError(f"unknown subject field(s) {unknown}; allowed: {', '.join(SUBJECT_FIELDS)}")
        return where

    @model_validator(mode="after")
    def _one_threshold(self) -> MetricRule:
        given = sum(x is not None for x in (self.below, self.above)) + int(self.target)
        if given != 1:
            raise ValueError("give exactly one of below, above or target: true")
        if self.metric == "drop_off" and not self.step:
            raise ValueError("metric drop_off needs 'step' (the funnel step customers drop off at)")
        if self.metric != "drop_off" and (self.step or self.next_step):
            raise ValueError("'step' and 'next_step' belong to metric drop_off")
        if self.metric in LOWER_IS_BETTER and self.target:
            raise ValueError(f"{self.metric} is lower-is-better and journey targets are higher-is-better: "
                             "use above: (or below:)")
        if self.metric in BEHAVIOUR_METRICS and self.where.get("survey"):
            raise ValueError(f"{self.metric} is measured on events, not on a survey: drop where.survey")
        return self

    @property
    def behaviour(self) -> bool:
        """Conversion, churn or drop-off (measured on events, ``n`` = customers)."""
        return self.metric in BEHAVIOUR_METRICS


class AnomalyRule(_RuleBase):
    on: Literal["anomaly"]
    series: str = Field(default="events", description="'events' (volume) or a metric (nps, csat, ces, …).")
    where: dict[str, str] = Field(default_factory=dict)
    by: Literal["touchpoint", "channel", "survey"] | None = None
    window_hours: float = Field(default=24, gt=0, lt=24 * 7)
    since_hour: int | None = Field(default=None, ge=0, le=23, description="Judge from this hour of today (UTC).")
    baseline_weeks: int = Field(default=4, ge=2, le=26)
    direction: Literal["down", "up", "both"] = "both"
    min_change: float = Field(default=0.2, ge=0, description="Smallest relative change worth an alert.")
    fdr: float = Field(default=0.05, gt=0, lt=1)
    min_baseline: float = Field(default=5, ge=0)

    @field_validator("where")
    @classmethod
    def _subject_fields(cls, where: dict[str, str]) -> dict[str, str]:
        return MetricRule._subject_fields(where)  # type: ignore[operator]


Rule = ResponseRule | MetricRule | AnomalyRule
_KINDS: dict[str, type[_RuleBase]] = {"response": ResponseRule, "metric": MetricRule, "anomaly": AnomalyRule}


def _model_at(kind: type[BaseModel]) -> Any:
    sections: dict[str, type[BaseModel]] = {"ticket": TicketSpec, "notify": Notify}

    def model_at(loc: Sequence[str | int]) -> type[BaseModel] | None:
        if not loc:
            return kind
        if tuple(loc[:2]) == ("ticket", "escalation"):
            return Escalation
        return sections.get(str(loc[0]))

    return model_at


def parse_rule(text: str, *, source: str = "<rule>") -> Rule:
    """Validate one rule's YAML; raise :class:`RuleError` listing every problem with its line."""
    root, data, issues = yamlmarks.read_document(text)
    if root is None and issues:  # a YAML syntax error
        _raise(source, issues)
    if not isinstance(data, dict):
        _raise(source, [*issues, yamlmarks.Issue(1, 1, "", "a rule is a mapping with at least 'name' and 'on'")])
    if True in data:  # YAML 1.1 reads a bare `on:` key as the boolean true
        data["on"] = data.pop(True)
    kind = data.get("on")
    if kind not in _KINDS:
        line, column = yamlmarks.locate(root, ("on",))
        _raise(source, [*issues, yamlmarks.Issue(line, column, "on",
                                                 f"'on' must be one of {', '.join(_KINDS)}, got {kind!r}")])
    model = _KINDS[str(kind)]
    try:
        rule = model.model_validate(data)
    except ValidationError as exc:
        _raise(source, [*issues, *pydantic_issues(root, exc, _model_at(model))])
    if issues:
        _raise(source, issues)
    return rule  # type: ignore[return-value]


def load_rule(path: str | Path) -> tuple[Rule, str]:
    """Read and validate a rule file; returns the rule and its text."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise NotFoundError(f"Cannot read rule file {path}: {exc.strerror}.") from exc
    return parse_rule(text, source=str(path)), text


def rule_from_definition(definition: dict[str, Any]) -> Rule:
    """A stored rule (its validated JSON) back as a model."""
    return _KINDS[definition["on"]].model_validate(definition)  # type: ignore[return-value]


def to_definition(rule: Rule) -> dict[str, Any]:
    return rule.model_dump(mode="json", exclude_none=True)


def _raise(source: str, issues: list[yamlmarks.Issue]) -> NoReturn:
    message, details = yamlmarks.problems("Alert rule", source, issues)
    raise RuleError(message, details=details)
