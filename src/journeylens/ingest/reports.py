"""What ingest left behind, for people: the quarantine and the ingest history.

Both are plain Ibis expressions over the warehouse tables, so they run on every engine.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import ibis

from journeylens.analyses.result import plain
from journeylens.errors import ParameterError
from journeylens.ingest.reasons import REASONS
from journeylens.warehouse import Warehouse
from journeylens.warehouse.schema import INPUT_TABLES

QUARANTINE_COLUMNS = ("table", "source", "row", "reason", "detail", "raw")


@dataclass(frozen=True)
class QuarantineReport:
    """Quarantined rows (newest ingest first, then by row) with counts by reason.

    ``to_dict()`` is ``{"total": n, "reasons": {code: n}, "rows": [{table, source, row,
    reason, detail, raw}]}``; ``total`` and ``reasons`` count every match, ``rows`` at most
    ``limit`` of them.
    """

    total: int
    reasons: Mapping[str, int]
    rows: Sequence[Mapping[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"total": self.total, "reasons": dict(self.reasons), "rows": [dict(r) for r in self.rows]}

    def without_raw(self) -> QuarantineReport:
        """The same report without each row as read (``raw`` is null): for readers who may
        not see customer-level identifiers (the row as read carries its ids)."""
        return QuarantineReport(self.total, self.reasons, [{**r, "raw": None} for r in self.rows])


def quarantine_report(warehouse: Warehouse, *, table: str | None = None, reason: str | None = None,
                      limit: int = 100) -> QuarantineReport:
    """The quarantine, optionally only one table and/or one reason code.

    >>> from journeylens.warehouse import open_warehouse
    >>> quarantine_report(open_warehouse("duckdb://")).to_dict()
    {'total': 0, 'reasons': {}, 'rows': []}
    """
    if table is not None and table not in INPUT_TABLES:
        raise ParameterError(f"Unknown table {table!r}; use one of {', '.join(INPUT_TABLES)}.")
    if reason is not None and reason not in REASONS:
        raise ParameterError(f"Unknown reason {reason!r}; the codes are {', '.join(REASONS)}.")
    if limit < 0:
        raise ParameterError(f"limit must be 0 or more, not {limit}.")
    q = warehouse.table("quarantine")
    if table is not None:
        q = q.filter(q["table"] == table)
    if reason is not None:
        q = q.filter(q.reason == reason)
    counts = q.group_by("reason").aggregate(n=q.count()).order_by([ibis.desc("n"), "reason"]).to_pyarrow()
    reasons = {str(code): int(n) for code, n in zip(counts["reason"].to_pylist(), counts["n"].to_pylist(),
                                                     strict=True)}
    rows = (q.order_by([ibis.desc("_batch"), "row"]).select(*QUARANTINE_COLUMNS).limit(limit)
            .to_pyarrow().to_pylist()) if limit else []
    return QuarantineReport(sum(reasons.values()), reasons, [{k: plain(v) for k, v in r.items()} for r in rows])


def ingest_history(warehouse: Warehouse, *, limit: int = 50) -> list[dict[str, Any]]:
    """The latest ``limit`` ingests, newest first: batch, table, source, times and counts."""
    if limit < 1:
        raise ParameterError(f"limit must be at least 1, not {limit}.")
    log_t = warehouse.table("ingest_log")
    rows = log_t.order_by(ibis.desc("_batch")).limit(limit).to_pyarrow().to_pylist()
    out = []
    for row in rows:
        record = {("batch" if k == "_batch" else k): plain(v) for k, v in row.items()}
        record["reasons"] = json.loads(row["reasons"] or "{}")
        out.append(record)
    return out
