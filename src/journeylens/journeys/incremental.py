"""Keep ``journey_events`` current: recompute only the customers new events touch.

``journey_state`` (one row) records what ``journey_events`` was built from: the journey
definition's fingerprint, the episode gap, and ``applied_seq`` — the last ``events._seq``
included. ``_seq`` grows with every ingest, so the events still to apply are exactly those
with ``_seq > applied_seq``; an update that was interrupted (a crash between landing and
applying) is picked up by the next one.

An incremental update (see ``docs/adr/0010-incremental-journeys.md`` for why it is exact):

1. ``new`` — events with ``applied_seq < _seq <= hi`` (``hi`` is read once, first).
2. The identity graph is recomputed for the anonymous ids in ``new`` only (a link is the
   first event carrying both ids, so only ids with new events can change their link).
3. Affected stitched customers ``S``: the customer ids in ``new``, the old and the new link
   of every anonymous id in ``new``, and ``anon:<id>`` for those ids. Events change customer
   only by a changed link, and every such event's old and new customer is in ``S``.
4. Every event whose stitched customer is in ``S`` is read (by raw customer id, or by an
   anonymous id linked to a customer in ``S``) and run through the same
   :func:`~journeylens.journeys.enrich.journey_events_expr` as a full build; the rows of
   ``S`` are replaced. Step, episode and seconds since previous are per customer, so the
   other customers' rows are unchanged.

On DuckDB the replacement is one transaction (``DELETE`` + ``INSERT`` on ``identities``,
``journey_events`` and ``journey_state``): readers on other cursors see the old or the new
table, never a mix. A full build (no table yet, a changed definition or gap) writes
``journey_events__next`` while the current table keeps serving, then swaps it in within one
transaction. Spark has no ``DELETE`` on Parquet tables: there the update writes the next
table (old rows of other customers + new rows of ``S``) and swaps it in.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.schema as sch
import ibis.expr.types as ir

from journeylens.ingest.stitching import ANON_PREFIX, identity_graph
from journeylens.journeys.definition import JourneyDefinition
from journeylens.journeys.enrich import (
    DEFAULT_EPISODE_GAP_MINUTES,
    IDENTITIES_TABLE,
    journey_events_expr,
)
from journeylens.journeys.incremental_fast import count_rows, fast_update
from journeylens.warehouse import Warehouse
from journeylens.warehouse.memory import memory_budget
from journeylens.warehouse.schema import (
    IDENTITIES,
    JOURNEY_EVENTS,
    JOURNEY_EVENTS_SCHEMA,
    JOURNEY_STATE,
    TIMESTAMP,
)

log = logging.getLogger(__name__)

STATE_TABLE = JOURNEY_STATE
NEXT_SUFFIX = "__next"
STATE_SCHEMA: sch.Schema = sch.Schema({
    "definition_hash": dt.string,
    "episode_gap_minutes": dt.int64,
    "applied_seq": dt.int64,
    "updated_at": TIMESTAMP,
})

_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


@dataclass(frozen=True)
class JourneyUpdate:
    """What one update did: ``mode`` is ``full``, ``incremental`` or ``none`` (already current);
    ``busy`` when another thread was updating and this call did not wait."""

    mode: str
    events: int = 0
    customers: int = 0
    applied_seq: int = 0
    seconds: float = 0.0
    busy: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def fingerprint(definition: JourneyDefinition, gap_minutes: int) -> str:
    """Changes whenever the definition or the episode gap does. Definitions are frozen, so
    the digest of the last one asked about is kept (every ``lens.events()`` asks)."""
    last = _last_digest.get(gap_minutes)
    if last is not None and last[0] is definition:
        return last[1]
    digest = hashlib.sha1(f"{gap_minutes}\n{definition.to_yaml()}".encode()).hexdigest()[:16]
    _last_digest[gap_minutes] = (definition, digest)
    return digest


_last_digest: dict[int, tuple[JourneyDefinition, str]] = {}


def resolve_gap(definition: JourneyDefinition, episode_gap_minutes: int | None) -> int:
    """The explicit gap, else the definition's ``settings.episode_gap_minutes``, else 30."""
    return next((g for g in (episode_gap_minutes, definition.settings.episode_gap_minutes) if g is not None),
                DEFAULT_EPISODE_GAP_MINUTES)


