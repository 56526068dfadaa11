"""Acknowledged means durable: the HTTP collector's append-only spool.

The collector answers 200 only after the accepted records are on disk. Requests hand their
encoded records to :class:`Spool`, whose single writer thread appends them to the active
*segment* file (JSON Lines, ``{"table": ..., "records": [...]}`` per request) and calls
``fdatasync`` once for everything that queued up meanwhile (group commit), then resolves
every waiting request. A :class:`SpoolLoader` thread later seals the active segment, moves
sealed segments into the warehouse through the ingest pipeline and deletes each one after
the warehouse commit. Segments left over from a crash are replayed on start; replay is
idempotent because every record carries a stable ``event_id`` that ingest de-duplicates on.
See ``docs/adr/0003-durable-acknowledgement.md``.

>>> import tempfile
>>> spool = Spool(tempfile.mkdtemp()).start()
>>> spool.append_blocking([("events", {"event_id": "e1", "customer_id": "c1"})])
>>> loaded = []
>>> loader = SpoolLoader(spool, lambda table, records: loaded.extend(records))
>>> loader.flush().records
1
>>> loaded
[{'event_id': 'e1', 'customer_id': 'c1'}]
>>> spool.close()
"""

from __future__ import annotations

import asyncio
import logging
import os
import queue
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import orjson

log = logging.getLogger(__name__)

SEGMENT_SUFFIX = ".jsonl"
CORRUPT_SUFFIX = ".corrupt"
FAILED_SUFFIX = ".failed"

Entry = tuple[str, Mapping[str, Any]]
LoadFn = Callable[[str, list[dict[str, Any]]], Any]


class CommitMode(StrEnum):
    """How appends are made durable before they are acknowledged."""

    GROUP = "group"  # concurrent appends share one fdatasync (default)
    EACH = "each"  # one fdatasync per append: the naive baseline
    OFF = "off"  # no fsync at all: page cache only, NOT durable (benchmark reference)




def encode_entries(entries: Iterable[Entry]) -> bytes:
    """What :meth:`Spool.submit` takes: one JSON line per table, ``{"table", "records"}``.

    One line per request and table (not per record) keeps encoding in C and makes a torn
    write lose exactly one unacknowledged request.
    """
    by_table: dict[str, list[Mapping[str, Any]]] = {}
    for table, record in entries:
        by_table.setdefault(table, []).append(record)
    return b"".join(orjson.dumps({"table": t, "records": rs}, default=str, option=orjson.OPT_NON_STR_KEYS)
                    + b"\n" for t, rs in by_table.items())


@dataclass
class _Request:
    kind: str  # "append" | "seal" | "stop"
    payload: bytes = b""
    future: Future[None] = field(default_factory=Future)


@dataclass
class SpoolStats:
    """Counters of the writer (read them, do not change them)."""

    appends: int = 0
    fsyncs: int = 0
    bytes_written: int = 0


