"""Bulk fast path: a CSV or Parquet file into a DuckDB warehouse, read by DuckDB itself.

Instead of streaming Arrow chunks through Python, DuckDB scans the file (``read_parquet``
with ``file_row_number``; ``read_csv`` with the sniffed delimiter, the header names and
every column as text, numbered by ``row_number() OVER ()`` in file order) through a
projection that produces exactly the generated columns of :func:`~.normalize.stage_batch`
(``s_<target>``, ``_own_<name>``, ``_extra`` and ``_raw`` structs), so the same
:func:`~.normalize.normalize_sql` types, validates and keys every row. In one transaction:

* events / feedback without an id column into an empty table (the first bulk load):
  nothing can be a duplicate, so ONE streaming ``INSERT … SELECT`` reads the file once and
  lands every row, bad ones marked and moved to ``quarantine`` right after
  (:func:`_append_all`);
* events / feedback with an id column whose ids are distinct in the file (one pass over the
  ids proves it, :func:`_ids_unique`): the same streaming insert, with an anti-join on the
  ids already stored;
* otherwise the normalised file is staged once in a temporary table and lands like the
  chunked path (:meth:`~.staging.DuckDBStage.land`: quarantine, then the new good rows by
  an anti-join on ids / content, :func:`~.staging.landing_sql`).

Then the ``ingest_log`` row, and COMMIT.

Source column names reach the SQL only as quoted identifiers; paths, names, delimiter and
encoding are bound parameters. A CSV file that DuckDB's strict reader refuses (a line with
the wrong number of fields, an unterminated quote, bytes that are not the encoding) rolls
the transaction back and the caller falls back to the exact chunked path, which
quarantines such lines with their row numbers.
"""

from __future__ import annotations

import codecs
import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import duckdb
import pyarrow as pa

from journeylens.ingest.mapping import EXTRA_COLUMN, ColumnPlan
from journeylens.ingest.normalize import (
    ID_COLUMN,
    OWN_JSON,
    StageShape,
    normalize_sql,
    unique_fields,
)
from journeylens.ingest.readers.base import ABSENT_COL, ROW_COL
from journeylens.ingest.staging import (
    DuckDBStage,
    IngestContext,
    Landed,
    bind,
    insert_arrow,
    max_seq,
    quote_ident,
    rejected_table,
    with_counts,
)
from journeylens.warehouse.schema import INPUT_TABLES

log = logging.getLogger(__name__)

#: Python codec name -> DuckDB read_csv encoding (the ones DuckDB decodes itself).
_CSV_ENCODINGS: Final = {"utf-8": "utf-8", "ascii": "utf-8", "iso8859-1": "latin-1"}
#: What a strict CSV scan raises for a file it cannot read as declared.
CSV_REFUSED: Final = (duckdb.InvalidInputException, duckdb.ConversionException)


@dataclass(frozen=True)
class FileRelation:
    """A parenthesised SELECT over a file with :func:`stage_batch`'s generated columns."""

    sql: str
    params: dict[str, Any]
    shape: StageShape
    ids: bool


def file_relation(fmt: str, path: Path, plan: ColumnPlan, schema: pa.Schema, *, delimiter: str | None = None,
                  encoding: str = "utf-8") -> FileRelation | None:
    """The relation for ``path`` read by DuckDB, or None where the fast path does not apply
    (feedback with metric columns, names DuckDB would rename, an encoding it cannot decode)."""
    names = [n for n in schema.names if n not in (ROW_COL, ABSENT_COL)]
    lowered = [n.lower() for n in names]
    if plan.metric_cols or len(set(lowered)) != len(lowered) or "file_row_number" in lowered or not names:
        return None
    if fmt == "parquet":
        scan = "read_parquet($path, file_row_number = true)"
        row = "file_row_number + 1"
        params: dict[str, Any] = {"path": str(path)}
    elif fmt == "csv":
        duck_encoding = _CSV_ENCODINGS.get(codecs.lookup(encoding).name)
        if duck_encoding is None or delimiter is None:
            return None
        scan = ("read_csv($path, auto_detect = false, header = true, columns = $columns, delim = $delim, "
                "quote = '\"', escape = '\"', allow_quoted_nulls = false, null_padding = false, "
                "strict_mode = true, encoding = $encoding)")
        row = "row_number() OVER ()"
        params = {"path": str(path), "columns": dict.fromkeys(names, "VARCHAR"), "delim": delimiter,
                  "encoding": duck_encoding}
    else:
        return None
    select, shape = _projection(plan, schema, names)
    sql = f"(SELECT {row} AS _row, {select} FROM {scan})"
    return FileRelation(sql, params, shape, ids=ID_COLUMN.get(plan.table) in shape.types)


