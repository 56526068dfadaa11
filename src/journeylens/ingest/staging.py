"""Engine-specific ingest, with :mod:`.bulk`: where staged rows live and how they land.

Both stages run :func:`normalize_sql` in a DuckDB connection and keep the normalised rows
in a temporary staging table, then finish with set-based statements: bad rows to
``quarantine``, new good rows to the target table (:func:`landing_sql`: dedupe on ids, or on
the content columns for rows without one), with ``_seq`` continuing from ``max(_seq)``.

* :class:`DuckDBStage` works inside the warehouse's own DuckDB connection and commits
  quarantine, rows and the ``ingest_log`` entry in one transaction (the bulk file path
  fills it from a file scan in one statement).
* :class:`EmbeddedStage` is the generic path for every other engine (Spark): it normalises
  in an embedded DuckDB, reads the target rows staged rows could duplicate (every id; the
  content of id-less rows in the staged time range) and hands the results to
  :meth:`Warehouse.append` as Arrow tables.
"""

from __future__ import annotations

import itertools
import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import duckdb
import pyarrow as pa

from journeylens.ingest.normalize import ID_COLUMN, StagedBatch, normalize_sql
from journeylens.warehouse import Warehouse
from journeylens.warehouse.memory import resolve_memory_limit
from journeylens.warehouse.schema import INGEST_LOG, INPUT_TABLES, QUARANTINE

log = logging.getLogger(__name__)
_names = itertools.count()


@dataclass(frozen=True)
class IngestContext:
    """Everything about one ingest that the SQL needs as parameters."""

    table: str
    source: str
    batch: str
    started_at: datetime
    timezone: str


@dataclass(frozen=True)
class Landed:
    """What :meth:`finish` wrote."""

    valid: int
    accepted: int
    reasons: dict[str, int]


@dataclass
class _StageBase:
    con: Any
    ctx: IngestContext
    name: str = field(default_factory=lambda: f"_jl_stage_{next(_names)}")
    _created: bool = False
    _ids: bool = False  # whether any staged batch mapped the id column

    def add(self, staged: StagedBatch) -> None:
        """Normalise one staged batch into the staging table."""
        view = f"{self.name}_in"
        self.con.register(view, staged.data)
        try:
            sql = normalize_sql(self.ctx.table, staged.shape, view)
            verb = f"INSERT INTO {self.name} " if self._created else f"CREATE TEMP TABLE {self.name} AS "
            self.con.execute(verb + sql, bind(sql, {"tz": self.ctx.timezone, "now": self.ctx.started_at}))
            self._created = True
            self._ids = self._ids or ID_COLUMN.get(self.ctx.table) in staged.shape.types
        finally:
            self.con.unregister(view)

    def _reasons(self) -> dict[str, int]:
        if not self._created:
            return {}
        rows = self.con.execute(
            f"SELECT _reason, count(*) FROM {self.name} WHERE _reason IS NOT NULL GROUP BY _reason").fetchall()
        return {str(code): int(n) for code, n in rows}

    def _valid(self) -> int:
        if not self._created:
            return 0
        return int(self.con.execute(f"SELECT count(*) FROM {self.name} WHERE _reason IS NULL").fetchone()[0])

    def _params(self, **extra: Any) -> dict[str, Any]:
        base = {"source": self.ctx.source, "batch": self.ctx.batch}
        return {**base, **extra}

    def drop(self) -> None:
        if self._created:
            self.con.execute(f"DROP TABLE IF EXISTS {self.name}")
            self._created = False