class Spool:
    """Append-only segment files with durable (fsynced) appends.

    ``commit`` is a :class:`CommitMode`; segments roll over after ``segment_max_bytes``.
    """

    def __init__(self, directory: str | Path, *, commit: CommitMode | str = CommitMode.GROUP,
                 segment_max_bytes: int = 64 << 20):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.commit = CommitMode(commit)
        self.segment_max_bytes = segment_max_bytes
        self.stats = SpoolStats()
        self._queue: queue.SimpleQueue[_Request] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._fd: int | None = None
        self._active_id: int | None = None
        self._active_bytes = 0
        self._opened_at: dict[int, float] = {}
        self._next_id = max((segment_id(p) for p in self.segments()), default=0) + 1
        self._thread: threading.Thread | None = None

    # --- lifecycle ------------------------------------------------------------------
    def start(self) -> Spool:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="journeylens-spool-writer", daemon=True)
            self._thread.start()
        return self

    def close(self) -> None:
        """Commit what is queued, close the active segment and stop the writer."""
        if self._thread is not None:
            request = _Request("stop")
            self._queue.put(request)
            request.future.result()
            self._thread.join()
            self._thread = None

    # --- appending ------------------------------------------------------------------
    def submit(self, payload: bytes) -> Future[None]:
        """Queue encoded lines; the future resolves once they are durable (per ``commit``)."""
        if self._thread is None:
            raise RuntimeError("The spool is not started; call Spool.start() first.")
        request = _Request("append", payload)
        self._queue.put(request)
        return request.future

    async def append(self, entries: Iterable[Entry]) -> None:
        """Append ``(table, record)`` pairs; returns once they are durable."""
        await asyncio.wrap_future(self.submit(encode_entries(entries)))

    def append_blocking(self, entries: Iterable[Entry]) -> None:
        self.submit(encode_entries(entries)).result()

    def seal(self) -> Future[None]:
        """Close the active segment so the loader may take it (after queued appends)."""
        request = _Request("seal")
        if self._thread is None:
            self._rotate()
            request.future.set_result(None)
        else:
            self._queue.put(request)
        return request.future

    # --- segments -------------------------------------------------------------------
    def segments(self) -> list[Path]:
        """Every unloaded segment file, oldest first."""
        return sorted(self.directory.glob(f"*{SEGMENT_SUFFIX}"), key=segment_id)

    def sealed_segments(self) -> list[Path]:
        """Segments no longer written to (all but the active one).

        The listing happens under the lock that the writer holds when it makes a segment
        active (before creating its file): otherwise a segment opened between reading the
        active id and listing the directory would look sealed, be loaded half-written and
        deleted while the writer kept appending to it.
        """
        with self._lock:
            active = self._active_id
            return [p for p in self.segments() if segment_id(p) != active]

    def has_active_data(self) -> bool:
        with self._lock:
            return self._active_id is not None and self._active_bytes > 0

    def opened_at(self, path: Path) -> float:
        """Epoch seconds when a segment received its first append (file mtime for replays)."""
        with self._lock:
            opened = self._opened_at.get(segment_id(path))
        return opened if opened is not None else path.stat().st_mtime

    def mark_loaded(self, path: Path, *, keep_as: str | None = None) -> None:
        """Forget a segment once the warehouse committed it, or set it aside under the
        suffix ``keep_as`` (``.corrupt``, ``.failed``) so that nothing is lost."""
        if keep_as:
            path.rename(path.with_suffix(keep_as))
        else:
            path.unlink()
        with self._lock:
            self._opened_at.pop(segment_id(path), None)
        self._sync_directory()

    # --- the writer thread --------------------------------------------------------------
    def _run(self) -> None:
        while True:
            batch = [self._queue.get()]
            while True:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            if self._process(batch):
                return

    def _process(self, batch: list[_Request]) -> bool:
        pending: list[_Request] = []
        for request in batch:
            if request.kind == "append":
                pending.append(request)
                continue
            self._commit(pending)  # keep order: appends before this control request
            pending = []
            self._rotate()
            request.future.set_result(None)
            if request.kind == "stop":
                self._fail_rest(batch[batch.index(request) + 1:])
                return True
        self._commit(pending)
        return False

    def _commit(self, requests: list[_Request]) -> None:
        if not requests:
            return
        try:
            if self.commit is CommitMode.EACH:
                for request in requests:
                    self._write(request.payload)
                    self._sync()
                    self._acknowledge([request])
            else:
                self._write(b"".join(r.payload for r in requests))
                if self.commit is CommitMode.GROUP:
                    self._sync()
                self._acknowledge(requests)
        except OSError as exc:
            log.exception("Spool write failed; %d requests are answered with an error", len(requests))
            for request in requests:
                if not request.future.done():
                    request.future.set_exception(exc)
            return
        if self._active_bytes >= self.segment_max_bytes:
            self._rotate()

    def _acknowledge(self, requests: list[_Request]) -> None:
        self.stats.appends += len(requests)
        for request in requests:
            request.future.set_result(None)

    def _write(self, payload: bytes) -> None:
        fd = self._fd if self._fd is not None else self._open_segment()
        view = memoryview(payload)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        with self._lock:
            self._active_bytes += len(payload)
        self.stats.bytes_written += len(payload)

    def _sync(self) -> None:
        if self._fd is not None:
            os.fdatasync(self._fd)
            self.stats.fsyncs += 1

    def _open_segment(self) -> int:
        new_id = self._next_id
        self._next_id += 1
        with self._lock:  # active before the file exists: the loader must never take it
            self._active_id, self._active_bytes = new_id, 0
            self._opened_at[new_id] = time.time()
        path = self.directory / f"{new_id:012d}{SEGMENT_SUFFIX}"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o644)
        self._sync_directory()  # the new file's name must survive a crash too
        self._fd = fd
        return fd

    def _rotate(self) -> None:
        with self._lock:
            fd, self._fd, self._active_id, self._active_bytes = self._fd, None, None, 0
        if fd is not None:
            os.close(fd)

    def _sync_directory(self) -> None:
        if self.commit is CommitMode.OFF:
            return
        dir_fd = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)

    @staticmethod
    def _fail_rest(requests: list[_Request]) -> None:
        for request in requests:
            request.future.set_exception(RuntimeError("The spool was closed."))


def segment_id(path: Path) -> int:
    return int(path.name.split(".", 1)[0])


@dataclass(frozen=True)
class SegmentContents:
    """What a segment holds: records per table (in order), plus damage found."""

    records: Mapping[str, list[dict[str, Any]]]
    torn_bytes: int = 0  # an unterminated last line: a write cut off before its fsync
    corrupt_lines: int = 0


def read_segment(path: Path) -> SegmentContents:
    """Parse a segment. An unterminated last line was never acknowledged and is skipped."""
    data = path.read_bytes()
    body, _, tail = data.rpartition(b"\n")
    records: dict[str, list[dict[str, Any]]] = {}
    corrupt = 0
    for line in body.split(b"\n") if body else []:
        try:
            entry = orjson.loads(line)
            records.setdefault(entry["table"], []).extend(entry["records"])
        except (ValueError, KeyError, TypeError):
            corrupt += 1
    if tail:
        log.warning("Segment %s ends in a torn write of %d bytes (never acknowledged); skipped.",
                    path.name, len(tail))
    if corrupt:
        log.error("Segment %s has %d unreadable lines; it is kept as %s.", path.name, corrupt, CORRUPT_SUFFIX)
    return SegmentContents(records, torn_bytes=len(tail), corrupt_lines=corrupt)