def _projection(plan: ColumnPlan, schema: pa.Schema, names: list[str]) -> tuple[str, StageShape]:
    """The generated columns, as :func:`stage_batch` names them, over the file's columns."""
    parts: list[str] = []
    types: dict[str, pa.DataType] = {}
    for target, source in plan.targets.items():
        if source in names:
            parts.append(f"{quote_ident(source)} AS s_{target}")
            types[target] = schema.field(source).type
    own = {n: schema.field(n).type for n in OWN_JSON[plan.table] if n in names and n not in plan.mapped_sources}
    parts.extend(f"{quote_ident(n)} AS _own_{n}" for n in own)
    extras = [n for n in plan.extras(names) if n not in own]
    if extras:
        parts.append(f"{_struct(extras)} AS _extra")
    parts.append(f"{_struct(names)} AS _raw")
    return ", ".join(parts), StageShape(types, own, extra=bool(extras))


def _struct(names: list[str]) -> str:
    fields = unique_fields(names)
    return "struct_pack(" + ", ".join(f"{quote_ident(f)} := {quote_ident(n)}"
                                      for f, n in zip(fields, names, strict=True)) + ")"


def land_file(con: Any, ctx: IngestContext, relation: FileRelation, log_row: pa.Table) -> Landed:
    """Validate, quarantine and land the whole file in one transaction on ``con``.

    Raises :data:`CSV_REFUSED` errors (after rolling back) when DuckDB cannot read the file.
    """
    rows = normalize_sql(ctx.table, relation.shape, relation.sql)
    params = {**relation.params, "tz": ctx.timezone, "now": ctx.started_at}
    stage = DuckDBStage(con, ctx)
    with _insertion_order(con, needed="OVER ()" in relation.sql):
        return _land_file(con, ctx, stage, rows, relation, params, log_row)


@contextlib.contextmanager
def _insertion_order(con: Any, *, needed: bool) -> Iterator[None]:
    """``row_number() OVER ()`` numbers CSV rows in file order only while DuckDB preserves
    insertion order; the warehouse turns that off elsewhere (see ``engines.connect_duckdb``)."""
    if not needed:
        yield
        return
    before = con.execute("SELECT current_setting('preserve_insertion_order')").fetchone()[0]
    con.execute("SET preserve_insertion_order = true")
    try:
        yield
    finally:
        con.execute(f"SET preserve_insertion_order = {'true' if before else 'false'}")


def _land_file(con: Any, ctx: IngestContext, stage: DuckDBStage, rows: str, relation: FileRelation,
               params: dict[str, Any], log_row: pa.Table) -> Landed:
    con.execute("BEGIN TRANSACTION")
    try:
        base = max_seq(con, ctx.table) if ctx.table in ID_COLUMN else -1
        if base == 0 and not relation.ids:
            landed = _append_all(con, ctx, f"({rows})", params)
        elif base >= 0 and relation.ids and (total := _ids_unique(con, f"({rows})", params, empty=base == 0)):
            landed = _append_all(con, ctx, f"({rows})", params, base=base, total=total)
        else:
            stage.fill(rows, params, ids=relation.ids)
            landed = stage.land(rejected_table([]))
        insert_arrow(con, "ingest_log", with_counts(log_row, landed.valid, landed.accepted, landed.reasons))
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    finally:
        stage.drop()
    return Landed(landed.valid, landed.accepted, landed.reasons)