class DuckDBStage(_StageBase):
    """Staging inside the warehouse's DuckDB connection; one transaction to land."""

    def fill(self, sql: str, params: dict[str, Any], *, ids: bool) -> None:
        """Stage a whole normalised relation (``sql``, from :func:`normalize_sql`) at once."""
        self.con.execute(f"CREATE TEMP TABLE {self.name} AS {sql}", bind(sql, params))
        self._created = True
        self._ids = ids

    def land(self, rejected: pa.Table) -> Landed:
        """Quarantine and land the staged rows inside the caller's transaction."""
        reasons = merge_reasons(self._reasons(), rejected)
        valid = self._valid()
        accepted = 0
        if self._created:
            insert_quarantine(self.con, self.ctx, self.name)
        insert_arrow(self.con, "quarantine", rejected)
        if valid:
            accepted = insert_accepted(self.con, self.ctx, self.name, ids=self._ids)
        return Landed(valid, accepted, reasons)

    def finish(self, rejected: pa.Table, log_row: pa.Table) -> Landed:
        self.con.execute("BEGIN TRANSACTION")
        try:
            landed = self.land(rejected)
            insert_arrow(self.con, "ingest_log", with_counts(log_row, landed.valid, landed.accepted, landed.reasons))
            self.con.execute("COMMIT")
        except Exception:
            self.con.execute("ROLLBACK")
            raise
        finally:
            self.drop()
        return landed


class EmbeddedStage(_StageBase):
    """Generic path: normalise in an embedded DuckDB, land through ``Warehouse.append``."""

    def finish(self, warehouse: Warehouse, rejected: pa.Table, log_row: pa.Table) -> Landed:
        table = self.ctx.table
        reasons = merge_reasons(self._reasons(), rejected)
        valid = self._valid()
        accepted_rows = pa.table({})
        if self._created:
            sql = quarantine_sql(self.name)
            bad = self.con.execute(sql, bind(sql, self._quarantine_params()))
            warehouse.append("quarantine", bad.fetch_arrow_table())
        warehouse.append("quarantine", rejected)
        if valid:
            base = _max_seq(warehouse, table)
            against = None
            if base:
                self.con.register("_jl_existing", self._existing(warehouse))
                against = "_jl_existing"
            sql = landing_sql(table, self.name, against, ids=self._ids)
            accepted_rows = self.con.execute(sql, bind(sql, self._params(base=base))).fetch_arrow_table()
            if against:
                self.con.unregister(against)
            warehouse.append(table, accepted_rows)
        accepted = accepted_rows.num_rows
        warehouse.append("ingest_log", with_counts(log_row, valid, accepted, reasons))
        self.drop()
        return Landed(valid, accepted, reasons)

    def _quarantine_params(self) -> dict[str, Any]:
        return self._params(table=self.ctx.table, now=self.ctx.started_at)

    def _existing(self, warehouse: Warehouse) -> pa.Table:
        """The target's rows that staged rows could duplicate: every id, and the content of
        rows without one (within the staged rows' time range where the table has a time)."""
        table = self.ctx.table
        target = warehouse.table(table)
        columns = content_columns(table)
        id_col = ID_COLUMN.get(table)
        content = target.filter(target[id_col].isnull()) if id_col else target
        time_col = {"events": "timestamp", "feedback": "timestamp", "spend": "date"}.get(table)
        if time_col:
            low, high = self.con.execute(f'SELECT min("{time_col}"), max("{time_col}") FROM {self.name} '
                                         "WHERE _reason IS NULL").fetchone()
            content = content.filter(content[time_col].between(low, high)) if low is not None else content.limit(0)
        parts = [content.select(columns).to_pyarrow()]
        if id_col and self._ids:
            ids = target.filter(target[id_col].notnull()).select(id_col).to_pyarrow()
            parts.append(conform_columns(ids, parts[0].schema))
        return pa.concat_tables(parts)


# --- set-based SQL shared by every path ------------------------------------------------
def content_columns(table: str) -> list[str]:
    """The canonical columns a stored row is compared on (id included)."""
    return [n for n in INPUT_TABLES[table].names if not n.startswith("_")]


