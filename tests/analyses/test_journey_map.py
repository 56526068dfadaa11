"""Journey map on the hand-checked shop log (see tests/analyses/conftest.py).

Hand computation (6 customers; Discover=1, Buy=2, Use=3; conversion = Purchase, churn = Cancel):
- Discover: all 6 reach it, 8 events; time in stage c1 1800 s, c3 3600 s, others 0 -> median 0;
  journeys ending there unconverted: c3 -> drop-off 1/6; reaching a later stage afterwards:
  c1, c2, c4, c5 (Buy at 10:20 after Visit at 10:05), c6 -> 5/6.
- Buy: c1, c2, c4, c5 (5 events); ends unconverted: c2 -> 1/4; later reach Use: c1, c4 -> 2/4.
- Use: c1, c4, c6 (5 events); time c1 3600, c4 0, c6 172200 -> median 3600; c6 ends there
  unconverted -> drop-off 1/3; c4 (Cancel) churned -> churn 1/3.
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
import pytest

from journeylens.analyses.filters import Filters
from journeylens.analyses.journey_map import journey_map


def _stage(result: Any, name: str) -> dict[str, Any]:
    return next(s for s in result.to_dict()["stages"] if s["stage"] == name)


def _tp(stage: dict[str, Any], name: str) -> dict[str, Any]:
    return next(t for t in stage["touchpoints"] if t["touchpoint"] == name)


def test_stage_numbers_match_hand_computation(shop: Any, shop_definition: Any) -> None:
    events, customers = shop
    result = journey_map(events, definition=shop_definition, customers=customers)
    data = result.to_dict()
    assert data["customers"] == 6 and data["unmapped_events"] == 1
    assert [s["stage"] for s in data["stages"]] == ["Discover", "Buy", "Use"]
    discover, buy, use = (_stage(result, n) for n in ("Discover", "Buy", "Use"))
    assert (discover["customers"], discover["events"], discover["share"]) == (6, 8, 1.0)
    assert discover["median_seconds_in_stage"] == 0.0
    assert discover["drop_off"] == pytest.approx(1 / 6) and discover["churn_share"] == 0.0
    assert discover["conversion_to_next"] == pytest.approx(5 / 6)
    assert discover["channel_mix"] == {"web": 0.75, "social": 0.25}
    assert (buy["customers"], buy["events"], buy["drop_off"], buy["conversion_to_next"]) == (4, 5, 0.25, 0.5)
    assert buy["channel_mix"] == {"web": 0.6, "store": 0.4}
    assert (use["customers"], use["events"], use["median_seconds_in_stage"]) == (3, 5, 3600.0)
    assert use["drop_off"] == pytest.approx(1 / 3) and use["churn_share"] == pytest.approx(1 / 3)
    assert use["conversion_to_next"] is None and use["targets"] == {"csat": 0.8}


def test_touchpoint_cards_use_definition_rules(shop: Any, shop_definition: Any) -> None:
    events, customers = shop
    result = journey_map(events, definition=shop_definition, customers=customers)
    discover = _stage(result, "Discover")
    assert [t["touchpoint"] for t in discover["touchpoints"]] == ["Visit", "Ad"]  # by customers
    ad = _tp(discover, "Ad")  # "Ad Google" and "Ad Meta" match the glob "Ad *"
    assert (ad["customers"], ad["events"], ad["channel"], ad["category"]) == (2, 2, "social", "social/external")
    visit = _tp(discover, "Visit")
    assert (visit["customers"], visit["events"], visit["drop_off"], visit["owner"]) == (5, 6, 0.2, "Web team")
    assert visit["targets"] == {"csat": 0.8} and visit["metrics"] is None
    buy = _stage(result, "Buy")
    assert _tp(buy, "Purchase")["critical"] is True and _tp(buy, "Store visit")["drop_off"] == 0.5
    use = _stage(result, "Use")
    assert _tp(use, "Cancel")["churn_share"] == 1.0
    assert (_tp(use, "Support call")["customers"], _tp(use, "Support call")["drop_off"]) == (2, 0.5)


def test_flows_between_stages(shop: Any, shop_definition: Any) -> None:
    events, customers = shop
    flows = journey_map(events, definition=shop_definition, customers=customers).to_dict()["flows"]
    assert flows == [
        {"from_stage": "Discover", "to_stage": "Buy", "customers": 4, "moves": 4},
        {"from_stage": "Buy", "to_stage": "Use", "customers": 2, "moves": 2},
        {"from_stage": "Buy", "to_stage": "Discover", "customers": 1, "moves": 1},
        {"from_stage": "Discover", "to_stage": "Use", "customers": 1, "moves": 1},
    ]


def test_without_definition_last_stage_counts_as_conversion(shop: Any) -> None:
    events, _ = shop
    result = journey_map(events)
    buy = _stage(result, "Buy")
    # no outcomes declared: only reaching Use (the last observed stage) converts, so c2 and c5 drop at Buy
    assert buy["drop_off"] == 0.5 and _stage(result, "Use")["drop_off"] == 0.0
    assert {t["touchpoint"] for t in _stage(result, "Discover")["touchpoints"]} == {"Visit", "Ad Google", "Ad Meta"}


def test_metrics_hook_fills_cards(shop: Any, shop_definition: Any) -> None:
    events, _ = shop
    by_mapping = journey_map(events, definition=shop_definition, metrics={"Visit": {"csat": 0.9, "n": 12}})
    assert _tp(_stage(by_mapping, "Discover"), "Visit")["metrics"] == {"csat": 0.9, "n": 12}
    assert _tp(_stage(by_mapping, "Discover"), "Ad")["metrics"] == {}
    frame = pd.DataFrame([{"stage": "Use", "touchpoint": None, "nps": 12.5},
                          {"stage": "Buy", "touchpoint": "Purchase", "nps": 40.0}])
    by_frame = journey_map(events, definition=shop_definition, metrics=frame)
    assert _stage(by_frame, "Use")["metrics"] == {"nps": 12.5}
    assert _tp(_stage(by_frame, "Buy"), "Purchase")["metrics"] == {"nps": 40.0}


def test_filters_and_figures(shop: Any, shop_definition: Any) -> None:
    events, customers = shop
    result = journey_map(events, definition=shop_definition, customers=customers,
                         filters=Filters(cohort="buyers"))
    assert result.to_dict()["customers"] == 3  # c1, c4, c5
    json.dumps(result.to_dict())  # JSON-serialisable
    assert result.figure().data[0].type == "sankey"
    assert result.heatmap().data[0].type == "heatmap"
    assert set(result.to_frame().columns) >= {"stage", "touchpoint", "customers", "drop_off"}
    assert result.proportions()["Buy: drop_off"] == (0, 3)


def test_parity_duckdb_spark(wh: Any, shop_definition: Any, assert_parity: Any) -> None:
    data = assert_parity(wh, lambda events, customers: journey_map(events, definition=shop_definition,
                                                                   customers=customers))
    assert data["customers"] == 6


def test_where_journeys_end_accounts_for_every_customer(shop: Any, shop_definition: Any) -> None:
    """Buy: c1 and c4 go on to Use, c2 ends there unconverted (the drop-off), c5 converted and stays."""
    events, customers = shop
    result = journey_map(events, definition=shop_definition, customers=customers)
    for stage in result.to_dict()["stages"]:
        parts = [stage[f"{k}_customers"] for k in ("ends_later", "drops_off_here", "stays_here", "ends_earlier")]
        assert sum(parts) == stage["customers"], stage["stage"]
        assert stage["drops_off_here_customers"] == stage["drop_off_customers"]
    buy = _stage(result, "Buy")
    assert [buy[f"{k}_customers"] for k in ("ends_later", "drops_off_here", "stays_here", "ends_earlier")] == [2, 1, 1, 0]
