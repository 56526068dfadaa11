"""The journey definition ("journey map as code"): stages, touchpoints, cohorts, outcomes.

A definition is a YAML file kept under version control. :func:`load_definition` validates it
and reports every problem with its line and column; :func:`touchpoint_rules` turns it into
Ibis expressions that label events with stage, channel, category and criticality.

>>> d = parse_definition('''
... name: Support
... stages: [{name: Intake}, {name: Resolution}]
... touchpoints:
...   - {name: Ticket opened, stage: Intake, channel: web}
...   - {name: Resolved, match: ["Resolve*"], stage: Resolution, channel: call_centre, critical: true}
... ''')
>>> [t.stage for t in d.touchpoints], d.touchpoints[0].online, d.touchpoints[1].online
(['Intake', 'Resolution'], True, False)
>>> d.rule_for("Resolve ticket").name
'Resolved'
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any, Literal, NoReturn

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir
import pyarrow as pa
import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic import model_validator as _model_validator

from journeylens.errors import JourneyDefinitionError, NotFoundError
from journeylens.journeys import yamlmarks
from journeylens.journeys.patterns import is_glob, match_expr, matches_name
from journeylens.journeys.validation import cross_check, pydantic_issues

Category = Literal["brand-owned", "partner-owned", "customer-owned", "social/external"]
CATEGORIES: tuple[str, ...] = ("brand-owned", "partner-owned", "customer-owned", "social/external")

#: Channels understood without a ``channels:`` entry (names are compared lower-case, with
#: spaces and hyphens read as underscores). Any other channel is free text of unknown kind.
ONLINE_CHANNELS = frozenset({"web", "website", "app", "mobile", "mobile_app", "email", "e_mail", "chat",
                             "social", "sms", "push", "internet", "online", "portal", "messaging"})
OFFLINE_CHANNELS = frozenset({"store", "shop", "branch", "call_centre", "call_center", "phone",
                              "telephone", "post", "letter", "desk", "counter", "field", "in_person"})

_COLLECT = "journeylens_collect_issues"


def channel_key_expr(channel: ir.StringValue) -> ir.StringValue:
    """A channel name in normal form (trimmed, lower case, spaces and hyphens as underscores), the
    Ibis twin of :func:`channel_kind`'s key. Spaces are trimmed by a regular expression: Ibis's
    ``strip()`` becomes ``TRIM(' \\t\\n\\r\\v\\f' FROM …)`` on Spark, whose string literals read
    ``\\v`` and ``\\f`` as the letters v and f ("tv" → "t")."""
    return channel.re_replace(r"^\s+|\s+$", "").lower().replace(" ", "_").replace("-", "_")


def channel_kind(channel: str | None) -> bool | None:
    """``True`` for a known online channel, ``False`` for a known offline one, else ``None``.

    >>> channel_kind("Web"), channel_kind("call centre"), channel_kind("carrier pigeon")
    (True, False, None)
    """
    if not channel:
        return None
    key = channel.strip().lower().replace(" ", "_").replace("-", "_")
    if key in ONLINE_CHANNELS:
        return True
    if key in OFFLINE_CHANNELS:
        return False
    return None


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


#: The scale a built-in metric's target is written on (CSAT: the satisfied share 0..1, which
#: may also be written as a percentage such as ``"80 %"``).
TARGET_SCALES: dict[str, tuple[float, float, str]] = {
    "csat": (0.0, 1.0, "a share 0–1 such as 0.8, or a percentage such as '80 %'"),
    "nps": (-100.0, 100.0, "a score from −100 to 100"),
    "ces": (1.0, 7.0, "a mean on the 1–7 scale"),
}


def _target_value(metric: str, raw: Any) -> Any:
    if isinstance(raw, str) and raw.strip().endswith("%"):
        if metric != "csat":
            raise ValueError(f"only a CSAT target may be written as a percentage; {metric} targets are "
                             f"{TARGET_SCALES.get(metric, (0, 0, 'plain numbers'))[2]}")
        try:
            return float(raw.strip()[:-1].strip()) / 100
        except ValueError:
            raise ValueError(f"csat target {raw!r} is not a percentage such as '80 %'") from None
    return raw


def _targets(value: Any) -> Any:
    """Percentages read, built-in metrics checked against their scale (a CSAT target of 80
    would silently mark every touchpoint missed)."""
    if not isinstance(value, dict):
        return value
    out = {metric: _target_value(str(metric), raw) for metric, raw in value.items()}
    for metric, number in out.items():
        low, high, scale = TARGET_SCALES.get(str(metric), (-math.inf, math.inf, ""))
        if isinstance(number, int | float) and not isinstance(number, bool) and not low <= number <= high:
            raise ValueError(f"{metric} target {number:g} is outside its scale; write {scale}")
    return out


Targets = Annotated[dict[str, float], BeforeValidator(_targets)]


class Stage(_Model):
    """One stage of the journey, in order (``stage_order`` is the 1-based position)."""

    name: str = Field(min_length=1)
    description: str = ""
    targets: Targets = Field(default_factory=dict)


class Touchpoint(_Model):
    """A rule that maps one or more event names to a touchpoint of a stage."""

    name: str = Field(min_length=1)
    match: list[str] = Field(default_factory=list)
    regex: str | None = None
    stage: str
    channel: str | None = None
    online: bool | None = None
    category: Category = "brand-owned"
    critical: bool = False
    owner: str | None = None
    description: str = ""
    targets: Targets = Field(default_factory=dict)

    @field_validator("match", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @_model_validator(mode="before")
    @classmethod
    def _derive_online(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("online") is None and isinstance(data.get("channel"), str):
            return {**data, "online": channel_kind(data["channel"])}
        return data

    def _rule(self) -> dict[str, Any]:
        """``match``/``regex``, or the touchpoint's own name (exactly) when neither is set."""
        if self.match or self.regex:
            return {"match": self.match, "regex": self.regex}
        return {"match": (), "regex": None, "exact": (self.name,)}

    def matches(self, event_name: str) -> bool:
        """Does an event called ``event_name`` belong to this touchpoint?"""
        return matches_name(event_name, **self._rule())

    def match_expr(self, event_col: ir.StringValue) -> ir.BooleanValue:
        """The same test as :meth:`matches`, as an Ibis expression."""
        return match_expr(event_col, **self._rule())


