"""The contract every reader follows.

A reader is an iterable of ``pyarrow.RecordBatch`` es in source order, each with a ``_row``
column (int64, the 1-based row number in the source). Rows that cannot even be parsed
(a CSV line with the wrong number of fields, a JSON Lines line that is not JSON) are not
yielded: the reader appends a :class:`RejectedRow` to ``rejected`` instead, so the pipeline
can quarantine them. ``side_tables`` holds rows for other tables that the source carries
(XES trace attributes become ``customers`` rows).

Readers that build batches from Python dicts (records, XES, irregular JSON Lines) add an
``__jl_absent`` column (list of column names, null when the record had them all), so a
key a record did not have is left out of its JSON catch-all instead of showing as null.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

ROW_COL = "_row"
#: Per row, the batch columns the source record did not have (dict-built batches only).
ABSENT_COL = "__jl_absent"


@dataclass(frozen=True)
class RejectedRow:
    """A row the reader could not parse, kept for the quarantine."""

    row: int
    raw: str
    reason: str
    detail: str


@dataclass
class Reader(ABC):
    """Base of the readers: ``name`` (lineage ``_source``), results collected while iterating."""

    name: str
    rejected: list[RejectedRow] = field(default_factory=list)
    side_tables: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    @abstractmethod
    def __iter__(self) -> Iterator[pa.RecordBatch]:
        """Yield record batches with a ``_row`` column; append unparseable rows to ``rejected``."""


def with_row_numbers(batch: pa.RecordBatch | pa.Table, first_row: int) -> pa.RecordBatch:
    """Append ``_row`` = first_row, first_row + 1, ... (a column named ``_row`` is replaced)."""
    if isinstance(batch, pa.Table):
        batch = batch.combine_chunks().to_batches()[0] if batch.num_rows else _empty_batch(batch.schema)
    rows = pa.array(np.arange(first_row, first_row + batch.num_rows, dtype=np.int64))
    return with_rows(batch, rows)


def with_rows(batch: pa.RecordBatch, rows: pa.Array) -> pa.RecordBatch:
    names = [n for n in batch.schema.names if n != ROW_COL]
    arrays = [batch.column(n) for n in names]
    return pa.RecordBatch.from_arrays([*arrays, rows], names=[*names, ROW_COL])


def _empty_batch(schema: pa.Schema) -> pa.RecordBatch:
    return pa.RecordBatch.from_arrays([pa.array([], type=f.type) for f in schema], schema=schema)


def columns_from_values(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> pa.RecordBatch:
    """Build a batch from Python dicts, one column at a time: a column whose values do not
    share one Arrow type (or holds nested values) is kept as JSON, each value as it was, so
    every value can be judged on its own later (:mod:`journeylens.ingest.scalars`).

    A record that lacks some of ``columns`` gets their names in :data:`ABSENT_COL` (a
    record's own ``None`` is a value, not an absence).
    """
    arrays = []
    for name in columns:
        values = [r.get(name) for r in rows]
        if not any(isinstance(v, dict | list) for v in values):
            try:
                arrays.append(pa.array(values))
                continue
            except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
                pass
        # Mixed or nested values: JSON text typed as JSON (DuckDB embeds it as such).
        arrays.append(pa.array([_as_json(v) for v in values], type=pa.json_()))
    names = [n for n in columns if n != ABSENT_COL]
    arrays = [a for a, n in zip(arrays, columns, strict=True) if n != ABSENT_COL]
    absent = [None if len(r) >= len(names) and all(n in r for n in names) else [n for n in names if n not in r]
              for r in rows]
    if any(a is not None for a in absent):
        arrays.append(pa.array(absent, type=pa.list_(pa.string())))
        names.append(ABSENT_COL)
    return pa.RecordBatch.from_arrays(arrays, names=names)


def json_for_empty_structs(batch: pa.RecordBatch) -> pa.RecordBatch:
    """Columns whose type holds a struct without fields (``{}`` everywhere in a chunk, which
    DuckDB cannot take) as JSON text; other columns untouched.

    >>> b = pa.RecordBatch.from_pylist([{"a": {}}])
    >>> json_for_empty_structs(b).column(0).to_pylist()
    ['{}']
    """
    if not any(_has_empty_struct(f.type) for f in batch.schema):
        return batch
    arrays = [pa.array([_as_json(v) for v in column.to_pylist()], type=pa.json_())
              if _has_empty_struct(column.type) else column for column in batch.columns]
    return pa.RecordBatch.from_arrays(arrays, names=batch.schema.names)


def _has_empty_struct(typ: pa.DataType) -> bool:
    if pa.types.is_struct(typ):
        return typ.num_fields == 0 or any(_has_empty_struct(typ.field(i).type) for i in range(typ.num_fields))
    if pa.types.is_list(typ) or pa.types.is_large_list(typ) or pa.types.is_fixed_size_list(typ):
        return _has_empty_struct(typ.value_type)
    if pa.types.is_map(typ):
        return _has_empty_struct(typ.key_type) or _has_empty_struct(typ.item_type)
    return False


def _as_json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False, default=_plain)


def _plain(value: Any) -> Any:
    """A JSON-able stand-in for values json cannot write (dates as ISO 8601, others as text)."""
    return value.isoformat() if hasattr(value, "isoformat") else str(value)
