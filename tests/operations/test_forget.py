"""Right to erasure: after ``customer forget`` no table, cache or plugin keeps a trace."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

import journeylens
from journeylens import hooks
from journeylens.ingest import ingest_records
from journeylens.operations import keys
from journeylens.operations.appdb import AppDatabase
from journeylens.operations.audit import recent_events
from journeylens.settings import Settings
from journeylens.surfaces.api.app import create_app
from journeylens.surfaces.cli.main import app as cli

SECRET = "cust/Ω-4711"
ANON = "anon-device-8812"
T = "2025-03-01T10:00:00Z"


class _Tickets:
    """A plugin with a table of its own (what tickets and survey invitations do)."""

    def __init__(self) -> None:
        self.rows = [{"customer_id": SECRET}, {"customer_id": SECRET}, {"customer_id": "other"}]

    @hooks.hookimpl
    def journeylens_forget_customer(self, customer_id: str) -> dict[str, int]:
        before = len(self.rows)
        self.rows = [r for r in self.rows if r["customer_id"] != customer_id]
        return {"tickets": before - len(self.rows)}


def _lens(tmp_path: Path) -> Any:
    settings = Settings(warehouse=str(tmp_path / "wh.duckdb"), cache_dir=tmp_path / "cache",
                        app_database_url=f"sqlite:///{tmp_path / 'app.db'}")
    lens = journeylens.open(settings.warehouse, settings=settings)
    lens.ingest("events", pd.DataFrame({
        "event_id": ["e1", "e2", "e3", "e4"], "customer_id": [SECRET, None, SECRET, "other"],
        "anonymous_id": [ANON, ANON, None, None], "touchpoint": ["visit", "browse", "buy", "visit"],
        "timestamp": [T, "2025-03-01T09:00:00Z", "2025-03-02T10:00:00Z", T]}))
    lens.ingest("feedback", pd.DataFrame({"customer_id": [SECRET, "other"], "timestamp": [T, T], "nps": [3, 9],
                                          "comment": ["the app of Mr 4711 keeps crashing", "fine"]}))
    lens.ingest("customers", pd.DataFrame({"customer_id": [SECRET, "other"], "segment": ["smb", "retail"]}))
    ingest_records(lens.warehouse, "events", [{"customer_id": SECRET, "timestamp": "not a time", "touchpoint": "x"},
                                              {"anonymous_id": ANON, "timestamp": T}])  # quarantined rows
    lens.refresh()
    (tmp_path / "cache" / "results").mkdir(parents=True)
    (tmp_path / "cache" / "results" / "topics-x.json").write_text(json.dumps({"quote": "Mr 4711 keeps crashing"}))
    return lens


def _traces(lens: Any, needles: tuple[str, ...]) -> list[tuple[str, str]]:
    """Every (table, column) of the warehouse whose text holds one of ``needles``."""
    found = []
    with lens.warehouse.duckdb() as con:
        tables = [r[0] for r in con.execute("SELECT table_name FROM information_schema.tables "
                                            "WHERE table_schema = 'main'").fetchall()]
        for table in tables:
            columns = [r[0] for r in con.execute("SELECT column_name FROM information_schema.columns WHERE "
                                                 "table_schema = 'main' AND table_name = ?", [table]).fetchall()]
            for column in columns:
                hits = con.execute(f'SELECT count(*) FROM "{table}" WHERE '
                                   f'len([n for n in ? if position(n IN CAST("{column}" AS VARCHAR)) > 0]) > 0',
                                   [list(needles)]).fetchone()
                if hits and hits[0]:
                    found.append((table, column))
    return found


def test_forget_leaves_no_trace_anywhere(tmp_path: Path) -> None:
    lens = _lens(tmp_path)
    needles = (SECRET, ANON, "Mr 4711")
    assert {t for t, _ in _traces(lens, needles)} >= {"events", "feedback", "customers", "journey_events",
                                                      "quarantine"}
    plugin = _Tickets()
    hooks.plugin_manager().register(plugin)
    try:
        result = CliRunner().invoke(cli, ["--warehouse", lens.settings.warehouse, "customer", "forget", SECRET,
                                          "--app-db", lens.settings.app_database_url, "--json"],
                                    env={"JOURNEYLENS_CACHE_DIR": str(tmp_path / "cache")})
    finally:
        hooks.plugin_manager().unregister(plugin)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["removed"]["events"] == 3 and report["removed"]["tickets"] == 2
    assert report["removed"]["quarantine"] == 2 and report["anonymous_ids"] == 1
    lens.warehouse.close()
    lens = journeylens.open(lens.settings.warehouse, settings=lens.settings)
    assert _traces(lens, needles) == []
    assert plugin.rows == [{"customer_id": "other"}]
    assert not list((tmp_path / "cache").rglob("*.json"))
    assert lens.warehouse.count("events") == 1 and lens.warehouse.count("feedback") == 1  # others untouched
    db = AppDatabase(lens.settings.app_database_url)
    with db.session() as session:
        [event] = [e for e in recent_events(session) if e.action == "customer.forget"]
        assert SECRET not in json.dumps(event.details) + event.target and event.details["total"] == report["total"]
    db.dispose()


def test_forget_over_http_is_for_admins_only(tmp_path: Path) -> None:
    lens = _lens(tmp_path)
    db = AppDatabase(lens.settings.app_database_url)
    with db.session() as session:
        admin_key = keys.create_key(session, "admin", ["admin"])[1]
        read_key = keys.create_key(session, "read", ["read"])[1]
    client = TestClient(create_app(lens.settings, lens=lens, app_db=db))
    path = "/v1/customers/" + SECRET.replace("/", "%2F")
    assert client.get(path, headers={"authorization": f"Bearer {read_key}"}).status_code == 200
    assert client.delete(path, headers={"authorization": f"Bearer {read_key}"}).status_code == 403
    answer = client.delete(path, headers={"authorization": f"Bearer {admin_key}"})
    assert answer.status_code == 200 and answer.json()["removed"]["customers"] == 1
    assert _traces(lens, (SECRET, ANON)) == []
    assert client.get(path, headers={"authorization": f"Bearer {read_key}"}).status_code == 404
    db.dispose()


def test_forget_refuses_an_empty_or_nul_id(tmp_path: Path) -> None:
    from journeylens.errors import ParameterError
    from journeylens.operations.forget import forget_customer

    lens = _lens(tmp_path)
    for bad in ("", "  ", "a\x00b"):
        with pytest.raises(ParameterError):
            forget_customer(lens, bad)


def _parsed(raw: str) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return raw  # a line that could not be parsed is kept as read


def _quarantine_rows(warehouse: Any) -> list[Any]:
    return [_parsed(r) for r in warehouse.table("quarantine").raw.to_pyarrow().to_pylist()]


ODD_ROWS = [
    {"member_no": SECRET, "timestamp": "not a time"},  # an id column named anything: a field whose value is the id
    {"payload": {"userId": SECRET, "context": [1]}},  # how the collector keeps a message it could not use
    {"payload": [ANON, 5]},
    {"customer_id": "other", "note": f"asked about {SECRET} twice"},  # free text naming the id as a token
    {"customer_id": "other", "note": f"{ANON}: called", "timestamp": "not a time"},
    {"customer_id": "other", "note": f"{SECRET}0 and x{ANON}", "timestamp": "x"},  # longer ids that contain it: kept
    {"customer_id": "other", "timestamp": "not a time"},
]
KEPT = ODD_ROWS[5:]
#: Lines that could not be parsed at all: quarantined with the line as read, no fields.
BROKEN_LINES = [f'{{"customer_id": "{SECRET}", "timestamp": ', f'{{"anonymous_id": "{ANON}" "touchpoint"}}',
                f'{{"customer_id": "{SECRET}9", "timestamp": ']


def _ingest_odd_rows(lens: Any, tmp_path: Path) -> None:
    ingest_records(lens.warehouse, "events", [*ODD_ROWS, {"customer_id": "other", "timestamp": T, "touchpoint": "x"}])
    lines = tmp_path / "broken.jsonl"
    lines.write_text("\n".join([*BROKEN_LINES, json.dumps({"customer_id": "other", "timestamp": T,
                                                           "touchpoint": "x"})]) + "\n")
    lens.ingest("events", lines)


def test_quarantined_rows_are_matched_by_their_fields_and_by_the_id_as_a_token(tmp_path: Path) -> None:
    from journeylens.operations.forget import forget_customer

    lens = _lens(tmp_path)
    _ingest_odd_rows(lens, tmp_path)
    quarantined = _quarantine_rows(lens.warehouse)
    assert all(line in quarantined for line in BROKEN_LINES)  # kept as read, unparsed
    report = forget_customer(lens, SECRET)
    left = _quarantine_rows(lens.warehouse)
    assert report.removed["quarantine"] == 2 + 5 + 2
    assert sorted(json.dumps(r, sort_keys=True) for r in left) == sorted(
        json.dumps(r, sort_keys=True) for r in [*KEPT, BROKEN_LINES[2]])


@pytest.mark.spark
def test_forget_on_a_spark_warehouse(spark_session: Any, tmp_path: Path) -> None:
    """Spark tables are rewritten without the customer's rows: the same counts as on DuckDB."""
    from tests.conftest import _spark_warehouse

    from journeylens.lens import JourneyLens
    from journeylens.operations.forget import forget_customer

    duck = _lens(tmp_path / "duck")
    _ingest_odd_rows(duck, tmp_path)
    spark = JourneyLens(_spark_warehouse(spark_session), None, duck.settings)
    for table in ("events", "feedback", "customers"):
        spark.warehouse.append(table, duck.warehouse.table(table).to_pyarrow())
    spark.warehouse.append("quarantine", duck.warehouse.table("quarantine").to_pyarrow())
    spark.refresh()
    expected = forget_customer(duck, SECRET).to_dict()
    report = forget_customer(spark, SECRET).to_dict()
    assert report["removed"] == {k: v for k, v in expected["removed"].items() if k in report["removed"]}
    assert {"events", "feedback", "customers", "journey_events", "quarantine"} <= set(report["removed"])
    for table in ("events", "feedback", "customers", "journey_events"):
        ids = spark.warehouse.table(table).customer_id.to_pyarrow().to_pylist()
        assert SECRET not in ids and "other" in ids
    assert _quarantine_rows(spark.warehouse) == _quarantine_rows(duck.warehouse)
    log = spark.warehouse.table("ingest_log").source.to_pyarrow().to_pylist()
    assert log.count("forget") == 1
    assert forget_customer(spark, SECRET).total == 0  # safe to run again
