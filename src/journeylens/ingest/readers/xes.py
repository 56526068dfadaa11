"""XES (IEEE 1849) reader for ``.xes`` / ``.xes.gz``, streamed with ``lxml.iterparse``.

Every event becomes one row: its own attributes, plus its trace's attributes prefixed with
``case:`` (so the trace name is ``case:concept:name``, as process-mining tools write it).
Values keep their XES type (string/id → text, date → timestamp, int, float, boolean);
``list`` and ``container`` attributes become JSON text; attributes nested inside another
attribute are flattened to ``parent.child``. Each trace's own attributes are also kept in
``side_tables["customers"]`` (one dict per trace) so the pipeline can fill ``customers``.
Elements are cleared as soon as they are read, so memory stays flat on large logs.
``_row`` is the 1-based event number in the file.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any, cast

import pyarrow as pa
from lxml import etree

from journeylens.errors import InputError
from journeylens.ingest import reasons
from journeylens.ingest.readers.base import Reader, RejectedRow, columns_from_values, with_rows

_SCALARS = {"string", "id", "date", "int", "float", "boolean"}
_COLLECTIONS = {"list", "container"}
TRACE_PREFIX = "case:"


@dataclass
class XesReader(Reader):
    path: Path = Path()
    batch_rows: int = 250_000

    def __iter__(self) -> Iterator[pa.RecordBatch]:
        self.side_tables.setdefault("customers", [])
        rows: list[dict[str, Any]] = []
        numbers: list[int] = []
        event_no = 0
        with _open_binary(self.path) as handle:
            try:
                for trace_attrs, events in _traces(handle):
                    self.side_tables["customers"].append(trace_attrs)
                    prefixed = {TRACE_PREFIX + k: v for k, v in trace_attrs.items()}
                    for event in events:
                        event_no += 1
                        rows.append({**prefixed, **event})
                        numbers.append(event_no)
                    if len(rows) >= self.batch_rows:
                        yield _batch(rows, numbers)
                        rows, numbers = [], []
            except etree.XMLSyntaxError as exc:
                if event_no == 0:  # not one event read: this is no XES log, not a log with a bad tail
                    raise InputError(f"{self.name} is not a well-formed XES log: {exc}. An XES file is XML "
                                     "with <log>, <trace> and <event> elements (IEEE 1849).",
                                     code="invalid_xes", details={"xml_error": str(exc)}) from exc
                self.rejected.append(RejectedRow(event_no + 1, "", reasons.INVALID_XML,
                                                 f"the XML stops being well-formed: {exc}"))
        if rows or not numbers:
            yield _batch(rows, numbers)


def _batch(rows: list[dict[str, Any]], numbers: list[int]) -> pa.RecordBatch:
    names = list(dict.fromkeys(k for row in rows for k in row))
    return with_rows(columns_from_values(rows, names), pa.array(numbers, type=pa.int64()))


def _traces(handle: IO[bytes]) -> Iterator[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """Yield ``(trace attributes, [event attributes, ...])`` per trace, clearing as it goes."""
    events: list[dict[str, Any]] = []
    for _, elem in etree.iterparse(handle, events=("end",), huge_tree=True):
        name = _local(elem.tag)
        if name == "event":
            events.append(_attributes(elem))
            _discard(elem)
        elif name == "trace":
            yield _attributes(elem), events
            events = []
            _discard(elem)


def _local(tag: Any) -> str:
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""


def _discard(elem: Any) -> None:
    """Free a finished event/trace (its attributes were copied out)."""
    elem.clear()
    parent = elem.getparent()
    if parent is not None:
        parent.remove(elem)


def _attributes(elem: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for child in elem:
        kind = _local(child.tag)
        key = child.get("key")
        if key is None:
            continue
        if kind in _SCALARS:
            out[key] = _value(kind, child.get("value"))
            if len(child):
                out.update({f"{key}.{k}": v for k, v in _attributes(child).items()})
        elif kind in _COLLECTIONS:
            out[key] = json.dumps(_collection(child), ensure_ascii=False, default=str)
    return out


def _collection(elem: Any) -> Any:
    holders = [elem, *(c for c in elem if _local(c.tag) == "values")]
    items = [c for h in holders for c in h if c.get("key") is not None and _local(c.tag) in _SCALARS]
    if _local(elem.tag) == "list":
        return [{c.get("key"): _value(_local(c.tag), c.get("value"))} for c in items]
    return {c.get("key"): _value(_local(c.tag), c.get("value")) for c in items}


def _value(kind: str, text: str | None) -> Any:
    if text is None:
        return None
    try:
        if kind == "date":
            return datetime.fromisoformat(text)
        if kind == "int":
            return int(text)
        if kind == "float":
            return float(text)
        if kind == "boolean":
            return text.strip().lower() == "true"
    except ValueError:
        return text  # kept as text; the pipeline decides whether the row is usable
    return text


def _open_binary(path: Path) -> IO[bytes]:
    if str(path).endswith(".gz"):
        return cast(IO[bytes], gzip.open(path, "rb"))
    return open(path, "rb")
