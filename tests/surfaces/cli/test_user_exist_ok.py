"""``journeylens user add --exist-ok`` (what `make demo` runs every time)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from journeylens.surfaces.cli.main import app


def test_user_add_exist_ok_is_idempotent(tmp_path: Path) -> None:
    runner = CliRunner()
    db = f"sqlite:///{tmp_path / 'app.db'}"
    args = ["user", "add", "demo@journeylens.local", "--role", "admin", "--password", "journeylens-demo",
            "--app-db", db, "--json"]
    first = runner.invoke(app, [*args, "--exist-ok"])
    assert first.exit_code == 0, first.output
    again = runner.invoke(app, [*args, "--exist-ok"])
    assert again.exit_code == 0 and json.loads(again.output)["id"] == json.loads(first.output)["id"]
    without = runner.invoke(app, args)
    assert without.exit_code == 2 and "already_exists" in without.output
