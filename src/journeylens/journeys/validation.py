"""Checks of a journey definition beyond field types, and readable pydantic errors.

:func:`cross_check` yields ``(location, message)`` pairs for what pydantic cannot see on one
field: undeclared stages, duplicate names, references to unknown touchpoints, regexes that do
not compile. :func:`pydantic_issues` turns a ``ValidationError`` into line-numbered issues
that say what is allowed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError
from yaml.nodes import Node

from journeylens.journeys import yamlmarks
from journeylens.journeys.patterns import check_regex

if TYPE_CHECKING:
    from journeylens.journeys.definition import JourneyDefinition

Loc = tuple[str | int, ...]


def cross_check(d: JourneyDefinition) -> Iterator[tuple[Loc, str]]:
    """Everything that needs the whole definition to check."""
    yield from _duplicates("stages", [s.name for s in d.stages], "stage")
    yield from _duplicates("touchpoints", [t.name for t in d.touchpoints], "touchpoint")
    yield from _duplicates("cohorts", [c.name for c in d.cohorts], "cohort")
    stages = d.stage_names
    touchpoints = list(dict.fromkeys(t.name for t in d.touchpoints))
    for i, tp in enumerate(d.touchpoints):
        if tp.stage not in stages:
            yield ("touchpoints", i, "stage"), (
                f"stage {tp.stage!r} is not declared; declared stages: {_listing(stages)}")
        if tp.regex is not None and (problem := check_regex(tp.regex)):
            yield ("touchpoints", i, "regex"), f"invalid regular expression {tp.regex!r}: {problem}"
        for j, entry in enumerate(tp.match):
            if not entry:
                yield ("touchpoints", i, "match", j), "an empty pattern matches nothing; remove it"
    for i, cohort in enumerate(d.cohorts):
        if cohort.performed is not None and cohort.performed not in touchpoints:
            yield ("cohorts", i, "performed"), (
                f"touchpoint {cohort.performed!r} is not declared; declared touchpoints: {_listing(touchpoints)}")
    for kind in ("conversion", "churn"):
        for j, name in enumerate(getattr(d.outcomes, kind)):
            if name not in touchpoints:
                yield ("outcomes", kind, j), (
                    f"touchpoint {name!r} is not declared; declared touchpoints: {_listing(touchpoints)}")


def _duplicates(section: str, names: Sequence[str], what: str) -> Iterator[tuple[Loc, str]]:
    first: dict[str, int] = {}
    for i, name in enumerate(names):
        if name in first:
            yield (section, i, "name"), (
                f"duplicate {what} name {name!r} (first declared as {section}[{first[name]}]); names must be unique")
        else:
            first[name] = i


def _listing(names: Sequence[str], limit: int = 12) -> str:
    if not names:
        return "(none)"
    shown = ", ".join(repr(n) for n in names[:limit])
    return shown + (f", … ({len(names) - limit} more)" if len(names) > limit else "")


def _model_at(loc: Sequence[str | int]) -> type[BaseModel] | None:
    """The model class whose fields live at ``loc`` (for 'allowed fields' hints)."""
    from journeylens.journeys import definition as d

    sections: dict[str, type[BaseModel]] = {"stages": d.Stage, "touchpoints": d.Touchpoint,
                                            "cohorts": d.Cohort, "outcomes": d.Outcomes,
                                            "settings": d.JourneySettings}
    if not loc:
        return d.JourneyDefinition
    return sections.get(str(loc[0]))


def _allowed_fields(model: type[BaseModel]) -> str:
    return ", ".join(f.alias or name for name, f in model.model_fields.items())


ModelAt = Callable[[Sequence[str | int]], "type[BaseModel] | None"]


def _message(error: Any, model_at: ModelAt = _model_at) -> str:
    kind, loc = error["type"], tuple(error["loc"])
    if kind == "extra_forbidden":
        model = model_at(loc[:-1])
        allowed = f"; allowed fields: {_allowed_fields(model)}" if model else ""
        return f"unknown field {loc[-1]!r}{allowed}"
    if kind == "missing":
        return f"missing required field {loc[-1]!r}"
    message = str(error["msg"])
    if kind == "value_error":
        message = message.removeprefix("Value error, ")
    return message[0].lower() + message[1:] if message else kind


def pydantic_issues(root: Node | None, exc: ValidationError,
                    model_at: ModelAt = _model_at) -> Iterator[yamlmarks.Issue]:
    """Line-numbered issues from a pydantic ``ValidationError`` over the YAML's node tree
    (``model_at`` names the model whose fields live at a location, for "allowed fields" hints)."""
    seen: set[tuple[str, str]] = set()
    for error in exc.errors():
        loc = tuple(error["loc"])
        path_loc = tuple(p for p in loc if not _is_tag(p))
        message = _message(error, model_at)
        key = (yamlmarks.format_path(path_loc), message)
        if key in seen:  # one bad value of a union type fails every member; say it once
            continue
        seen.add(key)
        line, column = yamlmarks.locate(root, loc, key_node=error["type"] == "extra_forbidden")
        yield yamlmarks.Issue(line, column, key[0], message)


def _is_tag(part: str | int) -> bool:
    """pydantic inserts type tags such as ``str`` or ``list[str]`` or ``function-after[...]``."""
    return isinstance(part, str) and ("[" in part or part in {"str", "int", "float", "bool", "list"})