def _ids_unique(con: Any, rows: str, params: dict[str, Any], *, empty: bool) -> int:
    """The number of rows of a file with ids when one streaming insert lands it exactly as the
    staged path would (0 when it cannot): no id occurs twice in the file, and every row has an
    id unless the table is empty (rows without one are deduplicated on their content against
    the stored rows, which needs the staged path).

    One pass over the id column alone: distinct 64-bit hashes of the ids as many as the ids
    proves them distinct (a collision can only lower the count, and then the staged path
    decides exactly). Staging 10M normalised rows in a temporary table to find the first of
    each id spilled to disk under the ingest memory limit and took 16x the plain insert."""
    sql = f"SELECT count(*), count(_key), count(DISTINCT hash(_key)) FILTER (WHERE _key IS NOT NULL) FROM {rows}"
    total, with_id, distinct = con.execute(sql, bind(sql, params)).fetchone()
    unique = int(with_id) == int(distinct) and (empty or int(total) == int(with_id))
    return int(total) if unique else 0


def _append_all(con: Any, ctx: IngestContext, rows: str, params: dict[str, Any], *, base: int = 0,
                total: int | None = None) -> Landed:
    """One streaming ``INSERT … SELECT`` of every row: events / feedback without ids into an
    empty table (nothing can be a duplicate), or a file whose ids are distinct
    (:func:`_ids_unique`; ``total`` rows), where a good row whose id is already stored is left
    out by an anti-join, like the staged path's. Bad rows ride along marked (``_batch`` =
    ``<batch>:quarantine``, reason in ``_key``, detail in ``_source``, raw JSON in
    ``properties``) and are moved to ``quarantine`` right after, in the same transaction —
    the file is read once and each check is evaluated once per row."""
    table = ctx.table
    marker = f"{ctx.batch}:quarantine"
    columns = [c for c in INPUT_TABLES[table].names if not c.startswith("_")]
    good = "n._reason IS NULL"
    values = [f"CASE WHEN {good} THEN n.{quote_ident(c)} ELSE n._rawjson END" if c == EXTRA_COLUMN[table]
              else f"n.{quote_ident(c)}" for c in columns]
    values += [f"CASE WHEN {good} THEN $source ELSE n._detail END", "n._row", "$base + n._row",
               f"CASE WHEN {good} THEN n._key ELSE n._reason END",
               f"CASE WHEN {good} THEN $batch ELSE $marker END"]
    target = ", ".join(quote_ident(c) for c in INPUT_TABLES[table].names)
    sql = f"INSERT INTO {quote_ident(table)} ({target}) SELECT {', '.join(values)} FROM {rows} n"
    if base:
        ids = quote_ident(ID_COLUMN[table])
        sql += f" WHERE NOT {good} OR n._key NOT IN (SELECT {ids} FROM {quote_ident(table)} WHERE {ids} IS NOT NULL)"
    read = int(con.execute(sql, bind(sql, {**params, "source": ctx.source, "batch": ctx.batch,
                                            "marker": marker, "base": base})).fetchone()[0])
    marked = f"FROM {quote_ident(table)} WHERE _batch = $marker"
    counts = con.execute(f"SELECT _key, count(*) {marked} GROUP BY _key", {"marker": marker}).fetchall()
    reasons = {str(code): int(n) for code, n in counts}
    if reasons:
        catch_all = quote_ident(EXTRA_COLUMN[table])
        con.execute(f"INSERT INTO quarantine SELECT $table, $source, _row, {catch_all}, _key, _source, $batch, $now "
                    f"{marked} ORDER BY _row", {"table": table, "source": ctx.source, "batch": ctx.batch,
                                                "now": ctx.started_at, "marker": marker})
        con.execute(f"DELETE {marked}", {"marker": marker})
    accepted = read - sum(reasons.values())
    valid = accepted if total is None else total - sum(reasons.values())
    return Landed(valid, accepted, reasons)
