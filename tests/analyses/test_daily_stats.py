"""CX metrics by period advanced by the new rows equal a computation from scratch, batch after batch,
and fall back to a full computation when stored rows change (a deletion) or do not qualify."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import ibis
import pyarrow as pa
import pytest

import journeylens
from journeylens.analyses.daily_stats import DAILY_STATS
from journeylens.analyses.metrics import cx_metrics
from journeylens.analyses.significance import changes
from journeylens.settings import Settings

T0 = datetime(2024, 1, 1, tzinfo=UTC)
QUERIES: list[dict[str, Any]] = [
    {"by": ["month"]},
    {"by": ["touchpoint", "week"]},
    {"by": ["channel", "day"], "metrics": ["nps"]},
]


def _batch(rng: random.Random, size: int, start: int) -> pa.Table:
    rows = []
    for i in range(size):
        rows.append({
            "response_id": f"r{start + i}",
            "customer_id": f"c{rng.randrange(50)}",
            "timestamp": T0 + timedelta(days=rng.randrange(120), hours=rng.randrange(24)),
            "touchpoint": rng.choice(["web", "app", "branch", None]),
            "channel": rng.choice(["web", "app", None]),
            "nps": rng.choice([None, *range(11)]),
            "csat": rng.choice([None, 1, 2, 3, 4, 5]),
            "ces": rng.choice([None, 1, 4, 7]),
        })
    return pa.Table.from_pylist(rows)


def _from_scratch(lens: Any, query: dict[str, Any]) -> list[dict[str, Any]]:
    # An in-memory copy is never advanced (it is not the warehouse's feedback table).
    copy = ibis.memtable(lens.warehouse.table("feedback").to_pyarrow())
    return cx_metrics(copy, min_sample_size=1, **query).to_dict(detail=True)


def _advanced(lens: Any, query: dict[str, Any]) -> list[dict[str, Any]]:
    return cx_metrics(lens.warehouse.table("feedback"), min_sample_size=1, **query).to_dict(detail=True)


@pytest.mark.parametrize("seed", [1, 2])
def test_metrics_by_period_advanced_batch_by_batch_equal_a_full_computation(seed: int) -> None:
    rng = random.Random(seed)
    lens = journeylens.open("duckdb://", settings=Settings(warehouse="duckdb://"))
    DAILY_STATS.clear()
    before = DAILY_STATS.stats()
    start = 0
    for _ in range(3):
        size = rng.randrange(1, 60)
        assert lens.ingest("feedback", _batch(rng, size, start)).accepted == size
        start += size
        for query in QUERIES:
            assert _advanced(lens, query) == _from_scratch(lens, query)
    after = DAILY_STATS.stats()
    assert after["incremental"] - before["incremental"] == 2 * len(QUERIES)  # batches 2-3 added, not redone
    assert after["full"] - before["full"] == len(QUERIES)


def test_a_deleted_row_makes_the_days_recomputed() -> None:
    rng = random.Random(7)
    lens = journeylens.open("duckdb://", settings=Settings(warehouse="duckdb://"))
    lens.ingest("feedback", _batch(rng, 80, 0))
    query = {"by": ["month"]}
    assert _advanced(lens, query) == _from_scratch(lens, query)
    with lens.warehouse.duckdb() as raw:  # what `journeylens customer forget` does to feedback
        raw.execute("DELETE FROM feedback WHERE customer_id = ?", ["c3"])
    full = DAILY_STATS.stats()["full"]
    assert _advanced(lens, query) == _from_scratch(lens, query)
    assert DAILY_STATS.stats()["full"] == full + 1


def test_an_edited_answer_is_recomputed_and_an_edited_comment_is_not() -> None:
    """The fingerprint covers the columns the query reads: an edited score changes the
    statistics (recomputed); an edited comment cannot (the stored days are reused)."""
    rng = random.Random(5)
    lens = journeylens.open("duckdb://", settings=Settings(warehouse="duckdb://"))
    lens.ingest("feedback", _batch(rng, 80, 0))
    query = {"by": ["touchpoint", "month"]}
    _advanced(lens, query)
    with lens.warehouse.duckdb() as raw:
        raw.execute("UPDATE feedback SET comment = 'edited' WHERE response_id = ?", ["r1"])
    counts = DAILY_STATS.stats()
    assert _advanced(lens, query) == _from_scratch(lens, query)
    assert DAILY_STATS.stats()["unchanged"] == counts["unchanged"] + 1
    with lens.warehouse.duckdb() as raw:
        raw.execute("UPDATE feedback SET nps = CASE WHEN nps = 10 THEN 0 ELSE 10 END WHERE response_id = ?", ["r2"])
    assert _advanced(lens, query) == _from_scratch(lens, query)
    assert DAILY_STATS.stats()["full"] == counts["full"] + 1


def test_period_changes_use_the_advanced_days_too() -> None:
    rng = random.Random(11)
    lens = journeylens.open("duckdb://", settings=Settings(warehouse="duckdb://"))
    lens.ingest("feedback", _batch(rng, 200, 0))
    changes(lens.warehouse.table("feedback"), by=["touchpoint"], period="month", min_sample_size=1)
    lens.ingest("feedback", _batch(rng, 50, 200))
    incremental = DAILY_STATS.stats()["incremental"]
    advanced = changes(lens.warehouse.table("feedback"), by=["touchpoint"], period="month", min_sample_size=1)
    copy = ibis.memtable(lens.warehouse.table("feedback").to_pyarrow())
    assert advanced.to_dict() == changes(copy, by=["touchpoint"], period="month", min_sample_size=1).to_dict()
    assert DAILY_STATS.stats()["incremental"] == incremental + 1
