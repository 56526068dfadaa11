"""Readers: one small module per source format, all with the contract of :mod:`.base`."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

from journeylens.errors import InputError, UnsupportedFormatError
from journeylens.ingest.readers.base import Reader, RejectedRow
from journeylens.ingest.readers.csv import CsvReader
from journeylens.ingest.readers.frames import FrameReader, RecordsReader, is_frame
from journeylens.ingest.readers.jsonl import JsonLinesReader
from journeylens.ingest.readers.parquet import ParquetReader
from journeylens.ingest.readers.xes import XesReader

__all__ = ["FORMATS", "Reader", "RecordsReader", "RejectedRow", "detect_format", "open_reader"]

#: File formats by extension (a trailing ``.gz`` is allowed for the text formats).
FORMATS: Final = {".csv": "csv", ".tsv": "csv", ".txt": "csv", ".parquet": "parquet", ".pq": "parquet",
                  ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".xes": "xes"}


def detect_format(path: Path) -> str:
    """The format of ``path`` from its extension.

    >>> detect_format(Path("log.xes.gz")), detect_format(Path("events.csv"))
    ('xes', 'csv')
    """
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    fmt = FORMATS.get(suffixes[-1]) if suffixes else None
    if fmt is None:
        raise UnsupportedFormatError(
            f"Cannot tell the format of {path.name!r} from its extension; use one of "
            f"{', '.join(sorted(FORMATS))} (optionally .gz) or pass format= csv|parquet|jsonl|xes.")
    return fmt


def open_reader(source: Any, *, name: str | None, fmt: str | None, delimiter: str | None,
                encoding: str, batch_rows: int) -> tuple[Reader, str]:
    """The reader for ``source`` (a path or an in-memory object) and its format name."""
    if is_frame(source):
        return FrameReader(name or "frame", source=source, batch_rows=batch_rows), "frame"
    if not isinstance(source, str | Path):
        raise InputError(f"Cannot ingest a {type(source).__name__}; pass a file path, a pandas or polars "
                         "DataFrame, or a pyarrow Table / RecordBatchReader.")
    path = Path(source)
    if not path.is_file():
        raise InputError(f"No such file: {path}")
    fmt = (fmt or detect_format(path)).lower()
    label = name or path.name
    if fmt == "csv":
        sep = delimiter or ("\t" if ".tsv" in [s.lower() for s in path.suffixes] else None)
        return CsvReader(label, path=path, delimiter=sep, encoding=encoding, batch_rows=batch_rows), fmt
    if fmt == "parquet":
        return ParquetReader(label, path=path, batch_rows=batch_rows), fmt
    if fmt == "jsonl":
        return JsonLinesReader(label, path=path, encoding=encoding, batch_rows=batch_rows), fmt
    if fmt == "xes":
        return XesReader(label, path=path, batch_rows=batch_rows), fmt
    raise UnsupportedFormatError(f"Unknown format {fmt!r}; use csv, parquet, jsonl or xes.")
