"""``ingest()``: read → map columns → validate → quarantine → dedupe → land, streamed.

Nothing is silently dropped: every row read ends up accepted, a duplicate, or in the
``quarantine`` table with a reason code, and ``read == accepted + duplicates + quarantined``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gzip
import logging
import queue
import secrets
import threading
import zlib
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pyarrow as pa

from journeylens.errors import InputError, ParameterError
from journeylens.ingest.bulk import CSV_REFUSED, file_relation, land_file
from journeylens.ingest.mapping import plan_columns
from journeylens.ingest.normalize import stage_batch
from journeylens.ingest.readers import Reader, RecordsReader, open_reader
from journeylens.ingest.readers.xes import TRACE_PREFIX
from journeylens.ingest.staging import (
    DuckDBStage,
    EmbeddedStage,
    IngestContext,
    Landed,
    embedded_connection,
    rejected_table,
)
from journeylens.ingest.summary import IngestSummary
from journeylens.settings import Settings, get_settings
from journeylens.warehouse import Warehouse
from journeylens.warehouse.memory import memory_budget
from journeylens.warehouse.schema import INGEST_LOG, INPUT_TABLES

log = logging.getLogger(__name__)
T = TypeVar("T")
_PLAN_ROWS = 1_000


def ingest(warehouse: Warehouse, table: str, source: Any, *, mapping: Mapping[str, str] | None = None,
           format: str | None = None, delimiter: str | None = None, encoding: str = "utf-8",
           timezone: str | None = None, settings: Settings | None = None, progress: bool = False,
           source_name: str | None = None) -> IngestSummary:
    """Ingest a file (CSV, Parquet, JSON Lines, XES; a list of files) or a pandas / polars /
    Arrow object into ``table`` (events, feedback, customers, spend).

    >>> from journeylens.warehouse import open_warehouse
    >>> import pandas as pd
    >>> wh = open_warehouse("duckdb://")
    >>> df = pd.DataFrame({"customer_id": ["c1", "c1", None], "touchpoint": ["visit", "buy", "visit"],
    ...                    "timestamp": ["2024-05-01T10:00:00Z", "2024-05-01T10:05:00+02:00", "2024-05-02"]})
    >>> ingest(wh, "events", df).to_dict()
    {'table': 'events', 'read': 3, 'accepted': 2, 'duplicates': 0, 'quarantined': 1, 'reasons': {'missing_customer_id': 1}}
    >>> ingest(wh, "events", df).accepted   # the same rows again: nothing new
    0
    """
    _check_table(table)
    settings = settings or get_settings()
    zone = _check_timezone(timezone or settings.timezone)
    try:
        return _ingest(warehouse, table, source, mapping=mapping, format=format, delimiter=delimiter,
                       encoding=encoding, zone=zone, settings=settings, progress=progress, source_name=source_name)
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        name = source_name or str(source)
        raise InputError(f"{name} is truncated or not valid gzip ({exc}); nothing was ingested from it. "
                         "Copy the file again (gzip -t FILE checks it).", code="corrupt_file",
                         details={"source": name}) from exc


def _ingest(warehouse: Warehouse, table: str, source: Any, *, mapping: Mapping[str, str] | None,
            format: str | None, delimiter: str | None, encoding: str, zone: str, settings: Settings,
            progress: bool, source_name: str | None) -> IngestSummary:
    if isinstance(source, list | tuple):
        return IngestSummary.combine(table, [
            _ingest(warehouse, table, item, mapping=mapping, format=format, delimiter=delimiter,
                    encoding=encoding, zone=zone, settings=settings, progress=progress, source_name=None)
            for item in source])
    reader, fmt = open_reader(source, name=source_name, fmt=format, delimiter=delimiter, encoding=encoding,
                              batch_rows=settings.ingest_batch_rows)
    if fmt in ("csv", "parquet") and warehouse.engine == "duckdb":
        bulk = _run_bulk(warehouse, table, reader, fmt, mapping, zone=zone, encoding=encoding, progress=progress,
                         memory_limit=settings.ingest_memory_limit)
        if bulk is not None:
            return bulk
        reader, fmt = open_reader(source, name=source_name, fmt=format, delimiter=delimiter, encoding=encoding,
                                  batch_rows=settings.ingest_batch_rows)
    summary = _run(warehouse, table, reader, mapping, zone=zone, settings=settings, progress=progress,
                   xes=fmt == "xes")
    if fmt == "xes" and table == "events":
        _ingest_trace_customers(warehouse, reader, mapping, zone=zone, settings=settings)
    return summary


def ingest_records(warehouse: Warehouse, table: str, records: Sequence[dict[str, Any]], *,
                   source_name: str = "http", mapping: Mapping[str, str] | None = None,
                   settings: Settings | None = None, timezone: str | None = None) -> IngestSummary:
    """Ingest Python dicts (one per row) through the same pipeline; used by the HTTP collector."""
    _check_table(table)
    settings = settings or get_settings()
    zone = _check_timezone(timezone or settings.timezone)
    reader = RecordsReader(source_name, records=list(records), batch_rows=settings.ingest_batch_rows)
    return _run(warehouse, table, reader, mapping, zone=zone, settings=settings, progress=False)


def _run(warehouse: Warehouse, table: str, reader: Reader, mapping: Mapping[str, str] | None, *,
         zone: str, settings: Settings, progress: bool, xes: bool = False) -> IngestSummary:
    started = datetime.now(UTC)
    ctx = IngestContext(table, reader.name, new_batch_id(started), started, zone)
    batches = _prefetch(iter(reader))
    first = next(batches, None)
    plan = plan_columns(table, first, mapping, source_name=reader.name, xes=xes) if first is not None else None
    if warehouse.engine == "duckdb":
        with warehouse.duckdb() as con:
            local = DuckDBStage(con, ctx)
            _stage_all(local, plan, first, batches, progress)
            landed = local.finish(_rejected(reader, ctx), _log_row(ctx))
    else:
        embedded = EmbeddedStage(embedded_connection(settings.ingest_memory_limit), ctx)
        _stage_all(embedded, plan, first, batches, progress)
        landed = embedded.finish(warehouse, _rejected(reader, ctx), _log_row(ctx))
    summary = _summary(table, landed, ctx)
    log.info("ingested %s into %s: %s", reader.name, table, summary.to_dict())
    return summary


def _run_bulk(warehouse: Warehouse, table: str, reader: Reader, fmt: str, mapping: Mapping[str, str] | None, *,
              zone: str, encoding: str, progress: bool, memory_limit: str) -> IngestSummary | None:
    """The DuckDB fast path for a CSV / Parquet file (:mod:`.bulk`); None where it does not
    apply or DuckDB's strict CSV reader refuses the file (the chunked path then runs)."""
    started = datetime.now(UTC)
    ctx = IngestContext(table, reader.name, new_batch_id(started), started, zone)
    # Names and types are all a plan needs, except feedback's metric columns, which are
    # found from the values of the same first chunk the chunked path plans from.
    sample = reader if table == "feedback" else dataclasses.replace(reader, batch_rows=_PLAN_ROWS)  # type: ignore[call-arg]
    first = next(iter(sample), None)
    if first is None or sample.rejected:
        return None
    plan = plan_columns(table, first, mapping, source_name=reader.name)
    path = getattr(reader, "path")  # noqa: B009 - CsvReader and ParquetReader both have one
    relation = file_relation(fmt, path, plan, first.schema, encoding=encoding,
                             delimiter=getattr(sample, "used_delimiter", None))
    if relation is None:
        return None
    with (warehouse.duckdb() as con, memory_budget(con, memory_limit),
          _spinner(progress, f"ingest {reader.name} → {table} (DuckDB bulk)")):
        try:
            landed = land_file(con, ctx, relation, _log_row(ctx))
        except CSV_REFUSED as exc:
            if fmt != "csv":
                raise
            log.info("DuckDB's CSV reader refused %s (%s); using the chunked reader", reader.name,
                     str(exc).splitlines()[0])
            return None
    summary = _summary(table, landed, ctx)
    log.info("ingested %s into %s (bulk): %s", reader.name, table, summary.to_dict())
    return summary


