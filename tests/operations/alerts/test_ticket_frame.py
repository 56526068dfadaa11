"""Tickets as a flat table for departures: one row per ticket with a customer; no app database → a reason."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

from journeylens.operations.appdb import AppDatabase
from journeylens.operations.tickets import service
from journeylens.operations.tickets.frame import TICKET_COLUMNS, ticket_frame, tickets_at

T0 = datetime(2024, 3, 4, 9, 0, tzinfo=UTC)


def _ticket(session, key: str, customer: str | None, **extra):  # type: ignore[no-untyped-def]
    return service.create_ticket(
        session, rule_id=None, rule_name="manual", response_key=key, priority="normal",
        response={"response_id": key, "customer_id": customer, "touchpoint": "Call", "nps": 2}, owner=None,
        team=None, first_contact_hours=4, close_hours=24, now=T0, **extra)


def test_ticket_frame_rows(app_db: AppDatabase) -> None:
    with app_db.session() as s:
        done = _ticket(s, "a", "c1")
        service.contact(s, done.id, actor="ana@x.example", now=T0 + timedelta(hours=1))
        service.close(s, done.id, actor="ana@x.example", root_cause="people", outcome="recovered",
                      now=T0 + timedelta(hours=10))
        _ticket(s, "b", "c2")  # never contacted: both timers missed by now
        _ticket(s, "c", None)  # no customer: not part of a customer analysis
    frame = ticket_frame(app_db, now=T0 + timedelta(days=3))
    assert tuple(frame.columns) == TICKET_COLUMNS
    rows = {r["customer_id"]: r for r in frame.to_dict(orient="records")}
    assert set(rows) == {"c1", "c2"}
    assert rows["c1"]["hours_to_close"] == 10.0 and not rows["c1"]["open"] and not rows["c1"]["breached"]
    assert rows["c1"]["root_cause"] == "people" and rows["c1"]["touchpoint"] == "Call"
    assert math.isnan(rows["c2"]["hours_to_close"]) and rows["c2"]["open"] and rows["c2"]["breached"]


def test_tickets_at_says_why_there_are_none(tmp_path: Path) -> None:
    missing = tmp_path / "absent.db"
    frame, note = tickets_at(f"sqlite:///{missing}")
    assert frame is None and note is not None and "No app database" in note
    assert not missing.exists()  # reading never creates the database
    AppDatabase(f"sqlite:///{tmp_path / 'app.db'}")
    frame, note = tickets_at(f"sqlite:///{tmp_path / 'app.db'}")
    assert note is None and frame is not None and frame.empty