def _lock(warehouse: Warehouse) -> threading.Lock:
    with _locks_guard:
        return _locks.setdefault(warehouse.location, threading.Lock())


def read_state(warehouse: Warehouse, tables: set[str] | None = None) -> dict[str, Any] | None:
    """The ``journey_state`` row, or ``None`` before the first build (``tables``: the
    warehouse's table names when the caller has just listed them)."""
    if STATE_TABLE not in (tables if tables is not None else set(warehouse.con.list_tables())):
        return None
    rows = warehouse.con.table(STATE_TABLE).limit(1).to_pyarrow().to_pylist()
    return rows[0] if rows else None


def needs_update(warehouse: Warehouse, definition: Callable[[], JourneyDefinition],
                 episode_gap_minutes: int | None = None) -> bool:
    """Whether ``journey_events`` is missing, was built with another definition or gap, or
    lacks events that landed since. A table without ``journey_state`` over an empty
    ``events`` table was written by hand (tests, notebooks) and is used as it is."""
    # Every call of lens.events() runs this: the state and the last _seq come in one query.
    if not warehouse.has(JOURNEY_EVENTS):
        return True
    state, hi = _state_and_max_seq(warehouse)
    if state is None:
        return hi > 0
    if hi > int(state["applied_seq"]):
        return True
    chosen = definition()
    return bool(state["definition_hash"] != fingerprint(chosen, resolve_gap(chosen, episode_gap_minutes)))


def update_journey_events(warehouse: Warehouse, definition: JourneyDefinition, *,
                          episode_gap_minutes: int | None = None, full: bool = False,
                          wait: bool = True, memory_limit: str | None = None) -> JourneyUpdate:
    """Bring ``journey_events`` up to date: incrementally when it matches the definition,
    else (or with ``full=True``) a full build swapped in atomically.

    With ``wait=False`` an update already running in another thread is not waited for
    (readers keep using the current table) and ``JourneyUpdate(mode="none", busy=True)``
    is returned. ``memory_limit`` (DuckDB) lowers the engine's limit while the update runs —
    a file ingest passes its own budget, so the update after it spills instead of growing to
    the warehouse's limit.
    """
    gap = resolve_gap(definition, episode_gap_minutes)
    lock = _lock(warehouse)
    if not lock.acquire(blocking=wait):
        return JourneyUpdate(mode="none", busy=True)
    try:
        with _budget(warehouse, memory_limit):
            return _update(warehouse, definition, gap, full)
    finally:
        lock.release()


@contextmanager
def _budget(warehouse: Warehouse, memory_limit: str | None) -> Iterator[None]:
    if memory_limit is None or warehouse.engine != "duckdb":
        yield
        return
    with warehouse.duckdb() as raw, memory_budget(raw, memory_limit):
        yield


def _update(warehouse: Warehouse, definition: JourneyDefinition, gap: int, full: bool) -> JourneyUpdate:
    started = time.perf_counter()
    hi = _max_seq(warehouse)
    state = read_state(warehouse)
    digest = fingerprint(definition, gap)
    if full or state is None or state["definition_hash"] != digest or not warehouse.has(JOURNEY_EVENTS):
        _full_build(warehouse, definition, gap, digest, hi)
        result = JourneyUpdate("full", applied_seq=hi)
    elif hi <= int(state["applied_seq"]):
        return JourneyUpdate("none", applied_seq=hi)
    else:
        events, customers = _incremental(warehouse, definition, gap, digest, int(state["applied_seq"]), hi)
        result = JourneyUpdate("incremental", events=events, customers=customers, applied_seq=hi)
    seconds = round(time.perf_counter() - started, 4)
    log.info("journey_events %s update to _seq %d in %.3f s (%d customers)",
             result.mode, hi, seconds, result.customers)
    return JourneyUpdate(result.mode, result.events, result.customers, hi, seconds)


