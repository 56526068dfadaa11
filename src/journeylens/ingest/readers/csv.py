"""CSV reader: ``.csv`` / ``.csv.gz`` (any delimiter, any encoding Python knows).

The file is cut into blocks that end on a record boundary (outside quotes) and each block
is parsed by pyarrow's multi-threaded CSV parser with every column read as text (nothing is
guessed, ``007`` stays ``007``; empty fields are null). When pyarrow's
``invalid_row_handler`` reports a line with the wrong number of fields, that one block is
re-read with Python's ``csv`` module so each bad line is quarantined with its exact row
number and raw text, and the good lines around it are kept.

``_row`` is the 1-based data row (the header is not counted; empty lines are skipped).
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, cast

import pyarrow as pa
import pyarrow.csv as pacsv

from journeylens.errors import InputError
from journeylens.ingest import reasons
from journeylens.ingest.readers.base import Reader, RejectedRow, with_row_numbers

_DELIMITERS = (",", ";", "\t", "|")
_BYTES_PER_ROW_GUESS = 128
_MIN_BLOCK_BYTES = 1 << 20
_MAX_BLOCK_BYTES = 64 << 20


def sniff_delimiter(header: str) -> str:
    """The most frequent of ``, ; TAB |`` in the header line (comma when none).

    >>> sniff_delimiter("CustomerID;AgeCategory;Gender")
    ';'
    """
    counts = {d: header.count(d) for d in _DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


@dataclass
class CsvReader(Reader):
    path: Path = Path()
    delimiter: str | None = None
    encoding: str = "utf-8"
    batch_rows: int = 250_000
    #: The delimiter in use (given or sniffed), known once iteration has started.
    used_delimiter: str | None = None

    def __iter__(self) -> Iterator[pa.RecordBatch]:
        with _open_binary(self.path) as handle:
            head = handle.read(_MIN_BLOCK_BYTES)
            header_end = _record_end(head, 1)
            header_text = self._decode(head[:header_end]).lstrip("\ufeff")
            delimiter = self.delimiter or sniff_delimiter(header_text.splitlines()[0] if header_text else "")
            names = _unique(next(csv.reader([header_text.rstrip("\r\n")], delimiter=delimiter), []))
            self.used_delimiter = delimiter
            if not names:
                raise InputError(f"{self.name}: the CSV file is empty (no header line).")
            block_bytes = _block_bytes(head[header_end:], self.batch_rows)
            next_row = 1
            pending = head[header_end:]
            yielded = False
            for block in _record_blocks(handle, pending, block_bytes):
                batch = self._parse(block, names, delimiter, next_row)
                next_row = batch.column("_row")[-1].as_py() + 1 if batch.num_rows else next_row
                next_row = max([next_row, *(r.row + 1 for r in self.rejected)])
                yielded = True
                yield batch
            if not yielded:
                yield with_row_numbers(_text_table([[] for _ in names], names), 1)

    # --- one block ---------------------------------------------------------------
    def _parse(self, block: bytes, names: list[str], delimiter: str, first_row: int) -> pa.RecordBatch:
        data = block if _is_utf8(self.encoding) else self._decode(block).encode("utf-8")
        invalid: list[pacsv.InvalidRow] = []

        def on_invalid(row: pacsv.InvalidRow) -> str:
            invalid.append(row)
            return "skip"

        try:
            table = pacsv.read_csv(
                pa.py_buffer(data),
                read_options=pacsv.ReadOptions(column_names=names, use_threads=True),
                parse_options=pacsv.ParseOptions(delimiter=delimiter, invalid_row_handler=on_invalid),
                convert_options=pacsv.ConvertOptions(
                    column_types=dict.fromkeys(names, pa.string()),
                    null_values=[""], strings_can_be_null=True, quoted_strings_can_be_null=False),
            )
        except pa.ArrowInvalid as exc:
            raise InputError(
                f"{self.name}: cannot read the file as {self.encoding!r} CSV ({exc}). "
                "If it is not UTF-8, pass the encoding (for example --encoding latin-1)."
            ) from exc
        if invalid:
            return self._parse_slowly(data.decode("utf-8"), names, delimiter, first_row)
        return with_row_numbers(table, first_row)

    def _parse_slowly(self, text: str, names: list[str], delimiter: str, first_row: int) -> pa.RecordBatch:
        """The exact path for a block with malformed lines: keep good rows, reject bad ones."""
        good: list[list[str]] = []
        rows: list[int] = []
        row = first_row
        for record in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter):
            if not record:
                continue
            if len(record) == len(names):
                good.append(record)
                rows.append(row)
            else:
                raw = delimiter.join(record)
                self.rejected.append(RejectedRow(
                    row, raw, reasons.MALFORMED_ROW,
                    f"expected {len(names)} fields, found {len(record)}"))
            row += 1
        columns = [[r[i] if r[i] != "" else None for r in good] for i in range(len(names))]
        batch = with_row_numbers(_text_table(columns, names), 0)
        return batch.set_column(batch.schema.get_field_index("_row"), "_row", pa.array(rows, type=pa.int64()))

    def _decode(self, data: bytes) -> str:
        try:
            return codecs.decode(data, self.encoding)
        except (UnicodeDecodeError, LookupError) as exc:
            raise InputError(
                f"{self.name}: cannot decode the file as {self.encoding!r} ({exc}); "
                "pass the right encoding, for example --encoding latin-1."
            ) from exc


def _text_table(columns: Sequence[Sequence[str | None]], names: list[str]) -> pa.Table:
    return pa.table({n: pa.array(c, type=pa.string()) for n, c in zip(names, columns, strict=True)})


def _is_utf8(encoding: str) -> bool:
    return codecs.lookup(encoding).name in ("utf-8", "ascii")


def _open_binary(path: Path) -> IO[bytes]:
    if str(path).endswith(".gz"):
        return cast(IO[bytes], gzip.open(path, "rb"))
    return open(path, "rb")


def _unique(names: list[str]) -> list[str]:
    """Header names made unique (case-insensitively: JSON keys and DuckDB struct fields)."""
    seen: set[str] = set()
    out = []
    for i, name in enumerate(names):
        base = name.strip() or f"column{i + 1}"
        candidate, n = base, 2
        while candidate.lower() in seen:
            candidate, n = f"{base}_{n}", n + 1
        seen.add(candidate.lower())
        out.append(candidate)
    return out


def _block_bytes(sample: bytes, batch_rows: int) -> int:
    lines = sample.count(b"\n")
    per_row = len(sample) / lines if lines else _BYTES_PER_ROW_GUESS
    return int(min(max(per_row * batch_rows, _MIN_BLOCK_BYTES), _MAX_BLOCK_BYTES))


def _record_end(data: bytes, records: int) -> int:
    """Offset just after the first ``records`` records (newlines outside quotes)."""
    pos, quotes = 0, 0
    for _ in range(records):
        while True:
            nl = data.find(b"\n", pos)
            if nl < 0:
                return len(data)
            quotes += data.count(b'"', pos, nl)
            pos = nl + 1
            if quotes % 2 == 0:
                break
    return pos


def _last_record_end(data: bytes) -> int:
    """Offset just after the last newline that is outside quotes (0 when none)."""
    end = len(data)
    quotes_total = data.count(b'"')
    while True:
        nl = data.rfind(b"\n", 0, end)
        if nl < 0:
            return 0
        if (quotes_total - data.count(b'"', nl)) % 2 == 0:
            return nl + 1
        end = nl


def _record_blocks(handle: IO[bytes], pending: bytes, block_bytes: int) -> Iterator[bytes]:
    while True:
        chunk = handle.read(block_bytes)
        if not chunk:
            if pending.strip():
                yield pending
            return
        data = pending + chunk
        cut = _last_record_end(data)
        if cut == 0:
            pending = data
            continue
        block, pending = data[:cut], data[cut:]
        if block.strip():
            yield block
