"""Done means: a metric rule fires on the demo's planted app-release drop, on the day it happened,
when the demo data is replayed in time order (and not before)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

import journeylens
from journeylens.demo import generate
from journeylens.operations.alerts import actions
from journeylens.operations.alerts.replay import APP_RELEASE_RULE, replay
from journeylens.operations.appdb import AppDatabase
from journeylens.settings import Settings


@pytest.mark.slow
def test_metric_rule_fires_on_the_app_release_day(tmp_path: Path) -> None:
    data = generate(customers=50_000, seed=42)
    settings = Settings(warehouse="duckdb://", app_database_url=f"sqlite:///{tmp_path / 'app.db'}",
                        duckdb_memory_limit="1GB")
    lens = journeylens.open("duckdb://", settings=settings)
    db = AppDatabase(settings.app_database_url)
    with db.session() as s:
        actions.add(s, lens, APP_RELEASE_RULE, source="rule.yaml", actor="t")
    release = data.window.release
    days = list(replay(lens, db, data.feedback, start=release - timedelta(days=21), end=release + timedelta(days=3)))
    fired = [d.day for d in days if d.fired]
    assert fired, [j["explanation"] for d in days for j in d.judged][-5:]
    assert fired[0] == release.date()
    assert all(d.responses for d in days)  # every replayed day had answers at the touchpoint's survey
    (alert,) = next(d for d in days if d.day == release.date()).fired
    assert "whole 95 % interval is below" in alert["explanation"]
    lens.warehouse.close()
    db.dispose()
