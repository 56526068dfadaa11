"""The HTTP collector: JourneyLens events and the Segment tracking spec, durably acknowledged.

Every ingest endpoint answers 200 only after the accepted records were appended to the
spool and fsynced (:mod:`journeylens.ingest.spool`); a background loader inside this
process moves them into the warehouse through the ingest pipeline (validation,
quarantine, dedupe). ``POST /v1/flush`` waits until everything acknowledged so far is in
the warehouse. See ``docs/collector.md``.
"""

from __future__ import annotations

import logging
import threading
import zlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, FastAPI, Request
from starlette.concurrency import run_in_threadpool

from journeylens import hooks
from journeylens.errors import InputError, JourneyLensError, ParameterError
from journeylens.ingest import segment_spec
from journeylens.ingest.spool import Entry, Spool, SpoolLoader
from journeylens.lens_pool import lens_pool
from journeylens.settings import Settings, get_settings
from journeylens.surfaces.api.collector_schemas import (
    BATCH_BODY,
    EVENTS_BODY,
    FEEDBACK_BODY,
    SEGMENT_BODY,
    Accepted,
    CollectorStatus,
    FlushReport,
    SegmentAck,
)
from journeylens.surfaces.api.deps import require_scope

log = logging.getLogger(__name__)


class PayloadTooLargeError(JourneyLensError):
    code = "payload_too_large"
    http_status = 413


class BatchTooLargeError(ParameterError):
    code = "batch_too_large"


class UnsupportedEncodingError(JourneyLensError):
    code = "unsupported_encoding"
    http_status = 415


_REQUIRED_KEYS: dict[str, tuple[str, ...]] = {
    "events": ("customer_id", "anonymous_id", "timestamp", "touchpoint"),
    "customers": ("customer_id",),
    "feedback": ("timestamp",),
}


class Collector:
    """The spool, its loader and the warehouse they load into, for one app.

    Uses ``lens`` (a :class:`journeylens.JourneyLens`) when given, else opens the
    warehouse and journey named in ``settings``.
    """

    def __init__(self, settings: Settings, lens: Any | None = None):
        import journeylens

        self.settings = settings
        self._owns_lens = lens is None
        self.lens = lens if lens is not None else journeylens.open(settings=settings)
        self.spool = Spool(settings.collector_spool, commit=settings.collector_commit)
        self.loader = SpoolLoader(self.spool, self._load, interval_seconds=settings.collector_load_interval_seconds,
                                  permanent_errors=(InputError, ParameterError), after_pass=self._after_pass)
        self._events_since_refresh = 0
        self._landed: list[tuple[str, str]] = []  # (table, batch) loaded in this pass, hooks not yet run

    def start(self) -> Collector:
        """Start writing and loading; segments left by an earlier run are replayed first."""
        self.spool.start()
        pending = self.spool.sealed_segments()
        if pending:
            log.info("Replaying %d spool segments left by an earlier run", len(pending))
        self.loader.start()
        return self

    def _load(self, table: str, records: list[dict[str, Any]]) -> Any:
        from journeylens.ingest import ingest_records

        # Every record names the required columns, so a chunk in which no record has one
        # still has the column and each row is quarantined with its reason, not refused whole.
        required = dict.fromkeys(_REQUIRED_KEYS.get(table, ()))
        rows = [{**required, **segment_spec.flatten_properties(r)} for r in records]
        summary = ingest_records(self.lens.warehouse, table, rows,
                                 source_name="http", settings=self.settings)
        if summary.accepted:
            self._landed.append((table, summary.batch))
        return summary

    def _after_pass(self) -> None:
        """After a loader pass: one journey update for all its events, then the hooks."""
        landed, self._landed = self._landed, []
        if any(table == "events" for table, _ in landed):
            self._update_journeys()
        for table, batch in landed:
            hooks.rows_landed(self.lens, table, batch)

    def _update_journeys(self) -> None:
        """Apply the new events to ``journey_events`` (incrementally) before the hook runs, so
        acknowledged events reach every analysis without a flush. A failure (for example an
        invalid journey definition) is logged and retried after the next load or flush: the
        events are already in the warehouse and the next update includes them."""
        try:
            self.lens.refresh()
            self._events_since_refresh = 0
        except Exception:
            self._events_since_refresh += 1
            log.exception("Updating journey_events after the collector load failed")

    def flush(self) -> dict[str, Any]:
        """Load everything acknowledged so far (each load already updates ``journey_events``);
        an update that failed after a load is retried here.

        The load is what a flush promises; a failing update (for example an invalid journey
        definition) is reported in ``journeys_error`` and retried on the next flush.
        """
        report = self.loader.flush().to_dict()
        # True when journey_events includes everything this flush loaded.
        outcome: dict[str, Any] = {"journeys_refreshed": bool(report.get("records_by_table", {}).get("events"))
                                   and not self._events_since_refresh}
        if self._events_since_refresh:
            try:
                self.lens.refresh()
                self._events_since_refresh = 0
                outcome["journeys_refreshed"] = True
            except Exception as exc:
                log.exception("Updating journey_events after the collector load failed")
                outcome["journeys_error"] = f"{type(exc).__name__}: {exc}"
        return {**report, **outcome}

    def status(self) -> dict[str, Any]:
        stats = self.spool.stats
        return {
            "commit": self.spool.commit.value,
            "spool": str(self.spool.directory),
            "pending_segments": len(self.spool.segments()),
            "appends": stats.appends,
            "fsyncs": stats.fsyncs,
            "bytes_written": stats.bytes_written,
            "loaded_segments": self.loader.loaded_segments,
            "loaded_records": self.loader.loaded_records,
            "failed_segments": self.loader.failed_segments,
            "max_lag_seconds": round(self.loader.max_lag_seconds, 3),
            "last_error": self.loader.last_error,
        }

    def close(self) -> None:
        """Stop loading, load what is left (best effort) and close the spool."""
        self.loader.stop()
        try:
            self.loader.flush()
        except Exception:
            log.exception("Could not load the spool at shutdown; it is replayed on the next start")
        self.spool.close()
        if self._owns_lens:
            self.lens.warehouse.close()


