"""How fresh the data is: per table and source, the date range of the data, when it was last
ingested, and a warning when the newest row is older than ``stale_after_days``.

Shown on the data-health page and in the overview header, so a person reading a score knows
which dates it covers and whether the feed has stopped ("the newest event is 660 days old").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import ibis
import ibis.expr.types as ir

from journeylens.analyses.result import Result, plain
from journeylens.errors import ParameterError

TIMED_TABLES: tuple[str, ...] = ("events", "feedback")
DEFAULT_STALE_AFTER_DAYS = 2.0


@dataclass(frozen=True)
class FreshnessResult(Result):
    """Rows ``table, source, rows, first, last, last_ingested_at, age_days, stale`` plus the
    overall range and warnings in ``params``."""

    title: str = "Data freshness"

    def to_dict(self) -> Any:
        return plain({"sources": super().to_dict(), "first": self.params["first"], "last": self.params["last"],
                      "now": self.params["now"], "stale_after_days": self.params["stale_after_days"],
                      "warnings": self.params["warnings"]})

    @property
    def warnings(self) -> list[str]:
        return list(self.params["warnings"])


def _age_days(last: datetime | None, now: datetime) -> float | None:
    return None if last is None else round((now - last).total_seconds() / 86400, 1)


def _per_source(table: ir.Table, name: str, log: ir.Table, now: datetime, stale_after_days: float) -> list[dict[str, Any]]:
    agg = table.group_by(source=table._source).aggregate(rows=table.count(), first=table.timestamp.min(),
                                                         last=table.timestamp.max())
    ingested = log.filter(log.table == name).group_by(source=log.source).aggregate(
        last_ingested_at=log.finished_at.max())
    joined = agg.left_join(ingested, agg.source == ingested.source).select(
        agg.source, agg.rows, agg.first, agg.last, ingested.last_ingested_at)
    rows = []
    for row in joined.order_by(ibis.desc("last")).to_pyarrow().to_pylist():
        age = _age_days(row["last"], now)
        rows.append({"table": name, "source": row["source"], "rows": int(row["rows"]), "first": row["first"],
                     "last": row["last"], "last_ingested_at": row["last_ingested_at"], "age_days": age,
                     "stale": age is not None and age > stale_after_days})
    return rows


def freshness(tables: dict[str, ir.Table], ingest_log: ir.Table, *, now: datetime | None = None,
              stale_after_days: float = DEFAULT_STALE_AFTER_DAYS) -> FreshnessResult:
    """Freshness of ``tables`` (``events``/``feedback`` → Ibis table) using the ingest log."""
    if stale_after_days <= 0:
        raise ParameterError(f"stale_after_days must be positive, got {stale_after_days}.")
    now = now or datetime.now(UTC)
    rows: list[dict[str, Any]] = []
    for name in TIMED_TABLES:
        if name in tables:
            rows += _per_source(tables[name], name, ingest_log, now, stale_after_days)
    firsts = [r["first"] for r in rows if r["first"] is not None]
    lasts = [r["last"] for r in rows if r["last"] is not None]
    warnings = []
    for name in TIMED_TABLES:
        newest = max((r["last"] for r in rows if r["table"] == name and r["last"] is not None), default=None)
        age = _age_days(newest, now)
        if age is not None and age > stale_after_days:
            warnings.append(f"The newest {name[:-1] if name == 'events' else name} row is {age:,.0f} days old "
                            f"({newest:%Y-%m-%d}): scores describe the past, not today.")
    params = {"first": min(firsts) if firsts else None, "last": max(lasts) if lasts else None, "now": now,
              "stale_after_days": stale_after_days, "warnings": warnings}
    return FreshnessResult(records=tuple(rows), params=params)
