"""The :class:`Warehouse`: one object that holds an Ibis backend and knows the canonical tables."""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import ibis
import ibis.expr.schema as sch
import ibis.expr.types as ir
import pyarrow as pa
from ibis.backends import BaseBackend

from journeylens.errors import NotFoundError, WarehouseError
from journeylens.settings import Settings, get_settings
from journeylens.warehouse import engines
from journeylens.warehouse.schema import INPUT_TABLES, JOURNEY_EVENTS, JOURNEY_STATE, SYSTEM_TABLES

log = logging.getLogger(__name__)


class Warehouse:
    """Ibis backend plus the canonical tables.

    >>> wh = open_warehouse("duckdb://")          # in-memory DuckDB
    >>> wh.engine
    'duckdb'
    >>> wh.table("events").count().execute()
    0
    """

    def __init__(self, con: BaseBackend, *, engine: str, location: str):
        self.con = con
        self.engine = engine
        self.location = location
        self.ensure_tables()

    # --- construction -------------------------------------------------------------
    @classmethod
    def from_spark(cls, session: Any, *, location: str = "pyspark://") -> Warehouse:
        """Wrap an existing SparkSession (for example on a cluster)."""
        return cls(ibis.pyspark.connect(session), engine="pyspark", location=location)

    # --- tables ---------------------------------------------------------------------
    def ensure_tables(self) -> None:
        existing = set(self.con.list_tables())
        for name, schema in {**INPUT_TABLES, **SYSTEM_TABLES}.items():
            if name not in existing:
                self._create_table(name, schema)

    def _create_table(self, name: str, schema: sch.Schema, attempts: int = 30) -> None:
        """Create ``name``; when two connections open a new warehouse at once (serve's collector
        and its worker), the loser of the write-write conflict waits for the winner's table."""
        for attempt in range(attempts):
            try:
                self.con.create_table(name, schema=schema)
                return
            except Exception:
                if attempt == attempts - 1:
                    raise
                time.sleep(0.1)
                if name in self.con.list_tables():
                    return

    def has(self, name: str) -> bool:
        # Looked up first, listed only when the lookup fails: callers ask often (every call of
        # lens.events(), every page), and a listing is a catalogue query (on Spark a job).
        try:
            self.con.table(name)
        except Exception:
            return name in self.con.list_tables()
        return True

    def table(self, name: str) -> ir.Table:
        # The table is looked up first and the tables listed only when that fails: every
        # analysis opens a few tables, and a listing costs a catalogue query (a Spark job).
        try:
            return self.con.table(name)
        except Exception as exc:
            if self.has(name):
                raise
            hint = " Run `journeylens ingest events FILE` first." if name == JOURNEY_EVENTS else ""
            raise NotFoundError(f"Table {name!r} is not in the warehouse at {self.location}.{hint}") from exc

    def schema(self, name: str) -> sch.Schema:
        return self.table(name).schema()

    def append(self, name: str, data: pa.Table | ir.Table) -> None:
        """Append rows (columns in the table's order; missing columns become null)."""
        target = self.schema(name)
        if isinstance(data, pa.Table):
            data = conform_arrow(data, target)
            if data.num_rows == 0:
                return
        self.con.insert(name, data)

    def replace(self, name: str, expr: ir.Table | pa.Table) -> ir.Table:
        """Create or overwrite a derived table with the result of ``expr``.

        On DuckDB one ``CREATE OR REPLACE TABLE ... AS`` statement: readers see the old table
        or the new one, and no ``ibis_duckdb_table_*`` helper table is left behind when the
        work stops half-way (Ibis's ``overwrite=True`` builds under a temporary name).
        """
        if self.engine != "duckdb" or isinstance(expr, pa.Table):
            return self.con.create_table(name, expr, overwrite=True)
        if not name.replace("_", "").isalnum():
            raise WarehouseError(f"Invalid table name {name!r}.", code="invalid_table_name")
        self.con._run_pre_execute_hooks(expr)  # type: ignore[attr-defined] # registers in-memory tables
        sql = str(self.con.compile(expr))
        with self.duckdb() as raw:
            raw.execute(f'CREATE OR REPLACE TABLE "{name}" AS {sql}')
        return self.con.table(name)

    def swap_in(self, built: str, name: str) -> None:
        """Replace table ``name`` by the table ``built`` (renamed to ``name``).

        On DuckDB, call it inside a transaction (as :mod:`journeylens.journeys.incremental`
        does) and readers on other cursors see the old table or the new one, never none.
        """
        if self.engine == "duckdb":
            with self.duckdb() as raw:
                raw.execute(f"DROP TABLE IF EXISTS {_ident(name)}")
                raw.execute(f"ALTER TABLE {_ident(built)} RENAME TO {_ident(name)}")
        else:
            self.con.raw_sql(f"DROP TABLE IF EXISTS `{name}`")  # type: ignore[attr-defined]
            self.con.raw_sql(f"ALTER TABLE `{built}` RENAME TO `{name}`")  # type: ignore[attr-defined]

    def count(self, name: str) -> int:
        return int(self.table(name).count().execute())

    # --- versions -------------------------------------------------------------------
    def data_version(self) -> str:
        """A short token that changes whenever any ingest lands (the cache key of results)."""
        log_t = self.table("ingest_log")
        agg = log_t.aggregate(n=log_t.count(), last=log_t._batch.max(), rows=log_t.accepted.sum())
        row = agg.to_pyarrow().to_pylist()[0]
        token = f"{self.location}|{row['n']}|{row['last']}|{row['rows']}"
        if self.has(JOURNEY_STATE):
            # journey_events is updated just after events land: results computed in between
            # must not be cached under the new version.
            state = self.table(JOURNEY_STATE).to_pyarrow().to_pylist()
            token += "|" + ";".join(f"{s['definition_hash']}:{s['applied_seq']}" for s in state)
        return hashlib.sha1(token.encode()).hexdigest()[:12]

    # --- raw access for engine-specific work -----------------------------------------
    @contextmanager
    def duckdb(self) -> Iterator[Any]:
        """The raw DuckDB connection (ingest staging only). Typed error on other engines."""
        if self.engine != "duckdb":
            raise WarehouseError(f"The {self.engine} engine has no raw DuckDB connection.", code="engine_not_supported")
        yield self.con.con  # type: ignore[attr-defined]

    def close(self) -> None:
        disconnect = getattr(self.con, "disconnect", None)
        if callable(disconnect) and self.engine == "duckdb":
            disconnect()

    def __repr__(self) -> str:
        return f"Warehouse(engine={self.engine!r}, location={self.location!r})"