@contextlib.contextmanager
def _spinner(show: bool, label: str) -> Iterator[None]:
    if not show:
        yield
        return
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(SpinnerColumn(), TextColumn("[bold]{task.description}"), TimeElapsedColumn(),
                  transient=True) as bar:
        bar.add_task(label, total=None)
        yield


def _stage_all(stage: DuckDBStage | EmbeddedStage, plan: Any, first: pa.RecordBatch | None,
               rest: Iterator[pa.RecordBatch], progress: bool) -> None:
    if first is None or plan is None:
        return
    batches = _chain(first, rest)
    if not progress:
        for batch in batches:
            stage.add(stage_batch(plan, batch))
        return
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.completed:,} rows"),
                  TimeElapsedColumn(), transient=True) as bar:
        task = bar.add_task(f"ingest {stage.ctx.source} → {stage.ctx.table}", total=None)
        for batch in batches:
            stage.add(stage_batch(plan, batch))
            bar.advance(task, batch.num_rows)


def _chain(first: T, rest: Iterator[T]) -> Iterator[T]:
    yield first
    yield from rest


def _prefetch(items: Iterator[T], depth: int = 2) -> Iterator[T]:
    """Read the next batches in a thread while the current one is normalised (pyarrow and
    DuckDB both release the GIL, so reading and normalising overlap on two cores)."""
    done = object()
    slots: queue.Queue[Any] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def work() -> None:
        try:
            for item in items:
                if stop.is_set():
                    return
                slots.put(item)
            slots.put(done)
        except BaseException as exc:  # handed to the consumer, which re-raises it
            slots.put(exc)

    thread = threading.Thread(target=work, name="journeylens-ingest-reader", daemon=True)
    thread.start()
    try:
        while True:
            item = slots.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while thread.is_alive():
            with contextlib.suppress(queue.Empty):
                slots.get(timeout=0.05)


