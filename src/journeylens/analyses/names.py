"""Names a person types (funnel steps, touchpoints, stages, channels, cohorts, metrics) are
checked against the data: an unknown name is an error listing the closest known names, never
an empty result that looks like a real zero.

>>> check_names("touchpoint", ["Mobile app logn"], ["Mobile app login", "Branch visit"])
Traceback (most recent call last):
...
journeylens.errors.ParameterError: Unknown touchpoint 'Mobile app logn'; did you mean 'Mobile app login'? ...
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence

import ibis.expr.types as ir

from journeylens.errors import ParameterError

#: How many known names an error lists when nothing is close.
LISTED = 30


def close_matches(name: str, known: Iterable[str], n: int = 3) -> list[str]:
    """Up to ``n`` known names closest to ``name`` (case-insensitive, difflib ratio >= 0.5)."""
    candidates = list(dict.fromkeys(k for k in known if k is not None))
    lowered = {c.lower(): c for c in candidates}
    hits = difflib.get_close_matches(name.lower(), list(lowered), n=n, cutoff=0.5)
    contained = [c for c in candidates if name.lower() in c.lower() and c not in hits]
    return list(dict.fromkeys([lowered[h] for h in hits] + contained))[:n]


def check_names(kind: str, given: Sequence[str], known: Iterable[str]) -> None:
    """Raise :class:`ParameterError` (code ``invalid_parameter``, ``details.kind`` = ``kind``) for
    names not in ``known``, with the close matches of each in ``details.suggestions``."""
    known_list = sorted({str(k) for k in known if k is not None})
    known_set = set(known_list)
    unknown = [g for g in dict.fromkeys(given) if g not in known_set]
    if not unknown:
        return
    suggestions = {u: close_matches(u, known_list) for u in unknown}
    parts = []
    for name, near in suggestions.items():
        hint = f"did you mean {' or '.join(repr(m) for m in near)}?" if near else "nothing close"
        parts.append(f"{name!r} ({hint})" if len(unknown) > 1 else f"{name!r}; {hint}")
    shown = ", ".join(known_list[:LISTED]) + (f", … ({len(known_list)} in all)" if len(known_list) > LISTED else "")
    label = f"Unknown {kind.replace('_', ' ')}{'s' if len(unknown) > 1 else ''}"
    raise ParameterError(f"{label} {', '.join(parts)} Known: {shown or 'none'}.",
                         details={"kind": kind, "unknown": unknown, "suggestions": suggestions, "allowed": known_list[:200]})


def distinct_values(table: ir.Table, column: str) -> list[str]:
    """The distinct non-null values of a (low-cardinality) column, as strings."""
    if column not in table.columns:
        return []
    values = table.select(value=table[column].cast("string")).distinct().to_pyarrow().column("value").to_pylist()
    return [v for v in values if v is not None]


def check_column_values(table: ir.Table, column: str, given: Sequence[str] | None, kind: str | None = None) -> None:
    """:func:`check_names` against the distinct values of ``table[column]`` (no query when nothing is given)."""
    if given and column in table.columns:
        check_names(kind or column, list(given), distinct_values(table, column))
