"""Attribution, spend and return, and departures on the demo bank, through the CLI (``--json``
contract) and the library: the demo's spend table gives actionable numbers and the planted
churn drivers show up among the departures."""

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
from journeylens.demo.spend import SPEND_CHANNELS
from journeylens.surfaces.cli.main import app

pytestmark = pytest.mark.slow
PLANTED = PLANTED_PROBLEMS["online_to_call_centre"]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, Path, Path]]:
    root = tmp_path_factory.mktemp("marketing_demo")
    path = root / "demo.duckdb"
    opened: list[Any] = []

    def open_lens(journey: Path) -> Any:
        opened.append(journeylens.open(str(path), journey))
        return opened[0]

    report = build_demo(open_lens, customers=4_000, seed=42, out_dir=root / "files")
    opened[0].warehouse.close()
    yield opened[0], path, report.journey


def run(path: Path, journey: Path, *args: str) -> Any:
    result = CliRunner().invoke(app, ["--warehouse", str(path), "--journey", str(journey), *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_attribution_cli_contract(demo: tuple[Any, Path, Path]) -> None:
    _, path, journey = demo
    rows = run(path, journey, "attribution", "--conversion", "Account approved", "--by", "campaign",
               "--models", "first,last,markov", "--lookback-days", "30", "--json")
    assert {tuple(sorted(r)) for r in rows} == {("campaign", "conversions", "model", "value")}
    per_model = {m: sum(r["conversions"] for r in rows if r["model"] == m) for m in ("first", "last", "markov")}
    assert per_model["first"] == pytest.approx(per_model["markov"]) == pytest.approx(per_model["last"])
    assert any(r["campaign"] == "direct / none" for r in rows)


def test_spend_return_cli_is_actionable(demo: tuple[Any, Path, Path]) -> None:
    _, path, journey = demo
    out = run(path, journey, "spend-return", "--model", "linear", "--by", "channel", "--period", "month",
              "--bootstrap", "20", "--shift", "tv:comparison_site:10", "--json")
    totals = {r["unit"]: r for r in out["totals"]}
    assert set(SPEND_CHANNELS) <= set(totals)
    # comparison sites are paid per acquisition (GBP 45): the cheapest acquisitions; TV the dearest
    assert totals["comparison_site"]["cpa"] < totals["tv"]["cpa"]
    assert out["currency"] == "GBP" and out["unmatched_spend"] == []
    assert out["what_if"][0]["sentence"].startswith("Move 10 % from tv to comparison_site")
    assert out["what_if"][0]["low"] <= out["what_if"][0]["conversions_change_per_period"] <= out["what_if"][0]["high"]
    assert any("marketing-mix model" in n for n in out["notes"])


def test_departures_show_the_planted_churn_drivers(demo: tuple[Any, Path, Path]) -> None:
    _, path, journey = demo
    out = run(path, journey, "departures", "--window-days", "90", "--json")
    significant = {r["feature"]: r for r in out["differences"] if r["significant"] and r["ratio"] > 1}
    # planted: starting online (help centre search, dispute chat) then calling doubles churn
    switches = [f for f in significant if f.startswith("pattern: ") and f.split(" → ")[-1].startswith("Call centre")
                and any(src in f for src in PLANTED.from_touchpoints)]
    assert switches, sorted(significant)[:20]
    assert any("call centre contacts" in h or "Call centre" in h for h in out["headlines"])
    # planted: students and basic plans churn more
    attrs = {(r["attribute"], r["level"]): r for r in out["attributes"]}
    assert attrs[("segment", "student")]["ratio"] > 1 and attrs[("segment", "student")]["significant"]
    assert attrs[("plan", "basic")]["ratio"] > 1 and attrs[("plan", "basic")]["significant"]
    assert out["reasons"]["comments"] and out["relationship"]
    # the same driver as a drop-off: leavers' last days end in the service stage far more often
    service = next(r for r in out["drop_offs"] if r["feature"] == "dropped off in: service")
    assert service["significant"] and service["ratio"] > 2
    stages = {(r["stage"], r["group"]) for r in out["stages"]}
    assert stages == {(s, g) for s in ("awareness", "consideration", "onboarding", "usage", "service", "renewal",
                                       "departure") for g in ("left", "stayed")}
    assert set(out["tickets"]) == {"available", "note", "groups", "stages"}
    assert out["tickets"]["available"] or out["tickets"]["note"]  # tickets, or why there are none