# --- full build -------------------------------------------------------------------------
def _full_build(warehouse: Warehouse, definition: JourneyDefinition, gap: int, digest: str, hi: int) -> None:
    events = warehouse.table("events")
    events = events.filter(events._seq <= hi)
    # Built through Ibis's create_table, which types the new table by the expression's schema
    # (DuckDB would type a running SUM as HUGEINT); the swap below is what readers see.
    graph = warehouse.con.create_table(IDENTITIES_TABLE + NEXT_SUFFIX, identity_graph(events), overwrite=True)
    expr = journey_events_expr(events, definition, episode_gap_minutes=gap, graph=graph)
    warehouse.con.create_table(JOURNEY_EVENTS + NEXT_SUFFIX, expr.order_by(["customer_id", "step"]), overwrite=True)
    state = _state_table(digest, gap, hi)
    with _transaction(warehouse):
        warehouse.swap_in(IDENTITIES_TABLE + NEXT_SUFFIX, IDENTITIES_TABLE)
        warehouse.swap_in(JOURNEY_EVENTS + NEXT_SUFFIX, JOURNEY_EVENTS)
        _write_state(warehouse, state)


# --- incremental update -------------------------------------------------------------------
def _incremental(warehouse: Warehouse, definition: JourneyDefinition, gap: int, digest: str,
                 lo: int, hi: int) -> tuple[int, int]:
    if warehouse.engine == "duckdb":
        with _scratch(warehouse) as scratch:
            fast = fast_update(warehouse, definition, gap, lo, hi, scratch)
            if fast is not None:
                _replace_rows_duckdb(warehouse, fast.anon, fast.delta, fast.affected, fast.rows,
                                     _state_table(digest, gap, hi))
                return fast.new_events, count_rows(fast.affected)
    events = warehouse.table("events")
    upto = events.filter(events._seq <= hi)
    new = events.filter((events._seq > lo) & (events._seq <= hi))
    new = new.select(customer_id=new.customer_id.nullif(""), anonymous_id=new.anonymous_id.nullif(""))
    with _scratch(warehouse) as scratch:
        new = scratch("new", new)
        n_new = int(new.count().to_pyarrow().as_py())
        anon = scratch("anon", new.filter(new.anonymous_id.notnull()).select("anonymous_id").distinct())
        old_graph = warehouse.table(IDENTITIES_TABLE)
        delta = scratch("graph", identity_graph(upto.filter(upto.anonymous_id.nullif("").isin(anon.anonymous_id))))
        graph = old_graph.filter(~old_graph.anonymous_id.isin(anon.anonymous_id)).union(delta)
        affected = ibis.union(
            new.filter(new.customer_id.notnull()).select(customer_id=new.customer_id),
            old_graph.filter(old_graph.anonymous_id.isin(anon.anonymous_id)).select("customer_id"),
            delta.select("customer_id"),
            anon.select(customer_id=ibis.literal(ANON_PREFIX) + anon.anonymous_id),
            distinct=True)
        affected = scratch("affected", affected)
        linked = graph.filter(graph.customer_id.isin(affected.customer_id)).select("anonymous_id")
        linked = scratch("linked", ibis.union(linked, anon, distinct=True))
        own = upto.customer_id.nullif("")
        candidates = scratch("candidates", upto.filter(
            own.isin(affected.customer_id) | (own.isnull() & upto.anonymous_id.nullif("").isin(linked.anonymous_id))))
        rows = journey_events_expr(candidates, definition, episode_gap_minutes=gap, graph=graph)
        rows = scratch("rows", rows.filter(rows.customer_id.isin(affected.customer_id)))
        n_customers = int(affected.count().to_pyarrow().as_py())
        state = _state_table(digest, gap, hi)
        if warehouse.engine == "duckdb":
            _replace_rows_duckdb(warehouse, anon, delta, affected, rows, state)
        else:
            _replace_rows_by_swap(warehouse, anon, delta, affected, rows, state)
    return n_new, n_customers


