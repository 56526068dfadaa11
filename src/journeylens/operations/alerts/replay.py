"""Replay feedback in time order, day by day, running the scheduled rules after each day.

What a programme would have seen had JourneyLens been live: used by the test that checks
the metric rule fires on the demo's app-release day, and by ``bench/alerts_replay.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from journeylens.demo.planted import APP_RELEASE
from journeylens.operations.alerts.scheduled import run_rules
from journeylens.operations.appdb import AppDatabase

#: The metric rule that catches the demo's planted app-release drop on the day it happened.
APP_RELEASE_RULE = f"""\
name: app-login-csat
on: metric
metric: csat
where: {{touchpoint: "{APP_RELEASE.touchpoint}"}}
below: 0.6
window_days: 1
min_responses: 10
"""


@dataclass(frozen=True)
class ReplayDay:
    day: date
    responses: int
    fired: list[dict[str, Any]]
    judged: list[dict[str, Any]]


def _between(table: pa.Table, start: datetime, end: datetime) -> pa.Table:
    ts = table.column("timestamp")
    return table.filter(pc.and_(pc.greater_equal(ts, pa.scalar(start, ts.type)),
                                pc.less(ts, pa.scalar(end, ts.type))))


def replay(lens: Any, db: AppDatabase, feedback: pa.Table, *, start: datetime, end: datetime,
           rules: list[str] | None = None) -> Iterator[ReplayDay]:
    """Ingest the feedback before ``start`` at once, then each day up to ``end``, judging after each."""
    earlier = _between(feedback, datetime.min.replace(tzinfo=start.tzinfo), start)
    if earlier.num_rows:
        lens.ingest("feedback", earlier)
    day = start
    while day < end:
        following = day + timedelta(days=1)
        chunk = _between(feedback, day, following)
        if chunk.num_rows:
            lens.ingest("feedback", chunk)
        report = run_rules(lens, db, as_of=following, names=rules)
        yield ReplayDay(day.date(), chunk.num_rows, report.fired, report.judged)
        day = following