def _rejected(reader: Reader, ctx: IngestContext) -> pa.Table:
    return rejected_table([
        {"table": ctx.table, "source": ctx.source, "row": r.row, "raw": r.raw, "reason": r.reason,
         "detail": r.detail, "_batch": ctx.batch, "quarantined_at": ctx.started_at}
        for r in reader.rejected])


def _log_row(ctx: IngestContext) -> pa.Table:
    return pa.Table.from_pylist([{
        "_batch": ctx.batch, "table": ctx.table, "source": ctx.source, "started_at": ctx.started_at,
        "finished_at": datetime.now(UTC), "read": 0, "accepted": 0, "duplicates": 0, "quarantined": 0,
        "reasons": "{}"}], schema=INGEST_LOG.to_pyarrow())


def _summary(table: str, landed: Landed, ctx: IngestContext) -> IngestSummary:
    quarantined = sum(landed.reasons.values())
    return IngestSummary(table, read=landed.valid + quarantined, accepted=landed.accepted,
                         duplicates=landed.valid - landed.accepted, quarantined=quarantined,
                         reasons=landed.reasons, source=ctx.source, batch=ctx.batch)


def _ingest_trace_customers(warehouse: Warehouse, reader: Reader, mapping: Mapping[str, str] | None, *,
                            zone: str, settings: Settings) -> IngestSummary | None:
    """XES trace attributes → ``customers`` (customer_id = the trace attribute behind the
    events' customer_id, ``concept:name`` by default)."""
    traces = reader.side_tables.get("customers") or []
    source = (mapping or {}).get("customer_id", TRACE_PREFIX + "concept:name")
    if not traces or not source.startswith(TRACE_PREFIX):
        return None
    key = source[len(TRACE_PREFIX):]
    records = [t for t in traces if t.get(key) is not None]
    customer_map = {} if key == "customer_id" else {"customer_id": key}
    rows = RecordsReader(reader.name, records=records, batch_rows=settings.ingest_batch_rows)
    return _run(warehouse, "customers", rows, customer_map, zone=zone, settings=settings, progress=False)


def new_batch_id(at: datetime | None = None) -> str:
    """A sortable ingest id: UTC time to the microsecond plus 6 random hex digits."""
    at = at or datetime.now(UTC)
    return f"{at:%Y%m%dT%H%M%S%f}Z-{secrets.token_hex(3)}"


def _check_table(table: str) -> None:
    if table not in INPUT_TABLES:
        raise ParameterError(f"Cannot ingest into {table!r}; use one of {', '.join(INPUT_TABLES)}.")


def _check_timezone(zone: str) -> str:
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ParameterError(f"Unknown time zone {zone!r}; use an IANA name such as 'UTC' or 'Europe/Paris'.") from exc
    return zone