def _replace_rows_duckdb(warehouse: Warehouse, anon: ir.Table, delta: ir.Table, affected: ir.Table,
                         rows: ir.Table, state: tuple[str, int, int, datetime]) -> None:
    compile_sql = warehouse.con.compile  # type: ignore[attr-defined]
    with warehouse.duckdb() as raw, _transaction(warehouse):
        raw.execute(f"DELETE FROM {IDENTITIES_TABLE} WHERE anonymous_id IN ({compile_sql(anon)})")
        raw.execute(f"INSERT INTO {IDENTITIES_TABLE} BY NAME {compile_sql(delta)}")
        raw.execute(f"DELETE FROM {JOURNEY_EVENTS} WHERE customer_id IN ({compile_sql(affected)})")
        raw.execute(f"INSERT INTO {JOURNEY_EVENTS} BY NAME {compile_sql(rows)}")
        _write_state(warehouse, state)


def _replace_rows_by_swap(warehouse: Warehouse, anon: ir.Table, delta: ir.Table, affected: ir.Table,
                          rows: ir.Table, state: tuple[str, int, int, datetime]) -> None:
    ident, journey = warehouse.table(IDENTITIES_TABLE), warehouse.table(JOURNEY_EVENTS)
    kept_ident = ident.filter(~ident.anonymous_id.isin(anon.anonymous_id))
    warehouse.con.create_table(IDENTITIES_TABLE + NEXT_SUFFIX, kept_ident.union(delta.select(*IDENTITIES.names)),
                               overwrite=True)
    kept = journey.filter(~journey.customer_id.isin(affected.customer_id))
    warehouse.con.create_table(JOURNEY_EVENTS + NEXT_SUFFIX, kept.union(rows.select(*JOURNEY_EVENTS_SCHEMA.names))
                               .order_by(["customer_id", "step"]), overwrite=True)
    with _transaction(warehouse):
        warehouse.swap_in(IDENTITIES_TABLE + NEXT_SUFFIX, IDENTITIES_TABLE)
        warehouse.swap_in(JOURNEY_EVENTS + NEXT_SUFFIX, JOURNEY_EVENTS)
        _write_state(warehouse, state)


# --- helpers --------------------------------------------------------------------------------
def _state_and_max_seq(warehouse: Warehouse) -> tuple[dict[str, Any] | None, int]:
    """``(read_state(warehouse), _max_seq(warehouse))`` in one query when there is a state row
    (on Spark remembered while the files of both tables stay the same; :func:`_spark_files`)."""
    if not warehouse.has(STATE_TABLE):
        return None, _max_seq(warehouse)
    files = _spark_files(warehouse, ("events", STATE_TABLE))
    with _seen_guard:
        seen = _seen.get(files) if files is not None else None
    if seen is not None:
        return dict(seen[0]), seen[1]
    state, hi = _query_state_and_max_seq(warehouse)
    if files is not None and state is not None:
        with _seen_guard:
            _seen[files] = (dict(state), hi)
            while len(_seen) > 16:
                _seen.pop(next(iter(_seen)))
    return state, hi


#: Spark: state row and last ``_seq`` per file listing of ``events`` and ``journey_state``.
_seen: dict[tuple[str, ...], tuple[dict[str, Any], int]] = {}
_seen_guard = threading.Lock()


