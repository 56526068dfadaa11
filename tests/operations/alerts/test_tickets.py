"""Tickets: states as data, SLA clock from stored timestamps, routing, audit trail, KPIs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from journeylens.errors import ParameterError
from journeylens.operations import users
from journeylens.operations.alerts.rules import TicketSpec
from journeylens.operations.appdb import AppDatabase
from journeylens.operations.tickets import inbox, kpis, service, sla
from journeylens.operations.tickets.routing import ensure_team, route
from journeylens.operations.tickets.service import TicketStateError

T0 = datetime(2024, 3, 4, 9, 0, tzinfo=UTC)  # a Monday
PASSWORD = "correct horse battery"


def _ticket(session, key: str = "r1", **extra):  # type: ignore[no-untyped-def]
    params = {"rule_id": None, "rule_name": "manual", "response_key": key, "priority": "normal",
              "response": {"response_id": key, "customer_id": "c1", "touchpoint": "Branch visit", "nps": 3},
              "owner": None, "team": "branch", "first_contact_hours": 24, "close_hours": 72, "now": T0, **extra}
    return service.create_ticket(session, **params)


def test_lifecycle_with_audit_trail_and_root_cause_required(app_db: AppDatabase) -> None:
    with app_db.session() as s:
        t = _ticket(s)
        service.contact(s, t.id, actor="ana@x.example", note="Called", now=T0 + timedelta(hours=3))
        assert t.status == "open" and t.first_contact_at == T0 + timedelta(hours=3)
        with pytest.raises(ParameterError) as err:
            service.close(s, t.id, actor="ana@x.example", root_cause=None, outcome="recovered")
        assert err.value.code == "root_cause_required" and "people" in err.value.details["allowed"]
        with pytest.raises(ParameterError, match="outcome"):
            service.close(s, t.id, actor="ana@x.example", root_cause="people", outcome="maybe")
        service.close(s, t.id, actor="ana@x.example", root_cause="people", outcome="recovered")
        with pytest.raises(TicketStateError):
            service.resolve(s, t.id, actor="ana@x.example")
        service.reopen(s, t.id, actor="lead@x.example", note="customer called again")
        trail = [(e.actor, e.action, e.from_status, e.to_status) for e in service.events_of(s, t.id)]
    assert trail == [("rules", "created", None, "new"), ("ana@x.example", "contact", None, None),
                     ("ana@x.example", "status", "new", "open"), ("ana@x.example", "closed", "open", "closed"),
                     ("lead@x.example", "status", "closed", "reopened")]


def test_one_ticket_per_response_and_rule(app_db: AppDatabase) -> None:
    with app_db.session() as s:
        first, again = _ticket(s), _ticket(s)
        other = _ticket(s, key="r2")
    assert first.id == again.id != other.id


def test_pending_stops_the_sla_clock_and_timers_come_from_stored_timestamps(app_db: AppDatabase) -> None:
    with app_db.session() as s:
        t = _ticket(s)
        assert t.due_at == T0 + timedelta(hours=72)
        service.transition(s, t, "pending", actor="a", now=T0 + timedelta(hours=10))
        service.transition(s, t, "open", actor="a", now=T0 + timedelta(hours=40))
        ticket_id = t.id
    with app_db.session() as s:  # a new session: as after a restart
        t = service.get_ticket(s, ticket_id)
        assert t.first_contact_due == T0 + timedelta(hours=54)  # 14 h were left, counted from hour 40
        assert t.due_at == T0 + timedelta(hours=102)
        assert not inbox.breached(t, T0 + timedelta(hours=50))
        assert inbox.breached(t, T0 + timedelta(hours=55))


def test_business_hours() -> None:
    friday_4pm = datetime(2024, 3, 8, 16, tzinfo=UTC)
    assert sla.add_hours(friday_4pm, 3, business=True) == datetime(2024, 3, 11, 11, tzinfo=UTC)
    assert sla.hours_between(friday_4pm, datetime(2024, 3, 11, 11, tzinfo=UTC), business=True) == 3
    assert sla.add_hours(friday_4pm, 3, business=True, timezone="Europe/London") == datetime(2024, 3, 11, 11,
                                                                                           tzinfo=UTC)


def test_routing_owner_touchpoint_owner_round_robin(app_db: AppDatabase) -> None:
    with app_db.session() as s:
        for email in ("a1@x.example", "a2@x.example", "boss@x.example"):
            users.create_user(s, email, PASSWORD, role="agent", actor="t")
        ensure_team(s, "branch", lead_email="boss@x.example", members=["a1@x.example", "a2@x.example"])
        ensure_team(s, "Branch network", members=["a2@x.example"])
        assert route(s, TicketSpec(owner="A1@x.example", team="branch"), None) == ("a1@x.example", "branch")
        turns = [route(s, TicketSpec(team="branch", assign="round_robin"), None)[0] for _ in range(3)]
        assert turns == ["a1@x.example", "a2@x.example", "a1@x.example"]
        assert route(s, TicketSpec(team="branch"), "Branch network") == ("a2@x.example", "Branch network")
        assert route(s, TicketSpec(team="branch"), "boss@x.example") == ("boss@x.example", "branch")
        assert route(s, TicketSpec(team="branch", assign="team"), None) == (None, "branch")


def test_agents_see_only_their_teams_tickets(app_db: AppDatabase) -> None:
    with app_db.session() as s:
        users.create_user(s, "a1@x.example", PASSWORD, role="agent", actor="t")
        users.create_user(s, "web@x.example", PASSWORD, role="agent", actor="t")
        ensure_team(s, "branch", members=["a1@x.example"])
        mine, theirs = _ticket(s, "r1"), _ticket(s, "r2", team="web", owner="web@x.example")
        branch = inbox.Visibility.for_user(s, "a1@x.example", "agent")
        web = inbox.Visibility.for_user(s, "web@x.example", "agent")
        assert [t.id for t in inbox.list_tickets(s, branch)] == [mine.id]
        assert [t.id for t in inbox.list_tickets(s, web)] == [theirs.id]
        assert len(inbox.list_tickets(s, inbox.Visibility.for_user(s, "root@x.example", "admin"))) == 2
        with pytest.raises(Exception, match="No ticket"):
            inbox.visible_ticket(s, theirs.id, branch)


def test_inbox_puts_overdue_first_then_due_time(app_db: AppDatabase) -> None:
    now = T0 + timedelta(hours=30)
    with app_db.session() as s:
        late = _ticket(s, "late")  # first contact due at T0+24h: overdue at now
        soon = _ticket(s, "soon", now=T0 + timedelta(hours=20))
        later = _ticket(s, "later", now=T0 + timedelta(hours=25))
        order = [t.response_key for t in inbox.list_tickets(s, inbox.EVERYONE, now=now)]
        rows = [inbox.ticket_row(t, now) for t in (late, soon, later)]
    assert order == ["late", "soon", "later"]
    assert list(rows[0]) == list(inbox.ROW_KEYS)
    assert [r["breached"] for r in rows] == [True, False, False]


def test_kpis(app_db: AppDatabase) -> None:
    with app_db.session() as s:
        fast, slow, never = _ticket(s, "fast"), _ticket(s, "slow"), _ticket(s, "never")
        service.contact(s, fast.id, actor="a", now=T0 + timedelta(hours=2))
        service.contact(s, slow.id, actor="a", now=T0 + timedelta(hours=30))
        service.close(s, fast.id, actor="a", root_cause="people", outcome="recovered", now=T0 + timedelta(hours=10))
        service.close(s, slow.id, actor="a", root_cause="process", outcome="not_recovered",
                      now=T0 + timedelta(hours=50))
        tickets = [fast, slow, never]
        stats = kpis.ticket_stats(tickets, {"new", "open", "pending", "reopened"}, by="root_cause",
                                  now=T0 + timedelta(hours=100), follow_ups={fast.id: 9.0, slow.id: 4.0})
    assert (stats["open"], stats["closed"], stats["breached"]) == (1, 2, 2)
    assert stats["contacted_within_24h_share"] == pytest.approx(1 / 3)
    assert stats["contacted_within_48h_share"] == pytest.approx(2 / 3)
    assert stats["median_hours_to_first_contact"] == pytest.approx(16)
    assert stats["median_hours_to_close"] == pytest.approx(30)
    assert stats["recovery_rate"] == 0.5 and stats["follow_up_nps"] == 0.0
    assert [r["root_cause"] for r in stats["by"]] == ["people", "process", None]
    assert stats["root_causes"] == [{"month": "2024-03", "root_cause": "people", "tickets": 1},
                                    {"month": "2024-03", "root_cause": "process", "tickets": 1}]
