"""Anomaly rules: same weekday and hours as baseline, Benjamini–Hochberg across series."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

import journeylens
from journeylens.operations.alerts import actions
from journeylens.operations.alerts.anomalies import judge, windows
from journeylens.operations.alerts.rules import parse_rule
from journeylens.operations.alerts.scheduled import run_rules
from journeylens.operations.appdb import AppDatabase
from journeylens.settings import Settings

AS_OF = datetime(2024, 6, 12, 15, 0, tzinfo=UTC)  # a Wednesday, 15:00
SERIES = [f"Touchpoint {i:02d}" for i in range(12)]


def _events(drop_touchpoint: str | None, drop_share: float, seed: int = 7) -> pd.DataFrame:
    """Five weeks of hourly event counts with a weekday/hour pattern; optionally a drop since 10:00 today."""
    rng = np.random.default_rng(seed)
    rows = []
    hour = AS_OF - timedelta(days=35)
    while hour < AS_OF:
        busy = 30 if 8 <= hour.hour < 20 else 4
        busy = busy // 3 if hour.weekday() >= 5 else busy  # quiet weekends: why the baseline is per weekday
        for name in SERIES:
            rate = busy * (1 - drop_share if name == drop_touchpoint and hour >= AS_OF.replace(hour=10) else 1)
            for k in range(rng.poisson(rate)):
                rows.append({"customer_id": f"c{k}", "timestamp": hour + timedelta(minutes=k % 60),
                             "touchpoint": name, "channel": "app"})
        hour += timedelta(hours=1)
    return pd.DataFrame(rows)


RULE = """\
name: volume-drop
on: anomaly
series: events
by: touchpoint
since_hour: 10
direction: down
min_change: 0.3
"""


def test_windows_are_the_same_weekday_and_hours() -> None:
    spans = windows(AS_OF, 24, 4, since_hour=10)
    assert [(w.start.strftime("%a %H:%M"), w.end - w.start) for w in spans] == [("Wed 10:00", timedelta(hours=5))] * 5
    assert spans[4].start == AS_OF.replace(hour=10) - timedelta(days=28)


def test_only_the_dropped_series_fires_with_fdr_control(tmp_path: Path) -> None:
    settings = Settings(warehouse="duckdb://", app_database_url=f"sqlite:///{tmp_path / 'app.db'}")
    lens = journeylens.open("duckdb://", settings=settings)
    lens.ingest("events", _events("Touchpoint 03", 0.45))
    found = judge(lens, parse_rule(RULE), AS_OF)
    assert len(found) == len(SERIES)
    assert [v.subject for v in found if v.fires] == ["events @ touchpoint=Touchpoint 03"]
    fired = next(v for v in found if v.fires)
    assert fired.details["change"] < -0.3 and fired.details["series_tested"] == len(SERIES)
    assert "same hours of the previous 4 weeks" in fired.explanation

    db = AppDatabase(settings.app_database_url)
    with db.session() as s:
        actions.add(s, lens, RULE, source="rule.yaml", actor="t")
    first = run_rules(lens, db, as_of=AS_OF)
    again = run_rules(lens, db, as_of=AS_OF)  # one open alert per rule and subject
    assert len(first.fired) == 1 and again.fired == []
    lens.warehouse.close()
    db.dispose()


def test_no_alerts_on_noise_alone(tmp_path: Path) -> None:
    settings = Settings(warehouse="duckdb://", app_database_url=f"sqlite:///{tmp_path / 'app.db'}")
    lens = journeylens.open("duckdb://", settings=settings)
    lens.ingest("events", _events(None, 0.0, seed=11))
    found = judge(lens, parse_rule(RULE.replace("direction: down", "direction: both").replace("0.3", "0.0")), AS_OF)
    assert len(found) == len(SERIES) and not [v for v in found if v.fires]
    lens.warehouse.close()
