"""Channel-switch impact on a tiny hand-computed log, and its DuckDB/Spark parity.

Service stage (9 customers): s1-s4 go web -> call_centre 10 minutes apart; x1 does the same 2
hours apart (a switch only without the 30-minute limit); o2 goes call_centre -> web; o1 (web),
o4 (call) and o3 (app in usage, then a call in service: a cross-stage switch) do not switch
inside the stage. Usage stage: u1 web -> app, o3.

NPS answers (customer respondents): s1 3 and 10, s2 5, s3 8, s4 none (its employee answer and
its CSAT-only answer are ignored), o1 10, o2 9, o3 7, o4 2, x1 10, u1 0. Churned: s1, s2, o1.

web -> call_centre in service: switchers s1-s4 -> answers 3, 10, 5, 8: NPS 100 x (1 - 2) / 4 = -25;
others o1-o4, x1 -> 10, 9, 7, 2, 10: NPS 100 x (3 - 1) / 5 = 40. Churn 2/4 vs 1/5.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa
import pytest

from journeylens.analyses.filters import Filters
from journeylens.analyses.switch_impact import ROW_KEYS, switch_impact
from journeylens.errors import ParameterError
from journeylens.journeys.definition import parse_definition
from journeylens.warehouse import Warehouse

DAY = datetime(2024, 1, 1, tzinfo=UTC)
_EVENTS = [  # customer, minutes after DAY, touchpoint, channel, stage
    *[(f"s{i}", 1440 * i + m, tp, ch, "service") for i in range(1, 5)
      for m, tp, ch in ((0, "Help", "web"), (10, "Call", "call_centre"))],
    ("x1", 60, "Help", "web", "service"), ("x1", 180, "Call", "call_centre", "service"),
    ("o1", 60, "Help", "web", "service"),
    ("o2", 60, "Call", "call_centre", "service"), ("o2", 65, "Help", "web", "service"),
    ("o3", 60, "App login", "app", "usage"), ("o3", 70, "Call", "call_centre", "service"),
    ("o4", 60, "Call", "call_centre", "service"),
    ("u1", 60, "Login", "web", "usage"), ("u1", 65, "App login", "app", "usage"),
]
EVENT_ROWS = [{"customer_id": c, "timestamp": DAY + timedelta(minutes=m), "touchpoint": tp, "channel": ch,
               "stage": st} for c, m, tp, ch, st in _EVENTS]
_NPS = [("s1", 3), ("s1", 10), ("s2", 5), ("s3", 8), ("o1", 10), ("o2", 9), ("o3", 7), ("o4", 2), ("x1", 10),
        ("u1", 0)]
FEEDBACK_ROWS = [
    *[{"customer_id": c, "timestamp": DAY, "nps": score, "respondent": "customer"} for c, score in _NPS],
    {"customer_id": "s4", "timestamp": DAY, "nps": 0, "respondent": "employee"},
    {"customer_id": "s4", "timestamp": DAY, "csat": 5},
]
CUSTOMER_ROWS = [{"customer_id": c, "churned": c in {"s1", "s2", "o1"}}
                 for c in ("s1", "s2", "s3", "s4", "x1", "o1", "o2", "o3", "o4", "u1")]


def _append(wh: Warehouse, name: str, rows: list[dict[str, Any]]) -> Any:
    schema = wh.schema(name).to_pyarrow()
    wh.append(name, pa.table({f.name: pa.array([r.get(f.name) for r in rows], type=f.type) for f in schema},
                             schema=schema))
    return wh.table(name)


def load(wh: Warehouse, events_loader: Any) -> tuple[Any, Any, Any]:
    return (events_loader(wh, EVENT_ROWS), _append(wh, "feedback", FEEDBACK_ROWS),
            _append(wh, "customers", CUSTOMER_ROWS))


@pytest.fixture
def tiny(duckdb_wh: Warehouse, events_loader: Any) -> tuple[Any, Any, Any]:
    return load(duckdb_wh, events_loader)


def _by_pattern(result: Any) -> dict[tuple[str, str, str], dict[str, Any]]:
    return {(r["stage"], r["from_channel"], r["to_channel"]): r for r in result.to_dict()}


def _nps_p(scores_a: list[int], scores_b: list[int]) -> float:
    """Two-sided z-test of the mean +1/0/-1 score, written out independently."""
    def signs(scores: list[int]) -> list[int]:
        return [1 if s >= 9 else -1 if s <= 6 else 0 for s in scores]

    a, b = signs(scores_a), signs(scores_b)
    mean_a, mean_b = sum(a) / len(a), sum(b) / len(b)
    var_a = sum((x - mean_a) ** 2 for x in a) / len(a)
    var_b = sum((x - mean_b) ** 2 for x in b) / len(b)
    z = (mean_b - mean_a) / math.sqrt(var_a / len(a) + var_b / len(b))
    return math.erfc(abs(z) / math.sqrt(2))


def test_hand_computed_pattern(tiny: Any) -> None:
    events, feedback, customers = tiny
    result = switch_impact(events, feedback, customers=customers, min_customers=1)
    rows = _by_pattern(result)
    assert set(rows) == {("service", "web", "call_centre"), ("service", "call_centre", "web"),
                         ("usage", "web", "app")}
    row = rows[("service", "web", "call_centre")]
    assert list(row) == list(ROW_KEYS)
    assert (row["customers"], row["others"]) == (4, 5)
    assert (row["nps_switchers"], row["nps_others"]) == (pytest.approx(-25.0), pytest.approx(40.0))
    assert (row["nps_responses_switchers"], row["nps_responses_others"]) == (4, 5)
    assert row["nps_difference"] == pytest.approx(-65.0)
    # margin: 1.96 x 100 x sqrt(var / n), var = p_pro + p_det - (p_pro - p_det)^2
    assert row["nps_switchers_moe"] == pytest.approx(196 * math.sqrt((0.25 + 0.5 - 0.0625) / 4))
    assert row["nps_others_moe"] == pytest.approx(196 * math.sqrt((0.6 + 0.2 - 0.16) / 5))
    assert row["nps_p"] == pytest.approx(_nps_p([10, 9, 7, 2, 10], [3, 10, 5, 8]))
    assert (row["churn_switchers"], row["churn_others"], row["churn_ratio"]) == (
        pytest.approx(0.5), pytest.approx(0.2), pytest.approx(2.5))
    pooled = 3 / 9
    z = 0.3 / math.sqrt(pooled * (1 - pooled) * (1 / 4 + 1 / 5))
    assert row["churn_p"] == pytest.approx(math.erfc(z / math.sqrt(2)))
    assert row["significant"] is False and row["impact"] == 0.0  # four customers prove nothing


def test_other_patterns_and_empty_comparison(tiny: Any) -> None:
    events, feedback, customers = tiny
    rows = _by_pattern(switch_impact(events, feedback, customers=customers, min_customers=1))
    back = rows[("service", "call_centre", "web")]  # o2 (9 -> +100) vs the 8 other service customers
    assert (back["customers"], back["others"], back["nps_switchers"], back["nps_others"]) == (1, 8, 100.0, 0.0)
    assert back["churn_others"] == pytest.approx(3 / 8)
    usage = rows[("usage", "web", "app")]  # u1 vs o3: one answer each, nobody churned
    assert (usage["nps_switchers"], usage["nps_others"], usage["churn_ratio"]) == (-100.0, 0.0, None)
    assert (usage["nps_p"], usage["churn_p"], usage["significant"]) == (None, None, False)


def test_gap_stage_and_size_options(tiny: Any) -> None:
    events, feedback, customers = tiny
    no_limit = _by_pattern(switch_impact(events, feedback, customers=customers, min_customers=1,
                                         max_gap_minutes=None))
    assert no_limit[("service", "web", "call_centre")]["customers"] == 5  # x1 joins
    across = _by_pattern(switch_impact(events, feedback, customers=customers, min_customers=1,
                                       within_stage=False))
    assert across[("service", "app", "call_centre")]["customers"] == 1  # o3, usage -> service
    filtered = switch_impact(events, feedback, customers=customers, min_customers=1,
                             filters=Filters(stage=("service",)))
    assert {r["stage"] for r in filtered.to_dict()} == {"service"}
    small = switch_impact(events, feedback, customers=customers)
    assert small.to_dict() == [] and small.params["patterns_below_min_customers"] == 3
    with pytest.raises(ParameterError, match="min_customers"):
        switch_impact(events, feedback, min_customers=0)
    with pytest.raises(ParameterError, match="max_gap_minutes"):
        switch_impact(events, feedback, max_gap_minutes=0)


def test_churn_counts_only_converted_customers(tiny: Any) -> None:
    """With declared conversion outcomes, a prospect who never converted cannot churn."""
    events, feedback, customers = tiny
    definition = parse_definition("""
