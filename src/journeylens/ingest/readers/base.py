"""The contract every reader follows.

A reader is an iterable of ``pyarrow.RecordBatch`` es in source order, each with a ``_row``
column (int64, the 1-based row number in the source). Rows that cannot even be parsed
(a CSV line with the wrong number of fields, a JSON Lines line that is not JSON) are not
yielded: the reader appends a :class:`RejectedRow` to ``rejected`` instead, so the pipeline
can quarantine them. ``side_tables`` holds rows for other tables that the source carries
(XES trace attributes become ``customers`` rows).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

ROW_COL = "_row"


@dataclass(frozen=True)
class RejectedRow:
    """A row the reader could not parse, kept for the quarantine."""

    row: int
    raw: str
    reason: str
    detail: str


@dataclass
class Reader:
    """Base of the readers: ``name`` (lineage ``_source``), results collected while iterating."""

    name: str
    rejected: list[RejectedRow] = field(default_factory=list)
    side_tables: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def __iter__(self) -> Iterator[pa.RecordBatch]:  # pragma: no cover - abstract
        raise NotImplementedError


def with_row_numbers(batch: pa.RecordBatch | pa.Table, first_row: int) -> pa.RecordBatch:
    """Append ``_row`` = first_row, first_row + 1, ... (a column named ``_row`` is replaced)."""
    if isinstance(batch, pa.Table):
        batch = batch.combine_chunks().to_batches()[0] if batch.num_rows else _empty_batch(batch.schema)
    rows = pa.array(range(first_row, first_row + batch.num_rows), type=pa.int64())
    return with_rows(batch, rows)


def with_rows(batch: pa.RecordBatch, rows: pa.Array) -> pa.RecordBatch:
    names = [n for n in batch.schema.names if n != ROW_COL]
    arrays = [batch.column(n) for n in names]
    return pa.RecordBatch.from_arrays([*arrays, rows], names=[*names, ROW_COL])


def _empty_batch(schema: pa.Schema) -> pa.RecordBatch:
    return pa.RecordBatch.from_arrays([pa.array([], type=f.type) for f in schema], schema=schema)


def columns_from_values(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> pa.RecordBatch:
    """Build a batch from Python dicts, one column at a time: a column whose values do not
    share one Arrow type is kept as text (JSON for nested values) rather than failing."""
    arrays = []
    for name in columns:
        values = [r.get(name) for r in rows]
        if any(isinstance(v, dict | list) for v in values):
            # Nested values stay nested: JSON text typed as JSON (DuckDB embeds it as such).
            arrays.append(pa.array([_as_json(v) for v in values], type=pa.json_()))
            continue
        try:
            arrays.append(pa.array(values))
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
            arrays.append(pa.array([_as_text(v) for v in values], type=pa.string()))
    return pa.RecordBatch.from_arrays(arrays, names=list(columns))


def _as_json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False, default=str)


def _as_text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, default=str)
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    return str(value)