_START_LOCK = threading.Lock()


def collector_of(app: FastAPI) -> Collector:
    """The app's collector, started on first use (the lifespan normally starts it)."""
    with _START_LOCK:
        collector = getattr(app.state, "collector", None)
        if collector is None:
            settings = getattr(app.state, "settings", None) or get_settings()
            base = getattr(app.state, "lens", None)
            # The loader thread writes through its own cursor, never the request threads' ones.
            loader_lens = lens_pool(app.state, base).dedicated() if base is not None else None
            collector = Collector(settings, loader_lens).start()
            app.state.collector = collector
        return collector


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    await run_in_threadpool(collector_of, app)
    try:
        yield
    finally:
        collector = getattr(app.state, "collector", None)
        if collector is not None:
            await run_in_threadpool(collector.close)
            app.state.collector = None


router = APIRouter(tags=["collector"], lifespan=lifespan)
IngestScope = Annotated[Any, Depends(require_scope("ingest"))]


# --- request bodies ---------------------------------------------------------------------
async def read_json(request: Request, max_bytes: int) -> Any:
    """The JSON body, refusing more than ``max_bytes`` (also after gzip decompression)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise _too_large(max_bytes)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise _too_large(max_bytes)
        chunks.append(chunk)
    body = b"".join(chunks)
    encoding = request.headers.get("content-encoding", "identity").strip().lower()
    if encoding == "gzip":
        body = gunzip(body, max_bytes)
    elif encoding != "identity":
        raise UnsupportedEncodingError(f"Content-Encoding {encoding!r} is not supported; send gzip or identity.")
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InputError(f"The request body is not valid JSON: {exc}.", code="invalid_json") from exc


def gunzip(body: bytes, max_bytes: int) -> bytes:
    """Decompress a gzip body, stopping as soon as it exceeds ``max_bytes`` (zip bombs)."""
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        data = inflater.decompress(body, max_bytes + 1)
    except zlib.error as exc:
        raise InputError(f"The gzip body cannot be decompressed: {exc}.", code="invalid_gzip") from exc
    if len(data) > max_bytes or inflater.unconsumed_tail:
        raise _too_large(max_bytes)
    if not inflater.eof:
        raise InputError("The gzip body is truncated.", code="invalid_gzip")
    return data


def _too_large(max_bytes: int) -> PayloadTooLargeError:
    return PayloadTooLargeError(
        f"The request body is larger than {max_bytes} bytes (JOURNEYLENS_COLLECTOR_MAX_BODY_BYTES); "
        "split it into smaller batches.", details={"max_body_bytes": max_bytes})


def _check_batch(count: int, settings: Settings) -> None:
    limit = settings.collector_max_batch_events
    if count > limit:
        raise BatchTooLargeError(
            f"The request carries {count} events; at most {limit} are allowed per request "
            "(JOURNEYLENS_COLLECTOR_MAX_BATCH_EVENTS).", details={"events": count, "max_batch_events": limit})


def _object(body: Any, endpoint: str) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise InputError(f"{endpoint} takes a JSON object (one Segment message).", code="invalid_payload")
    return body


async def _accept(request: Request, entries: list[Entry]) -> None:
    await collector_of(request.app).spool.append(entries)


# --- endpoints --------------------------------------------------------------------------
def _records(body: Any, key: str, endpoint: str) -> list[Any]:
    """The envelope: a list of records, ``{key: [...]}`` or one record (an object). Anything
    else is refused as a whole; the records inside are judged one by one when loaded."""
    items = body.get(key) if isinstance(body, dict) and key in body else body
    if isinstance(items, dict):
        return [items]
    if not isinstance(items, list):
        raise InputError(f"{endpoint} takes a JSON list of records, {{\"{key}\": [...]}} or one record "
                         f"(a JSON object); got {type(items).__name__}.", code="invalid_payload")
    return items


@router.post("/v1/events", summary="Collect JourneyLens events (durable before the answer)", response_model=Accepted,
             openapi_extra=EVENTS_BODY)
async def post_events(request: Request, _: IngestScope) -> Accepted:
    """A JSON list of events in the canonical contract (or ``{"events": [...]}``); events that
    cannot be used are quarantined one by one with their reason when loaded."""
    settings = collector_of(request.app).settings
    items = _records(await read_json(request, settings.collector_max_body_bytes), "events", "/v1/events")
    _check_batch(len(items), settings)
    await _accept(request, segment_spec.normalise_events(items))
    return Accepted(accepted=len(items), queued=True)


@router.post("/v1/feedback", summary="Collect feedback rows, e.g. answers from another survey tool (durable before "
                                    "the answer)", response_model=Accepted, openapi_extra=FEEDBACK_BODY)
async def post_feedback(request: Request, _: IngestScope) -> Accepted:
    """A JSON list of feedback rows in the data contract (or ``{"feedback": [...]}``); rows that
    cannot be used are quarantined one by one with their reason when loaded."""
    settings = collector_of(request.app).settings
    items = _records(await read_json(request, settings.collector_max_body_bytes), "feedback", "/v1/feedback")
    _check_batch(len(items), settings)
    await _accept(request, [("feedback", dict(item) if isinstance(item, dict) else {"payload": item})
                            for item in items])
    return Accepted(accepted=len(items), queued=True)


async def _segment_call(request: Request, kind: str) -> SegmentAck:
    settings = collector_of(request.app).settings
    message = _object(await read_json(request, settings.collector_max_body_bytes), f"/v1/{kind}")
    await _accept(request, segment_spec.normalise_segment(kind, message, received_at=segment_spec.received_now()))
    return SegmentAck(success=True)


@router.post("/v1/track", summary="Segment track", response_model=SegmentAck,
             openapi_extra=SEGMENT_BODY)
async def post_track(request: Request, _: IngestScope) -> SegmentAck:
    return await _segment_call(request, "track")


@router.post("/v1/identify", summary="Segment identify ($identify event + customer traits)", response_model=SegmentAck,
             openapi_extra=SEGMENT_BODY)
async def post_identify(request: Request, _: IngestScope) -> SegmentAck:
    return await _segment_call(request, "identify")


@router.post("/v1/page", summary="Segment page (touchpoint 'page:<name>')", response_model=SegmentAck,
             openapi_extra=SEGMENT_BODY)
async def post_page(request: Request, _: IngestScope) -> SegmentAck:
    return await _segment_call(request, "page")


@router.post("/v1/screen", summary="Segment screen (touchpoint 'screen:<name>')", response_model=SegmentAck,
             openapi_extra=SEGMENT_BODY)
async def post_screen(request: Request, _: IngestScope) -> SegmentAck:
    return await _segment_call(request, "screen")


@router.post("/v1/alias", summary="Segment alias ($alias event)", response_model=SegmentAck,
             openapi_extra=SEGMENT_BODY)
async def post_alias(request: Request, _: IngestScope) -> SegmentAck:
    return await _segment_call(request, "alias")


@router.post("/v1/group", summary="Segment group ($group event)", response_model=SegmentAck,
             openapi_extra=SEGMENT_BODY)
async def post_group(request: Request, _: IngestScope) -> SegmentAck:
    return await _segment_call(request, "group")


@router.post("/v1/batch", summary="Segment batch (what the Segment SDKs send)", response_model=SegmentAck,
             openapi_extra=BATCH_BODY)
async def post_batch(request: Request, _: IngestScope) -> SegmentAck:
    settings = collector_of(request.app).settings
    body = _object(await read_json(request, settings.collector_max_body_bytes), "/v1/batch")
    if not isinstance(body.get("batch"), list):
        raise InputError("/v1/batch takes {\"batch\": [messages...]}.", code="invalid_payload")
    _check_batch(len(body["batch"]), settings)
    await _accept(request, segment_spec.normalise_batch(body, received_at=segment_spec.received_now()))
    return SegmentAck(success=True)


@router.post("/v1/flush", summary="Wait until every acknowledged event is in the warehouse",
             response_model=FlushReport)
async def post_flush(request: Request, _: IngestScope) -> dict[str, Any]:
    return await run_in_threadpool(collector_of(request.app).flush)


@router.get("/v1/collector", summary="Spool and loader counters", response_model=CollectorStatus)
async def get_collector_status(request: Request, _: IngestScope) -> dict[str, Any]:
    return collector_of(request.app).status()
