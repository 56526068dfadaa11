"""The condition language of response rules: ``when: {field: test, ...}`` (all must hold).

A test is written the way a CX person would say it::

    nps: "<= 6"                  # comparison: <, <=, >, >=, ==, !=
    touchpoint: "Branch visit"   # a plain value: equal
    channel: [branch, phone]     # a list: one of
    comment: {contains: fraud}   # contains / any / all (keywords, case-insensitive),
                                 # matches (regex), in, between: [low, high], missing: true
    customer.value: ">= 10000"   # a customer attribute (customers column or attributes JSON)

Field names are resolved by :data:`FIELDS` (score columns, touchpoint, stage, channel,
survey, language, respondent, comment, sentiment, ``customer.*``, ``metrics.*``,
``properties.*``); :func:`register_field` adds one (a plugin's aspects, for example), so the
language grows by field name without changing the parser.

>>> test = parse_test("nps", "<= 6")
>>> test.holds(5), test.holds(7), test.holds(None)
(True, False, False)
>>> parse_test("comment", {"any": ["fraud", "scam"]}).holds("Is this a SCAM?")
True
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

_COMPARISON = re.compile(r"^\s*(<=|>=|==|!=|<|>)\s*(.+?)\s*$")
_OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "<": lambda a, b: a < b, "<=": lambda a, b: a <= b, ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b, "==": lambda a, b: a == b, "!=": lambda a, b: a != b,
}
MAPPING_TESTS: tuple[str, ...] = ("contains", "any", "all", "matches", "in", "between", "missing", "not")

#: A resolver reads a field's value from one response row plus its context
#: (``customer``: the customer's attributes, ``stage``: the touchpoint's stage, ``sentiment``).
Resolver = Callable[[Mapping[str, Any], Mapping[str, Any]], Any]


def _column(name: str) -> Resolver:
    return lambda row, ctx: row.get(name)


FIELDS: dict[str, Resolver] = {
    **{name: _column(name) for name in ("nps", "csat", "ces", "touchpoint", "channel", "survey",
                                        "language", "respondent", "comment", "customer_id", "response_id")},
    "stage": lambda row, ctx: ctx.get("stage"),
    "sentiment": lambda row, ctx: ctx.get("sentiment"),
}
#: Prefixes of open-ended fields: ``customer.segment``, ``metrics.effort``, ``properties.branch``.
PREFIXES: tuple[str, ...] = ("customer.", "metrics.", "properties.")
#: Fields whose value the context must compute (the evaluator only does that work when asked).
CONTEXT_FIELDS: frozenset[str] = frozenset({"stage", "sentiment"})


def register_field(name: str, resolver: Resolver) -> None:
    """Let rules test ``name`` (for example ``aspect``) with values ``resolver(row, ctx)`` returns."""
    FIELDS[name] = resolver


def known_field(name: str) -> bool:
    return name in FIELDS or any(name.startswith(p) and len(name) > len(p) for p in PREFIXES)


def resolve(name: str, row: Mapping[str, Any], ctx: Mapping[str, Any]) -> Any:
    """The value of field ``name`` for one response."""
    if name in FIELDS:
        return FIELDS[name](row, ctx)
    prefix, _, key = name.partition(".")
    if prefix == "customer":
        return (ctx.get("customer") or {}).get(key)
    return (row.get(f"_{prefix}") or {}).get(key)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number


def _same(a: Any, b: Any) -> bool:
    na, nb = _number(a), _number(b)
    if na is not None and nb is not None:
        return na == nb
    return a is not None and str(a) == str(b)


def _keywords(value: Any) -> list[str]:
    return [str(v).lower() for v in (value if isinstance(value, list) else [value])]


@dataclass(frozen=True)
class Test:
    """One field's test: ``op`` is a comparison, ``eq``, ``in`` or a mapping test name."""

    field: str
    op: str
    operand: Any

    def holds(self, value: Any) -> bool:
        op, operand = self.op, self.operand
        if op == "missing":
            return (value is None or value == "") == bool(operand)
        if op == "not":
            return not operand.holds(value)
        if value is None:
            return False
        if op in _OPERATORS:
            a, b = _number(value), _number(operand)
            if a is not None and b is not None:
                return _OPERATORS[op](a, b)
            return op in ("==", "!=") and _OPERATORS[op](str(value), str(operand))
        if op == "eq":
            return _same(value, operand)
        if op == "in":
            return any(_same(value, o) for o in operand)
        if op == "between":
            number = _number(value)
            return number is not None and operand[0] <= number <= operand[1]
        text = str(value).lower()
        if op in ("contains", "any"):
            return any(word in text for word in operand)
        if op == "all":
            return all(word in text for word in operand)
        if op == "matches":
            return operand.search(str(value)) is not None
        raise AssertionError(op)

    def describe(self) -> str:
        if self.op == "eq":
            return f"{self.field} = {self.operand!r}"
        if self.op in _OPERATORS:
            return f"{self.field} {self.op} {self.operand}"
        if self.op == "matches":
            return f"{self.field} matches {self.operand.pattern!r}"
        if self.op == "not":
            return f"not ({self.operand.describe()})"
        return f"{self.field} {self.op} {self.operand!r}"


