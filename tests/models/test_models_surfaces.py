"""The model commands and routes print exactly the issue's JSON shapes."""

from __future__ import annotations

import json
from pathlib import Path

from tests.models.conftest import survey_frame
from typer.testing import CliRunner

import journeylens
from journeylens.settings import Settings
from journeylens.surfaces.cli.main import app as cli


def _warehouse(tmp_path: Path) -> str:
    path = str(tmp_path / "wh.duckdb")
    lens = journeylens.open(path, settings=Settings(warehouse=path))
    lens.ingest("feedback", survey_frame(400))
    lens.warehouse.close()
    return path


def test_cli_drivers_json_shape(tmp_path: Path) -> None:
    path = _warehouse(tmp_path)
    out = CliRunner().invoke(cli, ["--warehouse", path, "drivers", "--target", "nps", "--min-n", "30", "--json"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.output)
    assert list(data) == ["target", "n", "r2", "method", "drivers"]
    assert list(data["drivers"][0]) == ["driver", "importance", "importance_low", "importance_high", "performance",
                                        "quadrant", "effect", "sentence"]


def test_cli_errors_name_what_exists(tmp_path: Path) -> None:
    path = _warehouse(tmp_path)
    out = CliRunner().invoke(cli, ["--warehouse", path, "drivers", "--drivers", "sat_x", "--json"])
    assert out.exit_code == 2
    error = json.loads(out.output)["error"]
    assert error["code"] == "unknown_name" and "sat_app" in error["details"]["available"]
    out = CliRunner().invoke(cli, ["--warehouse", path, "drivers", "--min-n", "1000", "--json"])
    assert json.loads(out.output)["error"]["details"] == {"needed": 1000, "got": 400}
