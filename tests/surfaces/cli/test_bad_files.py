"""Broken files end in one JourneyLensError with a stable code and exit 2 (issue 9 item 8)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from journeylens.surfaces.cli.main import app

DATA = Path(__file__).parents[2] / "data"
runner = CliRunner()


def _truncated(source: Path, target: Path) -> Path:
    data = source.read_bytes()
    target.write_bytes(data[: len(data) // 2])
    return target


def _wide_csv(path: Path, columns: int) -> Path:
    names = ",".join(f"c{i}" for i in range(columns))
    rows = "".join(f"k{r},2024-05-01T10:00:00Z,visit," + ",".join(str(i) for i in range(columns)) + "\n"
                   for r in range(20))
    path.write_text(f"customer_id,timestamp,touchpoint,{names}\n{rows}")
    return path


@pytest.mark.parametrize(("make", "code"), [
    (lambda tmp: _truncated(DATA / "07_bpic2013_incidents.xes.gz", tmp / "log.xes.gz"), "corrupt_file"),
    (lambda tmp: _truncated(DATA / "helpdesk_flat.csv.gz", tmp / "flat.csv.gz"), "corrupt_file"),
    (lambda tmp: _wide_csv(tmp / "wide.csv", 2_000), "too_many_columns"),
    (lambda tmp: (tmp / "log.xes").write_text("this is not xml") and tmp / "log.xes", "invalid_xes"),
])
@pytest.mark.parametrize("as_json", [True, False])
def test_broken_files_fail_with_one_error_and_exit_2(tmp_path: Path, make, code: str, as_json: bool) -> None:  # type: ignore[no-untyped-def]
    path = make(tmp_path)
    args = ["--warehouse", str(tmp_path / "wh.duckdb"), "ingest", "events", str(path)]
    result = runner.invoke(app, [*args, "--json"] if as_json else args)
    assert result.exit_code == 2, result.output
    if as_json:
        error = json.loads(result.stdout)["error"]
        assert error["code"] == code and error["message"]
    else:
        assert code in result.output and "Aborted" not in result.output
