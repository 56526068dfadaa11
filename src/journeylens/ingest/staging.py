"""The one engine-specific module of ingest: where staged rows live and how they land.

Both stages run :func:`normalize_sql` in a DuckDB connection and keep the normalised rows
in a temporary staging table, then finish with set-based statements: bad rows to
``quarantine``, good rows that are neither already stored nor repeated earlier in the same
source (first occurrence by ``_row`` wins) to the target table, with ``_seq`` continuing
from the table's ``max(_seq)``.

* :class:`DuckDBStage` works inside the warehouse's own DuckDB connection and commits
  quarantine, rows and the ``ingest_log`` entry in one transaction.
* :class:`EmbeddedStage` is the generic path for every other engine (Spark): it normalises
  in an embedded DuckDB, reads the target's existing ``_key`` s for dedupe and hands the
  results to :meth:`Warehouse.append` as Arrow tables.
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

from journeylens.ingest.normalize import StagedBatch, normalize_sql
from journeylens.warehouse import Warehouse
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

    def add(self, staged: StagedBatch) -> None:
        """Normalise one staged batch into the staging table."""
        view = f"{self.name}_in"
        self.con.register(view, staged.data)
        try:
            sql = normalize_sql(self.ctx.table, staged, view)
            verb = f"INSERT INTO {self.name} " if self._created else f"CREATE TEMP TABLE {self.name} AS "
            self.con.execute(verb + sql, bind(sql, {"tz": self.ctx.timezone, "now": self.ctx.started_at}))
            self._created = True
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

    def _quarantine_sql(self) -> str:
        return (f"SELECT $table AS \"table\", $source AS source, _row AS \"row\", _rawjson AS raw, "
                f"_reason AS reason, _detail AS detail, $batch AS _batch, $now AS quarantined_at "
                f"FROM {self.name} WHERE _reason IS NOT NULL ORDER BY _row")

    def _accepted_sql(self, *, dedupe_against: str | None) -> str:
        """Good rows to land: the first of each key, except that repeated identical rows that
        do not collapse (events/feedback without an id) are all kept, the n-th one keyed
        ``md5(key#n)``; then nothing whose key the table already holds."""
        columns = [n for n in INPUT_TABLES[self.ctx.table].names if not n.startswith("_")]
        cols = ", ".join(f's."{c}"' for c in columns)
        outer = ", ".join(f'k."{c}"' for c in columns)
        outer = ", ".join(f'k."{c}"' for c in columns)
        key = "CASE WHEN r.occ IS NULL OR r.occ = 1 THEN s._key ELSE md5(s._key || '#' || r.occ) END"
        existing = f"AND NOT EXISTS (SELECT 1 FROM {dedupe_against} e WHERE e._key = k._key)" if dedupe_against else ""
        return (
            f"WITH d AS (SELECT _key FROM {self.name} WHERE _reason IS NULL GROUP BY _key HAVING count(*) > 1), "
            f"r AS (SELECT _row, row_number() OVER (PARTITION BY _key ORDER BY _row) AS occ "
            f"FROM {self.name} WHERE _reason IS NULL AND _key IN (SELECT _key FROM d)), "
            f"k AS (SELECT {cols}, s._row, {key} AS _key FROM {self.name} s LEFT JOIN r ON r._row = s._row "
            f"WHERE s._reason IS NULL AND (r.occ IS NULL OR r.occ = 1 OR NOT s._collapse)) "
            f"SELECT {outer}, $source AS _source, k._row, "
            f"$base + k._row AS _seq, k._key, $batch AS _batch FROM k WHERE true {existing}")

    def _params(self, **extra: Any) -> dict[str, Any]:
        base = {"source": self.ctx.source, "batch": self.ctx.batch}
        return {**base, **extra}

    def drop(self) -> None:
        if self._created:
            self.con.execute(f"DROP TABLE IF EXISTS {self.name}")
            self._created = False


class DuckDBStage(_StageBase):
    """Staging inside the warehouse's DuckDB connection; one transaction to land."""

    def finish(self, rejected: pa.Table, log_row: pa.Table) -> Landed:
        table = self.ctx.table
        reasons = merge_reasons(self._reasons(), rejected)
        valid = self._valid()
        accepted = 0
        self.con.execute("BEGIN TRANSACTION")
        try:
            if self._created:
                sql = self._quarantine_sql()
                self.con.execute(f"INSERT INTO quarantine {sql}",
                                 bind(sql, self._params(table=table, now=self.ctx.started_at)))
            self._insert_arrow("quarantine", rejected)
            if valid:
                base = self.con.execute(f'SELECT coalesce(max(_seq), 0) FROM "{table}"').fetchone()[0]
                against = f'"{table}"' if base else None
                sql = f'INSERT INTO "{table}" {self._accepted_sql(dedupe_against=against)}'
                accepted = int(self.con.execute(sql, self._params(base=int(base))).fetchone()[0])
            self._insert_arrow("ingest_log", _with_counts(log_row, valid, accepted, reasons))
            self.con.execute("COMMIT")
        except Exception:
            self.con.execute("ROLLBACK")
            raise
        finally:
            self.drop()
        return Landed(valid, accepted, reasons)

    def _insert_arrow(self, table: str, data: pa.Table) -> None:
        if data.num_rows == 0:
            return
        view = f"{self.name}_{table}"
        self.con.register(view, data)
        try:
            self.con.execute(f'INSERT INTO "{table}" SELECT * FROM {view}')
        finally:
            self.con.unregister(view)


class EmbeddedStage(_StageBase):
    """Generic path: normalise in an embedded DuckDB, land through ``Warehouse.append``."""

    def finish(self, warehouse: Warehouse, rejected: pa.Table, log_row: pa.Table) -> Landed:
        table = self.ctx.table
        reasons = merge_reasons(self._reasons(), rejected)
        valid = self._valid()
        accepted_rows = pa.table({})
        if self._created:
            sql = self._quarantine_sql()
            bad = self.con.execute(sql, bind(sql, self._params(table=table, now=self.ctx.started_at)))
            warehouse.append("quarantine", bad.fetch_arrow_table())
        warehouse.append("quarantine", rejected)
        if valid:
            target = warehouse.table(table)
            base = target._seq.max().execute()
            base = 0 if base is None or base != base else int(base)
            keys = target.select("_key").to_pyarrow()
            self.con.register("_jl_existing_keys", keys)
            sql = self._accepted_sql(dedupe_against="_jl_existing_keys")
            accepted_rows = self.con.execute(sql, self._params(base=base)).fetch_arrow_table()
            self.con.unregister("_jl_existing_keys")
            warehouse.append(table, accepted_rows)
        accepted = accepted_rows.num_rows
        warehouse.append("ingest_log", _with_counts(log_row, valid, accepted, reasons))
        self.drop()
        return Landed(valid, accepted, reasons)


def bind(sql: str, params: dict[str, Any]) -> dict[str, Any]:
    """Only the parameters ``sql`` uses (DuckDB refuses unused ones)."""
    return {k: v for k, v in params.items() if f"${k}" in sql}


def embedded_connection(memory_limit: str) -> Any:
    """A private DuckDB for the generic path (UTC, like the warehouse)."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET memory_limit = ?", [memory_limit])
    con.execute("SET preserve_insertion_order = true")
    return con


def merge_reasons(reasons: dict[str, int], rejected: pa.Table) -> dict[str, int]:
    """Staged reasons plus the reader-level rejects."""
    merged = dict(reasons)
    for code in rejected.column("reason").to_pylist() if rejected.num_rows else []:
        merged[code] = merged.get(code, 0) + 1
    return merged


def _with_counts(log_row: pa.Table, valid: int, accepted: int, reasons: dict[str, int]) -> pa.Table:
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
