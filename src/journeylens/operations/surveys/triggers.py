"""Survey triggers: arriving events become invitations (or counted suppressions), durably.

Registered on ``journeylens_rows_landed``: when a batch of ``events`` lands (file ingest or
collector), the rows matching an active survey's trigger are read with one Ibis filter and
evaluated in order: channel / stage / cohort filters decide whether the trigger *matches*;
then opt-out, sampling, per-survey fatigue and global fatigue decide whether it is
*suppressed* (a row in ``survey_suppressions`` with the reason) or *invited* (a row in
``survey_invitations``, delivered at once or when its delay / business hours allow). Every
decision is keyed by (survey, event), so a replayed batch changes nothing.

Only events recent enough to be answered count as triggers (older than the invitation's
``expires_days`` is history, not a moment to ask).
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import ibis
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from journeylens.hooks import hookimpl
from journeylens.operations.appdb import AppDatabase
from journeylens.operations.models import utcnow
from journeylens.operations.surveys.definition import BusinessHours, SurveyDefinition
from journeylens.operations.surveys.delivery import deliver_invitation
from journeylens.operations.surveys.links import invitation_token, signing_key, survey_url
from journeylens.operations.surveys.models import (
    Survey,
    SurveyInvitation,
    SurveyOptOut,
    SurveySuppression,
)
from journeylens.operations.surveys.registry import definition_of
from journeylens.settings import Settings

log = logging.getLogger(__name__)
_DBS: dict[str, AppDatabase] = {}
_DB_LOCK = threading.Lock()


def existing_app_db(settings: Settings) -> AppDatabase | None:
    """The app database if it exists: a SQLite file not yet created holds no survey, and the
    hook must not create one as a side effect of every ingest."""
    url = make_url(settings.app_database_url)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:") \
            and not Path(url.database).expanduser().exists():
        return None
    return app_db_for(settings)


def app_db_for(settings: Settings) -> AppDatabase:
    """One :class:`AppDatabase` per URL for the hook (the lens knows its settings, not an app)."""
    with _DB_LOCK:
        if settings.app_database_url not in _DBS:
            _DBS[settings.app_database_url] = AppDatabase(settings.app_database_url)
        return _DBS[settings.app_database_url]


def active_surveys(db: AppDatabase) -> list[tuple[Survey, SurveyDefinition]]:
    with db.session() as session:
        rows = list(session.scalars(select(Survey).where(Survey.status == "active")))
    return [(row, definition_of(row)) for row in rows if definition_of(row).trigger is not None]


def next_opening(at: datetime, hours: BusinessHours | None) -> datetime:
    """``at`` if it is inside business hours, else the next moment they open (public holidays and
    closed days included; the same calendar as tickets' SLA clocks).

    >>> bh = BusinessHours(start="09:00", end="17:00", days=["mon", "tue", "wed", "thu", "fri"])
    >>> next_opening(datetime(2024, 3, 2, 12, 0, tzinfo=UTC), bh).isoformat()  # a Saturday
    '2024-03-04T09:00:00+00:00'
    """
    if hours is None or not hours.days:
        return at
    return hours.calendar().next_opening(at).astimezone(UTC)


def _sampled_in(survey: str, event_key: str, share: float) -> bool:
    """Deterministic sampling: the same event is in or out on every replay."""
    if share >= 1.0:
        return True
    digest = int(hashlib.sha256(f"{survey}|{event_key}".encode()).hexdigest()[:12], 16)
    return digest / float(16**12) < share


def _event_key(row: dict[str, Any]) -> str:
    key = row.get("_key") or row.get("event_id")
    if key:
        return str(key)[:200]
    raw = f"{row.get('customer_id')}|{row.get('timestamp')}|{row.get('touchpoint')}|{row.get('_seq')}"
    return "h:" + hashlib.sha256(raw.encode()).hexdigest()[:40]


def _contact(properties: Any) -> dict[str, str]:
    try:
        props = json.loads(properties) if isinstance(properties, str) else (properties or {})
    except ValueError:
        return {}
    return {k: str(props[k]) for k in ("email", "phone", "language") if isinstance(props, dict) and props.get(k)}


def evaluate(db: AppDatabase, settings: Settings, surveys: list[tuple[Survey, SurveyDefinition]],
             rows: list[dict[str, Any]], *, stage_of: Any = None, cohorts: dict[str, set[str]] | None = None,
             now: datetime | None = None) -> dict[str, int]:
    """Decide every (survey, event) pair; returns counts by decision (``invited`` or a suppression reason)."""
    now = now or utcnow()
    counts: dict[str, int] = {}
    key = signing_key(db, settings)
    for row in sorted(rows, key=lambda r: (r["timestamp"], r.get("_seq") or 0)):
        for survey_row, survey in surveys:
            if not _matches(survey, row, stage_of, cohorts or {}):
                continue
            with db.session() as session:
                decision = _decide(session, settings, survey_row, survey, row, now, key)
            if decision:
                counts[decision] = counts.get(decision, 0) + 1
    return counts


def _matches(survey: SurveyDefinition, row: dict[str, Any], stage_of: Any, cohorts: dict[str, set[str]]) -> bool:
    trigger = survey.trigger
    assert trigger is not None
    touchpoint = str(row.get("touchpoint") or "")
    by_outcome = trigger.outcome is not None and row.get("_outcome") == trigger.outcome
    if not (trigger.matches_touchpoint(touchpoint) or by_outcome):
        return False
    if trigger.channel and row.get("channel") not in trigger.channel:
        return False
    if trigger.stage and (stage_of(touchpoint) if stage_of else None) not in trigger.stage:
        return False
    return not (trigger.cohort and str(row.get("customer_id")) not in cohorts.get(trigger.cohort, set()))


def _decide(session: Session, settings: Settings, survey_row: Survey, survey: SurveyDefinition,
            row: dict[str, Any], now: datetime, key: str) -> str | None:
    trigger = survey.trigger
    assert trigger is not None
    event_key = _event_key(row)
    seen = session.scalar(select(func.count()).select_from(SurveyInvitation).where(
        SurveyInvitation.survey_id == survey_row.id, SurveyInvitation.event_key == event_key)) or \
        session.scalar(select(func.count()).select_from(SurveySuppression).where(
            SurveySuppression.survey == survey.name, SurveySuppression.event_key == event_key))
    if seen:
        return None  # decided on an earlier run of this batch
    customer = row.get("customer_id")
    reason, detail = _suppression(session, settings, survey, str(customer or ""), event_key, now)
    if reason:
        session.add(SurveySuppression(survey=survey.name, customer_id=str(customer or ""), event_key=event_key,
                                      touchpoint=str(row.get("touchpoint") or ""),
                                      channel=str(row.get("channel") or ""), reason=reason, detail=detail))
        return reason
    invite(session, settings, survey_row, survey, row, event_key, now, key)
    return "invited"


def _suppression(session: Session, settings: Settings, survey: SurveyDefinition, customer: str, event_key: str,
                 now: datetime) -> tuple[str | None, str]:
    trigger = survey.trigger
    assert trigger is not None
    if not customer:
        return "no_customer", "the event has no customer id to invite"
    if session.get(SurveyOptOut, customer) is not None:
        return "opted_out", "the customer opted out of surveys"
    if not _sampled_in(survey.name, event_key, trigger.sample):
        return "sampled_out", f"sample share {trigger.sample}"
    last = session.scalar(select(func.max(SurveyInvitation.created_at)).where(
        SurveyInvitation.customer_id == customer, SurveyInvitation.survey == survey.name))
    if last is not None and survey.fatigue.days and last > now - timedelta(days=survey.fatigue.days):
        return "survey_fatigue", f"invited to {survey.name} on {last:%Y-%m-%d} (once per {survey.fatigue.days} days)"
    days = settings.survey_global_fatigue_days
    last_any = session.scalar(select(func.max(SurveyInvitation.created_at)).where(
        SurveyInvitation.customer_id == customer))
    if last_any is not None and days and last_any > now - timedelta(days=days):
        return "global_fatigue", f"invited to a survey on {last_any:%Y-%m-%d} (at most one per {days} days)"
    return None, ""


def invite(session: Session, settings: Settings, survey_row: Survey, survey: SurveyDefinition,
           row: dict[str, Any], event_key: str, now: datetime, key: str) -> SurveyInvitation:
    """Create the invitation; deliver it now when its delay and business hours allow."""
    trigger = survey.trigger
    assert trigger is not None
    event_at = row["timestamp"]
    if isinstance(event_at, datetime) and event_at.tzinfo is None:
        event_at = event_at.replace(tzinfo=UTC)
    contact = _contact(row.get("properties"))
    language = contact.pop("language", "") if contact.get("language") in survey.languages else ""
    contact.pop("language", None)
    send_at = next_opening(max(now, event_at) + timedelta(minutes=trigger.delay_minutes), trigger.business_hours)
    invitation = SurveyInvitation(
        id=uuid.uuid4().hex, survey_id=survey_row.id, survey=survey.name, customer_id=str(row["customer_id"]),
        event_key=event_key, event_id=row.get("event_id"), event_at=event_at,
        touchpoint=str(row.get("touchpoint") or ""), channel=str(row.get("channel") or ""),
        stage=str(row.get("_stage") or ""), language=language, contact=contact, status="scheduled",
        created_at=now, send_at=send_at, expires_at=send_at + timedelta(days=trigger.expires_days))
    session.add(invitation)
    session.flush()
    if send_at <= now:
        send(session, settings, invitation, survey, key, now)
    return invitation


def invitation_url(settings: Settings, key: str, invitation: SurveyInvitation) -> str:
    return survey_url(settings, invitation_token(key, invitation.id, invitation.customer_id))


def send(session: Session, settings: Settings, invitation: SurveyInvitation, survey: SurveyDefinition, key: str,
         now: datetime) -> None:
    """Issue a scheduled invitation through its channels (inside the caller's transaction)."""
    outcome = deliver_invitation(session, invitation, survey, invitation_url(settings, key, invitation), settings)
    invitation.deliver = {"channels": outcome}
    invitation.status, invitation.sent_at = "sent", now
    if survey.reminder is not None:
        invitation.reminder_at = now + timedelta(days=survey.reminder.after_days)


@hookimpl
def journeylens_rows_landed(lens: Any, table: str, batch: str) -> None:
    if table != "events" or lens is None:
        return
    db = existing_app_db(lens.settings)
    if db is None:
        return
    surveys = active_surveys(db)
    if not surveys:
        return
    rows = _candidate_rows(lens, batch, surveys)
    if not rows:
        return
    definition = getattr(lens, "_definition", None)
    stage_of = None
    if definition is not None:
        def stage_of(name: str) -> str | None:
            rule = definition.rule_for(name)
            return rule.stage if rule is not None else None
        for row in rows:
            row["_stage"] = stage_of(str(row.get("touchpoint") or ""))
    cohorts = _cohorts(lens, definition, surveys, rows)
    counts = evaluate(db, lens.settings, surveys, rows, stage_of=stage_of, cohorts=cohorts)
    log.info("survey triggers on batch %s: %s", batch, counts)


def _candidate_rows(lens: Any, batch: str, surveys: list[tuple[Survey, SurveyDefinition]]) -> list[dict[str, Any]]:
    """Rows of the batch that some trigger could match, recent enough to be answered (one Ibis query)."""
    events = lens.warehouse.table("events")
    events = events.filter(events._batch == batch)
    definition = getattr(lens, "_definition", None)
    longest = max(s.trigger.expires_days for _, s in surveys if s.trigger)
    test = ibis.literal(False)
    outcome_test = {}
    for _, survey in surveys:
        trigger = survey.trigger
        assert trigger is not None
        if trigger.touchpoint and any(ch in trigger.touchpoint for ch in "*?["):
            test = test | events.touchpoint.like(trigger.touchpoint.replace("*", "%").replace("?", "_"))
        elif trigger.touchpoint:
            test = test | (events.touchpoint == ibis.literal(trigger.touchpoint))
        if trigger.outcome and definition is not None:
            expr = definition.outcome_expr(trigger.outcome, events.touchpoint)
            outcome_test[trigger.outcome] = expr
            test = test | expr
    since = utcnow() - timedelta(days=longest)
    columns = {c: events[c] for c in ("customer_id", "timestamp", "touchpoint", "channel", "event_id",
                                      "properties", "_key", "_seq") if c in events.columns}
    columns |= {f"_is_{k}": v for k, v in outcome_test.items()}
    ts = events.timestamp
    picked = events.filter(test, ts >= ibis.literal(since, type=ts.type())).select(**columns)
    rows: list[dict[str, Any]] = picked.to_pyarrow().to_pylist()
    for row in rows:
        for kind in ("churn", "conversion"):
            if row.pop(f"_is_{kind}", False):
                row["_outcome"] = kind
    return rows


def _cohorts(lens: Any, definition: Any, surveys: list[tuple[Survey, SurveyDefinition]],
             rows: list[dict[str, Any]]) -> dict[str, set[str]]:
    names = {s.trigger.cohort for _, s in surveys if s.trigger and s.trigger.cohort}
    if not names:
        return {}
    from journeylens.analyses.cohorts import customers_in_cohort

    ids = sorted({str(r["customer_id"]) for r in rows if r.get("customer_id")})
    customers = lens.warehouse.table("customers") if lens.warehouse.has("customers") else None
    out: dict[str, set[str]] = {}
    for name in names:
        members = customers_in_cohort(lens.events(), name, definition, customers)
        members = members.filter(members.customer_id.isin(ids))
        out[name] = {str(v) for v in members.to_pyarrow().column("customer_id").to_pylist()}
    return out
