"""``changes(every_period=True)``: every period against the one before it, adjusted together —
so a drop months before the latest period is still found (the dashboard's overview uses it)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import pytest

from journeylens.analyses import stats
from journeylens.analyses.significance import changes
from journeylens.warehouse import Warehouse
from journeylens.warehouse.schema import FEEDBACK


def _rows(month: int, touchpoint: str, csat: list[int]) -> list[dict[str, Any]]:
    return [{"customer_id": f"{touchpoint}{month}-{i}", "touchpoint": touchpoint, "csat": v,
             "timestamp": datetime(2024, month, 1 + i % 27, tzinfo=UTC)} for i, v in enumerate(csat)]


def _table(rows: list[dict[str, Any]]) -> pa.Table:
    rows = [dict(r, _seq=i + 1) for i, r in enumerate(rows)]
    schema = FEEDBACK.to_pyarrow()
    return pa.table({f.name: pa.array([r.get(f.name) for r in rows], type=f.type) for f in schema}, schema=schema)


@pytest.fixture
def release_drop(duckdb_wh: Warehouse) -> Warehouse:
    """'login' drops from 36/40 satisfied to 12/40 in March and stays there; 'web' is flat; 'shop'
    has answers in May only. Answers stop on the 27th, so May counts as incomplete: these tests
    of the scan pass ``include_incomplete=True`` (the default is tested in test_metrics_significance)."""
    rows = (_rows(1, "login", [5] * 36 + [1] * 4) + _rows(2, "login", [5] * 37 + [1] * 3)
            + _rows(3, "login", [5] * 12 + [1] * 28) + _rows(4, "login", [5] * 13 + [1] * 27)
            + _rows(5, "login", [5] * 12 + [1] * 28)
            + [r for m in range(1, 6) for r in _rows(m, "web", [5] * 20 + [2] * 10)] + _rows(5, "shop", [5] * 9))
    duckdb_wh.append("feedback", _table(rows))
    return duckdb_wh


def test_latest_only_misses_an_older_drop(release_drop: Warehouse) -> None:
    latest = changes(release_drop.table("feedback"), by=["touchpoint"], metrics=["csat"], include_incomplete=True)
    assert {(r["touchpoint"], r["base_period"], r["current_period"]) for r in latest.to_dict()} == {
        ("login", "2024-04", "2024-05"), ("web", "2024-04", "2024-05")}
    assert latest.significant() == []


def test_every_period_finds_it_newest_first(release_drop: Warehouse) -> None:
    result = changes(release_drop.table("feedback"), by=["touchpoint"], metrics=["csat"], every_period=True,
                     include_incomplete=True)
    rows = result.to_dict()
    assert [(r["touchpoint"], r["current_period"]) for r in rows] == [
        (tp, f"2024-0{m}") for m in (5, 4, 3, 2) for tp in ("login", "web")]  # shop has no month before May
    drop = next(r for r in rows if r["touchpoint"] == "login" and r["current_period"] == "2024-03")
    expected = stats.two_proportion_ztest(37, 40, 12, 40)
    assert (drop["base_period"], drop["base"], drop["current"]) == ("2024-02", 37 / 40, 12 / 40)
    assert drop["p"] == pytest.approx(expected.p_value)
    q = stats.benjamini_hochberg([r["p"] for r in rows])  # adjusted across every comparison together
    assert [r["q"] for r in rows] == pytest.approx(q)
    assert [(r["touchpoint"], r["current_period"]) for r in result.significant()] == [("login", "2024-03")]
    assert result.params["every_period"] is True


def test_every_period_equals_latest_when_there_is_one_step(release_drop: Warehouse) -> None:
    fb = release_drop.table("feedback")
    two_months = fb.filter(fb.timestamp < datetime(2024, 3, 1, tzinfo=UTC))
    one = changes(two_months, by=["touchpoint"], metrics=["csat"], include_incomplete=True)
    every = changes(two_months, by=["touchpoint"], metrics=["csat"], every_period=True,
                     include_incomplete=True)
    assert every.to_dict() == one.to_dict()