class Cohort(_Model):
    """A named group of customers. Every condition given must hold (AND):

    - ``attribute`` + ``equals`` / ``in``: a column of the ``customers`` table;
    - ``channels``: ``online-only`` / ``offline-only`` / ``blended`` over the customer's events;
    - ``performed``: the customer has an event of that touchpoint;
    - ``first_channel``: the channel of the customer's first event.
    """

    name: str = Field(min_length=1)
    description: str = ""
    attribute: str | None = None
    equals: str | int | float | bool | None = None
    in_: list[str | int | float | bool] | None = Field(default=None, alias="in")
    channels: Literal["online-only", "offline-only", "blended"] | None = None
    performed: str | None = None
    first_channel: str | None = None

    @_model_validator(mode="after")
    def _well_formed(self) -> Cohort:
        if self.attribute is not None and (self.equals is None) == (self.in_ is None):
            raise ValueError("an attribute rule needs exactly one of 'equals' or 'in'")
        if self.attribute is None and (self.equals is not None or self.in_ is not None):
            raise ValueError("'equals' and 'in' need 'attribute' (the customers column to compare)")
        if not any([self.attribute, self.channels, self.performed, self.first_channel]):
            raise ValueError("a cohort needs a rule: attribute (+ equals/in), channels, performed or first_channel")
        return self


class Outcomes(_Model):
    """Touchpoints that count as an outcome of the journey."""

    conversion: list[str] = Field(default_factory=list)
    churn: list[str] = Field(default_factory=list)


class JourneySettings(_Model):
    episode_gap_minutes: int | None = Field(default=None, ge=1)


