"""One bad value never costs a good row: every value of every kind is judged on its own row.

The property test mixes good records with records carrying every kind of bad value the
HTTP collector can receive (arrays, objects, booleans, huge and non-finite numbers, NUL
characters, text that is no date) in random order and checks that every good row lands,
every bad row is quarantined with a reason, and the counts add up.
"""

from __future__ import annotations

import json
import math
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from journeylens.ingest import ingest_records
from journeylens.warehouse import open_warehouse

T = "2025-03-01T10:00:00Z"

# (field, bad value) pairs: each makes a record unusable on its own.
BAD_VALUES: list[tuple[str, Any]] = [
    ("timestamp", [1]), ("timestamp", {"at": T}), ("timestamp", True), ("timestamp", 2**70),
    ("timestamp", 9_223_372_036_854_775_807), ("timestamp", math.inf), ("timestamp", "not a time"),
    ("timestamp", "2025-03-01\x00T10:00:00Z"), ("timestamp", None), ("timestamp", -1e300),
    ("customer_id", ["c"]), ("customer_id", {"id": "c"}), ("customer_id", True), ("customer_id", "c\x00d"),
    ("customer_id", None), ("touchpoint", [None]), ("touchpoint", {}), ("touchpoint", False),
    ("touchpoint", "visit\x00"), ("touchpoint", None), ("touchpoint", "   "), ("customer_id", "0\n"),
]
# Values a good record may carry in a property: any of them must not matter.
ANY_PROPERTY = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2**80), max_value=2**80),
                         st.floats(allow_nan=False), st.text(max_size=5), st.lists(st.integers(), max_size=2),
                         st.dictionaries(st.text(max_size=3), st.integers(), max_size=2))
# A good id has a non-blank character, no NUL and no line feed (a line feed in an id is its own
# quarantine reason, ``line_break_in_name``: a CSV's unterminated quote swallowed the next lines).
GOOD_IDS = st.one_of(st.text(min_size=1, max_size=8).filter(lambda s: s.strip() and "\x00" not in s
                                                            and "\n" not in s),
                     st.integers(min_value=0, max_value=10**6))
GOOD = st.fixed_dictionaries({"customer_id": GOOD_IDS, "touchpoint": st.sampled_from(["visit", "buy", "call"]),
                              "timestamp": st.sampled_from([T, "2025-03-02T08:00:00+02:00", 1_740_823_200,
                                                            1_740_823_200_000]),
                              "extra": ANY_PROPERTY})
BAD = st.tuples(GOOD, st.sampled_from(BAD_VALUES))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(GOOD.map(lambda g: ("good", g)), BAD.map(lambda b: ("bad", b))),
                min_size=1, max_size=12))
def test_every_good_row_lands_and_every_bad_row_is_quarantined(mix: list[tuple[str, Any]]) -> None:
    records: list[dict[str, Any]] = []
    good_ids, bad_ids = set(), set()
    for i, (kind, value) in enumerate(mix):
        if kind == "good":
            record = dict(value)
            good_ids.add(f"e{i}")
        else:
            base, (field, bad) = value
            record = {**base, field: bad}
            bad_ids.add(f"e{i}")
        records.append({"event_id": f"e{i}", **record})
    wh = open_warehouse("duckdb://")
    try:
        summary = ingest_records(wh, "events", records)
        landed = {r["event_id"] for r in wh.table("events").select("event_id").to_pyarrow().to_pylist()}
        quarantined = wh.table("quarantine").to_pyarrow().to_pylist()
    finally:
        wh.close()
    assert landed == good_ids
    assert {json.loads(q["raw"])["event_id"] for q in quarantined} == bad_ids
    assert all(q["reason"] and q["detail"] for q in quarantined)
    assert (summary.read, summary.accepted, summary.quarantined) == (len(records), len(good_ids), len(bad_ids))
    assert sum(summary.reasons.values()) == len(bad_ids)


def test_a_nested_timestamp_is_its_own_rows_problem_only() -> None:
    """The issue's repro: before, the valid event went to quarantine as bad_timestamp too."""
    wh = open_warehouse("duckdb://")
    summary = ingest_records(wh, "events", [
        {"event_id": "ok", "customer_id": "d", "timestamp": T, "touchpoint": "v"},
        {"event_id": "bad", "customer_id": "d", "timestamp": [1], "touchpoint": "b"}])
    assert (summary.accepted, summary.reasons) == (1, {"bad_value": 1})
    [row] = wh.table("quarantine").to_pyarrow().to_pylist()
    assert row["detail"] == "timestamp is an array, expected one value"


def test_epoch_numbers_beyond_any_date_are_bad_timestamps_not_a_failed_batch() -> None:
    wh = open_warehouse("duckdb://")
    summary = ingest_records(wh, "events", [
        {"event_id": "a", "customer_id": "c", "timestamp": 9_223_372_036_854_775_807, "touchpoint": "t"},
        {"event_id": "b", "customer_id": "c", "timestamp": 1_740_823_200, "touchpoint": "t"}])
    assert (summary.accepted, summary.reasons) == (1, {"bad_timestamp": 1})
