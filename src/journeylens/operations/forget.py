"""Right to erasure: remove one customer from everything JourneyLens keeps.

:func:`forget_customer` deletes every row of every warehouse table that has a
``customer_id`` column (events, feedback, customers, journey_events, identities and whatever
derived table carries one), the events and identity links of the anonymous ids stitched to
the customer, and the quarantined rows that belong to the customer or one of those ids. Then
it drops the text caches built from the customer's comments, asks every plugin to erase its
own rows (hook ``journeylens_forget_customer``: tickets, survey invitations, ...), and
records *that* an erasure happened — counts, actor and time, never the id — in the audit
trail and as an ``ingest_log`` entry (which also moves the data version, so no cached result
still shows the customer).

A quarantined row belongs to the customer when its row as read (``raw``, JSON) is an object
or array one of whose values *is* the id (or one of the linked anonymous ids) — any field,
since a file may name its id column anything — or whose ``payload`` (how the collector keeps
a message it could not use) is such an object or array; and also when the id appears as a
*token* in its raw text or its reason's detail (:func:`token_pattern`): a line that could not
be parsed at all (a broken JSON or CSV line) or a free-text field that mentions the id. A
token is the id with neither a letter, digit, ``_`` nor ``-`` right before or after it, so
``c-12`` does not erase the rows of ``c-123``. Quarantined rows are unusable input, so a row
that mentions the customer is erased whole rather than redacted.

Not found (documented in docs/security.md): the id spelled otherwise (escaped inside JSON
text, other case, split), other personal data that does not carry the id (a name or email in
another customer's comment), and free text in the tables of other customers (feedback
comments, ticket notes) that mentions the id: those rows belong to someone else and are kept.

On DuckDB everything in the warehouse is one transaction. On Spark each table is rewritten
without the customer's rows (written beside it, then swapped in), table by table: a failure
half-way leaves the tables already done without the customer, and running the erasure again
finishes it.
"""

from __future__ import annotations

import json
import re
import shutil
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from journeylens import hooks
from journeylens.analyses.filters import check_text
from journeylens.errors import EngineNotSupportedError, ParameterError
from journeylens.operations.appdb import AppDatabase
from journeylens.operations.audit import record


@dataclass(frozen=True)
class ForgetReport:
    """What an erasure removed, by table (rows); never the customer's data."""

    removed: dict[str, int] = field(default_factory=dict)
    anonymous_ids: int = 0

    @property
    def total(self) -> int:
        return sum(self.removed.values())

    def to_dict(self) -> dict[str, Any]:
        return {"removed": dict(self.removed), "anonymous_ids": self.anonymous_ids, "total": self.total}


def _ident(name: str) -> str:
    if not name.replace("_", "").isalnum():  # our own table names only
        raise ParameterError(f"Unexpected table name {name!r}.")
    return f'"{name}"'


def _erase_warehouse(con: Any, customer_id: str) -> tuple[dict[str, int], list[str], list[str]]:
    """Delete the customer's rows; returns counts, linked anonymous ids and comment texts."""
    tables = [row[0] for row in con.execute("SELECT table_name FROM information_schema.tables "
                                            "WHERE table_schema = 'main' AND table_type = 'BASE TABLE'").fetchall()]
    columns = {t: {row[0] for row in con.execute("SELECT column_name FROM information_schema.columns "
                                                 "WHERE table_schema = 'main' AND table_name = ?", [t]).fetchall()}
               for t in tables}
    anonymous = sorted({row[0] for t in ("events", "identities") if {"customer_id", "anonymous_id"} <= columns.get(t, set())
                        for row in con.execute(f"SELECT DISTINCT anonymous_id FROM {_ident(t)} WHERE customer_id = ? "
                                               "AND anonymous_id IS NOT NULL", [customer_id]).fetchall()})
    comments = ([row[0] for row in con.execute("SELECT comment FROM feedback WHERE customer_id = ? AND comment IS NOT "
                                               "NULL", [customer_id]).fetchall()]
                if "comment" in columns.get("feedback", set()) else [])
    removed: dict[str, int] = {}
    for table in tables:
        cols = columns[table]
        where: list[str] = []
        params: list[Any] = []
        if "customer_id" in cols:
            where.append("customer_id = ?")
            params.append(customer_id)
        if "anonymous_id" in cols and anonymous:
            where.append("list_contains(?, anonymous_id)")
            params.append(anonymous)
        if table == "quarantine" and "raw" in cols:
            where.append(_QUARANTINE_MATCH)
            params.extend([[customer_id, *anonymous]] * 2)
            for text_col in ("raw", "detail") if "detail" in cols else ("raw",):
                where.append(f"coalesce(regexp_matches({_ident(text_col)}, ?), false)")
                params.append(token_pattern([customer_id, *anonymous]))
        if not where:
            continue
        sql = f"DELETE FROM {_ident(table)} WHERE " + " OR ".join(f"({w})" for w in where)
        count = con.execute(sql, params).fetchone()
        if count and count[0]:
            removed[table] = int(count[0])
    return removed, anonymous, comments


