"""Evidence from the deployment: what JourneyLens can see of how the CX programme runs.

:func:`gather_evidence` reads the warehouse (data freshness per table and source, journeys
that follow the map, feedback coverage), the journey definition (owners, targets, critical
touchpoints) and the app database (definition history, who uses the dashboard, report
schedules, and — where those modules hold records — surveys, alert rules and tickets). It
returns plain facts; :mod:`.checks` judges them against a maturity model's thresholds.
Nothing here scores anything.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import ibis
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from journeylens.hooks import plugin_manager
from journeylens.operations.appdb import AppDatabase
from journeylens.operations.maturity.records import DefinitionVersion, ReportSchedule
from journeylens.operations.models import AuditEvent, User
from journeylens.warehouse.schema import JOURNEY_EVENTS

log = logging.getLogger(__name__)

Facts = dict[str, Any]
#: Extra fact providers: ``name → fn(session, now) -> dict``; operations modules (surveys,
#: alert rules, tickets) register theirs so the assessment sees them without importing them.
PROVIDERS: dict[str, Callable[[Session, datetime], dict[str, Any]]] = {}
FEEDBACK_TABLES = ("events", "feedback", "customers")


def definition_fingerprint(definition: Any) -> str:
    """A stable hash of a journey definition's content (key order does not matter)."""
    canonical = json.dumps(definition.to_dict(), sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def record_definition(db: AppDatabase, definition: Any, *, now: datetime | None = None) -> bool:
    """Remember that ``definition`` is in use; True when this content was never seen before."""
    now = now or datetime.now(UTC)
    fingerprint = definition_fingerprint(definition)
    with db.session() as session:
        row = session.scalar(select(DefinitionVersion).where(DefinitionVersion.fingerprint == fingerprint))
        if row is None:
            session.add(DefinitionVersion(fingerprint=fingerprint, name=definition.name,
                                          version=str(definition.version), first_seen_at=now, last_seen_at=now))
            return True
        row.last_seen_at = now
        return False


def gather_evidence(lens: Any, db: AppDatabase, *, now: datetime | None = None,
                    definition_present: bool | None = None) -> Facts:
    """Every fact the checks read, as plain JSON-ready data."""
    now = now or datetime.now(UTC)
    present = lens.has_explicit_definition if definition_present is None else definition_present
    definition = lens.definition if present else None
    if definition is not None:
        record_definition(db, definition, now=now)
    facts: Facts = {"now": now.isoformat(), "tables": _tables(lens.warehouse, now),
                    "sources": _sources(lens.warehouse),
                    "definition": _definition_facts(definition),
                    "journeys": _journey_facts(lens, definition)}
    with db.session() as session:
        facts["definition_history"] = _definition_history(session)
        facts["users"] = _user_facts(session, now)
        facts["report_schedules"] = int(session.scalar(
            select(func.count()).select_from(ReportSchedule).where(ReportSchedule.active.is_(True))) or 0)
        plugin_manager()  # built-in plugins (alert rules, tickets, …) register their providers on load
        for name, provider in PROVIDERS.items():
            try:
                facts[name] = provider(session, now)
            except Exception:  # one broken provider must not hide the rest of the evidence
                log.exception("Maturity evidence provider %s failed", name)
                facts[name] = {"error": f"the {name} evidence could not be read"}
    return facts


def _tables(warehouse: Any, now: datetime) -> dict[str, Any]:
    log_t = warehouse.table("ingest_log") if warehouse.has("ingest_log") else None
    received: dict[str, Any] = {}
    if log_t is not None:
        last = log_t.filter(log_t.accepted > 0).group_by("table").aggregate(last=log_t.finished_at.max())
        received = {r["table"]: r["last"] for r in last.to_pyarrow().to_pylist()}
    out: dict[str, Any] = {}
    for name in FEEDBACK_TABLES:
        if not warehouse.has(name):
            out[name] = {"rows": 0, "newest": None, "oldest": None, "last_received": None}
            continue
        t = warehouse.table(name)
        if "timestamp" in t.columns:
            row = t.aggregate(rows=t.count(), newest=t.timestamp.max(), oldest=t.timestamp.min()).to_pyarrow().to_pylist()[0]
        else:
            row = {"rows": t.count().to_pyarrow().as_py(), "newest": None, "oldest": None}
        newest = row["newest"]
        out[name] = {"rows": int(row["rows"] or 0), "newest": _iso(newest), "oldest": _iso(row["oldest"]),
                     "last_received": _iso(received.get(name)),
                     "newest_age_days": _age_days(newest, now),
                     "received_age_days": _age_days(received.get(name), now)}
    return out


def _sources(warehouse: Any) -> list[dict[str, Any]]:
    if not warehouse.has("ingest_log"):
        return []
    t = warehouse.table("ingest_log")
    grouped = t.group_by(["table", "source"]).aggregate(last_received=t.finished_at.max(), accepted=t.accepted.sum())
    rows = grouped.order_by([ibis.desc("last_received")]).limit(50).to_pyarrow().to_pylist()
    return [{"table": r["table"], "source": r["source"], "last_received": _iso(r["last_received"]),
             "accepted": int(r["accepted"] or 0)} for r in rows]


def _definition_facts(definition: Any) -> dict[str, Any]:
    if definition is None:
        return {"present": False, "stages": [], "touchpoints": []}
    return {"present": True, "name": definition.name, "version": str(definition.version),
            "fingerprint": definition_fingerprint(definition),
            "stages": [{"name": s.name, "targets": dict(s.targets)} for s in definition.stages],
            "touchpoints": [{"name": tp.name, "stage": tp.stage, "owner": tp.owner, "critical": tp.critical,
                             "targets": dict(tp.targets)} for tp in definition.touchpoints]}


def _journey_facts(lens: Any, definition: Any) -> dict[str, Any]:
    warehouse = lens.warehouse
    facts: dict[str, Any] = {"customers": 0, "following_share": None, "customers_with_feedback": 0,
                             "responses_by_touchpoint": {}}
    if not warehouse.has("events"):
        return facts
    events = warehouse.table("events")
    facts["customers"] = int(events.customer_id.nunique().to_pyarrow().as_py() or 0)
    if definition is not None and facts["customers"]:
        from journeylens.analyses.conformance import following_summary

        facts["following_share"] = following_summary(lens.events(), definition=definition)["following_share"]
    if warehouse.has("feedback"):
        feedback = warehouse.table("feedback")
        if "customer_id" in feedback.columns:
            known = events.select("customer_id").distinct()
            answered = feedback.filter(feedback.customer_id.notnull()).select("customer_id").distinct()
            facts["customers_with_feedback"] = int(
                answered.semi_join(known, "customer_id").count().to_pyarrow().as_py() or 0)
        if "touchpoint" in feedback.columns:
            answered_at = feedback.filter(feedback.touchpoint.notnull())
            counts = answered_at.group_by("touchpoint").aggregate(n=answered_at.count())
            facts["responses_by_touchpoint"] = {r["touchpoint"]: int(r["n"]) for r in counts.to_pyarrow().to_pylist()}
    if warehouse.has(JOURNEY_EVENTS):
        facts["journey_events"] = True
    return facts


def _definition_history(session: Session) -> list[dict[str, Any]]:
    rows = session.scalars(select(DefinitionVersion).order_by(DefinitionVersion.first_seen_at))
    return [{"fingerprint": r.fingerprint, "name": r.name, "version": r.version,
             "first_seen_at": r.first_seen_at.isoformat(), "last_seen_at": r.last_seen_at.isoformat()} for r in rows]


def _user_facts(session: Session, now: datetime) -> dict[str, Any]:
    people = {u.email: u for u in session.scalars(select(User).where(User.active.is_(True)))}
    since = now - timedelta(days=30)
    logins = session.execute(select(AuditEvent.actor, func.count(), func.max(AuditEvent.at))
                             .where(AuditEvent.action == "user.login", AuditEvent.at >= since)
                             .group_by(AuditEvent.actor)).all()
    active = [{"email": actor, "sign_ins_30d": int(n), "last_sign_in": last.isoformat() if last else None,
               "role": people[actor].role if actor in people else None} for actor, n, last in logins]
    return {"accounts": len(people), "emails": sorted(people), "roles": sorted({u.role for u in people.values()}),
            "active_30d": active}


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def _age_days(value: Any, now: datetime) -> float | None:
    if value is None or not hasattr(value, "tzinfo"):
        return None
    moment = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return round((now - moment).total_seconds() / 86_400, 2)
