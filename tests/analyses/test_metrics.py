"""The metrics engine: hand-computed NPS / CSAT / CES numbers, suppression, groupings, eNPS.

Tests taking ``wh`` run on DuckDB and Spark (the parity suite) and must agree exactly.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import pytest

from journeylens.analyses.metrics import cx_metrics
from journeylens.errors import ParameterError
from journeylens.warehouse import Warehouse
from journeylens.warehouse.schema import FEEDBACK

WEB_NPS = [10, 10, 9, 8, 7, 6, 0, 3, 9, 10]  # 5 promoters, 3 detractors, n = 10
WEB_CSAT = [5, 4, 4, 3, 2, 5, 5, 1, 4, 5]  # 7 of 10 are 4-5
WEB_CES = [7, 6, 5, 5, 4, 3, 7, 6, 2, 5]  # Σ = 50, Σx² = 274, 7 of 10 are 5-7


def feedback_table(rows: Iterable[Mapping[str, Any]]) -> pa.Table:
    rows = [dict(r, _seq=r.get("_seq", i + 1)) for i, r in enumerate(rows)]
    schema = FEEDBACK.to_pyarrow()
    return pa.table({f.name: pa.array([r.get(f.name) for r in rows], type=f.type) for f in schema}, schema=schema)


def day(month: int, d: int = 1) -> datetime:
    return datetime(2024, month, d, 12, tzinfo=UTC)


def sample_rows() -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for i, (nps, csat, ces) in enumerate(zip(WEB_NPS, WEB_CSAT, WEB_CES, strict=True)):
        rows.append({"customer_id": f"c{i}", "timestamp": day(1, i + 1), "touchpoint": "web", "channel": "online",
                     "nps": nps, "csat": csat, "ces": ces, "metrics": f'{{"effort": {i % 5 + 1}}}'})
    # a small group (3 answers) in February: counted, not scored
    rows += [{"customer_id": "s1", "timestamp": day(2, d), "touchpoint": "web", "nps": 10} for d in (1, 2, 3)]
    # employees never mix into customer scores
    rows += [{"customer_id": f"e{i}", "timestamp": day(1, 5), "touchpoint": "web", "respondent": "employee",
              "nps": 0} for i in range(6)]
    # a comment-only response is not a metric answer
    rows.append({"customer_id": "x", "timestamp": day(1, 9), "touchpoint": "web", "comment": "hi"})
    return rows


@pytest.fixture
def fb(wh: Warehouse) -> Any:
    wh.append("feedback", feedback_table(sample_rows()))
    return wh.table("feedback")


def test_hand_computed_scores_and_intervals_on_every_engine(fb: Any) -> None:
    rows = cx_metrics(fb, by=["touchpoint", "month"]).to_dict()
    assert [(r["touchpoint"], r["month"], r["n"]) for r in rows] == [("web", "2024-01", 10), ("web", "2024-02", 3)]
    jan = rows[0]
    assert set(jan) == {"touchpoint", "month", "n", "nps", "nps_low", "nps_high", "nps_n", "csat", "csat_low",
                        "csat_high", "csat_n", "ces", "ces_low", "ces_high", "ces_n", "target_status"}
    # NPS = 100 x (0.5 - 0.3) = 20; var = 0.5 + 0.3 - 0.2² = 0.76; MOE = 1.96 x 100 x sqrt(0.076)
    assert jan["nps"] == pytest.approx(20.0, abs=1e-12)
    moe = 1.96 * 100 * math.sqrt(0.076)
    assert moe == pytest.approx(54.03347, abs=1e-5)
    assert jan["nps_low"] == pytest.approx(20 - moe, abs=1e-9)
    assert jan["nps_high"] == pytest.approx(20 + moe, abs=1e-9)
    # CSAT 7/10 with the Wilson interval (z = 1.96)
    z, p, n = 1.96, 0.7, 10
    centre, half = (p + z * z / (2 * n)) / (1 + z * z / n), z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    assert jan["csat"] == pytest.approx(0.7)
    assert (jan["csat_low"], jan["csat_high"]) == pytest.approx((centre - half, centre + half), abs=1e-12)
    assert (round(jan["csat_low"], 4), round(jan["csat_high"], 4)) == (0.3968, 0.8922)
    # CES mean 5.0; s² = (274 - 50²/10) / 9 = 2.6667; t(0.975, 9) = 2.262157
    assert jan["ces"] == pytest.approx(5.0)
    half_t = 2.2621571627409915 * math.sqrt((274 - 250) / 9 / 10)
    assert (jan["ces_low"], jan["ces_high"]) == pytest.approx((5 - half_t, 5 + half_t), abs=1e-9)
    # February: 3 answers < 5 → counts but null scores
    feb = rows[1]
    assert (feb["nps_n"], feb["nps"], feb["nps_low"], feb["csat_n"], feb["csat"]) == (3, None, None, 0, None)


def test_detail_has_distribution_secondaries_and_custom_metric(duckdb_wh: Warehouse) -> None:
    duckdb_wh.append("feedback", feedback_table(sample_rows()))
    fb = duckdb_wh.table("feedback")
    jan = cx_metrics(fb, by=["month"], metrics=["nps", "csat", "ces", "effort"], top_box={"effort": 4}).to_dict(detail=True)[0]
    assert jan["nps_distribution"] == [1, 0, 0, 1, 0, 0, 1, 1, 1, 2, 3]
    assert (jan["nps_promoters"], jan["nps_detractors"]) == (0.5, 0.3)
    assert jan["csat_mean"] == pytest.approx(3.8)
    assert (jan["ces_easy"], jan["ces_n"]) == (0.7, 10)
    # effort = i % 5 + 1 for i in 0..9 → 1..5 twice: mean 3, top box (≥ 4) 4/10
    assert (jan["effort"], jan["effort_n"], jan["effort_top_box"]) == (3.0, 10, 0.4)


def test_employee_answers_give_enps_and_stay_out_of_customer_scores(fb: Any) -> None:
    customer = cx_metrics(fb, by=["touchpoint"], metrics=["nps"], min_sample_size=1).to_dict()
    assert customer[0]["nps_n"] == 13
    employee = cx_metrics(fb, by=["touchpoint"], metrics=["nps"], respondent="employee").to_dict()
    assert (employee[0]["nps_n"], employee[0]["nps"]) == (6, -100.0)


@pytest.mark.parametrize("period,labels", [("day", ["2024-01-01", "2024-01-02"]), ("week", ["2024-01-01"]),
                                           ("quarter", ["2024-Q1"])])
def test_periods_are_labelled(fb: Any, period: str, labels: list[str]) -> None:
    # on Spark the periods come from one aggregation, on DuckDB from days rolled up: same labels
    rows = cx_metrics(fb, by=[period], metrics=["nps"], min_sample_size=1).to_dict()
    assert [r[period] for r in rows][: len(labels)] == labels


def test_group_by_customer_attribute_and_channel(duckdb_wh: Warehouse) -> None:
    duckdb_wh.append("feedback", feedback_table(sample_rows()))
    duckdb_wh.append("customers", pa.table({"customer_id": [f"c{i}" for i in range(10)],
                                            "segment": ["smb"] * 5 + ["ent"] * 5}))
    rows = cx_metrics(duckdb_wh.table("feedback"), by=["segment", "channel"], metrics=["nps"],
                      customers=duckdb_wh.table("customers"), min_sample_size=1).to_dict()
    by_key = {(r["segment"], r["channel"]): r for r in rows}
    # smb = first five answers 10, 10, 9, 8, 7 → NPS 60; ent = 6, 0, 3, 9, 10 → 40 - 60 = -20
    assert by_key[("smb", "online")]["nps"] == pytest.approx(60.0)
    assert by_key[("ent", "online")]["nps"] == pytest.approx(-20.0)
    assert by_key[(None, None)]["nps_n"] == 3


def test_bad_parameters_fail_clearly(duckdb_wh: Warehouse) -> None:
    fb = duckdb_wh.table("feedback")
    with pytest.raises(ParameterError, match="Cannot group by 'colour'"):
        cx_metrics(fb, by=["colour"])
    with pytest.raises(ParameterError, match="Invalid metric name"):
        cx_metrics(fb, metrics=["nps; drop table"])
    with pytest.raises(ParameterError, match="respondent"):
        cx_metrics(fb, respondent="robot")
    with pytest.raises(ParameterError, match="stage"):
        cx_metrics(fb, by=["stage"])
