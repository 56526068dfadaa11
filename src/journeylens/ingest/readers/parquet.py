"""Parquet reader: streamed batch by batch (never the whole file in memory)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from journeylens.errors import InputError
from journeylens.ingest.readers.base import Reader, with_row_numbers


@dataclass
class ParquetReader(Reader):
    path: Path = Path()
    batch_rows: int = 250_000

    def __iter__(self) -> Iterator[pa.RecordBatch]:
        try:
            file = pq.ParquetFile(self.path)
        except (pa.ArrowInvalid, OSError) as exc:
            raise InputError(f"{self.name}: not a readable Parquet file ({exc}).") from exc
        next_row = 1
        yielded = False
        for batch in file.iter_batches(batch_size=self.batch_rows, use_threads=True):
            yield with_row_numbers(batch, next_row)
            next_row += batch.num_rows
            yielded = True
        if not yielded:
            yield with_row_numbers(file.schema_arrow.empty_table(), 1)
