"""Events arriving in the warehouse invite customers — or are suppressed with a reason."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
from sqlalchemy import select
from survey_helpers import EXAMPLE, add

from journeylens.lens import JourneyLens
from journeylens.operations.appdb import AppDatabase
from journeylens.operations.models import utcnow
from journeylens.operations.surveys import stats
from journeylens.operations.surveys.definition import BusinessHours
from journeylens.operations.surveys.models import SurveyInvitation
from journeylens.operations.surveys.triggers import next_opening
from journeylens.settings import Settings

INVITATION_KEYS = ["invitation_id", "survey", "customer_id", "touchpoint", "channel", "url", "status",
                   "created_at", "sent_at", "answered_at"]


def events(*rows: tuple[str, str, str, datetime]) -> pd.DataFrame:
    return pd.DataFrame([{"customer_id": c, "touchpoint": t, "channel": ch, "timestamp": ts,
                          "event_id": f"e-{c}-{t}-{ts.isoformat()}"} for c, t, ch, ts in rows])


def test_the_issue_example_invites_on_a_branch_visit_and_fatigue_says_why(
        lens: JourneyLens, survey_db: AppDatabase, survey_settings: Settings) -> None:
    add(survey_db)
    now = utcnow()
    lens.ingest("events", events(("c1", "Branch visit", "branch", now - timedelta(minutes=5)),
                                 ("c2", "Branch visit", "web", now - timedelta(minutes=5)),   # other channel
                                 ("c3", "App login", "app", now - timedelta(minutes=5))))     # other touchpoint
    [invitation] = stats.invitations(survey_db, survey_settings)
    assert list(invitation) == INVITATION_KEYS
    assert invitation["customer_id"] == "c1" and invitation["status"] == "sent"
    assert invitation["touchpoint"] == "Branch visit" and invitation["channel"] == "branch"
    assert invitation["url"].startswith("http://survey.test/s/")
    # a second visit within the 30-day fatigue window sends nothing, and says why
    lens.ingest("events", events(("c1", "Branch visit", "branch", now - timedelta(minutes=1))))
    assert len(stats.invitations(survey_db, survey_settings)) == 1
    [why] = stats.why_not(survey_db, "c1")
    assert why["reason"] == "survey_fatigue" and "30 days" in why["detail"]
    [row] = stats.survey_stats(survey_db)
    assert row["triggered"] == 2 and row["suppressed"] == {"survey_fatigue": 1} and row["sent"] == 1


def test_replaying_a_batch_decides_nothing_twice(lens: JourneyLens, survey_db: AppDatabase) -> None:
    from journeylens.hooks import rows_landed

    add(survey_db)
    summary = lens.ingest("events", events(("c1", "Branch visit", "branch", utcnow())))
    rows_landed(lens, "events", summary.batch)
    with survey_db.session() as session:
        assert len(list(session.scalars(select(SurveyInvitation)))) == 1
    assert stats.why_not(survey_db, "c1") == []


def test_global_fatigue_opt_out_sampling_and_old_events(lens: JourneyLens, survey_db: AppDatabase) -> None:
    from journeylens.operations.surveys.lifecycle import opt_out

    add(survey_db)
    add(survey_db, EXAMPLE.replace("branch-visit", "branch-visit-2").replace("fatigue: {days: 30}",
                                                                             "fatigue: {days: 0}"))
    add(survey_db, EXAMPLE.replace("branch-visit", "sampled").replace("sample: 1.0", "sample: 0.0")
        .replace("channel: branch", "channel: web"))
    opt_out(survey_db, "c9", "test")
    now = utcnow()
    lens.ingest("events", events(("c1", "Branch visit", "branch", now), ("c9", "Branch visit", "branch", now),
                                 ("c5", "Branch visit", "web", now),
                                 ("c7", "Branch visit", "branch", now - timedelta(days=90))))  # history
    reasons = {(r["survey"], r["reason"]) for c in ("c1", "c9", "c5", "c7") for r in stats.why_not(survey_db, c)}
    assert ("branch-visit-2", "global_fatigue") in reasons or ("branch-visit", "global_fatigue") in reasons
    assert {("branch-visit", "opted_out"), ("branch-visit-2", "opted_out"), ("sampled", "sampled_out")} <= reasons
    assert stats.why_not(survey_db, "c7") == []  # 90-day-old events are history, not triggers


def test_delay_and_business_hours_schedule_the_invitation(lens: JourneyLens, survey_db: AppDatabase,
                                                          survey_settings: Settings) -> None:
    from journeylens.operations.surveys.lifecycle import send_due
    from journeylens.operations.worker import JobContext

    add(survey_db, EXAMPLE.replace("delay_minutes: 0", "delay_minutes: 60"))
    lens.ingest("events", events(("c1", "Branch visit", "branch", utcnow())))
    [scheduled] = stats.invitations(survey_db, survey_settings)
    assert scheduled["status"] == "scheduled" and scheduled["sent_at"] is None
    assert send_due(JobContext(survey_db, survey_settings, utcnow())) == 0
    assert send_due(JobContext(survey_db, survey_settings, utcnow() + timedelta(minutes=61))) == 1
    assert stats.invitations(survey_db, survey_settings)[0]["status"] == "sent"


def test_next_opening_respects_days_and_time_zone() -> None:
    hours = BusinessHours(start="09:00", end="17:00", timezone="Europe/Amsterdam")
    friday_evening = datetime(2024, 3, 1, 18, 0, tzinfo=UTC)  # 19:00 in Amsterdam
    assert next_opening(friday_evening, hours) == datetime(2024, 3, 4, 8, 0, tzinfo=UTC)
    inside = datetime(2024, 3, 4, 10, 0, tzinfo=UTC)
    assert next_opening(inside, hours) == inside
