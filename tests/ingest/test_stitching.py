"""Identity stitching: first link wins, retroactive attribution, determinism, stats."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import ibis
import pyarrow as pa
import pytest

from journeylens.ingest.stitching import (
    conflicting_identities,
    identity_graph,
    identity_report,
    resolve_customers,
    stitching_stats,
)
from journeylens.warehouse import Warehouse

T0 = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)


def ev(seq: int, minute: int, customer: str | None, anon: str | None, touchpoint: str = "page") -> dict[str, Any]:
    return {"customer_id": customer, "anonymous_id": anon, "timestamp": T0 + timedelta(minutes=minute),
            "touchpoint": touchpoint, "_seq": seq}


ROWS = [
    ev(1, 0, None, "a1", "landing"),        # before the login: belongs to c1 retroactively
    ev(2, 5, None, "a1", "pricing"),
    ev(3, 10, "c1", "a1", "$identify"),     # first link of a1 -> c1
    ev(4, 20, None, "a1", "checkout"),      # after the login
    ev(5, 30, "c2", "a1", "login"),         # shared device: a later, conflicting link
    ev(6, 31, None, "a1", "logout"),        # anonymous-only: still the first link, c1
    ev(7, 0, None, "a2", "landing"),        # never linked
    ev(8, 1, "c3", None, "store visit"),    # only a customer id
    ev(9, 2, "", "", "ghost"),              # empty strings are missing ids
    ev(10, 10, "c4", "a3", "login"),        # a3: two links at the same time; _seq decides
    ev(11, 10, "c5", "a3", "login"),
    ev(12, 11, None, "a3", "page"),
]


def table(rows: list[dict[str, Any]]) -> pa.Table:
    schema = pa.schema([("customer_id", pa.string()), ("anonymous_id", pa.string()),
                        ("timestamp", pa.timestamp("us", "UTC")), ("touchpoint", pa.string()), ("_seq", pa.int64())])
    return pa.Table.from_pylist(rows, schema=schema)


def resolved(events: ibis.Table) -> dict[int, tuple[str | None, str]]:
    rows = resolve_customers(events).to_pyarrow().to_pylist()
    return {r["_seq"]: (r["customer_id"], r["identity_source"]) for r in rows}


def test_retroactive_attribution_first_link_wins_and_own_ids_are_kept() -> None:
    got = resolved(ibis.memtable(table(ROWS)))
    assert got == {
        1: ("c1", "stitched"), 2: ("c1", "stitched"), 3: ("c1", "customer_id"), 4: ("c1", "stitched"),
        5: ("c2", "customer_id"), 6: ("c1", "stitched"), 7: ("anon:a2", "anonymous"),
        8: ("c3", "customer_id"), 9: (None, "none"), 10: ("c4", "customer_id"), 11: ("c5", "customer_id"),
        12: ("c4", "stitched"),
    }


def test_identity_graph_rows() -> None:
    graph = identity_graph(ibis.memtable(table(ROWS))).order_by("anonymous_id").to_pyarrow().to_pylist()
    assert graph == [
        {"anonymous_id": "a1", "customer_id": "c1", "first_linked_at": T0 + timedelta(minutes=10), "events": 6},
        {"anonymous_id": "a3", "customer_id": "c4", "first_linked_at": T0 + timedelta(minutes=10), "events": 3},
    ]


def test_stitching_is_deterministic_whatever_the_row_order() -> None:
    expected = resolved(ibis.memtable(table(ROWS)))
    rng = random.Random(7)
    for _ in range(5):
        shuffled = ROWS[:]
        rng.shuffle(shuffled)
        assert resolved(ibis.memtable(table(shuffled))) == expected


def test_stats_and_report() -> None:
    events = ibis.memtable(table(ROWS))
    stats = stitching_stats(events)
    assert stats.to_dict() == {
        "events": 12, "with_customer_id": 5, "anonymous_only": 6, "resolved": 5, "unresolved": 1,
        "no_identity": 1, "anonymous_ids": 3, "linked_anonymous_ids": 2, "conflicting_anonymous_ids": 2,
        "customers": 5,
    }
    assert stats.resolved_share == pytest.approx(5 / 6)
    conflicts = conflicting_identities(events).order_by("anonymous_id").to_pyarrow().to_pylist()
    assert conflicts == [{"anonymous_id": "a1", "customers": 2, "events": 2},
                         {"anonymous_id": "a3", "customers": 2, "events": 2}]
    report = identity_report(events, limit=1).to_dict()
    assert report["stats"] == stats.to_dict()
    assert report["identities"] == [{"anonymous_id": "a1", "customer_id": "c1",
                                     "first_linked_at": (T0 + timedelta(minutes=10)).isoformat(), "events": 6}]
    assert len(report["conflicts"]) == 1


def test_stitching_runs_the_same_on_every_engine(wh: Warehouse) -> None:
    wh.append("events", table(ROWS))
    events = wh.table("events")
    assert resolved(events) == resolved(ibis.memtable(table(ROWS)))
    assert stitching_stats(events).conflicting_anonymous_ids == 2
