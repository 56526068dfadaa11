"""In-memory sources: pandas / polars DataFrames, Arrow tables and record-batch readers,
and lists of Python dicts (the HTTP collector)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from journeylens.errors import InputError
from journeylens.ingest.readers.base import Reader, columns_from_values, with_row_numbers


def is_frame(source: Any) -> bool:
    """True for the in-memory objects :class:`FrameReader` accepts."""
    module = type(source).__module__.split(".")[0]
    return isinstance(source, pa.Table | pa.RecordBatch | pa.RecordBatchReader) or (
        module in ("pandas", "polars") and hasattr(source, "columns"))


@dataclass
class FrameReader(Reader):
    source: Any = None
    batch_rows: int = 250_000

    def __iter__(self) -> Iterator[pa.RecordBatch]:
        next_row = 1
        yielded = False
        for batch in self._batches():
            yield with_row_numbers(batch, next_row)
            next_row += batch.num_rows
            yielded = True
        if not yielded:
            yield with_row_numbers(self._schema().empty_table(), 1)

    def _batches(self) -> Iterator[pa.RecordBatch]:
        source = self.source
        if isinstance(source, pa.RecordBatchReader):
            yield from source
            return
        table = _to_arrow(source)
        yield from table.to_batches(max_chunksize=self.batch_rows)

    def _schema(self) -> pa.Schema:
        if isinstance(self.source, pa.RecordBatchReader):
            return self.source.schema
        return _to_arrow(self.source).schema


def _to_arrow(source: Any) -> pa.Table:
    if isinstance(source, pa.Table):
        return source
    if isinstance(source, pa.RecordBatch):
        return pa.Table.from_batches([source])
    module = type(source).__module__.split(".")[0]
    if module == "polars":
        return source.to_arrow()  # type: ignore[no-any-return]
    if module == "pandas":
        try:
            return _nested_as_json(pa.Table.from_pandas(source, preserve_index=False), source)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            # Mixed-type object columns: build column by column, keeping odd ones as text.
            records = source.to_dict(orient="records")
            return pa.Table.from_batches([columns_from_values(records, [str(c) for c in source.columns])])
    raise InputError(f"Cannot ingest a {type(source).__name__}; pass a file path, a pandas or polars "
                     "DataFrame, or a pyarrow Table / RecordBatchReader.")


def _nested_as_json(table: pa.Table, frame: Any) -> pa.Table:
    """pandas columns of dicts / lists as JSON text, each value as it was: Arrow would make
    them structs whose fields are the union of every row's keys (``{}`` turning into
    ``{"a": null}``, or into a struct without fields that DuckDB refuses)."""
    for i, field in enumerate(table.schema):
        if pa.types.is_struct(field.type) or pa.types.is_map(field.type) or pa.types.is_list(field.type):
            values = [None if v is None or v is pa.NA else _json_text(v) for v in frame.iloc[:, i].tolist()]
            table = table.set_column(i, field.name, pa.array(values, type=pa.json_()))
    return table


def _json_text(value: Any) -> str | None:
    if isinstance(value, float) and value != value:
        return None
    if hasattr(value, "tolist"):  # numpy arrays (pandas keeps lists as arrays sometimes)
        value = value.tolist()
    return json.dumps(value, ensure_ascii=False, default=str)


@dataclass
class RecordsReader(Reader):
    """A list of dicts (one per row), for example from the HTTP collector."""

    records: Sequence[dict[str, Any]] = ()
    batch_rows: int = 250_000

    def __iter__(self) -> Iterator[pa.RecordBatch]:
        columns: dict[str, None] = {}
        for record in self.records:
            columns.update(dict.fromkeys(record))
        names = [c for c in columns if c != "_row"]
        for start in range(0, max(len(self.records), 1), self.batch_rows):
            chunk = self.records[start:start + self.batch_rows]
            yield with_row_numbers(columns_from_values(chunk, names), start + 1)