def quarantine_sql(rows: str) -> str:
    """Bad rows of the normalised relation ``rows`` in the quarantine's columns."""
    return (f"SELECT $table AS \"table\", $source AS source, _row AS \"row\", _rawjson AS raw, "
            f"_reason AS reason, _detail AS detail, $batch AS _batch, $now AS quarantined_at "
            f"FROM {rows} WHERE _reason IS NOT NULL ORDER BY _row")


def landing_sql(table: str, rows: str, against: str | None, *, ids: bool) -> str:
    """The good rows of ``rows`` that are new, in the target's columns (``$source``,
    ``$base``, ``$batch``).

    * Rows with an id (``_key``): the first of each id in the source, unless ``against``
      (the stored rows) already holds that id.
    * Events and feedback without an id keep repeated identical rows (two equal clicks are
      two events); the n-th copy is new unless the table already holds n copies of it.
    * Customers and spend collapse identical rows to the first; new unless stored.

    Rows without an id are compared on their content columns (``IS NOT DISTINCT FROM``), so
    no content hash is computed or stored; with ``against`` None (an empty table) and no ids
    the statement streams with no join, window or sort.
    """
    columns = content_columns(table)
    id_col = ID_COLUMN.get(table)
    ctes = [f"g AS (SELECT * FROM {rows} WHERE _reason IS NULL)"]
    first = "QUALIFY row_number() OVER (PARTITION BY {by} ORDER BY _row) = 1"
    if id_col is None:  # customers, spend: collapse on content
        by = ", ".join(f'"{c}"' for c in columns)
        ctes.append(f"c AS (SELECT * FROM g {first.format(by=by)})")
        parts = ["SELECT c.* FROM c" + (f" ANTI JOIN {against} e ON {_same('c', 'e', columns)}" if against else "")]
    else:
        content = [c for c in columns if c != id_col]
        parts = []
        if ids:
            # The first row of each id: a grouped min(_row) and a join on the (unique) row
            # number, not a window over 10M ids — hash aggregates and joins spill to disk.
            ctes.append("f AS (SELECT min(_row) AS _first FROM g WHERE _key IS NOT NULL GROUP BY _key)")
            ctes.append("i AS (SELECT g.* FROM g SEMI JOIN f ON f._first = g._row)")
            parts.append("SELECT i.* FROM i" + (
                f' ANTI JOIN (SELECT "{id_col}" AS _id FROM {against} WHERE "{id_col}" IS NOT NULL) e '
                "ON e._id = i._key" if against else ""))
            ctes.append("c AS (SELECT * FROM g WHERE _key IS NULL)")
        else:
            ctes.append("c AS (SELECT * FROM g)")
        if against:
            by = ", ".join(f'c."{c}"' for c in content)
            ctes.append(f"x AS (SELECT {', '.join(f'e.{quote_ident(c)}' for c in content)}, count(*) AS _m FROM {against} e "
                        f"SEMI JOIN c ON {_same('e', 'c', content)} WHERE e.{quote_ident(id_col)} IS NULL GROUP BY ALL)")
            ctes.append(f"d AS (SELECT c._row, x._m, row_number() OVER (PARTITION BY {by} ORDER BY c._row) AS _occ "
                        f"FROM c JOIN x ON {_same('c', 'x', content)})")
            parts.append("SELECT c.* FROM c ANTI JOIN (SELECT _row FROM d WHERE _occ <= _m) k ON k._row = c._row")
        else:
            parts.append("SELECT c.* FROM c")
    cols = ", ".join(f"n.{quote_ident(c)}" for c in columns)
    union = " UNION ALL ".join(parts)
    return (f"WITH {', '.join(ctes)} SELECT {cols}, $source AS _source, n._row, $base + n._row AS _seq, "
            f"n._key, $batch AS _batch FROM ({union}) n")


def quote_ident(name: str) -> str:
    """``name`` as a DuckDB identifier (double quotes, inner ones doubled)."""
    return '"' + name.replace('"', '""') + '"'


