"""The driver relations planted in the demo are found from the dashboard pages alone:
``sat_app`` is the top driver of relationship NPS and sits in "fix first"; customers who switch
to the call centre and customers with repeat call-centre contacts churn more (the switch, measured
twice — any switch and the online-then-call visit —, tops the journey drivers of churn, repeat
contacts follow in the top four). The planted KYC drop-off is the top funnel driver of conversion, and the
what-if of bringing it down to the other steps' rate agrees with the answer the demo implies. Customers who
start online and then call in the same visit have a planted NPS gap: it tops the journey drivers of NPS, and the
NPS what-if on that journey lever recovers the planted change."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from tests.surfaces.web.conftest import PASSWORD, sign_in

import journeylens
from journeylens import JourneyLens
from journeylens.demo.build import build_demo
from journeylens.demo.planted import CHANNEL_SWITCH, DRIVERS, KYC_DROP_OFF
from journeylens.models.journey_drivers import customer_table
from journeylens.operations import users
from journeylens.operations.appdb import AppDatabase
from journeylens.settings import Settings
from journeylens.surfaces.api.app import create_app

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Settings, JourneyLens]]:
    root = tmp_path_factory.mktemp("drivers_demo")
    settings = Settings(warehouse=str(root / "demo.duckdb"), app_database_url=f"sqlite:///{root / 'app.db'}",
                        cache_dir=root / "cache", duckdb_memory_limit="2GB")
    report = build_demo(lambda journey: journeylens.open(settings.warehouse, journey, settings=settings),
                        customers=6_000, seed=42, out_dir=root / "files")
    lens = journeylens.open(settings.warehouse, report.journey, settings=settings)
    yield settings, lens
    lens.warehouse.close()


@pytest.fixture(scope="module")
def analyst(demo: tuple[Settings, JourneyLens]) -> Iterator[TestClient]:
    settings, lens = demo
    database = AppDatabase(settings.app_database_url)
    with database.session() as session:
        users.create_user(session, "analyst@example.com", PASSWORD, role="analyst")
    database.dispose()
    with TestClient(create_app(settings, lens=lens)) as client:
        yield sign_in(client, "analyst")


def _first_row(html: str, caption: str) -> str:
    table = html.split(caption, 1)[1]
    return re.search(r"<tbody><tr[^>]*><th scope=\"row\">([^<]+)</th>(.*?)</tr>", table, re.S).group(0)  # type: ignore[union-attr]


def test_planted_rating_driver_is_found_on_the_drivers_page(analyst: TestClient) -> None:
    html = analyst.get("/drivers?target=nps&survey=Relationship+NPS").text
    top = _first_row(html, "Key drivers, most important first")
    assert DRIVERS.ratings[0] in top and "fix first" in top


def test_planted_contact_problems_top_the_churn_journey_drivers(analyst: TestClient) -> None:
    html = analyst.get("/drivers?target=nps&survey=Relationship+NPS").text
    table = html.split("Journey drivers of churn, most important first", 1)[1].split("</tbody>", 1)[0]
    rows = re.findall(r"<tr[^>]*><th scope=\"row\">([^<]+)</th>(.*?)</tr>", table, re.S)
    names = [name for name, _ in rows]
    switch = ("switches_to_contact", "contact_switches_in_episode")  # two measures of the one planted switch
    assert names[0] in switch and set(switch) <= set(names[:4]), names
    assert "repeat_contacts" in names[:4], names  # the second planted churn driver, after the two switch measures
    cells = dict(rows)
    assert "churn +" in cells[names[0]] and "churn +" in cells["repeat_contacts"]


KYC_FUNNEL = ["Open account online", KYC_DROP_OFF.touchpoint, KYC_DROP_OFF.next_touchpoint]


def test_planted_kyc_drop_off_is_the_top_funnel_driver_of_conversion(demo: tuple[Settings, JourneyLens]) -> None:
    _, lens = demo
    rows = lens.drivers(target="conversion", journey=True, funnel=KYC_FUNNEL).to_dict()["drivers"]
    drops = [r for r in rows if r["driver"].startswith("dropoff_")]
    assert drops[0]["driver"] == "dropoff_kyc_document_upload"
    assert drops[0]["effect"] < -50 and "dropped off at kyc document upload: conversion -" in drops[0]["sentence"]


def test_drop_off_what_if_matches_the_answer_the_demo_implies(demo: tuple[Settings, JourneyLens]) -> None:
    """Customers who get past the KYC upload are approved (= converted), so bringing the drop-off
    down to the typical rate converts exactly the customers it saves."""
    _, lens = demo
    X, _, _, reached = customer_table(lens.events(), lens.warehouse.table("feedback"), target="conversion",
                                      definition=lens.definition, funnel=KYC_FUNNEL)
    name = "dropoff_kyc_document_upload"
    rate = X.loc[reached[name], name].mean()
    assert rate == pytest.approx(KYC_DROP_OFF.drop_off, abs=0.06)
    cut = rate - KYC_DROP_OFF.typical_drop_off
    truth = 100 * cut * reached[name].sum() / len(X)
    result = lens.what_if(target="conversion", changes={name: -cut}, funnel=KYC_FUNNEL).to_dict()
    assert result["delta"] == pytest.approx(truth, rel=0.15)
    assert result["low"] < result["predicted"] <= result["high"] + 1e-9


def test_planted_switch_gap_tops_the_nps_journey_drivers_and_the_lever_recovers_it(
        demo: tuple[Settings, JourneyLens]) -> None:
    """Removing the online-then-call visits of every customer who had one raises their NPS by the
    planted gap: the what-if's 95 % interval must hold that answer and exclude no change."""
    _, lens = demo
    rows = lens.drivers(target="nps", journey=True).to_dict()["drivers"]
    top = {r["driver"]: r for r in rows[:3]}
    assert "contact_switches_in_episode" in top, [r["driver"] for r in rows]
    assert top["contact_switches_in_episode"]["effect"] < 0
    name = "contact_switches_in_episode"
    X, _, _, _ = customer_table(lens.events(), lens.warehouse.table("feedback"), target="nps",
                                definition=lens.definition, keep=[name])
    share = float(X[name].mean())
    truth = -CHANNEL_SWITCH.nps_gap_points * share
    result = lens.what_if(target="nps", changes={name: -share}).to_dict()
    assert "journey drivers" in result["method"]
    assert result["low"] <= result["baseline"] + truth <= result["high"]
    assert result["low"] > result["baseline"]
