"""The maturity model as data: levels, dimensions, questions and evidence checks (YAML).

The shipped model lives next to this module (``model.yaml``); a company adapts a copy and
points ``JOURNEYLENS_MATURITY_MODEL`` at it. Invalid files are refused with every problem
and its line, like ``journey.yaml``.

>>> model = default_model()
>>> [d.id for d in model.dimensions]
['ownership', 'map', 'measurement', 'action', 'loop', 'culture']
>>> model.levels[5].name
'Embedded'
>>> parse_model("name: x\\nversion: '1'\\nlevels: {}\\ndimensions: []\\n")
Traceback (most recent call last):
...
journeylens.operations.maturity.framework.MaturityModelError: Maturity model <maturity model> has 2 problem(s):
  <maturity model>:3:9 (levels): levels must be exactly 1, 2, 3, 4 and 5
  <maturity model>:4:13 (dimensions): list should have at least 1 item after validation, not 0
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, NoReturn

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from journeylens.errors import JourneyLensError
from journeylens.journeys import yamlmarks
from journeylens.journeys.validation import pydantic_issues

DEFAULT_MODEL_PATH = Path(__file__).with_name("model.yaml")
LEVELS = (1, 2, 3, 4, 5)


class MaturityModelError(JourneyLensError):
    code = "maturity_model_invalid"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Level(_Model):
    name: str = Field(min_length=1)
    summary: str = Field(min_length=1)


class Question(_Model):
    """One self-assessment question, answered on 1-5; anchors describe some of the points."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    text: str = Field(min_length=1)
    anchors: dict[int, str] = Field(default_factory=dict)

    @field_validator("anchors")
    @classmethod
    def _anchor_points(cls, value: dict[int, str]) -> dict[int, str]:
        bad = sorted(k for k in value if k not in LEVELS)
        if bad:
            raise ValueError(f"anchors are points 1 to 5, not {bad}")
        return value


class Check(_Model):
    """One evidence check: a named computation (see :mod:`.checks`) required for ``level``."""

    model_config = ConfigDict(extra="allow", frozen=True)
    #: The check's own parameters (``min_share``, ``max_days``, ``table``, ...): numbers or names.
    __pydantic_extra__: dict[str, int | float | str]

    check: str = Field(min_length=1)
    level: int = Field(ge=2, le=5)

    @property
    def params(self) -> dict[str, Any]:
        return dict(self.model_extra or {})

    @model_validator(mode="after")
    def _known_check(self) -> Check:
        from journeylens.operations.maturity.checks import CHECKS, check_params

        if self.check not in CHECKS:
            raise ValueError(f"unknown check {self.check!r}; known checks: {', '.join(sorted(CHECKS))}")
        check_params(self.check, self.params)
        return self


class Dimension(_Model):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str = Field(min_length=1)
    levels: dict[int, str]
    questions: list[Question] = Field(default_factory=list)
    checks: list[Check] = Field(default_factory=list)

    @field_validator("levels")
    @classmethod
    def _five_levels(cls, value: dict[int, str]) -> dict[int, str]:
        if sorted(value) != list(LEVELS):
            raise ValueError("levels must be exactly 1, 2, 3, 4 and 5")
        return value


class MaturityModel(_Model):
    name: str = Field(min_length=1)
    version: str = Field(min_length=1)
    levels: dict[int, Level]
    dimensions: list[Dimension] = Field(min_length=1)

    @field_validator("levels")
    @classmethod
    def _five_levels(cls, value: dict[int, Level]) -> dict[int, Level]:
        if sorted(value) != list(LEVELS):
            raise ValueError("levels must be exactly 1, 2, 3, 4 and 5")
        return value

    @model_validator(mode="after")
    def _unique_ids(self) -> MaturityModel:
        dims = [d.id for d in self.dimensions]
        questions = [q.id for d in self.dimensions for q in d.questions]
        for kind, ids in (("dimension", dims), ("question", questions)):
            repeated = sorted({i for i in ids if ids.count(i) > 1})
            if repeated:
                raise ValueError(f"{kind} ids must be unique; repeated: {', '.join(repeated)}")
        return self

    def dimension(self, dimension_id: str) -> Dimension:
        for d in self.dimensions:
            if d.id == dimension_id:
                return d
        raise KeyError(dimension_id)

    def question_ids(self) -> dict[str, str]:
        """Question id → dimension id."""
        return {q.id: d.id for d in self.dimensions for q in d.questions}

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


def parse_model(text: str, *, source: str = "<maturity model>") -> MaturityModel:
    """Validate YAML text; raise :class:`MaturityModelError` listing every problem with its line."""
    root, data, issues = yamlmarks.read_document(text)
    if root is None and issues:  # a YAML syntax error
        _raise(source, issues)
    if not isinstance(data, dict):
        _raise(source, [*issues, yamlmarks.Issue(1, 1, "", "a maturity model is a mapping with "
                                                           "'name', 'version', 'levels' and 'dimensions'")])
    try:
        model = MaturityModel.model_validate(data)
    except ValidationError as exc:
        _raise(source, [*issues, *pydantic_issues(root, exc)])
    if issues:
        _raise(source, issues)
    return model


def _raise(source: str, issues: list[yamlmarks.Issue]) -> NoReturn:
    message, details = yamlmarks.problems("Maturity model", source, issues)
    raise MaturityModelError(message, details=details)


def load_model(path: str | Path | None = None) -> MaturityModel:
    """The model at ``path``, else the shipped default."""
    if path is None:
        return default_model()
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise MaturityModelError(f"Cannot read maturity model {path}: {exc.strerror}.") from exc
    return parse_model(text, source=str(path))


@lru_cache(maxsize=1)
def default_model() -> MaturityModel:
    return parse_model(DEFAULT_MODEL_PATH.read_text(encoding="utf-8"), source=DEFAULT_MODEL_PATH.name)
