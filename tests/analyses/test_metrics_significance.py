"""Significance of metric changes and the shared statistics, checked against hand computation."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import pytest
from scipy import stats as sst

from journeylens.analyses import stats
from journeylens.analyses.significance import changes, group_differences
from journeylens.errors import ParameterError
from journeylens.warehouse import Warehouse
from journeylens.warehouse.schema import FEEDBACK


def feedback_table(rows: list[dict[str, Any]]) -> pa.Table:
    rows = [dict(r, _seq=i + 1) for i, r in enumerate(rows)]
    schema = FEEDBACK.to_pyarrow()
    return pa.table({f.name: pa.array([r.get(f.name) for r in rows], type=f.type) for f in schema}, schema=schema)


def test_benjamini_hochberg_by_hand() -> None:
    p = [0.01, 0.04, 0.03, 0.005, 0.5]
    # sorted: 0.005(1) 0.01(2) 0.03(3) 0.04(4) 0.5(5); raw p·m/rank: 0.025 0.025 0.05 0.05 0.5
    assert stats.benjamini_hochberg(p) == pytest.approx([0.025, 0.05, 0.05, 0.025, 0.5])
    # monotone step-up: a larger p never gets a smaller q
    assert stats.benjamini_hochberg([0.02, 0.021]) == pytest.approx([0.021, 0.021])


def test_two_proportion_ztest_by_hand() -> None:
    result = stats.two_proportion_ztest(40, 100, 60, 100)
    pooled = 0.5
    z = 0.2 / math.sqrt(pooled * pooled * (2 / 100))
    assert (result.difference, result.statistic) == pytest.approx((0.2, z))
    assert result.p_value == pytest.approx(2 * (1 - sst.norm.cdf(z)))


def test_welch_ttest_matches_scipy() -> None:
    a, b = [1.0, 2.0, 3.0, 4.0, 5.0], [2.0, 4.0, 6.0, 8.0, 9.0, 7.0]
    result = stats.welch_ttest(len(a), sum(a), sum(x * x for x in a), len(b), sum(b), sum(x * x for x in b))
    expected = sst.ttest_ind(b, a, equal_var=False)
    assert (result.statistic, result.p_value) == pytest.approx((expected.statistic, expected.pvalue), rel=1e-12)


def test_nps_ztest_is_a_test_on_plus_zero_minus_scores() -> None:
    # base: 3 promoters, 1 detractor of 10 → mean .2 ; current 6 / 1 of 10 → mean .5
    result = stats.nps_ztest(3, 1, 10, 6, 1, 10)
    var_a, var_b = 0.3 + 0.1 - 0.2 ** 2, 0.6 + 0.1 - 0.5 ** 2
    z = 0.3 / math.sqrt(var_a / 10 + var_b / 10)
    assert (result.difference, result.statistic) == pytest.approx((30.0, z))
    assert result.p_value == pytest.approx(2 * sst.norm.sf(z))


def _month_rows(month: int, touchpoint: str, nps: list[int]) -> list[dict[str, Any]]:
    return [{"customer_id": f"{touchpoint}{month}{i}", "touchpoint": touchpoint, "nps": v,
             "timestamp": datetime(2024, month, 1 + i % 27, tzinfo=UTC)} for i, v in enumerate(nps)]


def test_period_over_period_change_per_group(wh: Warehouse) -> None:
    rows = (_month_rows(1, "app", [0] * 30 + [10] * 10) + _month_rows(2, "app", [10] * 30 + [0] * 10)
            + _month_rows(1, "web", [9, 10, 3, 7, 8, 9]) + _month_rows(2, "web", [10, 2, 9, 8, 9, 10])
            + _month_rows(2, "shop", [10] * 8))
    wh.append("feedback", feedback_table(rows))
    # The answers stop on 27 February, so February is incomplete: test it anyway here.
    result = changes(wh.table("feedback"), by=["touchpoint"], period="month", metrics=["nps"],
                     include_incomplete=True)
    by_tp = {r["touchpoint"]: r for r in result.to_dict()}
    assert set(by_tp) == {"app", "web"}  # shop has no previous month
    app = by_tp["app"]
    assert (app["base_period"], app["current_period"], app["base"], app["current"]) == ("2024-01", "2024-02", -50.0, 50.0)
    expected = stats.nps_ztest(10, 30, 40, 30, 10, 40)
    assert app["p"] == pytest.approx(expected.p_value)
    q = stats.benjamini_hochberg([app["p"], by_tp["web"]["p"]])
    assert (app["q"], by_tp["web"]["q"]) == pytest.approx(tuple(q))
    assert app["significant"] is True and by_tp["web"]["significant"] is False


def test_group_versus_rest_and_versus_baseline(duckdb_wh: Warehouse) -> None:
    rows = [{"channel": "store", "csat": v, "timestamp": datetime(2024, 1, 1, tzinfo=UTC)} for v in [5] * 18 + [1] * 2]
    rows += [{"channel": "web", "csat": v, "timestamp": datetime(2024, 1, 1, tzinfo=UTC)} for v in [5] * 10 + [2] * 10]
    rows += [{"channel": "app", "csat": v, "timestamp": datetime(2024, 1, 1, tzinfo=UTC)} for v in [4] * 3]
    duckdb_wh.append("feedback", feedback_table(rows))
    fb = duckdb_wh.table("feedback")
    vs_rest = {r["channel"]: r for r in group_differences(fb, by="channel", metrics=["csat"]).to_dict()}
    # store 18/20 vs rest 13/23
    expected = stats.two_proportion_ztest(13, 23, 18, 20)
    assert vs_rest["store"]["p"] == pytest.approx(expected.p_value)
    assert vs_rest["store"]["change"] == pytest.approx(0.9 - 13 / 23)
    assert vs_rest["app"]["p"] is None and vs_rest["app"]["significant"] is False  # 3 < 5 answers
    vs_web = group_differences(fb, by="channel", baseline="web", metrics=["csat"]).to_dict()
    assert [r["channel"] for r in vs_web] == ["app", "store"]
    with pytest.raises(ParameterError, match="Baseline"):
        group_differences(fb, by="channel", baseline="fax")


def test_incomplete_latest_period_is_marked_and_not_tested(wh: Warehouse) -> None:
    """The answers stop on 27 February: February is listed as incomplete with no test, and the
    latest complete month (January vs December) is the one tested."""
    rows = (_month_rows(12, "app", [10] * 30)[:0] + _month_rows(1, "app", [0] * 30 + [10] * 10)
            + _month_rows(2, "app", [10] * 30 + [0] * 10))
    rows += [{**r, "timestamp": r["timestamp"].replace(year=2023, month=12)} for r in _month_rows(1, "app", [10] * 40)]
    wh.append("feedback", feedback_table(rows))
    result = changes(wh.table("feedback"), by=["touchpoint"], period="month", metrics=["nps"])
    by_period = {r["current_period"]: r for r in result.to_dict()}
    assert set(by_period) == {"2024-02", "2024-01"}
    february, january = by_period["2024-02"], by_period["2024-01"]
    assert february["incomplete"] and february["p"] is None and not february["significant"]
    assert february["change"] == pytest.approx(100.0)  # the change is still shown
    assert not january["incomplete"] and january["p"] is not None and january["significant"]
    assert result.params["incomplete_periods"] == ["2024-02"]