class JourneyDefinition(_Model):
    """A whole journey definition (see ``docs/journey-definition.md``)."""

    name: str = Field(min_length=1)
    version: str = "1"
    description: str = ""
    stages: list[Stage] = Field(min_length=1)
    touchpoints: list[Touchpoint] = Field(default_factory=list)
    cohorts: list[Cohort] = Field(default_factory=list)
    outcomes: Outcomes = Field(default_factory=Outcomes)
    channels: dict[str, Literal["online", "offline"]] = Field(default_factory=dict)
    settings: JourneySettings = Field(default_factory=JourneySettings)

    @field_validator("version", mode="before")
    @classmethod
    def _version_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value

    @_model_validator(mode="after")
    def _cross_checks(self, info: ValidationInfo) -> JourneyDefinition:
        if info.context and info.context.get(_COLLECT):
            return self  # parse_definition reports these with line numbers
        issues = list(cross_check(self))
        if issues:
            raise ValueError("; ".join(f"{yamlmarks.format_path(loc)}: {msg}" for loc, msg in issues))
        return self

    # --- lookups ------------------------------------------------------------------
    @property
    def stage_names(self) -> list[str]:
        return [s.name for s in self.stages]

    def stage_order(self, stage: str) -> int:
        """1-based position of ``stage``."""
        try:
            return self.stage_names.index(stage) + 1
        except ValueError:
            raise NotFoundError(f"No stage {stage!r}; stages: {', '.join(self.stage_names)}.") from None

    def touchpoint(self, name: str) -> Touchpoint:
        for tp in self.touchpoints:
            if tp.name == name:
                return tp
        raise NotFoundError(f"No touchpoint {name!r} in journey {self.name!r}; "
                            f"touchpoints: {', '.join(t.name for t in self.touchpoints)}.")

    def rule_for(self, event_name: str) -> Touchpoint | None:
        """The first touchpoint rule (file order) matching ``event_name``."""
        return next((tp for tp in self.touchpoints if tp.matches(event_name)), None)

    def is_online(self, channel: str | None) -> bool | None:
        """Online/offline kind of a channel: the ``channels:`` map first, then the known names."""
        if channel is not None and channel in self.channels:
            return self.channels[channel] == "online"
        return channel_kind(channel)

    # --- expressions --------------------------------------------------------------
    def touchpoint_expr(self, name: str, event_col: ir.StringValue) -> ir.BooleanValue:
        """Is an event (by its touchpoint name) one of touchpoint ``name``'s events?"""
        return self.touchpoint(name).match_expr(event_col)

    def outcome_expr(self, kind: Literal["conversion", "churn"], event_col: ir.StringValue) -> ir.BooleanValue:
        """Is an event an outcome of ``kind``? (``False`` everywhere when none is declared.)"""
        names = getattr(self.outcomes, kind)
        test: ir.BooleanValue = ibis.literal(False)
        for name in names:
            test = test | self.touchpoint_expr(name, event_col)
        return test

    def online_expr(self, channel_col: ir.StringValue) -> ir.BooleanValue:
        """Ibis boolean: is the channel online (null when its kind is unknown)?"""
        kinds = {**{c: True for c in ONLINE_CHANNELS}, **{c: False for c in OFFLINE_CHANNELS}}
        key = channel_key_expr(channel_col)
        branches: list[tuple[ir.BooleanValue, ir.BooleanValue]] = [
            (channel_col == raw, ibis.literal(kind == "online")) for raw, kind in self.channels.items()]
        branches.append((key.isin([k for k, v in kinds.items() if v]), ibis.literal(True)))
        branches.append((key.isin([k for k, v in kinds.items() if not v]), ibis.literal(False)))
        return ibis.cases(*branches, else_=ibis.null(dt.boolean))

    # --- serialisation ------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True, exclude_none=True, exclude_defaults=False)

    def to_yaml(self) -> str:
        """The definition as YAML (defaults left out, so it stays short to edit)."""
        data = self.model_dump(mode="json", by_alias=True, exclude_none=True, exclude_defaults=True)
        data = {"name": self.name, "version": self.version, **data}
        data["stages"] = [{"name": s.name, **_without(s, "name")} for s in self.stages]
        data["touchpoints"] = [{"name": t.name, **_without(t, "name")} for t in self.touchpoints]
        return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)


def _without(model: BaseModel, field: str) -> dict[str, Any]:
    dumped = model.model_dump(mode="json", by_alias=True, exclude_none=True, exclude_defaults=True)
    dumped.pop(field, None)
    return dumped


RULE_COLUMNS: dict[str, dt.DataType] = {
    "touchpoint_rule": dt.string, "stage": dt.string, "stage_order": dt.int32,
    "channel": dt.string, "category": dt.string, "critical": dt.boolean,
}


def exact_rule_names(definition: JourneyDefinition) -> dict[str, str] | None:
    """Event name → touchpoint rule name when every rule matches exact names only (first rule
    wins, as in :func:`touchpoint_rules`); ``None`` when a rule has a glob or a regex."""
    names: dict[str, str] = {}
    for tp in definition.touchpoints:
        rule = tp._rule()
        if rule["regex"] is not None or any(is_glob(m) for m in rule["match"]):
            return None
        for name in [*rule.get("exact", ()), *rule["match"]]:
            names.setdefault(name, tp.name)
    return names


