"""Metric rules on behaviour (conversion, drop-off at a funnel step, churn) on data whose answer is known,
and on the demo's planted KYC drop-off."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

import journeylens
from journeylens.demo import generate
from journeylens.demo.generator import journey_template
from journeylens.demo.planted import KYC_DROP_OFF
from journeylens.operations.alerts import actions
from journeylens.operations.alerts.rules import RuleError, parse_rule
from journeylens.operations.alerts.scheduled import run_rules, verdicts
from journeylens.operations.appdb import AppDatabase
from journeylens.settings import Settings

AS_OF = datetime(2024, 6, 30, tzinfo=UTC)
DEFINITION = """\
name: shop
stages: [{name: look}, {name: apply}, {name: buy}, {name: leave}]
touchpoints:
  - {name: visit, stage: look, channel: web}
  - {name: form, stage: apply, channel: web}
  - {name: upload, stage: apply, channel: web}
  - {name: approved, stage: apply, channel: web}
  - {name: paid, stage: buy, channel: web}
  - {name: closed, stage: leave, channel: web}
outcomes: {conversion: [paid], churn: [closed]}
"""


def _journeys(customers: int, reach: dict[str, float], churn_share: float) -> pd.DataFrame:
    """Each customer walks visit → form → upload → approved → paid; the k-th customer stops at the
    first step whose share of walkers (``reach``) they fall outside; ``churn_share`` close their account."""
    rows = []
    steps = ["visit", "form", "upload", "approved", "paid"]
    start = AS_OF - timedelta(days=20)
    for k in range(customers):
        at = start + timedelta(hours=k % 400)
        for i, step in enumerate(steps):
            share = reach.get(step, 1.0)
            if (k % 100) / 100 >= share:
                break
            rows.append({"customer_id": f"c{k}", "timestamp": at + timedelta(minutes=10 * i), "touchpoint": step,
                         "channel": "web"})
        if (k % 100) / 100 < churn_share:
            rows.append({"customer_id": f"c{k}", "timestamp": at + timedelta(days=1), "touchpoint": "closed",
                         "channel": "web"})
    return pd.DataFrame(rows)


@pytest.fixture
def shop(tmp_path: Path):  # type: ignore[no-untyped-def]
    settings = Settings(warehouse="duckdb://", app_database_url=f"sqlite:///{tmp_path / 'app.db'}")
    journey = tmp_path / "shop.journey.yaml"
    journey.write_text(DEFINITION)
    lens = journeylens.open("duckdb://", journey=journey, settings=settings)
    # 1,000 customers: everyone visits, 90 % fill the form, 50 % upload, 40 % get approved (so 20 % of
    # uploaders drop off there), 30 % pay; 15 % churn.
    lens.ingest("events", _journeys(1000, {"form": 0.9, "upload": 0.5, "approved": 0.4, "paid": 0.3}, 0.15))
    db = AppDatabase(settings.app_database_url)
    yield lens, db
    lens.warehouse.close()
    db.dispose()


def _rule(body: str) -> str:
    return "name: r\non: metric\nwindow_days: 30\nmin_customers: 50\n" + body


@pytest.mark.parametrize(("body", "estimate", "fires"), [
    ("metric: drop_off\nstep: upload\nabove: 0.1\n", 0.2, True),           # 100 of 500 uploaders stop
    ("metric: drop_off\nstep: upload\nabove: 0.25\n", 0.2, False),
    ("metric: drop_off\nstep: form\nnext_step: upload\nabove: 0.3\n", 4 / 9, True),
    ("metric: conversion\nbelow: 0.4\n", 0.3, True),                      # 30 % reach the last stage
    ("metric: conversion\nbelow: 0.3\n", 0.3, False),                     # the interval straddles 0.3
    ("metric: churn\nabove: 0.1\n", 0.15, True),
    ("metric: churn\nabove: 0.15\n", 0.15, False),
])
def test_behaviour_rules_on_known_answers(shop, body: str, estimate: float, fires: bool) -> None:  # type: ignore[no-untyped-def]
    lens, _db = shop
    (verdict,) = verdicts(lens, parse_rule(_rule(body)), AS_OF)
    assert verdict.details["estimate"] == pytest.approx(estimate, abs=1e-9)
    assert verdict.details["low"] < estimate < verdict.details["high"]
    assert verdict.fires is fires, verdict.explanation


def test_drop_off_defaults_to_the_usual_next_step(shop) -> None:  # type: ignore[no-untyped-def]
    lens, _db = shop
    (verdict,) = verdicts(lens, parse_rule(_rule("metric: drop_off\nstep: upload\nabove: 0.1\n")), AS_OF)
    assert (verdict.details["step"], verdict.details["next_step"], verdict.details["n"]) == ("upload", "approved", 500)
    assert verdict.details["dropped"] == 100
    assert verdict.subject == "drop_off at upload @ all customers"
    assert "Drop-off from upload to approved" in verdict.explanation and "n=500" in verdict.explanation


def test_a_window_without_enough_customers_never_fires(shop) -> None:  # type: ignore[no-untyped-def]
    lens, _db = shop
    rule = parse_rule("name: r\non: metric\nmetric: churn\nabove: 0.01\nwindow_days: 30\nmin_customers: 5000\n")
    (verdict,) = verdicts(lens, rule, AS_OF)
    assert not verdict.fires and "too few customers" in verdict.explanation


@pytest.mark.parametrize(("text", "fragment"), [
    ("metric: drop_off\nabove: 0.2\n", "needs 'step'"),
    ("metric: churn\nstep: x\nabove: 0.2\n", "belong to metric drop_off"),
    ("metric: churn\ntarget: true\n", "lower-is-better"),
    ("metric: conversion\nbelow: 0.2\nwhere: {survey: x}\n", "not on a survey"),
])
def test_bad_behaviour_rules_are_explained(text: str, fragment: str) -> None:
    with pytest.raises(RuleError) as caught:
        parse_rule("name: r\non: metric\n" + text)
    assert fragment in caught.value.message


def test_fired_drop_off_alert_is_stored_and_closes_when_it_clears(shop) -> None:  # type: ignore[no-untyped-def]
    lens, db = shop
    with db.session() as s:
        actions.add(s, lens, _rule("metric: drop_off\nstep: upload\nabove: 0.1\n"), source="r.yaml", actor="t")
    report = run_rules(lens, db, as_of=AS_OF)
    assert [f["subject"] for f in report.fired] == ["drop_off at upload @ all customers"]
    assert run_rules(lens, db, as_of=AS_OF).fired == []  # one open alert per rule and subject
    later = run_rules(lens, db, as_of=AS_OF + timedelta(days=60))  # nobody in that window: too few, clears
    assert later.closed == 1


@pytest.mark.slow
def test_drop_off_rule_finds_the_demo_planted_kyc_step(tmp_path: Path) -> None:
    """Every onboarding step of the demo loses ~8 %; KYC document upload loses 35 % (planted). The next
    step is not given: the rule finds each step's usual next one from the data."""
    data = generate(customers=4000, seed=11)
    settings = Settings(warehouse="duckdb://", app_database_url=f"sqlite:///{tmp_path / 'app.db'}",
                        duckdb_memory_limit="1GB")
    lens = journeylens.open("duckdb://", journey=journey_template(), settings=settings)
    lens.ingest("customers", data.customers)
    lens.ingest("events", data.events)
    as_of = data.window.end
    fired = {}
    for step in ("Open account online", KYC_DROP_OFF.touchpoint, "Open account in branch"):
        rule = parse_rule(f'name: r\non: metric\nmetric: drop_off\nstep: "{step}"\nabove: 0.2\nwindow_days: 365\n')
        (verdict,) = verdicts(lens, rule, as_of)
        fired[step] = (verdict.fires, round(verdict.details["estimate"], 2))
    lens.warehouse.close()
    assert fired[KYC_DROP_OFF.touchpoint][0] is True, fired
    assert fired[KYC_DROP_OFF.touchpoint][1] == pytest.approx(KYC_DROP_OFF.drop_off, abs=0.06)
    assert not fired["Open account online"][0] and not fired["Open account in branch"][0], fired
    assert fired["Open account online"][1] == pytest.approx(KYC_DROP_OFF.typical_drop_off, abs=0.04)


