"""The same survey results through the CLI (--json) and the HTTP API; POST /v1/feedback."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from survey_helpers import EXAMPLE, add
from typer.testing import CliRunner

from journeylens.lens import JourneyLens
from journeylens.operations.appdb import AppDatabase
from journeylens.operations.keys import create_key
from journeylens.operations.models import utcnow
from journeylens.operations.surveys import registry
from journeylens.settings import Settings
from journeylens.surfaces.api.app import create_app
from journeylens.surfaces.cli.main import app as cli

KEYS = ["invitation_id", "survey", "customer_id", "touchpoint", "channel", "url", "status", "created_at",
        "sent_at", "answered_at"]


def _env(settings: Settings) -> dict[str, str]:
    return {"JOURNEYLENS_APP_DATABASE_URL": settings.app_database_url, "JOURNEYLENS_WAREHOUSE": settings.warehouse,
            "JOURNEYLENS_PUBLIC_URL": settings.public_url, "JOURNEYLENS_SECRET_KEY": settings.secret_key}


def _cli(settings: Settings, *args: str) -> Any:
    result = CliRunner().invoke(cli, list(args), env=_env(settings))
    return result


def test_cli_check_add_list_pause_invitations_stats(tmp_path: Path, lens: JourneyLens, survey_db: AppDatabase,
                                                    survey_settings: Settings) -> None:
    survey_file = tmp_path / "branch-visit.survey.yaml"
    survey_file.write_text(EXAMPLE)
    checked = _cli(survey_settings, "survey", "check", str(survey_file), "--json")
    assert checked.exit_code == 0, checked.output
    result = json.loads(checked.stdout)
    assert result["valid"] is True and result["name"] == "branch-visit"
    assert any("Branch visit" in w for w in result["warnings"])  # empty warehouse: a warning, not an error
    bad = tmp_path / "bad.yaml"
    bad.write_text(EXAMPLE.replace("type: nps", "type: stars"))
    refused = _cli(survey_settings, "survey", "check", str(bad), "--json")
    assert refused.exit_code == 2
    error = json.loads(refused.stdout)["error"]
    assert error["code"] == "survey_definition_invalid" and error["details"]["errors"][0]["line"] == 6
    lens.warehouse.close()  # the CLI opens the warehouse itself
    assert _cli(survey_settings, "survey", "add", str(survey_file), "--json").exit_code == 0
    listed = json.loads(_cli(survey_settings, "survey", "list", "--json").stdout)
    assert [(s["name"], s["status"], s["languages"]) for s in listed] == [("branch-visit", "active", ["en", "nl"])]
    assert json.loads(_cli(survey_settings, "survey", "pause", "branch-visit", "--json").stdout)["status"] == "paused"
    assert json.loads(_cli(survey_settings, "survey", "resume", "branch-visit", "--json").stdout)["status"] == "active"
    import journeylens

    again = journeylens.open(survey_settings.warehouse, settings=survey_settings)
    again.ingest("events", pd.DataFrame([{"customer_id": "c1", "touchpoint": "Branch visit", "channel": "branch",
                                          "timestamp": utcnow()}]))
    again.warehouse.close()
    rows = json.loads(_cli(survey_settings, "survey", "invitations", "--survey", "branch-visit", "--status", "sent",
                           "--json").stdout)
    assert [list(r) for r in rows] == [KEYS] and rows[0]["customer_id"] == "c1"
    assert json.loads(_cli(survey_settings, "survey", "invitations", "--status", "completed", "--json").stdout) == []
    [st] = json.loads(_cli(survey_settings, "survey", "stats", "--json").stdout)
    assert (st["triggered"], st["sent"], st["completed"], st["by_channel"][0]["channel"]) == (1, 1, 0, "branch")
    unknown = _cli(survey_settings, "survey", "invitations", "--status", "lost", "--json")
    assert unknown.exit_code == 2 and "allowed" in unknown.stdout


@pytest.fixture
def api(lens: JourneyLens, survey_db: AppDatabase, survey_settings: Settings) -> Iterator[tuple[TestClient, dict]]:  # type: ignore[type-arg]
    with survey_db.session() as session:
        keys = {scope: create_key(session, scope, [scope])[1] for scope in ("read", "ingest", "admin")}
    with TestClient(create_app(survey_settings, lens=lens, app_db=survey_db)) as client:
        yield client, {s: {"authorization": f"Bearer {k}"} for s, k in keys.items()}


def test_api_matches_the_cli_and_checks_scopes(api: tuple[TestClient, dict], lens: JourneyLens,  # type: ignore[type-arg]
                                               survey_db: AppDatabase, survey_settings: Settings) -> None:
    client, auth = api
    assert client.post("/v1/surveys", content=EXAMPLE, headers=auth["read"]).status_code == 403
    created = client.post("/v1/surveys", content=EXAMPLE, headers=auth["admin"])
    assert created.status_code == 201 and created.json()["name"] == "branch-visit"
    bad = client.post("/v1/surveys/check", content=EXAMPLE.replace("sample: 1.0", "sample: 2"), headers=auth["read"])
    assert bad.status_code == 400 and bad.json()["error"]["details"]["errors"][0]["line"] == 3
    lens.ingest("events", pd.DataFrame([{"customer_id": "c1", "touchpoint": "Branch visit", "channel": "branch",
                                         "timestamp": utcnow()}]))
    assert client.get("/v1/surveys/invitations", headers=auth["read"]).status_code == 403
    rows = client.get("/v1/surveys/invitations", params={"survey": "branch-visit"}, headers=auth["admin"]).json()
    assert [list(r) for r in rows] == [KEYS]
    cli_rows = json.loads(_cli(survey_settings, "survey", "invitations", "--json").stdout)
    assert rows == cli_rows
    assert client.get("/v1/surveys/stats", headers=auth["read"]).json()[0]["sent"] == 1
    assert client.post("/v1/surveys/branch-visit/pause", headers=auth["admin"]).json()["status"] == "paused"
    assert client.get("/v1/surveys/nope", headers=auth["read"]).json()["error"]["code"] == "survey_not_found"
    qr = client.get("/v1/surveys/branch-visit/qr.svg", params={"touchpoint": "Branch visit"}, headers=auth["read"])
    assert qr.headers["content-type"].startswith("image/svg+xml") and "<svg" in qr.text
    assert client.get(qr.headers["x-survey-url"].replace("http://survey.test", "")).status_code == 410  # paused


def test_post_feedback_is_durable_and_quarantines_bad_rows(api: tuple[TestClient, dict],  # type: ignore[type-arg]
                                                          lens: JourneyLens, survey_settings: Settings) -> None:
    client, auth = api
    rows = [{"response_id": "x1", "customer_id": "c1", "timestamp": "2026-01-05T10:00:00Z", "nps": 9,
             "touchpoint": "Branch visit", "survey": "other-tool", "comment": "great"},
            {"response_id": "x2", "customer_id": "c2", "timestamp": "2026-01-05T10:00:00Z", "nps": 14},
            {"response_id": "x3", "timestamp": "not a time", "csat": 4}]
    assert client.post("/v1/feedback", json=rows, headers=auth["read"]).status_code == 403
    answer = client.post("/v1/feedback", json=rows, headers=auth["ingest"])
    assert answer.json() == {"accepted": 3, "queued": True}
    spooled = "".join(p.read_text() for p in Path(survey_settings.collector_spool).glob("*.jsonl"))
    assert '"response_id":"x1"' in spooled  # on disk before the answer
    client.post("/v1/flush", headers=auth["ingest"])
    landed = lens.warehouse.table("feedback").to_pyarrow().to_pylist()
    assert [(r["response_id"], r["nps"]) for r in landed] == [("x1", 9)]
    reasons = {r["reason"] for r in lens.warehouse.table("quarantine").to_pyarrow().to_pylist()}
    assert len(reasons) == 2


def test_registry_versions_a_changed_survey(survey_db: AppDatabase) -> None:
    add(survey_db)
    with survey_db.session() as session:
        row = registry.add_survey(session, EXAMPLE.replace("How was your visit?", "How was it?"))
        assert row.version == 2 and row.title == "How was it?"
