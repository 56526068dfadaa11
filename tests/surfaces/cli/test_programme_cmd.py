"""``journeylens maturity …``, ``journeylens report`` and ``report-schedule`` through CliRunner."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import journeylens
from journeylens.settings import Settings
from journeylens.surfaces.cli.main import app

runner = CliRunner()
JOURNEY = """\
name: Shop
stages: [{name: Explore}, {name: Buy}]
touchpoints:
  - {name: Browse, stage: Explore, owner: Web team, critical: true}
  - {name: Checkout, stage: Buy}
"""


@pytest.fixture
def shop(tmp_path: Path) -> list[str]:
    journey = tmp_path / "shop.journey.yaml"
    journey.write_text(JOURNEY, encoding="utf-8")
    warehouse = str(tmp_path / "shop.duckdb")
    lens = journeylens.open(warehouse, journey, settings=Settings(warehouse=warehouse))
    t = datetime.now(UTC) - timedelta(days=3)
    lens.ingest("events", pd.DataFrame({"customer_id": ["a", "a", "b"], "timestamp": [t, t + timedelta(hours=1), t],
                                        "touchpoint": ["Browse", "Checkout", "Browse"]}))
    lens.ingest("feedback", pd.DataFrame({"timestamp": [t] * 6, "customer_id": ["a"] * 6,
                                          "touchpoint": ["Browse"] * 6, "nps": [9, 10, 3, 8, 9, 7]}))
    lens.warehouse.close()
    return ["--warehouse", warehouse, "--journey", str(journey)]


def _app_db(tmp_path: Path) -> list[str]:
    return ["--app-db", f"sqlite:///{tmp_path / 'app.db'}"]


def test_answer_assess_show_history(shop: list[str], tmp_path: Path) -> None:
    db = _app_db(tmp_path)
    answered = runner.invoke(app, [*shop, "maturity", "answer", "--as", "ana@shop.example", "own_named=4",
                                   "map_living=3", *db, "--json"])
    assert answered.exit_code == 0, answered.output
    assert json.loads(answered.output) == {"respondent": "ana@shop.example", "answers": {"own_named": 4, "map_living": 3}}
    result = runner.invoke(app, [*shop, "maturity", "assess", *db, "--json"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    ownership = next(d for d in body["dimensions"] if d["id"] == "ownership")
    assert ownership["evidence"][0]["finding"] == "1 of 2 touchpoints have an owner (50 %)."
    assert ownership["level"] == 3 and ownership["self_assessment"]["mean"] == 4.0
    shown = json.loads(runner.invoke(app, [*shop, "maturity", "show", *db, "--json"]).output)
    assert shown["assessment_id"] == body["assessment_id"]
    history = json.loads(runner.invoke(app, [*shop, "maturity", "history", *db, "--json"]).output)
    assert [h["assessment_id"] for h in history] == [body["assessment_id"]]
    human = runner.invoke(app, [*shop, "maturity", "show", *db])
    assert human.exit_code == 0 and "Playbook: next steps" in human.output


def test_errors_exit_2_with_one_shape(shop: list[str], tmp_path: Path) -> None:
    db = _app_db(tmp_path)
    none_yet = runner.invoke(app, [*shop, "maturity", "show", *db, "--json"])
    assert none_yet.exit_code == 2 and json.loads(none_yet.output)["error"]["code"] == "not_found"
    bad_answer = runner.invoke(app, [*shop, "maturity", "answer", "--as", "a@x.example", "own_named", *db, "--json"])
    assert bad_answer.exit_code == 2 and "QUESTION=VALUE" in json.loads(bad_answer.output)["error"]["message"]
    model = tmp_path / "ours.yaml"
    model.write_text("name: ours\nversion: '1'\nlevels: {}\ndimensions: []\n", encoding="utf-8")
    checked = runner.invoke(app, ["maturity", "check", str(model), "--json"])
    assert checked.exit_code == 2
    error = json.loads(checked.output)["error"]
    assert error["code"] == "maturity_model_invalid" and [e["line"] for e in error["details"]["errors"]] == [3, 4]


def test_report_html_and_schedule(shop: list[str], tmp_path: Path) -> None:
    db = _app_db(tmp_path)
    out = tmp_path / "state.html"
    written = runner.invoke(app, [*shop, "report", "--format", "html", "--out", str(out), "--no-text", *db, "--json"])
    assert written.exit_code == 0, written.output
    assert json.loads(written.output)["bytes"] == out.stat().st_size
    assert "State of the journey: Shop" in out.read_text(encoding="utf-8")
    wrong = runner.invoke(app, [*shop, "report", "--format", "docx", "--out", str(out), *db, "--json"])
    assert wrong.exit_code == 2 and "pdf or html" in json.loads(wrong.output)["error"]["message"]
    added = runner.invoke(app, ["report-schedule", "add", "Board", "--to", "cxo@shop.example", "--cadence", "weekly",
                                *db, "--json"])
    assert added.exit_code == 0, added.output
    listed = json.loads(runner.invoke(app, ["report-schedule", "list", *db, "--json"]).output)
    assert [(s["name"], s["cadence"], s["recipients"]) for s in listed] == [("Board", "weekly", ["cxo@shop.example"])]
