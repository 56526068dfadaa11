"""The aggregated path format (bad rows quarantined) and spend and return on a tiny warehouse."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from tests.analyses.conftest import load_journey_events, load_table

from journeylens.analyses.marketing.attribution import attribute
from journeylens.analyses.marketing.pathfile import read_paths
from journeylens.analyses.marketing.spend import parse_shifts, spend_return
from journeylens.errors import InputError, ParameterError
from journeylens.settings import Settings
from journeylens.warehouse import Warehouse, open_warehouse


def test_path_file_keeps_good_rows_and_says_why_bad_ones_go(tmp_path: Path) -> None:
    f = tmp_path / "paths.csv"
    f.write_text("path,conversions,value,nulls\n"
                 "search > social,3,300,7\n"
                 "social,1,50,9\n"
                 ",2,10,0\n"
                 "search > > tv,1,1,1\n"
                 "search,x,0,1\n"
                 "radio > search,1,10,0\n"
                 "tv,0,0,0\n", encoding="utf-8")
    read = read_paths(f, known_channels=["search", "social", "tv"])
    assert read.touches.labels == ("search", "social")
    assert read.touches.conversions.tolist() == [3.0, 1.0] and read.touches.nulls.tolist() == [7.0, 9.0]
    assert [(r["row"], r["reason"]) for r in read.rejected] == [
        (3, "empty path"), (4, "empty channel between '>' separators"),
        (5, "conversions not a non-negative number"), (6, "unknown channel(s): radio"),
        (7, "no conversions and no nulls")]
    rows = attribute(read.touches, models="first,markov").to_dict()
    first = {r["channel"]: r["value"] for r in rows if r["model"] == "first"}
    assert first == {"search": 300.0, "social": 50.0}


def test_path_file_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="lacks column"):
        read_paths(pd.DataFrame({"journey": ["a"], "conversions": [1]}))
    with pytest.raises(InputError, match="No usable row"):
        read_paths(pd.DataFrame({"path": [""], "conversions": [1]}))
    frame = read_paths(pd.DataFrame({"p": ["a|b"], "c": [2]}), path_col="p", conversions_col="c", sep="|")
    assert frame.touches.labels == ("a", "b")


def _spend_wh(wh: Warehouse, rows: list[dict[str, object]]) -> None:
    load_table(wh, "spend", rows)


def ev(customer: str, day: int, touchpoint: str, **props: object) -> dict[str, object]:
    return {"customer_id": customer, "timestamp": f"2024-{1 + day // 28:02d}-{1 + day % 28:02d}T10:00:00",
            "touchpoint": touchpoint, "channel": "web", "properties": json.dumps(props) if props else None}


def test_spend_return_by_hand(wh: Warehouse) -> None:
    duckdb_wh = wh  # every engine: the spend frame, periods and units are pandas after the engine reads them
    rows = []
    for i in range(6):  # six buyers from search, two from social, one direct; two social visitors never buy
        rows += [ev(f"s{i}", i, "Ad", campaign="Search A"), ev(f"s{i}", i + 1, "Buy", value=100)]
    for i in range(2):
        rows += [ev(f"o{i}", i, "Ad", campaign="Social B"), ev(f"o{i}", i + 1, "Buy", value=50)]
    rows += [ev("d", 3, "Buy", value=10), ev("n1", 2, "Ad", campaign="Social B"), ev("n2", 2, "Ad", campaign="Social B")]
    events = load_journey_events(duckdb_wh, rows)
    spend = [{"channel": "search", "date": "2024-01-01", "amount": 300.0, "currency": "GBP", "campaign": "Search A"},
             {"channel": "social", "date": "2024-01-01", "amount": 200.0, "currency": "GBP", "campaign": "Social B"},
             {"channel": "radio", "date": "2024-01-01", "amount": 80.0, "currency": "GBP", "campaign": "Radio C"}]
    load_table(duckdb_wh, "spend", spend)
    result = spend_return(events, duckdb_wh.table("spend"), model="last", conversion="Buy", value_property="value",
                          bootstrap=0)
    totals = {r["unit"]: r for r in result.to_dict()["totals"]}
    assert totals["search"]["conversions"] == 6 and totals["search"]["cpa"] == pytest.approx(50.0)
    assert totals["search"]["roas"] == pytest.approx(600 / 300)
    assert totals["social"]["cpa"] == pytest.approx(100.0) and totals["social"]["roas"] == pytest.approx(0.5)
    assert totals["direct / none"]["spend"] == 0 and totals["direct / none"]["value"] == 10
    # radio's spend is never seen on a touch: reported, not dropped
    assert totals["radio"]["spend"] == 80 and result.to_dict()["unmatched_spend"] == [
        {"unit": "radio", "spend": 80.0, "reason": "no touch carries this campaign"}]
    assert {r["model"] for r in result.to_dict()["by_model"]} >= {"first", "markov", "shapley"}


def _months_data() -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    """Five months; search buyers grow with search spend, social stays flat; one customer (revenue) has
    no value on the conversion event; spend is given per day in several rows per month."""
    rows, spend = [], []
    for month in range(5):
        day = month * 28
        for i in range(2 + month):
            rows += [ev(f"s{month}-{i}", day + i, "Ad", campaign="Search A"), ev(f"s{month}-{i}", day + i + 1, "Buy", value=100)]
        for i in range(2):
            rows += [ev(f"o{month}-{i}", day + i, "Ad", campaign="Social B"),
                     ev(f"o{month}-{i}", day + i + 2, "Ad", campaign="Search A"), ev(f"o{month}-{i}", day + i + 3, "Buy", value=40)]
        rows += [ev(f"n{month}", day + 5, "Ad", campaign="Social B")]
        date = f"2024-{month + 1:02d}-0"
        spend += [{"channel": "search", "date": f"{date}{d}", "amount": 50.0 * (month + 1), "currency": "GBP",
                   "campaign": "Search A"} for d in (2, 5)]
        spend += [{"channel": "social", "date": f"{date}3", "amount": 120.0, "currency": "GBP", "campaign": "Social B"}]
    return rows, spend


def test_spend_return_over_time_is_the_same_on_every_engine(wh: Warehouse, settings: Settings) -> None:
    rows, spend = _months_data()
    results = []
    for warehouse in (wh, open_warehouse("duckdb://", settings)):
        events = load_journey_events(warehouse, rows)
        load_table(warehouse, "spend", spend)
        results.append(spend_return(events, warehouse.table("spend"), model="last", conversion="Buy",
                                    value_property="value", bootstrap=20, seed=3,
                                    shifts=parse_shifts(["social:search:10"])).to_dict())
    got, reference = results
    periods = {(r["period"], r["unit"]): (r["spend"], r["conversions"]) for r in got["periods"]}
    # last touch: search gets its own buyers (2 + month) and the two social-then-search buyers
    assert periods[("2024-03", "search")] == (300.0, 6.0) and periods[("2024-03", "social")] == (120.0, 0.0)
    totals = {r["unit"]: r for r in got["totals"]}
    assert totals["search"]["spend"] == 1500.0 and totals["search"]["conversions"] == 30.0
    assert totals["search"]["roas"] == pytest.approx((20 * 100 + 10 * 40) / 1500)
    assert [r["unit"] for r in got["marginal"]] and got["what_if"][0]["sentence"]
    assert got == _approx(reference)


def _approx(value: object) -> object:
    """``pytest.approx`` inside nested dicts and lists (floats from two engines' arithmetic)."""
    if isinstance(value, dict):
        return {k: _approx(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_approx(v) for v in value]
    return pytest.approx(value, rel=1e-9, abs=1e-12) if isinstance(value, float) else value


def test_mixed_currencies_need_rates(duckdb_wh: Warehouse) -> None:
    events = load_journey_events(duckdb_wh, [ev("a", 1, "Ad", campaign="X"), ev("a", 2, "Buy")])
    load_table(duckdb_wh, "spend", [
        {"channel": "search", "date": "2024-01-01", "amount": 10.0, "currency": "GBP", "campaign": "X"},
        {"channel": "search", "date": "2024-01-02", "amount": 10.0, "currency": "USD", "campaign": "X"},
        {"channel": "search", "date": "2024-01-03", "amount": 10.0, "currency": "EUR", "campaign": "X"}])
    with pytest.raises(ParameterError, match="mixes currencies EUR, GBP, USD") as err:
        spend_return(events, duckdb_wh.table("spend"), conversion="Buy", bootstrap=0)
    assert err.value.code == "mixed_currencies"
    with pytest.raises(ParameterError, match="No exchange rate for currency EUR"):
        spend_return(events, duckdb_wh.table("spend"), conversion="Buy", rates={"GBP": 1, "USD": 0.8}, bootstrap=0)
    result = spend_return(events, duckdb_wh.table("spend"), conversion="Buy", model="last",
                          rates={"GBP": 1, "USD": 0.8, "EUR": 0.9}, bootstrap=0)
    assert {r["unit"]: r["spend"] for r in result.to_dict()["totals"]}["search"] == pytest.approx(27.0)


def test_shift_parsing() -> None:
    assert parse_shifts(["tv:paid_search:10"])[0].percent == 10
    with pytest.raises(ParameterError, match="FROM:TO:PERCENT"):
        parse_shifts(["tv-search"])
