"""Designed vs actual on the shop log (see tests/analyses/conftest.py).

- c5 goes Buy -> Discover (backward), everyone else keeps the order: 5/6 follow it.
- c6 goes Discover -> Use without Buy: Buy skipped by 1 customer.
- repeats within 1 day: c1 Support call (1 h apart), c3 Visit (1 h); c6's calls are 47 h 50 min apart.
- re-contacts within 7 days (contacts = call_centre touchpoints): c1 and c6 -> 2 customers.
- long waits (transitions seen >= 2 times): Visit->Purchase gaps 81000 s (c1) and 900 s (c5),
  p90 = 900 + 0.9 * 80100 = 72990 -> c1; Support call->Support call gaps 3600 and 172200,
  p90 = 155340 -> c6.
"""

from __future__ import annotations

from typing import Any

import pytest

from journeylens.analyses.conformance import conformance
from journeylens.errors import ParameterError


def test_order_skips_and_backward_moves(shop: Any, shop_definition: Any) -> None:
    events, customers = shop
    data = conformance(events, definition=shop_definition, customers=customers).to_dict()
    assert (data["customers"], data["following_customers"]) == (6, 5)
    assert data["following_share"] == pytest.approx(5 / 6)
    assert data["backward_moves"] == [{"from_stage": "Buy", "to_stage": "Discover", "moves": 1, "customers": 1}]
    assert data["skipping_customers"] == 1
    assert data["skipped_stages"] == [{"stage": "Buy", "order": 2, "customers": 1, "share": pytest.approx(1 / 6)}]


def test_friction_signals_ranked_by_customers(shop: Any, shop_definition: Any) -> None:
    events, _ = shop
    friction = conformance(events, definition=shop_definition, min_transitions=2).to_dict()["friction"]
    assert [(f["signal"], f["touchpoint"], f["from_touchpoint"], f["customers"], f["occurrences"],
             f["threshold_seconds"]) for f in friction] == [
        ("recontact", "Support call", None, 2, 2, None),
        ("long_wait", "Purchase", "Visit", 1, 1, 72990.0),
        ("long_wait", "Support call", "Support call", 1, 1, 155340.0),
        ("repeat", "Support call", None, 1, 1, None),
        ("repeat", "Visit", None, 1, 1, None),
    ]
    assert friction[0]["share"] == pytest.approx(2 / 6)


def test_windows_and_contact_list_are_configurable(shop: Any, shop_definition: Any) -> None:
    events, _ = shop
    data = conformance(events, definition=shop_definition, repeat_window_days=3, recontact_days=1,
                       contact_touchpoints=["Visit"]).to_dict()
    signals = {(f["signal"], f["touchpoint"]): f["customers"] for f in data["friction"]}
    # 3-day window: c6's calls now repeat too; Visit as the contact: c1 (Visit only once) no, c3 yes
    assert signals == {("repeat", "Support call"): 2, ("repeat", "Visit"): 1, ("recontact", "Visit"): 1}
    with pytest.raises(ParameterError, match="must be > 0"):
        conformance(events, recontact_days=0)


def test_without_definition_uses_observed_stages(shop: Any) -> None:
    events, _ = shop
    result = conformance(events)
    assert result.to_dict()["skipped_stages"][0]["stage"] == "Buy"
    assert result.proportions() == {"following": (5, 6), "skipping": (1, 6)}
    assert result.figure().data[0].type == "bar"


def test_parity_duckdb_spark(wh: Any, shop_definition: Any, assert_parity: Any) -> None:
    data = assert_parity(wh, lambda events, customers: conformance(events, definition=shop_definition,
                                                                   min_transitions=2))
    assert len(data["friction"]) == 5
