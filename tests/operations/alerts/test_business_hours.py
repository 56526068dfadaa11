"""Business hours per team: days, hours, time zone, public holidays and closed days; SLA clocks honour
them, across a daylight-saving change too."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from journeylens.errors import ParameterError
from journeylens.operations.appdb import AppDatabase
from journeylens.operations.calendar import BusinessCalendar, calendar_from_options
from journeylens.operations.tickets import service, sla
from journeylens.operations.tickets.routing import set_business_hours
from journeylens.surfaces.cli.main import app

AMS = "Europe/Amsterdam"


def test_daylight_saving_spring_forward_counts_real_hours() -> None:
    # A queue open around the clock, every day. The night of 30/31 March 2024 Amsterdam skips 02:00-03:00.
    cal = BusinessCalendar(days=("mon", "tue", "wed", "thu", "fri", "sat", "sun"), start="00:00", end="24:00",
                           timezone=AMS)
    saturday_10pm = datetime(2024, 3, 30, 21, tzinfo=UTC)  # 22:00 CET
    due = cal.add_hours(saturday_10pm, 6)
    assert due == saturday_10pm + timedelta(hours=6)  # six real hours, not six wall-clock hours
    assert due.astimezone(cal_zone()).strftime("%d %H:%M %Z") == "31 05:00 CEST"
    assert cal.hours_between(saturday_10pm, due) == pytest.approx(6)


def cal_zone():  # type: ignore[no-untyped-def]
    from zoneinfo import ZoneInfo

    return ZoneInfo(AMS)


def test_office_hours_shift_in_utc_when_the_clocks_change() -> None:
    cal = BusinessCalendar(timezone=AMS)  # Mon-Fri 09:00-17:00 local
    friday_4pm_cet = datetime(2024, 3, 29, 15, tzinfo=UTC)  # Good Friday, but no holidays configured
    # 1 h on Friday, then Monday opens at 09:00 CEST = 07:00 UTC (it was 08:00 UTC in winter).
    assert cal.add_hours(friday_4pm_cet, 2) == datetime(2024, 4, 1, 8, tzinfo=UTC)
    autumn = cal.add_hours(datetime(2024, 10, 25, 14, tzinfo=UTC), 2)  # Fri 16:00 CEST + 2 h
    assert autumn == datetime(2024, 10, 28, 9, tzinfo=UTC)  # Mon 10:00 CET


def test_public_holidays_and_closed_days_are_skipped() -> None:
    cal = BusinessCalendar(timezone=AMS, holidays="NL", closed=(date(2024, 4, 2),))
    thursday_4pm = datetime(2024, 3, 28, 15, tzinfo=UTC)  # Thu 16:00 CET before Easter
    # Good Friday and Easter Monday are NL public holidays; Tuesday 2 April is the company's day off.
    assert cal.add_hours(thursday_4pm, 2) == datetime(2024, 4, 3, 8, tzinfo=UTC)  # Wed 10:00 CEST
    assert cal.add_hours(thursday_4pm, 10) == datetime(2024, 4, 4, 8, tzinfo=UTC)  # Thu 10:00 CEST
    assert cal.hours_between(thursday_4pm, datetime(2024, 4, 4, 8, tzinfo=UTC)) == pytest.approx(10)
    assert not cal.is_working_day(date(2024, 4, 1)) and not cal.is_working_day(date(2024, 3, 29))
    assert BusinessCalendar(timezone=AMS).is_working_day(date(2024, 3, 29))  # without holidays it is a Friday


def test_bad_calendars_say_what_is_allowed() -> None:
    with pytest.raises(ParameterError, match="no public holidays known for 'XX'"):
        calendar_from_options(None, holidays="XX")
    with pytest.raises(ParameterError, match="unknown time zone"):
        calendar_from_options(None, timezone="Mars/Olympus")
    with pytest.raises(ParameterError, match="START-END"):
        calendar_from_options(None, hours="9 to 5")
    with pytest.raises(ParameterError, match="Unknown day"):
        calendar_from_options(None, days="mon,funday")
    with pytest.raises(ParameterError, match="must be before end"):
        calendar_from_options(None, hours="17:00-09:00")
    assert calendar_from_options(None, days="mon-wed").days == ("mon", "tue", "wed")


def test_tickets_use_their_team_calendar_and_keep_it_through_a_pause(app_db: AppDatabase) -> None:
    opened = datetime(2024, 12, 24, 15, tzinfo=UTC)  # Tue 16:00 CET; 25 + 26 Dec are NL holidays
    with app_db.session() as s:
        set_business_hours(s, "branch", BusinessCalendar(timezone=AMS, holidays="NL"), actor="t")
        t = service.create_ticket(s, rule_id=None, rule_name="m", response_key="r1", response={}, priority="high",
                                  owner=None, team="branch", first_contact_hours=2, close_hours=9,
                                  business_hours=True, now=opened)
        other = service.create_ticket(s, rule_id=None, rule_name="m", response_key="r2", response={},
                                      priority="high", owner=None, team="web", first_contact_hours=2,
                                      close_hours=None, business_hours=True, now=opened)
        assert t.first_contact_due == datetime(2024, 12, 27, 9, tzinfo=UTC)  # Fri 10:00 CET
        assert t.due_at == datetime(2024, 12, 27, 16, tzinfo=UTC)  # 1 h on Tue + 8 h on Fri → Fri 17:00 CET
        assert other.first_contact_due == datetime(2024, 12, 24, 17, tzinfo=UTC)  # default: 09-17 UTC
        assert t.calendar is not None and t.calendar["holidays"] == "NL"
        ticket_id = t.id
    with app_db.session() as s:  # the team changes its hours later: the open ticket keeps its calendar
        set_business_hours(s, "branch", None, actor="t")
    with app_db.session() as s:
        t = service.get_ticket(s, ticket_id)
        service.transition(s, t, "pending", actor="a", now=datetime(2024, 12, 27, 9, tzinfo=UTC))  # Fri 10:00
        service.transition(s, t, "open", actor="a", now=datetime(2025, 1, 2, 8, tzinfo=UTC))  # Thu 09:00 (1 Jan off)
        # first contact had 0 h left... it was due exactly at the pause: stays breached where it was
        assert t.first_contact_due == datetime(2024, 12, 27, 9, tzinfo=UTC)
        # close: 7 h were left at Fri 10:00 CET; from Thu 2 Jan 09:00 CET that is 16:00 CET
        assert t.due_at == datetime(2025, 1, 2, 15, tzinfo=UTC)
    assert sla.hours_between(opened, datetime(2024, 12, 27, 9, tzinfo=UTC), business=True,
                             calendar={"timezone": AMS, "holidays": "NL"}) == pytest.approx(2)


def test_team_hours_from_the_cli(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'app.db'}"
    result = CliRunner().invoke(app, ["tickets", "team", "branch", "--days", "mon-fri", "--hours", "08:30-17:00",
                                      "--timezone", AMS, "--holidays", "NL", "--closed", "2026-12-24",
                                      "--app-db", url, "--json"])
    assert result.exit_code == 0, result.output
    row = json.loads(result.stdout)
    assert row["business_hours"]["start"] == "08:30" and row["business_hours"]["closed"] == ["2026-12-24"]
    assert row["business_hours_text"] == ("mon, tue, wed, thu, fri 08:30–17:00 Europe/Amsterdam, NL public holidays "
                                          "off, 1 closed day(s)")
    bad = CliRunner().invoke(app, ["tickets", "team", "branch", "--holidays", "XX", "--app-db", url, "--json"])
    assert bad.exit_code != 0 and "business_hours_invalid" in bad.stdout


def test_survey_sends_wait_for_the_same_calendar_holidays_included() -> None:
    from journeylens.operations.surveys.definition import BusinessHours
    from journeylens.operations.surveys.triggers import next_opening

    hours = BusinessHours(timezone=AMS, holidays="NL", closed=[date(2024, 12, 27)])
    christmas_eve_6pm = datetime(2024, 12, 24, 17, tzinfo=UTC)  # after hours; 25-26 holidays, 27 closed
    assert next_opening(christmas_eve_6pm, hours) == datetime(2024, 12, 30, 8, tzinfo=UTC)  # Mon 09:00 CET
    with pytest.raises(ValueError, match="no public holidays known"):
        BusinessHours(holidays="XX")