def _ident(name: str) -> str:
    """A quoted identifier for one of our own table names (never user input)."""
    if not name.replace("_", "").isalnum():
        raise WarehouseError(f"Invalid table name {name!r}.", code="invalid_table_name")
    return f'"{name}"'


def conform_arrow(data: pa.Table, schema: sch.Schema) -> pa.Table:
    """Reorder, add missing (null) columns and cast to the canonical Arrow schema."""
    target = schema.to_pyarrow()
    columns = []
    for field in target:
        if field.name in data.column_names:
            columns.append(data.column(field.name).cast(field.type))
        else:
            columns.append(pa.nulls(data.num_rows, type=field.type))
    return pa.Table.from_arrays(columns, schema=target)


def open_warehouse(location: str | None = None, settings: Settings | None = None) -> Warehouse:
    """Open (creating if needed) the warehouse at ``location``.

    ``location`` is a DuckDB file path, ``duckdb://PATH`` (empty path = in memory) or
    ``pyspark://WAREHOUSE_DIR`` (local Spark, or the cluster named by ``JOURNEYLENS_SPARK_MASTER``).
    """
    settings = settings or get_settings()
    location = location or settings.warehouse
    engine, target = engines.parse_location(location)
    if engine == "duckdb":
        con = engines.connect_duckdb(target, memory_limit=settings.duckdb_memory_limit, threads=settings.duckdb_threads,
                                     temp_directory=str(settings.duckdb_temp_directory or "") or None)
    else:
        con = engines.connect_pyspark(target, master=settings.spark_master)
    return Warehouse(con, engine=engine, location=location)