def _erase_duckdb(warehouse: Any, customer_id: str) -> tuple[dict[str, int], list[str], list[str]]:
    """The erasure and its ``ingest_log`` entry in one DuckDB transaction."""
    with warehouse.duckdb() as con:
        con.execute("BEGIN TRANSACTION")
        try:
            removed, anonymous, comments = _erase_warehouse(con, customer_id)
            _forget_log_row(con, sum(removed.values()))
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
    return removed, anonymous, comments


def _values(path: str) -> str:
    """DuckDB: the values of the JSON object or array at ``path`` of ``raw``, as text (empty else)."""
    return (f"CASE json_type(raw, '{path}') WHEN 'OBJECT' THEN json_extract_string(raw, '{path}.*') "
            f"WHEN 'ARRAY' THEN json_extract_string(raw, '{path}[*]') ELSE [] END")


#: A quarantined row whose fields (or whose ``payload``'s fields) hold one of the ids (2 bound lists).
_QUARANTINE_MATCH = (f"CASE WHEN json_valid(raw) THEN coalesce(list_has_any({_values('$')}, ?) "
                     f"OR list_has_any({_values('$.payload')}, ?), false) ELSE false END")


#: What may not touch an id for it to count as a token (a class for RE2 and Java regexes alike).
_ID_CHARS = "A-Za-z0-9_-"


def token_pattern(ids: list[str]) -> str:
    """A regex matching any of ``ids`` as a token: no letter, digit, ``_`` or ``-`` next to it.

    >>> import re
    >>> bool(re.search(token_pattern(["c-12"]), 'bad line: c-12;"x')), bool(re.search(token_pattern(["c-12"]), "c-123"))
    (True, False)
    """
    alternatives = "|".join(re.escape(i) for i in sorted(set(ids), key=len, reverse=True))
    return f"(^|[^{_ID_CHARS}])({alternatives})($|[^{_ID_CHARS}])"


def _forget_log_row(con: Any, removed: int) -> None:
    """An ``ingest_log`` entry saying an erasure ran (no id): moves the data version."""
    from journeylens.ingest.pipeline import new_batch_id

    now = datetime.now(UTC)
    con.execute("INSERT INTO ingest_log (_batch, \"table\", source, started_at, finished_at, read, accepted, "
                "duplicates, quarantined, reasons) VALUES (?, 'customers', 'forget', ?, ?, 0, 0, 0, 0, ?)",
                [new_batch_id(now), now, now, json.dumps({"erased_rows": removed})])


