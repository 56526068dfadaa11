"""Cohorts on the shop log (see tests/analyses/conftest.py).

Channels per customer (online: social, web, email; offline: store, call_centre):
c1 social/web/call_centre -> blended; c2 web/store -> blended; c3 email/web -> online-only;
c4 social/web -> online-only; c5 store/web -> blended; c6 web/call_centre -> blended.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from journeylens.analyses.cohorts import (
    assign_cohorts,
    cohorts,
    compare_cohorts,
    customer_outcomes,
    customers_in_cohort,
    is_online,
)
from journeylens.analyses.filters import Filters
from journeylens.errors import ParameterError


def _ids(table: Any) -> list[str]:
    return sorted(table.customer_id.to_pyarrow().to_pylist())


@pytest.mark.parametrize(("cohort", "expected"), [
    ("online-only", ["c3", "c4"]),
    ("offline-only", []),
    ("blended", ["c1", "c2", "c5", "c6"]),
    ("smb", ["c1", "c3", "c4"]),
    ("buyers", ["c1", "c4", "c5"]),
    ("web-first", ["c2", "c6"]),
    ("smb-online", ["c3", "c4"]),  # both conditions must hold
    ("gold", ["c1", "c5"]),  # a key of the attributes JSON
])
def test_cohort_members(shop: Any, shop_definition: Any, cohort: str, expected: list[str]) -> None:
    events, customers = shop
    assert _ids(customers_in_cohort(events, cohort, shop_definition, customers)) == expected


def test_channel_cohorts_exist_without_definition(shop: Any) -> None:
    events, _ = shop
    assert _ids(customers_in_cohort(events, "online-only")) == ["c3", "c4"]
    assert _ids(customers_in_cohort(events, "blended")) == ["c1", "c2", "c5", "c6"]


def test_definition_online_flags_win_over_defaults(shop: Any) -> None:
    from journeylens.journeys.definition import parse_definition

    events, _ = shop
    definition = parse_definition("""