def test_alert_check_from_the_cli_judges_a_drop_off_rule(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from journeylens.surfaces.cli.main import app

    journey = tmp_path / "shop.journey.yaml"
    journey.write_text(DEFINITION)
    settings = Settings(warehouse=str(tmp_path / "wh.duckdb"))
    lens = journeylens.open(settings.warehouse, journey=journey, settings=settings)
    lens.ingest("events", _journeys(400, {"form": 0.9, "upload": 0.5, "approved": 0.4, "paid": 0.3}, 0.15))
    lens.warehouse.close()
    rule = tmp_path / "upload-drop-off.yaml"
    rule.write_text(_rule("metric: drop_off\nstep: upload\nabove: 0.1\n"))
    result = CliRunner().invoke(app, ["--warehouse", settings.warehouse, "--journey", str(journey), "alert", "check",
                                      str(rule), "--as-of", AS_OF.isoformat(), "--app-db",
                                      f"sqlite:///{tmp_path / 'app.db'}", "--json"])
    assert result.exit_code == 0, result.output
    checked = json.loads(result.output.strip().splitlines()[-1])
    (verdict,) = checked["verdicts"]
    assert verdict["fires"] is True and verdict["subject"] == "drop_off at upload @ all customers"
    assert "Drop-off from upload to approved" in verdict["explanation"] and "n=200" in verdict["explanation"]
