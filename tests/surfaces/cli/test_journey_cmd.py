"""``journeylens journey suggest|check|show`` and ``journeylens identities`` through CliRunner."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pytest
from typer.testing import CliRunner

from journeylens.journeys.definition import load_definition, parse_definition
from journeylens.settings import Settings
from journeylens.surfaces.cli.main import app
from journeylens.warehouse import open_warehouse

runner = CliRunner()
T0 = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)
JOURNEY = """\
name: Shop
stages: [{name: Explore}, {name: Buy}]
touchpoints:
  - {name: Browse, match: ["view *", landing], stage: Explore, channel: web}
  - {name: Checkout, match: checkout, stage: Buy}
"""


@pytest.fixture
def warehouse(tmp_path: Path) -> str:
    path = str(tmp_path / "wh.duckdb")
    wh = open_warehouse(path, Settings(warehouse=path))
    rows = [("c1", None, "landing"), ("c1", None, "view shoes"), ("c1", None, "checkout"),
            (None, "a1", "landing"), ("c2", "a1", "$identify"), ("c2", None, "help page")]
    wh.append("events", pa.Table.from_pylist([
        {"customer_id": c, "anonymous_id": a, "touchpoint": t, "timestamp": T0 + timedelta(minutes=i),
         "_seq": i} for i, (c, a, t) in enumerate(rows)]))
    wh.close()
    return path


def run(warehouse: str, *args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, ["--warehouse", warehouse, *args])


def test_suggest_prints_writes_and_emits_json(warehouse: str, tmp_path: Path) -> None:
    printed = run(warehouse, "journey", "suggest")
    assert printed.exit_code == 0, printed.output
    suggested = parse_definition(printed.output)
    assert [t.name for t in suggested.touchpoints][:2] == ["landing", "view shoes"]
    out = tmp_path / "journey.yaml"
    written = run(warehouse, "journey", "suggest", "--out", str(out), "--json")
    assert json.loads(written.output) == {"written": str(out), "stages": len(suggested.stages),
                                          "touchpoints": len(suggested.touchpoints)}
    assert load_definition(out) == suggested
    as_json = json.loads(run(warehouse, "journey", "suggest", "--json").output)
    assert as_json == suggested.to_dict()


def test_check_reports_coverage_and_exit_codes(warehouse: str, tmp_path: Path) -> None:
    good = tmp_path / "good.yaml"
    good.write_text(JOURNEY)
    result = run(warehouse, "journey", "check", str(good), "--json")
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert body["coverage"] == {"events": 5, "matched": 4, "share": 0.8, "event_names": 4, "matched_event_names": 3}
    assert body["unmatched"] == [{"touchpoint": "help page", "events": 1}]
    assert [(s["stage"], s["events"]) for s in body["by_stage"]] == [("Explore", 3), ("Buy", 1)]
    human = run(warehouse, "journey", "check", str(good))
    assert human.exit_code == 0 and "80.0% of 5 events matched" in human.output
    assert run(warehouse, "journey", "check", str(good), "--min-coverage", "0.9").exit_code == 1
    assert run(warehouse, "journey", "check", str(good), "--min-coverage", "0.8").exit_code == 0


def test_check_fails_with_line_numbered_errors(warehouse: str, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(JOURNEY.replace("stage: Buy", "stage: Pay"))
    result = run(warehouse, "journey", "check", str(bad), "--json")
    assert result.exit_code == 2
    error = json.loads(result.output)["error"]
    assert error["code"] == "journey_definition_invalid"
    assert [(e["line"], e["path"]) for e in error["details"]["errors"]] == [(5, "touchpoints[1].stage")]
    human = run(warehouse, "journey", "check", str(bad))
    assert human.exit_code == 2
    text = " ".join(human.output.split())  # rich wraps long lines
    assert "bad.yaml:5:46 (touchpoints[1].stage)" in text and "declared stages: 'Explore', 'Buy'" in text


def test_show_uses_the_journey_option_else_a_suggestion(warehouse: str, tmp_path: Path) -> None:
    journey = tmp_path / "j.yaml"
    journey.write_text(JOURNEY)
    shown = runner.invoke(app, ["--warehouse", warehouse, "--journey", str(journey), "journey", "show", "--json"])
    assert json.loads(shown.output) == parse_definition(JOURNEY).to_dict()
    table = runner.invoke(app, ["--warehouse", warehouse, "--journey", str(journey), "journey", "show"])
    assert table.exit_code == 0 and "Checkout" in table.output
    suggested = run(warehouse, "journey", "show")
    assert suggested.exit_code == 0 and "suggested from the events" in suggested.output


def test_identities(warehouse: str) -> None:
    result = run(warehouse, "identities", "--json")
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert body["stats"]["resolved"] == 1 and body["stats"]["customers"] == 2
    assert [(i["anonymous_id"], i["customer_id"], i["events"]) for i in body["identities"]] == [("a1", "c2", 2)]
    assert run(warehouse, "identities").exit_code == 0


def test_other_modules_can_extend_the_journey_group() -> None:
    from journeylens.surfaces.cli.journey_cmd import journey_app

    groups = {g.name: g.typer_instance for g in app.registered_groups}
    assert groups["journey"] is journey_app