def _spark_files(warehouse: Warehouse, tables: tuple[str, ...]) -> tuple[str, ...] | None:
    """The data files of ``tables`` as this Spark session reads them, else ``None`` (DuckDB).

    A Spark session reads a table through the file listing it keeps (a write through the
    session refreshes it; another process's files are seen only after ``REFRESH TABLE``), and
    Spark names every file it writes uniquely: the same listing is the same rows. Listing
    costs a few milliseconds on the driver; the ``max(_seq)`` it replaces is a Spark job over
    every event (0.5-1 s at 1M events, paid by every analysis; ADR 0107)."""
    session = getattr(warehouse.con, "_session", None) if warehouse.engine == "pyspark" else None
    if session is None:
        return None
    try:
        listings = [sorted(session.table(name).inputFiles()) for name in tables]
    except Exception:  # no listing (another kind of source): ask the engine
        return None
    if not all(listings):  # in-memory data or a view over it: no files tell its rows apart
        return None
    return tuple(f for files in listings for f in ("|", *files))


def _query_state_and_max_seq(warehouse: Warehouse) -> tuple[dict[str, Any] | None, int]:
    events = warehouse.con.table("events")
    state = warehouse.con.table(STATE_TABLE).limit(1)
    rows = state.mutate(_hi=events._seq.max().as_scalar()).to_pyarrow().to_pylist()
    if not rows:
        return None, _max_seq(warehouse)
    row = rows[0]
    return row, int(row.pop("_hi") or 0)


def _max_seq(warehouse: Warehouse) -> int:
    value = warehouse.con.table("events")._seq.max().to_pyarrow().as_py()
    return int(value or 0)


def _state_table(digest: str, gap: int, hi: int) -> tuple[str, int, int, datetime]:
    return digest, gap, hi, datetime.now(UTC)


def _write_state(warehouse: Warehouse, state: tuple[str, int, int, datetime]) -> None:
    if warehouse.engine == "duckdb":
        with warehouse.duckdb() as raw:
            raw.execute(f"CREATE TABLE IF NOT EXISTS {STATE_TABLE} (definition_hash VARCHAR, "
                        "episode_gap_minutes BIGINT, applied_seq BIGINT, updated_at TIMESTAMPTZ)")
            raw.execute(f"DELETE FROM {STATE_TABLE}")
            raw.execute(f"INSERT INTO {STATE_TABLE} VALUES (?, ?, ?, ?)", list(state))
    else:
        import pyarrow as pa

        data = pa.table({name: [value] for name, value in zip(STATE_SCHEMA.names, state, strict=True)},
                        schema=STATE_SCHEMA.to_pyarrow())
        warehouse.replace(STATE_TABLE, ibis.memtable(data))


@contextmanager
def _transaction(warehouse: Warehouse) -> Iterator[None]:
    """One DuckDB transaction (readers see all of it or none); a no-op on Spark."""
    if warehouse.engine != "duckdb":
        yield
        return
    with warehouse.duckdb() as raw:
        raw.execute("BEGIN TRANSACTION")
        try:
            yield
        except BaseException:
            raw.execute("ROLLBACK")
            raise
        raw.execute("COMMIT")


@contextmanager
def _scratch(warehouse: Warehouse) -> Iterator[Any]:
    """``scratch(name, expr)`` materialises a small intermediate (a temp table on DuckDB);
    every scratch table is dropped on exit."""
    made: list[str] = []
    temp = warehouse.engine == "duckdb"

    def scratch(name: str, expr: ir.Table) -> ir.Table:
        full = f"_jl_incr_{name}"
        made.append(full)
        return warehouse.con.create_table(full, expr, overwrite=True, temp=temp)

    try:
        yield scratch
    finally:
        for name in made:
            try:
                if temp:
                    with warehouse.duckdb() as raw:
                        raw.execute(f"DROP TABLE IF EXISTS temp.main.{name}")
                else:
                    warehouse.con.drop_table(name, force=True)
            except Exception:
                log.debug("could not drop scratch table %s", name, exc_info=True)
