"""The switch-impact analysis finds planted problem 3 (online -> call centre in service) in the
demo, ingested through the normal pipeline into a DuckDB file, from the library and the CLI."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import journeylens
from journeylens.demo import PLANTED_PROBLEMS
from journeylens.demo.build import build_demo
from journeylens.demo.catalogue import ONLINE_CHANNELS, TOUCHPOINTS
from journeylens.surfaces.cli.main import app

pytestmark = pytest.mark.slow

PLANTED = PLANTED_PROBLEMS["online_to_call_centre"]
#: The channels of the planted "start online" touchpoints (web, chat).
PLANTED_FROM = {tp.channel for tp in TOUCHPOINTS if tp.name in PLANTED.from_touchpoints}  # type: ignore[union-attr]


@pytest.fixture(scope="module")
def demo_lens(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, Path, Path]]:
    """(lens, DuckDB file, journey YAML) of a 3,000-customer demo (seed 42)."""
    root = tmp_path_factory.mktemp("switch_demo")
    path = root / "demo.duckdb"
    opened: list[Any] = []

    def open_lens(journey: Path) -> Any:
        opened.append(journeylens.open(str(path), journey))
        return opened[0]

    report = build_demo(open_lens, customers=3_000, seed=42, out_dir=root / "files")
    yield opened[0], path, report.journey
    opened[0].warehouse.close()


def test_top_harmful_pattern_is_the_planted_switch(demo_lens: Any) -> None:
    lens, _, _ = demo_lens
    assert {"web", "chat"} == PLANTED_FROM and PLANTED_FROM.issubset(ONLINE_CHANNELS)
    result = lens.switch_impact()
    harmful = result.harmful()
    assert harmful, result.to_dict()[:3]
    top = harmful[0]
    assert (top["stage"], top["to_channel"]) == (PLANTED.stage, PLANTED.to_channel)  # type: ignore[union-attr]
    assert top["from_channel"] in PLANTED_FROM
    assert top["significant"] and top["q"] < 0.05
    assert top["nps_difference"] < -10 and top["churn_ratio"] > 1.4
    # every significantly harmful pattern is one of the planted ones: no false alarm
    assert {(r["stage"], r["from_channel"], r["to_channel"]) for r in harmful} <= {
        ("service", channel, "call_centre") for channel in PLANTED_FROM}
    assert result.to_dict()[0] == top  # ranked first overall


def test_cli_json_matches_the_library(demo_lens: Any) -> None:
    lens, path, journey = demo_lens
    expected = lens.switch_impact(max_gap_minutes=None, min_customers=50).to_dict()
    base = ["--warehouse", str(path), "--journey", str(journey), "journey", "switch-impact"]
    got = CliRunner().invoke(app, [*base, "--max-gap-minutes", "0", "--min-customers", "50", "--json"])
    assert got.exit_code == 0, got.output
    assert json.loads(got.output) == json.loads(json.dumps(expected))
    table = CliRunner().invoke(app, base)
    assert table.exit_code == 0 and "Most harmful: service:" in table.output
    bad = CliRunner().invoke(app, [*base, "--cohort", "no-such-cohort", "--json"])
    assert bad.exit_code == 2 and "no-such-cohort" in json.loads(bad.output)["error"]["message"]
