"""Column mapping: which source column feeds which canonical column, and what is left over.

``mapping`` is TARGET→SOURCE (``--map customer_id=case:concept:name``). Canonical names map
themselves. Every other column is kept: in ``properties`` (events, feedback, spend) or
``attributes`` (customers) as a JSON object, and for feedback the numeric ones in
``metrics``. A source that lacks a required column fails once, up front, with
:class:`~journeylens.errors.MissingColumnsError` naming what was found and suggesting maps.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

import pyarrow as pa
import pyarrow.compute as pc

from journeylens.errors import InputError, MissingColumnsError, ParameterError
from journeylens.warehouse.schema import INPUT_TABLES, LINEAGE

#: Most columns a source may have (each is kept, in the catch-all JSON): beyond this the
#: per-row JSON and the engine's struct handling need more memory than a laptop has.
MAX_SOURCE_COLUMNS: Final = 500

#: The JSON catch-all column of each table.
EXTRA_COLUMN: Final = {"events": "properties", "feedback": "properties", "customers": "attributes",
                       "spend": "properties"}
_DERIVED: Final = {"properties", "attributes", "metrics"}
SCORES: Final = ("nps", "csat", "ces")

#: The mapping applied to XES logs unless the caller maps these targets otherwise.
XES_MAPPING: Final = {"customer_id": "case:concept:name", "touchpoint": "concept:name",
                      "timestamp": "time:timestamp"}

#: Names often used for canonical columns (for suggestions only; never applied silently).
_ALIASES: Final = {
    "customer_id": ("case:concept:name", "user_id", "userid", "customer", "customerid", "client_id", "case_id"),
    "anonymous_id": ("anonymousid", "anonymous", "device_id", "cookie_id"),
    "timestamp": ("time:timestamp", "time", "datetime", "date", "ts", "event_time", "created_at", "contactdate"),
    "touchpoint": ("concept:name", "event", "activity", "action", "event_name", "name", "page"),
    "event_id": ("messageid", "id", "message_id"),
    "date": ("day", "timestamp", "time:timestamp"),
}


def parse_mapping(pairs: Sequence[str]) -> dict[str, str]:
    """``TARGET=SOURCE`` strings (CLI ``--map``, HTTP form ``map``) as a mapping.

    >>> parse_mapping(["customer_id=case:concept:name", "timestamp=time:timestamp"])
    {'customer_id': 'case:concept:name', 'timestamp': 'time:timestamp'}
    """
    mapping: dict[str, str] = {}
    for pair in pairs:
        target, sep, source = pair.partition("=")
        if not sep or not target.strip() or not source:
            raise ParameterError(f"--map {pair!r} is not TARGET=SOURCE (e.g. --map customer_id=case:concept:name).")
        mapping[target.strip()] = source
    return mapping


def canonical_columns(table: str) -> tuple[str, ...]:
    """The columns of ``table`` a source can fill (lineage and JSON catch-alls excluded)."""
    schema = INPUT_TABLES[table]
    return tuple(n for n in schema.names if n not in LINEAGE and n not in _DERIVED)


@dataclass(frozen=True)
class ColumnPlan:
    """How the columns of one source feed one table."""

    table: str
    targets: Mapping[str, str]  # canonical column -> source column
    metric_cols: tuple[str, ...] = ()  # feedback: numeric source columns kept in ``metrics``
    mapped_sources: frozenset[str] = field(default_factory=frozenset)

    def extras(self, names: Sequence[str]) -> list[str]:
        """Source columns of a batch that go to the JSON catch-all."""
        skip = self.mapped_sources | set(self.metric_cols) | {"_row"}
        return [n for n in names if n not in skip]


def plan_columns(table: str, first: pa.RecordBatch, mapping: Mapping[str, str] | None,
                 *, source_name: str, xes: bool = False) -> ColumnPlan:
    """Resolve the mapping against the first batch; raise one clear error if unusable."""
    names = [n for n in first.schema.names if n != "_row"]
    if len(names) > MAX_SOURCE_COLUMNS:
        raise InputError(f"{source_name} has {len(names):,} columns; at most {MAX_SOURCE_COLUMNS:,} can be ingested "
                         "(every column is kept). Select the columns you need first.",
                         code="too_many_columns", details={"columns": len(names), "max": MAX_SOURCE_COLUMNS})
    canonical = canonical_columns(table)
    user = dict(mapping or {})
    unknown = sorted(set(user) - set(canonical))
    if unknown:
        raise ParameterError(f"Cannot map {', '.join(unknown)}: {table} has the columns {', '.join(canonical)}.")
    absent = {t: s for t, s in user.items() if s not in names}
    defaults = {t: s for t, s in XES_MAPPING.items() if xes and t not in user and s in names}
    targets = {c: c for c in canonical if c in names and c not in user and c not in defaults}
    targets.update(defaults)
    targets.update({t: s for t, s in user.items() if t not in absent})
    metric_cols = _metric_columns(first, names, targets) if table == "feedback" else ()
    missing = _missing_required(table, targets, metric_cols, names)
    if missing or absent:
        raise MissingColumnsError(_missing_message(table, source_name, missing, absent, names),
                                  details={"missing": missing, "found": names,
                                           "suggested_mapping": suggest_mapping(missing, names)})
    return ColumnPlan(table, targets, metric_cols, frozenset(targets.values()))


def _missing_required(table: str, targets: Mapping[str, str], metric_cols: Sequence[str],
                      names: Sequence[str]) -> list[str]:
    if table == "events":
        missing = [c for c in ("timestamp", "touchpoint") if c not in targets]
        if "customer_id" not in targets and "anonymous_id" not in targets:
            missing.insert(0, "customer_id")
        return missing
    if table == "feedback":
        missing = [] if "timestamp" in targets else ["timestamp"]
        if not metric_cols and not any(c in targets for c in (*SCORES, "comment")):
            missing.append("nps|csat|ces|comment|a numeric metric")
        return missing
    required = {"customers": ("customer_id",), "spend": ("channel", "date", "amount")}[table]
    return [c for c in required if c not in targets]


def _metric_columns(first: pa.RecordBatch, names: Sequence[str], targets: Mapping[str, str]) -> tuple[str, ...]:
    """Feedback columns that are not canonical but numeric (text columns: every value of the
    first batch parses as a number)."""
    mapped = set(targets.values())
    out = []
    for name in names:
        if name in mapped:
            continue
        column = first.column(name)
        if pa.types.is_integer(column.type) or pa.types.is_floating(column.type):
            out.append(name)
        elif pa.types.is_string(column.type) and column.null_count < len(column):
            try:
                pc.cast(column, pa.float64())
                out.append(name)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                pass
    return tuple(out)


def suggest_mapping(missing: Sequence[str], names: Sequence[str]) -> dict[str, str]:
    """Closest source column for each missing canonical column (known aliases first).

    >>> suggest_mapping(["customer_id", "touchpoint"], ["case:concept:name", "concept:name", "x"])
    {'customer_id': 'case:concept:name', 'touchpoint': 'concept:name'}
    """
    lowered = {n.lower(): n for n in names}
    out: dict[str, str] = {}
    for target in missing:
        alias = next((lowered[a] for a in _ALIASES.get(target, ()) if a in lowered and lowered[a] not in out.values()), None)
        close = difflib.get_close_matches(target, [n for n in names if n not in out.values()], n=1, cutoff=0.6)
        if alias or close:
            out[target] = alias or close[0]
    return out


def _missing_message(table: str, source: str, missing: Sequence[str], absent: Mapping[str, str],
                     names: Sequence[str]) -> str:
    parts = []
    if missing:
        parts.append(f"{source} lacks the column(s) {table} needs: {', '.join(missing)}.")
    if absent:
        parts.append("Mapped source column(s) not found: "
                     + ", ".join(f"{t}={s}" for t, s in absent.items()) + ".")
    shown = ", ".join(names[:40]) + (f", … ({len(names)} in all)" if len(names) > 40 else "")
    parts.append(f"Columns found: {shown or '(none)'}.")
    suggested = suggest_mapping([m for m in missing if "|" not in m], names)
    if suggested:
        flags = " ".join(f"--map {t}={s}" for t, s in suggested.items())
        parts.append(f"Map them, for example: {flags} (Python: mapping={suggested!r}).")
    else:
        parts.append("Map a column with --map TARGET=SOURCE (Python: mapping={'TARGET': 'SOURCE'}).")
    return " ".join(parts)