def _rule_values(definition: JourneyDefinition) -> dict[str, list[Any]]:
    """Per column of :data:`RULE_COLUMNS`, its value for each touchpoint rule in order."""
    rules = definition.touchpoints
    return {
        "touchpoint_rule": [tp.name for tp in rules],
        "stage": [tp.stage for tp in rules],
        "stage_order": [definition.stage_order(tp.stage) for tp in rules],
        "channel": [tp.channel for tp in rules],
        "category": [tp.category for tp in rules],
        "critical": [tp.critical for tp in rules],
    }


def touchpoint_rules(definition: JourneyDefinition, event_col: ir.StringValue) -> dict[str, ir.Value]:
    """Ibis expressions labelling each event by its touchpoint name; first matching rule wins.

    Returns ``{touchpoint_rule, stage, stage_order, channel, category, critical}``, all null
    for an event no rule matches. Use it as ``events.mutate(**touchpoint_rules(d, events.touchpoint))``.
    """
    rules = definition.touchpoints
    if not rules:
        return {col: ibis.null(typ) for col, typ in RULE_COLUMNS.items()}
    index = ibis.cases(*((tp.match_expr(event_col), i) for i, tp in enumerate(rules)),
                       else_=ibis.null(dt.int32))
    values = _rule_values(definition)
    out: dict[str, ir.Value] = {}
    for col, typ in RULE_COLUMNS.items():
        branches = [(i, ibis.literal(v, type=typ)) for i, v in enumerate(values[col]) if v is not None]
        out[col] = index.cases(*branches, else_=ibis.null(typ)) if branches else ibis.null(typ)
    return out


def rule_labels(definition: JourneyDefinition, names: ir.Table, column: str) -> ir.Table:
    """``names`` with each rule column of :data:`RULE_COLUMNS` for ``names[column]`` (first
    matching rule wins; null when none does), the same labels as :func:`touchpoint_rules`.

    The matching rule's number is computed once and its values are looked up in a small
    table, instead of one ``CASE`` per column over that number: with a few dozen rules the
    nested ``CASE`` expressions took DuckDB seconds to plan, whatever the number of rows.
    """
    rules = definition.touchpoints
    if not rules:
        return names.mutate(**{col: ibis.null(typ) for col, typ in RULE_COLUMNS.items()})
    index = ibis.cases(*((tp.match_expr(names[column]), i) for i, tp in enumerate(rules)),
                       else_=ibis.null(dt.int32))
    values = _rule_values(definition)
    table = pa.table({"_rule_index": pa.array(range(len(rules)), pa.int32()),
                      **{f"_rule_{col}": pa.array(values[col], RULE_COLUMNS[col].to_pyarrow())
                         for col in RULE_COLUMNS}})
    lookup = ibis.memtable(table)
    numbered = names.mutate(_rule_number=index)
    joined = numbered.left_join(lookup, numbered._rule_number == lookup._rule_index)
    return joined.select(*[numbered[c] for c in names.columns],
                         **{col: joined[f"_rule_{col}"] for col in RULE_COLUMNS})


def parse_definition(text: str, *, source: str = "<journey>") -> JourneyDefinition:
    """Validate YAML text; raise :class:`JourneyDefinitionError` listing every problem with its line."""
    root, data, issues = yamlmarks.read_document(text)
    if root is None and issues:  # a YAML syntax error
        _raise(source, issues)
    if not isinstance(data, dict):
        _raise(source, [*issues, yamlmarks.Issue(1, 1, "", "a journey definition is a mapping with at "
                                                           "least 'name' and 'stages'")])
    try:
        definition = JourneyDefinition.model_validate(data, context={_COLLECT: True})
    except ValidationError as exc:
        _raise(source, [*issues, *pydantic_issues(root, exc)])
    issues.extend(yamlmarks.Issue(*yamlmarks.locate(root, loc), yamlmarks.format_path(loc), msg)
                  for loc, msg in cross_check(definition))
    if issues:
        _raise(source, issues)
    return definition


def _raise(source: str, issues: list[yamlmarks.Issue]) -> NoReturn:
    message, details = yamlmarks.problems("Journey definition", source, issues)
    raise JourneyDefinitionError(message, details=details)


def load_definition(path: str | Path) -> JourneyDefinition:
    """Read and validate a journey YAML file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise JourneyDefinitionError(f"Cannot read journey definition {path}: {exc.strerror}.") from exc
    return parse_definition(text, source=str(path))