@dataclass(frozen=True)
class LoadReport:
    """What one :meth:`SpoolLoader.flush` / load pass moved into the warehouse."""

    segments: int = 0
    records: int = 0
    records_by_table: Mapping[str, int] = field(default_factory=dict)
    pending_segments: int = 0
    max_lag_seconds: float = 0.0  # first append to warehouse commit, worst segment

    def to_dict(self) -> dict[str, Any]:
        return {"segments": self.segments, "records": self.records,
                "records_by_table": dict(self.records_by_table),
                "pending_segments": self.pending_segments,
                "max_lag_seconds": round(self.max_lag_seconds, 3)}


class SpoolLoader:
    """Moves sealed segments into the warehouse, in a background thread and on :meth:`flush`.

    ``load(table, records)`` must commit the records before returning (it is
    :func:`journeylens.ingest.ingest_records` bound to a warehouse in the collector). A
    segment whose load raises one of ``permanent_errors`` (a problem retrying cannot fix)
    is set aside as ``.failed`` at once; after any other error it is retried on later passes
    (the segments behind it still load) and set aside after ``max_attempts`` failures, so
    one poisoned segment never blocks the spool. Set-aside segments stay on disk.
    """

    def __init__(self, spool: Spool, load: LoadFn, *, interval_seconds: float = 1.0,
                 chunk_records: int = 50_000, permanent_errors: tuple[type[Exception], ...] = (),
                 max_attempts: int = 10, after_pass: Callable[[], None] | None = None):
        self.spool = spool
        self.load = load
        #: Called once after each pass that loaded something (before errors are raised):
        #: the collector updates journey_events once per pass, not once per segment.
        self.after_pass = after_pass
        self.permanent_errors = permanent_errors
        self.max_attempts = max_attempts
        self._attempts: dict[str, int] = {}
        self.failed_segments = 0
        self.interval_seconds = interval_seconds
        self.chunk_records = chunk_records
        self.loaded_records = 0
        self.loaded_segments = 0
        self.max_lag_seconds = 0.0
        self.last_error: str | None = None
        self._load_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> SpoolLoader:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="journeylens-spool-loader", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def flush(self) -> LoadReport:
        """Seal the active segment and load everything acknowledged so far."""
        self.spool.seal().result()
        return self.load_sealed()

    def load_sealed(self) -> LoadReport:
        """Load every sealed segment, oldest first; then raise the first failure, if any
        (failed segments stay in the spool for the next pass)."""
        with self._load_lock:
            started = time.time()
            by_table: dict[str, int] = {}
            segments, lag = 0, 0.0
            errors: list[Exception] = []
            for path in self.spool.sealed_segments():
                opened = self.spool.opened_at(path)
                try:
                    counts = self._load_segment(path)
                except Exception as exc:
                    errors.append(exc)
                    continue
                for table, count in counts.items():
                    by_table[table] = by_table.get(table, 0) + count
                segments += 1
                lag = max(lag, time.time() - opened)
            records = sum(by_table.values())
            if self.after_pass is not None and segments:
                self.after_pass()
            self.loaded_records += records
            self.loaded_segments += segments
            self.max_lag_seconds = max(self.max_lag_seconds, lag)
            if segments:
                log.info("Loaded %d records from %d spool segments in %.3fs", records, segments,
                         time.time() - started)
            if errors:
                raise errors[0]
            return LoadReport(segments, records, by_table, len(self.spool.sealed_segments()), lag)

    def _load_segment(self, path: Path) -> dict[str, int]:
        contents = read_segment(path)
        counts: dict[str, int] = {}
        try:
            for table, records in contents.records.items():
                for start in range(0, len(records), self.chunk_records):
                    self.load(table, records[start:start + self.chunk_records])
                counts[table] = len(records)
        except Exception as exc:
            self.last_error = f"{path.name}: {type(exc).__name__}: {exc}"
            attempts = self._attempts[path.name] = self._attempts.get(path.name, 0) + 1
            if not isinstance(exc, self.permanent_errors) and attempts < self.max_attempts:
                raise
            log.error("Segment %s cannot be loaded after %d attempts (%s); kept as %s",
                      path.name, attempts, exc, FAILED_SUFFIX)
            self._attempts.pop(path.name, None)
            self.failed_segments += 1
            self.spool.mark_loaded(path, keep_as=FAILED_SUFFIX)
            return {}
        self._attempts.pop(path.name, None)
        self.spool.mark_loaded(path, keep_as=CORRUPT_SUFFIX if contents.corrupt_lines else None)
        return counts

    def _run(self) -> None:
        while not self._stop.wait(self.interval_seconds):
            try:
                if self.spool.has_active_data():
                    self.spool.seal().result()
                self.load_sealed()
            except Exception as exc:  # keep the loader alive; segments stay for the next pass
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.exception("Loading spool segments failed; retrying in %.1fs", self.interval_seconds)