def _erase_spark(warehouse: Any, customer_id: str) -> tuple[dict[str, int], list[str], list[str]]:
    """The same erasure on Spark: each table with the customer's rows is rewritten without them."""
    from pyspark.sql import functions as F

    session = warehouse.con._session
    tables = sorted(t.name for t in session.catalog.listTables() if not t.isTemporary)  # not Ibis's temp views
    frames = {t: session.table(t) for t in tables}
    anonymous = sorted({row[0] for t in ("events", "identities") if {"customer_id", "anonymous_id"} <= set(
        frames[t].columns if t in frames else ()) for row in frames[t].filter(
            (F.col("customer_id") == F.lit(customer_id)) & F.col("anonymous_id").isNotNull())
        .select("anonymous_id").distinct().collect()})
    comments = ([row[0] for row in frames["feedback"].filter((F.col("customer_id") == F.lit(customer_id))
                                                              & F.col("comment").isNotNull()).select("comment").collect()]
                if "comment" in frames.get("feedback", session.range(0)).columns else [])
    ids = [customer_id, *anonymous]

    def holds_id(path: Any) -> Any:  # a JSON object's or array's values include one of the ids
        in_object = F.exists(F.map_values(F.from_json(path, "map<string,string>")), lambda v: v.isin(ids))
        in_array = F.exists(F.from_json(path, "array<string>"), lambda v: v.isin(ids))
        return F.coalesce(in_object, F.lit(False)) | F.coalesce(in_array, F.lit(False))

    removed: dict[str, int] = {}
    for table, frame in frames.items():
        match = F.lit(False)
        if "customer_id" in frame.columns:
            match = match | F.coalesce(F.col("customer_id") == F.lit(customer_id), F.lit(False))
        if "anonymous_id" in frame.columns and anonymous:
            match = match | F.coalesce(F.col("anonymous_id").isin(anonymous), F.lit(False))
        if table == "quarantine" and "raw" in frame.columns:
            payload = F.get_json_object(F.col("raw"), "$.payload")
            match = match | holds_id(F.col("raw")) | holds_id(payload)
            for text_col in ("raw", "detail") if "detail" in frame.columns else ("raw",):
                match = match | F.coalesce(F.col(text_col).rlike(token_pattern(ids)), F.lit(False))
        count = frame.filter(match).count()
        if count:
            built = f"{table}_forget_{uuid.uuid4().hex[:8]}"
            frame.filter(~match).write.saveAsTable(built)
            warehouse.swap_in(built, table)
            removed[table] = int(count)
    return removed, anonymous, comments


def _log_spark(warehouse: Any, removed: int) -> None:
    from journeylens.ingest.pipeline import new_batch_id

    now = datetime.now(UTC)
    warehouse.append("ingest_log", pa.table({
        "_batch": [new_batch_id(now)], "table": ["customers"], "source": ["forget"], "started_at": [now],
        "finished_at": [now], "read": [0], "accepted": [0], "duplicates": [0], "quarantined": [0],
        "reasons": [json.dumps({"erased_rows": removed})]}))


def _drop_text_caches(lens: Any, comments: list[str]) -> None:
    """Cached text results may quote the comments: drop them all; drop the comments' vectors."""
    from journeylens.text.cache import EmbeddingCache

    root = lens.settings.cache_dir
    shutil.rmtree(root / "results", ignore_errors=True)
    for path in (root / "embeddings").glob("*.npz") if (root / "embeddings").is_dir() else ():
        cache = EmbeddingCache(root, path.stem)
        cache.discard(comments)
        cache.save()


def forget_customer(lens: Any, customer_id: str, *, db: AppDatabase | None = None,
                    actor: str = "system") -> ForgetReport:
    """Erase ``customer_id`` everywhere (see the module docs); safe to run again."""
    customer_id = check_text("customer_id", customer_id).strip()
    if not customer_id:
        raise ParameterError("Give the customer id to forget.")
    if lens.warehouse.engine == "pyspark":
        removed, anonymous, comments = _erase_spark(lens.warehouse, customer_id)
        _log_spark(lens.warehouse, sum(removed.values()))
    elif lens.warehouse.engine != "duckdb":
        raise EngineNotSupportedError(f"Forgetting a customer is not implemented for the {lens.warehouse.engine} "
                                      "engine (DuckDB and Spark are).", code="engine_not_supported")
    else:
        removed, anonymous, comments = _erase_duckdb(lens.warehouse, customer_id)
    _drop_text_caches(lens, comments)
    for table, count in hooks.forget_customer(lens, customer_id).items():
        removed[table] = removed.get(table, 0) + count
    report = ForgetReport({t: n for t, n in removed.items() if n}, anonymous_ids=len(anonymous))
    if db is not None:
        with db.session() as session:
            record(session, actor=actor, action="customer.forget", target="", details=report.to_dict())
    return report
