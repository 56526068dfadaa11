"""JSON Lines reader (``.jsonl`` / ``.ndjson``, ``.gz`` too), streamed in chunks of lines.

Each chunk is parsed by pyarrow's JSON reader; when that fails (a line that is not JSON, or
a field whose type changes between lines) or the chunk is not dense and flat (a key some
lines lack, a null, a nested object), the chunk is re-read line by line: lines that
are not a JSON object are quarantined as ``invalid_json`` with their line number, a field
with mixed types is kept as text, nested objects as JSON, and each line's JSON catch-all
holds only the keys that line had. ``_row`` is the 1-based line number.
"""

from __future__ import annotations

import gzip
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import pyarrow as pa
import pyarrow.json as pajson

from journeylens.errors import InputError
from journeylens.ingest import reasons
from journeylens.ingest.readers.base import Reader, RejectedRow, columns_from_values, with_rows


@dataclass
class JsonLinesReader(Reader):
    path: Path = Path()
    encoding: str = "utf-8"
    batch_rows: int = 250_000

    def __iter__(self) -> Iterator[pa.RecordBatch]:
        lines: list[str] = []
        numbers: list[int] = []
        with _open_text(self.path, self.encoding) as handle:
            try:
                for number, line in enumerate(handle, start=1):
                    if line.strip():
                        lines.append(line)
                        numbers.append(number)
                    if len(lines) >= self.batch_rows:
                        yield self._parse(lines, numbers)
                        lines, numbers = [], []
            except UnicodeDecodeError as exc:
                raise InputError(f"{self.name}: cannot decode the file as {self.encoding!r} ({exc}); "
                                 "pass the right encoding.") from exc
        if lines:
            yield self._parse(lines, numbers)

    def _parse(self, lines: list[str], numbers: list[int]) -> pa.RecordBatch:
        try:
            table = pajson.read_json(io.BytesIO("".join(lines).encode("utf-8")))
            if table.num_rows == len(lines) and _dense_and_flat(table):
                batch = table.combine_chunks().to_batches()[0]
                return with_rows(batch, pa.array(numbers, type=pa.int64()))
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            pass
        return self._parse_slowly(lines, numbers)

    def _parse_slowly(self, lines: list[str], numbers: list[int]) -> pa.RecordBatch:
        good: list[dict[str, Any]] = []
        rows: list[int] = []
        for line, number in zip(lines, numbers, strict=True):
            try:
                value = json.loads(line)
            except json.JSONDecodeError as exc:
                self.rejected.append(RejectedRow(number, line.rstrip("\r\n"), reasons.INVALID_JSON, str(exc)))
                continue
            if not isinstance(value, dict):
                self.rejected.append(RejectedRow(number, line.rstrip("\r\n"), reasons.INVALID_JSON,
                                                 f"a JSON {type(value).__name__}, not an object"))
                continue
            good.append(value)
            rows.append(number)
        names = list(dict.fromkeys(k for record in good for k in record if k != "_row"))
        batch = columns_from_values(good, names)
        return with_rows(batch, pa.array(rows, type=pa.int64()))


def _dense_and_flat(table: pa.Table) -> bool:
    """Whether pyarrow's columns say exactly what the lines said: no nulls (pyarrow cannot
    tell a missing key from a null one) and no objects (struct fields are every line's keys)."""
    def nested(typ: pa.DataType) -> bool:
        return pa.types.is_struct(typ) or pa.types.is_map(typ) or (
            pa.types.is_list(typ) and nested(typ.value_type))
    return all(column.null_count == 0 and not nested(column.type) for column in table.columns)


def _open_text(path: Path, encoding: str) -> IO[str]:
    if str(path).endswith(".gz"):
        return gzip.open(path, "rt", encoding=encoding, newline="")
    return open(path, encoding=encoding, newline="")
