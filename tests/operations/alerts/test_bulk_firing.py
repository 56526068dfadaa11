"""Set-based firing keeps every promise of the row-by-row path: one open alert per rule and subject,
the cool-down, one ticket per response and rule, the audit trail, idempotent outbox rows, round-robin
routing — and falls back to row by row when a concurrent writer conflicts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from journeylens.operations import users
from journeylens.operations.alerts import actions, bulk
from journeylens.operations.alerts.models import Alert
from journeylens.operations.alerts.responses import active_response_rules, judge_rows
from journeylens.operations.appdb import AppDatabase
from journeylens.operations.outbox_models import OutboxMessage
from journeylens.operations.tickets.models import Ticket, TicketEvent
from journeylens.operations.tickets.routing import ensure_team

NOW = datetime(2024, 5, 6, 10, tzinfo=UTC)
RULE = """\
name: detractors
on: response
when: {nps: "<= 6"}
cooldown_minutes: 60
ticket: {team: service, assign: round_robin, priority: high, first_contact_hours: 4, close_hours: 24}
notify:
  - webhook: https://hooks.example.com/cx
  - email: lead@bank.example
"""


def _rows(*specs: tuple[str, int]) -> list[dict[str, Any]]:
    return [{"response_id": rid, "customer_id": f"c-{rid}", "timestamp": NOW, "touchpoint": "Branch visit",
             "nps": nps, "_metrics": {}, "_properties": {}} for rid, nps in specs]


def _judge(db: AppDatabase, rows: list[dict[str, Any]], now: datetime = NOW) -> Any:
    with db.session() as s:
        rules = active_response_rules(s)
        return judge_rows(s, rules, rows, [{} for _ in rows], timezone="UTC", now=now)


def _counts(db: AppDatabase) -> dict[str, int]:
    with db.session() as s:
        return {m.__tablename__: s.scalar(select(func.count()).select_from(m)) or 0
                for m in (Alert, Ticket, TicketEvent, OutboxMessage)}


@pytest.fixture
def db(app_db: AppDatabase) -> AppDatabase:
    with app_db.session() as s:
        for email in ("a1@bank.example", "a2@bank.example"):
            users.create_user(s, email, "correct horse battery", role="agent", actor="t")
        ensure_team(s, "service", members=["a1@bank.example", "a2@bank.example"])
        actions.add(s, None, RULE, source="rule.yaml", actor="t")
    return app_db


def test_a_batch_fires_once_per_subject_with_trail_outbox_and_turns(db: AppDatabase) -> None:
    report = _judge(db, _rows(("r1", 2), ("r2", 9), ("r3", 5), ("r1", 2), ("r4", 6)))
    assert (report.alerts, report.tickets) == (3, 3)  # r1 twice in the batch: once
    assert _counts(db) == {"alerts": 3, "tickets": 3, "ticket_events": 3, "outbox": 6}  # 2 targets per alert
    with db.session() as s:
        tickets = list(s.scalars(select(Ticket).order_by(Ticket.id)))
        assert [t.response_key for t in tickets] == ["r1", "r3", "r4"]
        assert [t.owner for t in tickets] == ["a1@bank.example", "a2@bank.example", "a1@bank.example"]
        assert all(t.first_contact_due == NOW + timedelta(hours=4) and t.alert_id for t in tickets)
        trail = list(s.scalars(select(TicketEvent)))
        assert {(e.action, e.to_status, e.actor) for e in trail} == {("created", "new", "rules")}
        payloads = [m.payload for m in s.scalars(select(OutboxMessage).where(OutboxMessage.channel == "webhook"))]
        assert [p["data"]["ticket"]["ticket_id"] for p in payloads] == [t.id for t in tickets]
        assert payloads[0]["event_type"] == "ticket.created" and payloads[0]["data"]["response"]["nps"] == 2


def test_a_reingested_batch_changes_nothing_and_the_cooldown_holds(db: AppDatabase) -> None:
    _judge(db, _rows(("r1", 2), ("r3", 5)))
    first = _counts(db)
    again = _judge(db, _rows(("r1", 2), ("r3", 5)), now=NOW + timedelta(minutes=5))
    assert (again.alerts, again.tickets) == (0, 0) and _counts(db) == first
    with db.session() as s:  # close r1's alert: within the cool-down it may not fire again
        alert = s.scalar(select(Alert).where(Alert.subject == "response:r1"))
        assert alert is not None
        alert.status, alert.open_key = "closed", None
    assert _judge(db, _rows(("r1", 2)), now=NOW + timedelta(minutes=30)).alerts == 0
    later = _judge(db, _rows(("r1", 2)), now=NOW + timedelta(minutes=90))
    assert (later.alerts, later.tickets) == (1, 0)  # fires again after the cool-down; still one ticket


def test_a_conflicting_writer_falls_back_to_row_by_row(db: AppDatabase, monkeypatch: pytest.MonkeyPatch) -> None:
    _judge(db, _rows(("r1", 2)))
    # Another worker's alert for r1 is invisible to this batch's read (as if it committed just after it).
    monkeypatch.setattr(bulk, "_open_keys", lambda session, keys: set())
    report = _judge(db, _rows(("r1", 2), ("r5", 3)), now=NOW + timedelta(hours=3))
    assert (report.alerts, report.tickets) == (1, 1)  # only r5: the savepoint rolled back, row by row took over
    assert _counts(db) == {"alerts": 2, "tickets": 2, "ticket_events": 2, "outbox": 4}


def test_business_hours_tickets_count_their_team_calendar_in_bulk(db: AppDatabase) -> None:
    from journeylens.operations.calendar import BusinessCalendar
    from journeylens.operations.tickets.routing import set_business_hours

    with db.session() as s:
        set_business_hours(s, "service", BusinessCalendar(timezone="Europe/Amsterdam", holidays="NL"), actor="t")
        actions.add(s, None, RULE.replace("close_hours: 24}", "close_hours: 24, business_hours: true}"),
                    source="rule.yaml", actor="t")
    christmas_eve_4pm = datetime(2024, 12, 24, 15, tzinfo=UTC)  # Tue 16:00 CET; 25 and 26 Dec are holidays
    report = _judge(db, _rows(("r1", 2), ("r2", 3)), now=christmas_eve_4pm)
    assert report.tickets == 2
    with db.session() as s:
        dues = {t.response_key: t.first_contact_due for t in s.scalars(select(Ticket))}
        calendars = {t.calendar["holidays"] for t in s.scalars(select(Ticket)) if t.calendar}
    assert dues == {"r1": datetime(2024, 12, 27, 11, tzinfo=UTC), "r2": datetime(2024, 12, 27, 11, tzinfo=UTC)}
    assert calendars == {"NL"}