def parse_test(field: str, spec: Any) -> Test:
    """A :class:`Test` from its YAML value; ``ValueError`` says what is allowed."""
    if isinstance(spec, str):
        match = _COMPARISON.match(spec)
        if match:
            operand: Any = match.group(2).strip("'\"")
            number = _number(operand)
            return Test(field, match.group(1), number if number is not None else operand)
        return Test(field, "eq", spec)
    if isinstance(spec, bool | int | float):
        return Test(field, "eq", spec)
    if isinstance(spec, list):
        if not spec:
            raise ValueError("an empty list matches nothing; give at least one value")
        return Test(field, "in", list(spec))
    if isinstance(spec, Mapping):
        return _mapping_test(field, spec)
    raise ValueError(f"cannot read a test from {spec!r}; use a value, a list, '<= 6' or {{contains: word}}")


def _mapping_test(field: str, spec: Mapping[str, Any]) -> Test:
    if len(spec) != 1:
        raise ValueError(f"write one test per field, one of: {', '.join(MAPPING_TESTS)}")
    (op, operand), = spec.items()
    if op not in MAPPING_TESTS:
        raise ValueError(f"unknown test {op!r}; allowed: {', '.join(MAPPING_TESTS)}, or a comparison such as '<= 6'")
    if op in ("contains", "any", "all"):
        return Test(field, op, _keywords(operand))
    if op == "matches":
        try:
            return Test(field, op, re.compile(str(operand), re.IGNORECASE))
        except re.error as exc:
            raise ValueError(f"invalid regular expression {operand!r}: {exc}") from None
    if op == "in":
        return parse_test(field, list(operand) if isinstance(operand, Sequence) and not isinstance(operand, str)
                          else [operand])
    if op == "between":
        bounds = [_number(v) for v in operand] if isinstance(operand, list) else []
        if len(bounds) != 2 or None in bounds:
            raise ValueError("between needs two numbers: [low, high]")
        return Test(field, op, (min(bounds), max(bounds)))  # type: ignore[type-var]
    if op == "not":
        return Test(field, op, parse_test(field, operand))
    return Test(field, op, bool(operand))


def parse_when(when: Mapping[str, Any]) -> list[Test]:
    """Every test of a ``when:`` mapping (``ValueError`` names the field at fault)."""
    tests = []
    for field, spec in when.items():
        if not known_field(field):
            raise ValueError(f"unknown field {field!r}; allowed: {', '.join(sorted(FIELDS))}, "
                             f"or {', '.join(p + 'NAME' for p in PREFIXES)}")
        tests.append(parse_test(field, spec))
    return tests
