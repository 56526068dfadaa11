"""Channel hopping on the shop log (see tests/analyses/conftest.py).

Channel sequences (events without a channel ignored):
c1 social, web, web, call_centre, call_centre -> 2 hops (social->web inside Discover: an in-stage switch)
c2 web, store; c3 email, web, web; c4 social, web, web; c5 store, web, web; c6 web, call_centre, call_centre
-> 1 hop each. Online->offline: c1, c2, c6 (web->call_centre / web->store); offline->online: c5.
"""

from __future__ import annotations

from typing import Any

import pytest

from journeylens.analyses.channels import channels
from journeylens.analyses.filters import Filters


def test_summary_matches_hand_computation(shop: Any, shop_definition: Any) -> None:
    events, _ = shop
    data = channels(events, definition=shop_definition).to_dict()
    assert data["customers"] == 6 and data["multichannel_customers"] == 6 and data["multichannel_share"] == 1.0
    assert data["mean_hops"] == pytest.approx(7 / 6)
    assert data["hops_distribution"] == [{"hops": 1, "customers": 5, "share": pytest.approx(5 / 6)},
                                         {"hops": 2, "customers": 1, "share": pytest.approx(1 / 6)}]
    assert (data["in_stage_switch_customers"], data["in_stage_switch_share"]) == (1, pytest.approx(1 / 6))
    assert data["online_offline"] == {"online_to_offline": {"transitions": 3, "customers": 3},
                                      "offline_to_online": {"transitions": 1, "customers": 1}}


def test_switch_matrix(shop: Any, shop_definition: Any) -> None:
    events, _ = shop
    matrix = {(r["from_channel"], r["to_channel"]): (r["transitions"], r["customers"], r["switch"],
                                                     r["crosses_online"])
              for r in channels(events, definition=shop_definition).to_dict()["matrix"]}
    assert matrix == {
        ("web", "web"): (4, 4, False, False), ("social", "web"): (2, 2, True, False),
        ("web", "call_centre"): (2, 2, True, True), ("call_centre", "call_centre"): (2, 2, False, False),
        ("email", "web"): (1, 1, True, False), ("store", "web"): (1, 1, True, True),
        ("web", "store"): (1, 1, True, True),
    }


def test_filters_and_rendering(shop: Any, shop_definition: Any) -> None:
    events, customers = shop
    result = channels(events, definition=shop_definition, customers=customers, filters=Filters(channel=("web",)))
    data = result.to_dict()
    assert data["multichannel_customers"] == 0 and data["mean_hops"] == 0.0
    assert result.pivot().loc["web", "web"] == 4  # consecutive web events: c1, c3, c4, c5 one pair each
    assert result.figure().data[0].type == "heatmap"
    assert result.proportions() == {"multichannel": (0, 6), "in_stage_switch": (0, 6)}


def test_parity_duckdb_spark(wh: Any, shop_definition: Any, assert_parity: Any) -> None:
    data = assert_parity(wh, lambda events, customers: channels(events, definition=shop_definition))
    assert data["customers"] == 6
