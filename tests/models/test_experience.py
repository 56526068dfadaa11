"""Experience features: CSAT at each touchpoint (nearest response), funnel progress and
drop-offs, negative comments from text sentiment."""

from __future__ import annotations

from datetime import UTC, datetime

import ibis
import pytest

from journeylens.errors import UnknownNameError
from journeylens.models.experience import (
    comment_features,
    default_funnel,
    funnel_progress,
    resolve_funnel,
    touchpoint_csat,
)

T = [datetime(2024, 1, d, tzinfo=UTC) for d in range(1, 11)]


def _events() -> ibis.Table:
    rows = [("a", 0, "Login", "use"), ("a", 2, "Call", "help"), ("b", 0, "Login", "use"), ("b", 5, "Call", "help"),
            ("c", 0, "Login", "use")]
    return ibis.memtable({"customer_id": [r[0] for r in rows], "timestamp": [T[r[1]] for r in rows],
                          "touchpoint": [r[2] for r in rows], "stage": [r[3] for r in rows],
                          "_seq": list(range(len(rows)))})


def _feedback() -> ibis.Table:
    rows = [  # customer, day, touchpoint named?, csat, comment
        ("a", 3, None, 2, "Terrible wait, awful service"),  # nearest preceding event of a: Call
        ("a", 4, "Call", 4, None),
        ("b", 1, None, 5, "Love the app"),  # nearest preceding event of b: Login
        ("c", 1, "Login", 3, "It is a phone"),
        ("b", 6, None, 1, "Awful, I hate this"),  # b: Call
    ]
    return ibis.memtable({"customer_id": [r[0] for r in rows], "timestamp": [T[r[1]] for r in rows],
                          "touchpoint": [r[2] for r in rows], "csat": [r[3] for r in rows],
                          "comment": [r[4] for r in rows], "nps": [None, None, 9, None, None],
                          "_seq": list(range(len(rows)))},
                         schema={"customer_id": "string", "timestamp": "timestamp('UTC')", "touchpoint": "string",
                                 "csat": "int64", "comment": "string", "nps": "int64", "_seq": "int64"})


def test_csat_at_each_touchpoint_uses_the_nearest_response() -> None:
    table, chosen = touchpoint_csat(_feedback(), _events(), min_customers=1)
    assert chosen == ["Call", "Login"]  # two customers each; ties by name
    got = table.order_by("customer_id").to_pandas().set_index("customer_id")
    assert got.loc["a", "csat_call"] == 3.0  # (2 linked to the call + 4 named) / 2
    assert got.loc["b", "csat_login"] == 5.0 and got.loc["b", "csat_call"] == 1.0
    assert got.loc["c", "csat_login"] == 3.0
    assert touchpoint_csat(_feedback(), _events(), min_customers=5) == (None, [])


def test_negative_comments_are_counted_per_customer() -> None:
    got = comment_features(_feedback(), model="vader").order_by("customer_id").to_pandas().set_index("customer_id")
    assert got["negative_comments"].to_dict() == {"a": 1, "b": 1, "c": 0}
    assert got["comments"].to_dict() == {"a": 1, "b": 2, "c": 1}
    without = comment_features(_feedback(), model="vader", without_nps=True).to_pandas().set_index("customer_id")
    assert without.loc["b", "comments"] == 1  # the response that carries an NPS answer is left out
    before = comment_features(_feedback(), model="vader", as_of=T[5]).to_pandas().set_index("customer_id")
    assert before.loc["b", "negative_comments"] == 0  # the angry comment came after the cut-off


def test_funnel_progress_days_and_drop_offs() -> None:
    got = funnel_progress(_events(), ["use", "help"], "stage").order_by("customer_id").to_pandas()
    assert got["days_to_help"].tolist()[:2] == [2.0, 5.0] and got["days_to_help"].isna().tolist()[2]
    assert got["dropoff_use"].tolist() == [0, 0, 1]
    assert "dropoff_help" not in got.columns  # the last step has no later one to miss


def test_funnel_steps_are_checked() -> None:
    assert resolve_funnel(_events(), None, ["Login", "Call"]) == (["Login", "Call"], "touchpoint")
    with pytest.raises(UnknownNameError, match="Checkout"):
        resolve_funnel(_events(), None, ["Login", "Checkout"])
    assert default_funnel(None) == []
