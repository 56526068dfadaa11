"""Touchpoint name patterns: exact names, globs and regular expressions.

One touchpoint rule can map many event names. A ``match`` entry is an exact name unless it
contains a glob wildcard (``*`` any run of characters, ``?`` one character, ``[abc]`` /
``[!abc]`` a character class); a ``regex`` is a regular expression searched anywhere in the
name (anchor it with ``^``/``$``). Matching is case-sensitive; start a regex with ``(?i)`` to
ignore case.

Globs are translated to anchored regular expressions that use only syntax shared by Python
``re``, RE2 (DuckDB) and ``java.util.regex`` (Spark), so every engine matches the same names.

>>> is_glob("Resolve*"), is_glob("Closed")
(True, False)
>>> glob_to_regex("Resolve*")
'^Resolve.*$'
>>> matches_name("Resolve ticket", match=("Resolve*",), regex=None)
True
>>> matches_name("T02 Check", match=(), regex=r"^T\\d+ ")
True
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import ibis
import ibis.expr.types as ir

_GLOB_CHARS = frozenset("*?[")
_REGEX_META = frozenset(".^$+(){}|\\*?[]")


def is_glob(pattern: str) -> bool:
    """True when ``pattern`` contains a glob wildcard (``*``, ``?`` or ``[``)."""
    return any(ch in _GLOB_CHARS for ch in pattern)


def glob_to_regex(pattern: str) -> str:
    """An anchored regular expression equivalent to the glob ``pattern``.

    >>> glob_to_regex("T0? *.x")
    '^T0. .*\\\\.x$'
    >>> glob_to_regex("[!A-C]*")
    '^[^A-C].*$'
    """
    out: list[str] = ["^"]
    i, n = 0, len(pattern)
    while i < n:
        ch = pattern[i]
        if ch == "*":
            out.append(".*")
        elif ch == "?":
            out.append(".")
        elif ch == "[" and "]" in pattern[i + 2:]:
            end = pattern.index("]", i + 2)
            body = pattern[i + 1:end]
            if body.startswith("!"):
                body = "^" + body[1:]
            out.append("[" + body.replace("\\", "\\\\").replace("[", "\\[") + "]")
            i = end
        elif ch in _REGEX_META:
            out.append("\\" + ch)
        else:
            out.append(ch)
        i += 1
    out.append("$")
    return "".join(out)


def check_regex(pattern: str) -> str | None:
    """``None`` when ``pattern`` compiles, else the compiler's complaint."""
    try:
        re.compile(pattern)
    except re.error as exc:
        return str(exc)
    return None


def matches_name(name: str, *, match: Sequence[str], regex: str | None, exact: Sequence[str] = ()) -> bool:
    """Python-side matching with the same semantics as :func:`match_expr`."""
    if name in exact:
        return True
    for entry in match:
        if (re.search(glob_to_regex(entry), name) if is_glob(entry) else entry == name):
            return True
    return regex is not None and re.search(regex, name) is not None


def match_expr(column: ir.StringValue, *, match: Sequence[str], regex: str | None,
               exact: Sequence[str] = ()) -> ir.BooleanValue:
    """An Ibis boolean: does ``column`` match any exact name, glob or the regex?

    ``exact`` names are compared literally even when they contain glob characters. Exact
    names become one ``IN`` test; each glob and the regex become a regex search.
    """
    exact = [*exact, *(m for m in match if not is_glob(m))]
    tests: list[ir.BooleanValue] = []
    if exact:
        tests.append(column.isin(exact))
    tests.extend(column.re_search(glob_to_regex(m)) for m in match if is_glob(m))
    if regex is not None:
        tests.append(column.re_search(regex))
    if not tests:
        return ibis.literal(False)
    combined = tests[0]
    for test in tests[1:]:
        combined = combined | test
    return combined.fill_null(False)