def _same(left: str, right: str, columns: list[str]) -> str:
    return " AND ".join(f"{left}.{quote_ident(c)} IS NOT DISTINCT FROM {right}.{quote_ident(c)}" for c in columns)


def insert_quarantine(con: Any, ctx: IngestContext, rows: str) -> None:
    """Bad rows of the staged relation ``rows`` into ``quarantine`` (in row order)."""
    sql = f"INSERT INTO quarantine {quarantine_sql(rows)}"
    con.execute(sql, bind(sql, {"table": ctx.table, "source": ctx.source, "batch": ctx.batch,
                                "now": ctx.started_at}))


def max_seq(con: Any, table: str) -> int:
    """The table's last ``_seq`` (0 when empty)."""
    return int(con.execute(f"SELECT coalesce(max(_seq), 0) FROM {quote_ident(table)}").fetchone()[0])


def insert_accepted(con: Any, ctx: IngestContext, rows: str, *, ids: bool) -> int:
    """Land the new good rows of ``rows`` into the context's table; the number landed."""
    table = ctx.table
    base = max_seq(con, table)
    target = ", ".join(quote_ident(c) for c in INPUT_TABLES[table].names)
    against = quote_ident(table) if base else None
    sql = f"INSERT INTO {quote_ident(table)} ({target}) {landing_sql(table, rows, against, ids=ids)}"
    values = {"source": ctx.source, "batch": ctx.batch, "base": base}
    return int(con.execute(sql, bind(sql, values)).fetchone()[0])


def insert_arrow(con: Any, table: str, data: pa.Table) -> None:
    if data.num_rows == 0:
        return
    view = f"_jl_arrow_{next(_names)}"
    con.register(view, data)
    try:
        con.execute(f'INSERT INTO "{table}" SELECT * FROM {view}')
    finally:
        con.unregister(view)


def _max_seq(warehouse: Warehouse, table: str) -> int:
    base = warehouse.table(table)._seq.max().execute()
    return 0 if base is None or base != base else int(base)


def conform_columns(data: pa.Table, schema: pa.Schema) -> pa.Table:
    """``data`` with ``schema``'s columns (missing ones null)."""
    return pa.table({f.name: data.column(f.name).cast(f.type) if f.name in data.column_names
                     else pa.nulls(data.num_rows, f.type) for f in schema})


def bind(sql: str, params: dict[str, Any]) -> dict[str, Any]:
    """Only the parameters ``sql`` uses (DuckDB refuses unused ones)."""
    return {k: v for k, v in params.items() if f"${k}" in sql}


def embedded_connection(memory_limit: str) -> Any:
    """A private DuckDB for the generic path (UTC, like the warehouse)."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET memory_limit = ?", [resolve_memory_limit(memory_limit)])
    con.execute("SET preserve_insertion_order = true")
    return con


def merge_reasons(reasons: dict[str, int], rejected: pa.Table) -> dict[str, int]:
    """Staged reasons plus the reader-level rejects."""
    merged = dict(reasons)
    for code in rejected.column("reason").to_pylist() if rejected.num_rows else []:
        merged[code] = merged.get(code, 0) + 1
    return merged


def with_counts(log_row: pa.Table, valid: int, accepted: int, reasons: dict[str, int]) -> pa.Table:
    """Fill the ingest_log row's counts (the rest was set by the pipeline)."""
    quarantined = sum(reasons.values())
    values = log_row.to_pylist()[0] | {
        "read": valid + quarantined, "accepted": accepted, "duplicates": valid - accepted,
        "quarantined": quarantined, "reasons": json.dumps(dict(sorted(reasons.items()))),
        "finished_at": datetime.now(UTC),
    }
    return pa.Table.from_pylist([values], schema=INGEST_LOG.to_pyarrow())


def rejected_table(rows: list[dict[str, Any]]) -> pa.Table:
    """Reader-level rejects in the quarantine schema."""
    return pa.Table.from_pylist(rows, schema=QUARANTINE.to_pyarrow())
