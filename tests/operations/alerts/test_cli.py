"""``journeylens alert …``, ``journeylens alerts`` and ``journeylens tickets …``: the contract's JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from journeylens.surfaces.cli.main import app

runner = CliRunner()
EXAMPLE = """\
name: branch-detractor
on: response
when: {touchpoint: "Branch visit", nps: "<= 6"}
ticket: {team: branch, owner: agent@bank.example, priority: high, first_contact_hours: 24, close_hours: 72}
notify:
  - webhook: https://hooks.example.com/cx
"""
TICKET_KEYS = ["ticket_id", "status", "priority", "owner", "team", "customer_id", "response_id", "rule", "created_at",
               "first_contact_due", "due_at", "breached", "root_cause"]


def _cli(tmp_path: Path, *args: str) -> tuple[int, object]:
    result = runner.invoke(app, ["--warehouse", str(tmp_path / "wh.duckdb"), *args,
                                 "--app-db", f"sqlite:///{tmp_path / 'app.db'}", "--json"])
    try:
        return result.exit_code, json.loads(result.output.strip().splitlines()[-1])
    except (json.JSONDecodeError, IndexError):
        raise AssertionError(result.output) from None


def test_the_contract(tmp_path: Path) -> None:
    rule = tmp_path / "branch.yaml"
    rule.write_text(EXAMPLE)
    code, error = _cli(tmp_path, "alert", "check", str(rule))
    assert code == 2 and error["error"]["code"] == "alert_rule_invalid"  # type: ignore[index]
    assert error["error"]["details"]["errors"][0]["line"] == 4  # type: ignore[index]
    assert _cli(tmp_path, "user", "add", "agent@bank.example", "--role", "agent", "--password",
                "correct horse battery")[0] == 0
    code, checked = _cli(tmp_path, "alert", "check", str(rule))
    assert code == 0 and checked["valid"] is True  # type: ignore[index]
    assert [w["path"] for w in checked["warnings"]] == ["when.touchpoint"]  # type: ignore[index]
    assert _cli(tmp_path, "alert", "add", str(rule))[1]["status"] == "active"  # type: ignore[index]
    assert [r["name"] for r in _cli(tmp_path, "alert", "list")[1]] == ["branch-detractor"]  # type: ignore[union-attr]
    assert _cli(tmp_path, "alert", "pause", "branch-detractor")[1]["status"] == "paused"  # type: ignore[index]
    assert _cli(tmp_path, "alert", "resume", "branch-detractor")[1]["status"] == "active"  # type: ignore[index]
    shown = _cli(tmp_path, "alert", "show", "branch-detractor")[1]
    assert shown["definition"]["ticket"]["owner"] == "agent@bank.example"  # type: ignore[index]

    answers = tmp_path / "answers.csv"
    now = pd.Timestamp.now(tz="UTC")
    pd.DataFrame([{"response_id": "r1", "customer_id": "c1", "timestamp": now, "touchpoint": "Branch visit",
                   "nps": 4, "comment": "slow"}]).to_csv(answers, index=False)
    ingest = runner.invoke(app, ["--warehouse", str(tmp_path / "wh.duckdb"), "ingest", "feedback", str(answers)],
                           env={"JOURNEYLENS_APP_DATABASE_URL": f"sqlite:///{tmp_path / 'app.db'}"})
    assert ingest.exit_code == 0, ingest.output

    alerts = _cli(tmp_path, "alerts", "--status", "all")[1]
    assert [list(a) for a in alerts] == [["alert_id", "rule", "kind", "subject", "fired_at", "explanation",  # type: ignore
                                          "status"]]
    (row,) = _cli(tmp_path, "tickets", "list", "--owner", "agent@bank.example")[1]  # type: ignore[misc]
    assert list(row) == TICKET_KEYS and row["customer_id"] == "c1" and row["team"] == "branch"
    tid = str(row["ticket_id"])
    assert _cli(tmp_path, "tickets", "note", tid, "voicemail")[1]["events"][-1]["note"] == "voicemail"  # type: ignore
    assert _cli(tmp_path, "tickets", "contact", tid)[1]["status"] == "open"  # type: ignore[index]
    code, refused = _cli(tmp_path, "tickets", "close", tid, "--outcome", "recovered")
    assert code == 2 and refused["error"]["code"] == "root_cause_required"  # type: ignore[index]
    closed = _cli(tmp_path, "tickets", "close", tid, "--root-cause", "people", "--outcome", "recovered")[1]
    assert closed["status"] == "closed" and closed["root_cause"] == "people"  # type: ignore[index]
    assert _cli(tmp_path, "tickets", "reopen", tid)[1]["status"] == "reopened"  # type: ignore[index]
    stats = _cli(tmp_path, "tickets", "stats", "--by", "touchpoint")[1]
    assert {"open", "closed", "breached", "contacted_within_24h_share", "median_hours_to_first_contact",
            "median_hours_to_close", "by"} <= set(stats)  # type: ignore[arg-type]
    assert stats["by"][0]["touchpoint"] == "Branch visit"  # type: ignore[index]