name: Tiny
stages: [{name: usage}, {name: service}]
touchpoints:
  - {name: Help, stage: service, channel: web}
  - {name: Call, stage: service, channel: call_centre}
outcomes: {conversion: [Help]}
""")
    rows = _by_pattern(switch_impact(events, feedback, definition=definition, customers=customers,
                                     min_customers=1))
    row = rows[("service", "web", "call_centre")]
    # converted (a Help event): switchers s1-s4; others o1, o2, x1 (o3, o4 never converted)
    assert (row["churn_switchers"], row["churn_others"]) == (pytest.approx(0.5), pytest.approx(1 / 3))


def test_ranking_figure_and_repr(tiny: Any) -> None:
    events, feedback, customers = tiny
    result = switch_impact(events, feedback, customers=customers, min_customers=1)
    qs = [r["q"] for r in result.to_dict()]
    # one-customer patterns (o2, u1) cannot be tested: no q, ranked last
    assert qs[0] is not None and qs[1:] == [None, None]
    assert result.harmful() == []
    assert len(result.figure().data) == 2 and "3 patterns" in repr(result)
    assert list(result.to_frame().columns[:3]) == ["stage", "from_channel", "to_channel"]


def test_parity_duckdb_spark(wh: Warehouse, events_loader: Any, settings: Any) -> None:
    from journeylens.warehouse import open_warehouse

    def compute(target: Warehouse) -> Any:
        events, feedback, customers = load(target, events_loader)
        rows = switch_impact(events, feedback, customers=customers, min_customers=1,
                             max_gap_minutes=None).to_dict()
        return [{k: round(v, 9) if isinstance(v, float) else v for k, v in r.items()} for r in rows]

    reference = open_warehouse("duckdb://", settings)
    try:
        expected = compute(reference)
    finally:
        reference.close()
    assert compute(wh) == expected and len(expected) == 3
