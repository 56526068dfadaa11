"""Journeys built from ``journey_events`` with Ibis: cut at conversions, lookback, direct / none,
campaign property and value — the same on DuckDB and Spark."""

from __future__ import annotations

import json

import pytest
from tests.analyses.conftest import load_journey_events

from journeylens.analyses.marketing.attribution import attribution
from journeylens.analyses.marketing.paths import build_touches
from journeylens.analyses.marketing.touches import DIRECT, Touches
from journeylens.errors import ParameterError
from journeylens.warehouse import Warehouse


def ev(customer: str, day: int, touchpoint: str, channel: str | None = None, **props: object) -> dict[str, object]:
    return {"customer_id": customer, "timestamp": f"2024-01-{day:02d}T10:00:00", "touchpoint": touchpoint,
            "channel": channel, "properties": json.dumps(props) if props else None}


ROWS = [
    # a: search (day 1), social (day 8), buys (day 10) worth 30, then email (day 12) and buys again (day 13)
    ev("a", 1, "Ad click", "search", campaign="Brand"), ev("a", 8, "Post", "social", campaign="Spring"),
    ev("a", 10, "Purchase", "web", value=30), ev("a", 12, "Newsletter", "email"),
    ev("a", 13, "Purchase", "web", value=20), ev("a", 20, "Support", "phone"),
    # b: never buys
    ev("b", 2, "Ad click", "search", campaign="Brand"), ev("b", 3, "Post", "social"),
    # c: buys without any touch
    ev("c", 5, "Purchase", "web", value=5),
]


def journeys(t: Touches) -> list[tuple[list[str], float, float]]:
    out = []
    for j in range(t.n_journeys):
        names = [t.labels[c] for c in t.channel[t.offsets[j]:t.offsets[j + 1]]]
        out.append((names, float(t.conversions[j]), float(t.value[j])))
    return sorted(out)


def test_journeys_are_cut_at_conversions(wh: Warehouse) -> None:
    events = load_journey_events(wh, ROWS)
    t = build_touches(events, by="channel", conversion="Purchase", value_property="value")
    # a's trailing phone touch follows the last purchase: no journey
    assert journeys(t) == [([DIRECT], 1.0, 5.0), (["email"], 1.0, 20.0), (["search", "social"], 0.0, 0.0),
                           (["search", "social"], 1.0, 30.0)]
    order = {tuple(p): d for p, d in zip(
        [[t.labels[c] for c in t.channel[t.offsets[j]:t.offsets[j + 1]]] for j in range(t.n_journeys)],
        [t.days_before[t.offsets[j]:t.offsets[j + 1]].tolist() for j in range(t.n_journeys)], strict=True)}
    assert t.days_before is not None
    assert sorted(order[("email",)]) == [1.0]


def test_lookback_and_campaign_property(wh: Warehouse) -> None:
    events = load_journey_events(wh, ROWS)
    t = build_touches(events, by="campaign", conversion="Purchase", lookback_days=5)
    # a's first journey: Brand (9 days before) is outside 5 days; Spring (2 days) counts. b has Brand only.
    assert journeys(t) == sorted([([DIRECT], 1.0, 0.0), ([DIRECT], 1.0, 0.0), (["Brand"], 0.0, 0.0),
                                  (["Spring"], 1.0, 0.0)])


def test_attribution_rows_and_errors(wh: Warehouse) -> None:
    events = load_journey_events(wh, ROWS)
    rows = attribution(events, conversion="Purchase", models="last,linear", value_property="value").to_dict()
    last = {r["channel"]: (r["conversions"], r["value"]) for r in rows if r["model"] == "last"}
    assert last == {DIRECT: (1.0, 5.0), "email": (1.0, 20.0), "search": (0.0, 0.0), "social": (1.0, 30.0)}
    with pytest.raises(ParameterError, match="--conversion"):
        attribution(events)


def test_rows_an_engine_returned_out_of_order_are_sorted() -> None:
    from datetime import UTC, datetime

    import pyarrow as pa

    from journeylens.analyses.marketing.paths import _in_order

    def at(second: int) -> datetime:
        return datetime(2024, 1, 1, 0, 0, second, tzinfo=UTC)

    shuffled = pa.table({"customer_id": ["b", "a", "b", "a", "a"], "timestamp": [at(5), at(3), at(1), at(3), at(0)],
                         "_seq": [9, 8, 2, 4, 7]})
    rows, codes, us = _in_order(shuffled)
    assert list(zip(rows["customer_id"].to_pylist(), rows["_seq"].to_pylist(), strict=True)) == [
        ("b", 2), ("b", 9), ("a", 7), ("a", 4), ("a", 8)]  # grouped by customer, then time, then _seq
    assert codes.tolist() == [0, 0, 1, 1, 1] and us.tolist() == sorted(us[:2].tolist()) + sorted(us[2:].tolist())
    ordered = rows.take(pa.array([0, 1, 2, 3, 4]))
    assert _in_order(ordered)[0].equals(ordered)  # already in order: returned as it is
