"""Per-row judgement of the values that feed canonical columns, before the SQL sees them.

A source column may hold values of several kinds: records from the HTTP collector mix text,
numbers, booleans, arrays and objects freely, and one client's odd value must never decide
how another client's row is read. :func:`judge_columns` looks at every value of every mapped
column on its own: text stays text, numbers and (where a boolean is allowed) booleans become
their text, and a value that cannot stand for the column — an array or object, a boolean
used as an id or a time, an id with a NUL character — is set to null and named in the
row's ``_value_bad`` detail, which :mod:`.normalize` turns into the ``bad_value`` reason.
Only that row is quarantined; the others in the batch are read as if it were not there.

>>> import pyarrow as pa
>>> batch = pa.RecordBatch.from_pydict({"timestamp": pa.array(['"2025-03-01T10:00:00Z"', '[1]'],
...                                     type=pa.json_())})
>>> columns, bad = judge_columns({"timestamp": "timestamp"}, batch)
>>> columns["timestamp"].to_pylist(), bad.to_pylist()
(['2025-03-01T10:00:00Z', None], [None, 'timestamp is an array, expected one value'])
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Final

import pyarrow as pa
import pyarrow.compute as pc

#: Canonical columns that name something (an id, a touchpoint): text, never a NUL character.
ID_COLUMNS: Final = frozenset({"event_id", "customer_id", "anonymous_id", "touchpoint", "channel", "response_id",
                               "survey", "respondent", "language", "segment", "region", "plan", "currency",
                               "campaign"})
TIME_COLUMNS: Final = frozenset({"timestamp", "churn_date", "date"})
#: Columns where a boolean is a meaningful value (a flag, or a score read as 0/1).
BOOLEAN_OK: Final = frozenset({"churned", "nps", "csat", "ces", "value", "revenue", "amount"})


def _kind(value: Any) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return f"a {type(value).__name__}"


def _is_nested(typ: pa.DataType) -> bool:
    return (isinstance(typ, pa.JsonType) or pa.types.is_struct(typ) or pa.types.is_map(typ)
            or pa.types.is_list(typ) or pa.types.is_large_list(typ) or pa.types.is_fixed_size_list(typ))


def _python_values(column: pa.Array) -> list[Any]:
    if isinstance(column.type, pa.JsonType):
        return [None if text is None else json.loads(text) for text in column.storage.to_pylist()]
    return column.to_pylist()


def _one_value(target: str, value: Any) -> tuple[str | None, str | None]:
    """(text, problem) for one value of a mixed or nested column."""
    if value is None:
        return None, None
    if isinstance(value, bool):
        if target in BOOLEAN_OK:
            return ("true" if value else "false"), None
        return None, f"{target} is a boolean, expected {'a date-time' if target in TIME_COLUMNS else 'text'}"
    if isinstance(value, list | dict):
        return None, f"{target} is {_kind(value)}, expected one value"
    if target in TIME_COLUMNS and isinstance(value, int | float):
        return _epoch_text(value), None
    text = value if isinstance(value, str) else str(value)
    if target in ID_COLUMNS and "\x00" in text:
        return None, f"{target} contains a NUL character"
    return text, None


def _epoch_text(number: float) -> str:
    """An epoch number as ISO 8601 (seconds, milliseconds or microseconds by magnitude, as
    :mod:`.normalize` reads a numeric column); as plain text when it is no time at all."""
    size = abs(number)
    if math.isfinite(size) and size < 1e17:
        seconds = number if size < 1e11 else number / 1e3 if size < 1e14 else number / 1e6
        try:
            return datetime.fromtimestamp(seconds, UTC).isoformat()
        except (OverflowError, ValueError, OSError):
            pass
    return str(number)


def _judge_nested(target: str, column: pa.Array, bad: list[str | None]) -> pa.Array:
    texts: list[str | None] = []
    for i, value in enumerate(_python_values(column)):
        text, problem = _one_value(target, value)
        texts.append(text)
        if problem is not None and bad[i] is None:
            bad[i] = problem
    return pa.array(texts, type=pa.string())


def _judge_flat(target: str, column: pa.Array, bad: list[str | None]) -> pa.Array:
    """Booleans where no boolean belongs, and ids with a NUL, are nulled and named."""
    typ = column.type
    if pa.types.is_boolean(typ) and target not in BOOLEAN_OK:
        problem = f"{target} is a boolean, expected {'a date-time' if target in TIME_COLUMNS else 'text'}"
        wrong = pc.is_valid(column)
    elif (pa.types.is_string(typ) or pa.types.is_large_string(typ)) and target in ID_COLUMNS:
        problem = f"{target} contains a NUL character"
        wrong = pc.fill_null(pc.match_substring(column, "\x00"), False)
    else:
        return column
    if not pc.any(wrong).as_py():
        return column
    for i, flag in enumerate(wrong.to_pylist()):
        if flag and bad[i] is None:
            bad[i] = problem
    return pc.if_else(wrong, pa.scalar(None, type=typ), column)


def judge_columns(targets: Mapping[str, str], batch: pa.RecordBatch) -> tuple[dict[str, pa.Array], pa.Array | None]:
    """The mapped columns of ``batch`` (canonical name -> array) with unusable values nulled,
    and per row the first problem found (``None`` when every row is fine)."""
    names = set(batch.schema.names)
    bad: list[str | None] = [None] * batch.num_rows
    columns: dict[str, pa.Array] = {}
    for target, source in targets.items():
        if source not in names:
            continue
        column = batch.column(source)
        judge = _judge_nested if _is_nested(column.type) else _judge_flat
        columns[target] = judge(target, column, bad)
    problems = pa.array(bad, type=pa.string()) if any(b is not None for b in bad) else None
    return columns, problems


def metric_values(batch: pa.RecordBatch, metrics: Sequence[str]) -> tuple[list[pa.Array], pa.Array]:
    """Metric columns as float64, plus the name of the first unparseable one per row."""
    values: list[pa.Array] = []
    bad: list[str | None] = [None] * batch.num_rows
    for name in metrics:
        column = batch.column(name)
        if not _is_nested(column.type):
            try:
                values.append(pc.cast(column, pa.float64()))
                continue
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                pass
        parsed: list[float | None] = []
        for i, value in enumerate(_python_values(column)):
            try:
                if isinstance(value, list | dict):
                    raise ValueError(value)
                parsed.append(None if value is None or str(value).strip() == "" else float(value))
            except (ValueError, OverflowError):
                parsed.append(None)
                bad[i] = bad[i] or f"{name}={value!r}"
        values.append(pa.array(parsed, type=pa.float64()))
    return values, pa.array(bad, type=pa.string())


def count_valid(values: Sequence[pa.Array], n_rows: int) -> pa.Array:
    """Per row, how many of ``values`` are not null."""
    total = pa.array([0] * n_rows, type=pa.int64())
    for array in values:
        total = pc.add(total, pc.cast(pc.is_valid(array), pa.int64()))
    return total
