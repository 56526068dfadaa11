"""Right to erasure: remove one customer from everything JourneyLens keeps.

:func:`forget_customer` deletes, in one warehouse transaction, every row of every warehouse
table that has a ``customer_id`` column (events, feedback, customers, journey_events,
identities and whatever derived table carries one), the events and identity links of the
anonymous ids stitched to the customer, and the quarantined rows whose row-as-read mentions
the customer or one of those ids. Then it drops the text caches built from the customer's
comments, asks every plugin to erase its own rows (hook ``journeylens_forget_customer``:
tickets, survey invitations, ...), and records *that* an erasure happened — counts, actor
and time, never the id — in the audit trail and as an ``ingest_log`` entry (which also moves
the data version, so no cached result still shows the customer).

Quarantined rows are matched on the id as a JSON string anywhere in the row as read: a
bad row that merely mentions the same text in another field goes too (erring on the side
of forgetting). DuckDB warehouses only; Spark tables are not updatable in place.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

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
            where.append("len([s for s in ? if position(s IN raw) > 0]) > 0")
            params.append([json.dumps(v, ensure_ascii=False) for v in (customer_id, *anonymous)])
        if not where:
            continue
        sql = f"DELETE FROM {_ident(table)} WHERE " + " OR ".join(f"({w})" for w in where)
        count = con.execute(sql, params).fetchone()
        if count and count[0]:
            removed[table] = int(count[0])
    return removed, anonymous, comments


def _forget_log_row(con: Any, removed: int) -> None:
    """An ``ingest_log`` entry saying an erasure ran (no id): moves the data version."""
    from journeylens.ingest.pipeline import new_batch_id

    now = datetime.now(UTC)
    con.execute("INSERT INTO ingest_log (_batch, \"table\", source, started_at, finished_at, read, accepted, "
                "duplicates, quarantined, reasons) VALUES (?, 'customers', 'forget', ?, ?, 0, 0, 0, 0, ?)",
                [new_batch_id(now), now, now, json.dumps({"erased_rows": removed})])


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
    if lens.warehouse.engine != "duckdb":
        raise EngineNotSupportedError("Forgetting a customer needs a DuckDB warehouse (Spark tables are not "
                                      "updated in place).", code="engine_not_supported")
    with lens.warehouse.duckdb() as con:
        con.execute("BEGIN TRANSACTION")
        try:
            removed, anonymous, comments = _erase_warehouse(con, customer_id)
            _forget_log_row(con, sum(removed.values()))
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
    _drop_text_caches(lens, comments)
    for table, count in hooks.forget_customer(lens, customer_id).items():
        removed[table] = removed.get(table, 0) + count
    report = ForgetReport({t: n for t, n in removed.items() if n}, anonymous_ids=len(anonymous))
    if db is not None:
        with db.session() as session:
            record(session, actor=actor, action="customer.forget", target="", details=report.to_dict())
    return report
