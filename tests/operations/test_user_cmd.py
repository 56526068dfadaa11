"""``journeylens user …`` / ``journeylens key …`` through typer's CliRunner."""

from __future__ import annotations

import json
import re

from typer.testing import CliRunner

from journeylens.operations import keys
from journeylens.operations.appdb import AppDatabase
from journeylens.surfaces.cli.main import app

PASSWORD = "correct horse battery"
runner = CliRunner()


def _run(url: str, *args: str, stdin: str | None = None):  # type: ignore[no-untyped-def]
    return runner.invoke(app, ["--warehouse", "duckdb://", *args, "--app-db", url], input=stdin)


def test_first_admin_then_list(app_db_url: str) -> None:
    added = _run(app_db_url, "user", "add", "Root@Example.com", "--role", "admin", "--password", PASSWORD)
    assert added.exit_code == 0, added.output
    assert "root@example.com" in added.output
    prompted = _run(app_db_url, "user", "add", "vi@example.com", "--json", stdin=f"{PASSWORD}\n{PASSWORD}\n")
    assert prompted.exit_code == 0, prompted.output
    assert json.loads(prompted.output.strip().splitlines()[-1])["role"] == "viewer"

    listed = _run(app_db_url, "user", "list", "--json")
    body = json.loads(listed.output)
    assert [(u["email"], u["role"]) for u in body["users"]] == [("root@example.com", "admin"),
                                                                 ("vi@example.com", "viewer")]
    assert all("password_hash" not in u for u in body["users"])
    table = _run(app_db_url, "user", "list")
    assert table.exit_code == 0 and "vi@example.com" in table.output


def test_user_errors_use_the_one_error_shape(app_db_url: str) -> None:
    bad = _run(app_db_url, "user", "add", "nope", "--password", PASSWORD, "--json")
    assert bad.exit_code == 2
    assert json.loads(bad.output)["error"]["code"] == "invalid_email"
    _run(app_db_url, "user", "add", "root@example.com", "--role", "admin", "--password", PASSWORD)
    last = _run(app_db_url, "user", "set-role", "root@example.com", "viewer", "--json")
    assert last.exit_code == 2 and json.loads(last.output)["error"]["code"] == "last_admin"


def test_set_role_and_deactivate(app_db_url: str) -> None:
    _run(app_db_url, "user", "add", "bo@example.com", "--password", PASSWORD)
    assert json.loads(_run(app_db_url, "user", "set-role", "bo@example.com", "agent", "--json").output)[
        "role"] == "agent"
    assert json.loads(_run(app_db_url, "user", "deactivate", "bo@example.com", "--json").output)[
        "active"] is False
    assert json.loads(_run(app_db_url, "user", "activate", "bo@example.com", "--json").output)[
        "active"] is True


def test_key_create_list_revoke(app_db_url: str) -> None:
    created = _run(app_db_url, "key", "create", "web collector", "--scope", "ingest", "--scope", "read")
    assert created.exit_code == 0, created.output
    raw = re.search(r"jl_[0-9a-f]{8}_\S+", created.output)
    assert raw is not None
    db = AppDatabase(app_db_url)
    with db.session() as session:
        key = keys.authenticate_key(session, raw.group(0))
        assert key is not None and key.scope_list == ("ingest", "read")
    db.dispose()

    listed = json.loads(_run(app_db_url, "key", "list", "--json").output)["keys"]
    assert [k["prefix"] for k in listed] == [key.prefix] and "key" not in listed[0]
    assert listed[0]["created_by"] == "cli"
    revoked = _run(app_db_url, "key", "revoke", key.prefix)
    assert revoked.exit_code == 0 and key.prefix in revoked.output
    assert json.loads(_run(app_db_url, "key", "list", "--json").output)["keys"] == []
    assert len(json.loads(_run(app_db_url, "key", "list", "--all", "--json").output)["keys"]) == 1

    missing = _run(app_db_url, "key", "revoke", "deadbeef", "--json")
    assert missing.exit_code == 2 and json.loads(missing.output)["error"]["code"] == "key_not_found"
    bad_scope = _run(app_db_url, "key", "create", "x", "--scope", "write", "--json")
    assert bad_scope.exit_code == 2 and json.loads(bad_scope.output)["error"]["code"] == "invalid_scope"


def test_key_create_json_prints_the_secret_once(app_db_url: str) -> None:
    body = json.loads(_run(app_db_url, "key", "create", "sdk", "--json").output)
    assert body["scopes"] == ["ingest"] and body["key"].startswith(f"jl_{body['prefix']}_")


def test_app_db_from_the_environment(app_db_url: str, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("JOURNEYLENS_APP_DATABASE_URL", app_db_url)
    result = runner.invoke(app, ["user", "add", "env@example.com", "--password", PASSWORD, "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(_run(app_db_url, "user", "list", "--json").output)["users"][0]["email"] == "env@example.com"