name: x
stages: [{name: Discover}]
touchpoints: [{name: Store visit, stage: Discover, channel: store, online: true}]
channels: {call_centre: online}
""")
    # store and call_centre now count as online -> everyone is online-only
    assert len(_ids(customers_in_cohort(events, "online-only", definition))) == 6
    flags = events.select(online=is_online(events.channel)).online.to_pyarrow().to_pylist()
    assert flags.count(False) == 6 and flags.count(True) == 13  # store x2, call_centre x4


def test_unknown_cohort_and_missing_customers_are_clear_errors(shop: Any, shop_definition: Any) -> None:
    events, _ = shop
    with pytest.raises(ParameterError, match=r"Unknown cohort 'nope'.*online-only"):
        customers_in_cohort(events, "nope", shop_definition)
    with pytest.raises(ParameterError, match="needs the customers table"):
        customers_in_cohort(events, "smb", shop_definition)


def test_assign_cohorts_lists_every_membership(shop: Any, shop_definition: Any) -> None:
    events, customers = shop
    pairs = assign_cohorts(events, shop_definition, customers).to_pyarrow().to_pylist()
    c1 = sorted(p["cohort"] for p in pairs if p["customer_id"] == "c1")
    assert c1 == ["blended", "buyers", "gold", "smb"]
    without_customers = assign_cohorts(events, shop_definition).to_pyarrow().to_pylist()
    assert {p["cohort"] for p in without_customers} == {"online-only", "blended", "buyers", "web-first"}


def test_cohort_sizes(shop: Any, shop_definition: Any) -> None:
    events, customers = shop
    data = cohorts(events, definition=shop_definition, customers=customers).to_dict()
    sizes = {c["cohort"]: (c["customers"], c["share"]) for c in data["cohorts"]}
    assert data["customers"] == 6
    assert sizes["blended"] == (4, pytest.approx(4 / 6)) and sizes["offline-only"] == (0, 0.0)
    assert sizes["smb"] == (3, 0.5) and sizes["gold"] == (2, pytest.approx(1 / 3))
    assert next(c for c in data["cohorts"] if c["cohort"] == "smb-online")["kind"] == "combined"


def test_filters_keep_whole_journeys_of_a_cohort(shop: Any, shop_definition: Any) -> None:
    events, customers = shop
    kept = Filters(cohort="web-first").apply(events, shop_definition, customers)
    assert kept.count().execute() == 5  # c2 (2 events) + c6 (3 events)


def test_customer_outcomes(shop: Any, shop_definition: Any) -> None:
    events, customers = shop
    rows = {r["customer_id"]: (r["converted"], r["churned"])
            for r in customer_outcomes(events, shop_definition, customers).to_pyarrow().to_pylist()}
    assert rows == {"c1": (True, False), "c2": (False, False), "c3": (False, False),
                    "c4": (True, True), "c5": (True, False), "c6": (False, False)}


def test_compare_cohorts_runs_side_by_side_with_tests(shop: Any, shop_definition: Any) -> None:
    events, customers = shop
    comparison = compare_cohorts(events, "journey_map", ["smb", "blended"], definition=shop_definition,
                                 customers=customers)
    data = comparison.to_dict()
    assert data["analysis"] == "journey_map" and data["baseline"] == "smb"
    assert [(c["cohort"], c["customers"], c["converted"], c["churned"]) for c in data["cohorts"]] == [
        ("smb", 3, 2, 1), ("blended", 4, 2, 0)]
    assert data["cohorts"][1]["result"]["customers"] == 4
    conversion = next(t for t in data["tests"] if t["metric"] == "conversion")
    assert conversion["share"] == 0.5 and conversion["baseline_share"] == pytest.approx(2 / 3)
    assert conversion["difference"] == pytest.approx(0.5 - 2 / 3)
    assert 0 < conversion["p_value"] <= conversion["p_adjusted"] <= 1 and conversion["significant"] is False
    assert any(t["metric"] == "Buy: drop_off" for t in data["tests"])


def test_compare_cohorts_detects_a_real_difference(duckdb_wh: Any, events_loader: Any) -> None:
    """200 online customers convert 80 %, 200 offline ones 20 %: clearly significant."""
    rows = []
    for i in range(400):
        channel = "web" if i < 200 else "store"
        converts = (i % 10 < 8) if i < 200 else (i % 10 < 2)
        rows.append({"customer_id": f"u{i}", "timestamp": datetime(2024, 1, 1, tzinfo=UTC),
                     "touchpoint": "visit", "channel": channel, "stage": "A", "stage_order": 1, "_seq": 2 * i})
        if converts:
            rows.append({"customer_id": f"u{i}", "timestamp": datetime(2024, 1, 2, tzinfo=UTC),
                         "touchpoint": "buy", "channel": channel, "stage": "B", "stage_order": 2,
                         "_seq": 2 * i + 1})
    events = events_loader(duckdb_wh, rows)
    data = compare_cohorts(events, "journey_map", ["online-only", "offline-only"]).to_dict()
    conversion = next(t for t in data["tests"] if t["metric"] == "conversion")
    assert (conversion["baseline_share"], conversion["share"]) == (0.8, 0.2)
    assert conversion["p_adjusted"] < 1e-6 and conversion["significant"] is True


def test_compare_cohorts_rejects_bad_input(shop: Any) -> None:
    events, _ = shop
    with pytest.raises(ParameterError, match="at least two"):
        compare_cohorts(events, "journey_map", ["blended"])
    with pytest.raises(ParameterError, match="Unknown analysis"):
        compare_cohorts(events, "astrology", ["blended", "online-only"])
    with pytest.raises(ParameterError, match="needs steps") as missing:  # not a TypeError deep inside
        compare_cohorts(events, "funnel", ["blended", "online-only"])
    assert missing.value.details["missing"] == ["steps"]
    with pytest.raises(ParameterError, match="does not take colour"):
        compare_cohorts(events, "journey_map", ["blended", "online-only"], colour="red")


def test_parity_duckdb_spark(wh: Any, shop_definition: Any, assert_parity: Any) -> None:
    data = assert_parity(wh, lambda events, customers: cohorts(events, definition=shop_definition,
                                                               customers=customers))
    assert {c["cohort"]: c["customers"] for c in data["cohorts"]}["web-first"] == 2


def test_built_cohorts_sit_next_to_defined_ones_in_metrics_by_cohort(shop: Any, shop_definition: Any) -> None:
    """Issue 10: a cohort built from conditions is a row of "CX metrics by cohort" (and of the
    group tests) next to the defined cohorts; a defined name is never counted twice."""
    import ibis

    from journeylens.analyses.metrics import cx_metrics
    from journeylens.analyses.significance import group_differences

    events, customers = shop
    built = "segment=smb; channels=blended"  # smb c1, c3, c4 and blended c1, c2, c5, c6 → c1
    pairs = assign_cohorts(events, shop_definition, customers, built=[built, "blended"]).to_pyarrow().to_pylist()
    assert sorted(p["customer_id"] for p in pairs if p["cohort"] == built) == ["c1"]
    assert sum(1 for p in pairs if p["cohort"] == "blended") == 4
    feedback = ibis.memtable({"customer_id": ["c1", "c1", "c2", "c3", "c5", "c6"], "nps": [10, 9, 0, 5, 7, 3],
                              "respondent": ["customer"] * 6, "touchpoint": ["web"] * 6, "channel": ["web"] * 6,
                              "timestamp": [datetime(2024, 1, 2, tzinfo=UTC)] * 6})
    rows = cx_metrics(feedback, by=["cohort"], metrics=["nps"], events=events, definition=shop_definition,
                      customers=customers, built=[built], min_sample_size=1).to_dict()
    by_cohort = {r["cohort"]: r for r in rows}
    assert by_cohort[built]["n"] == 2 and by_cohort[built]["nps"] == 100.0
    assert by_cohort["blended"]["n"] == 5 and "smb" in by_cohort
    tests = group_differences(feedback, by="cohort", baseline="blended", metrics=["nps"], events=events,
                              definition=shop_definition, customers=customers, built=[built],
                              min_sample_size=1).to_dict()
    assert built in {t["cohort"] for t in tests}
    with pytest.raises(ParameterError, match="segment value"):
        cx_metrics(feedback, by=["cohort"], events=events, definition=shop_definition, customers=customers,
                   built=["segment=smbb"])


def test_json_attribute_values_match_whole_on_every_engine(wh: Any) -> None:
    """A JSON attribute value ending in 'v' or 'f' is matched whole on Spark too (Ibis's
    strip() there trimmed the letters v and f: "tv" became "t" and matched nothing)."""
    import pyarrow as pa

    from journeylens.analyses.cohorts import _attribute_test

    wh.append("customers", pa.table({
        "customer_id": ["a", "b", "c", "d"],
        "attributes": ['{"acquisition_channel":"tv"}', '{"acquisition_channel": " tv "}',
                       '{"acquisition_channel":"serf","x":1}', '{"acquisition_channel":"comparison_site"}']}))
    customers = wh.table("customers")
    counts = customers.aggregate(**{value: _attribute_test(customers, "acquisition_channel", [value]).cast("int64").sum()
                                    for value in ("tv", "serf", "comparison_site", "t")}).to_pyarrow().to_pylist()[0]
    assert counts == {"tv": 2, "serf": 1, "comparison_site": 1, "t": 0}


def test_channel_spellings_are_judged_alike_on_every_engine(wh: Any) -> None:
    """Unusual spellings of a channel ("field " with a space, "  Web-Site") are normalised the same
    way on DuckDB and Spark: only whitespace is trimmed (Ibis's strip() on Spark also trimmed the
    letters v and f, so "field " became "ield", a channel of unknown kind)."""
    import pyarrow as pa

    from journeylens.analyses.cohorts import is_online
    from journeylens.journeys.definition import JourneyDefinition, channel_key_expr

    spellings = ["field ", " fax-v ", "  Web-Site", "field", "tv"]
    wh.append("customers", pa.table({"customer_id": [str(i) for i in range(len(spellings))],
                                     "attributes": spellings}))
    customers = wh.table("customers")
    definition = JourneyDefinition.model_validate({"name": "x", "stages": [{"name": "s"}], "touchpoints": []})
    rows = customers.select(customers.customer_id, key=channel_key_expr(customers.attributes),
                            online=is_online(customers.attributes),
                            kind=definition.online_expr(customers.attributes)).to_pyarrow().to_pylist()
    got = {spellings[int(r["customer_id"])]: (r["key"], r["online"], r["kind"]) for r in rows}
    assert got == {"field ": ("field", False, False), " fax-v ": ("fax_v", False, None),
                   "  Web-Site": ("web_site", False, None), "field": ("field", False, False),
                   "tv": ("tv", False, None)}
