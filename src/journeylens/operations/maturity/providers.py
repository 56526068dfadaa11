"""Evidence from the operations modules: surveys (and, once registered, alert rules and tickets).

Each provider reads its module's records and returns plain facts for :mod:`.checks`; they are
registered in :data:`journeylens.operations.maturity.evidence.PROVIDERS` when this module is
imported (by :mod:`journeylens.operations.maturity`).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from journeylens.operations.maturity.evidence import PROVIDERS

#: How far back invitations count as evidence that a survey is live.
LIVE_WINDOW_DAYS = 90


def survey_facts(session: Session, now: datetime) -> dict[str, Any]:
    """Active customer surveys, the touchpoints and stages they listen at, and recent invitations."""
    from journeylens.operations.surveys.models import Survey, SurveyInvitation

    live = [s for s in session.scalars(select(Survey).where(Survey.status == "active")) if s.kind == "customer"]
    since = now - timedelta(days=LIVE_WINDOW_DAYS)
    invited_stages = {stage for (stage,) in session.execute(
        select(SurveyInvitation.stage).where(SurveyInvitation.created_at >= since,
                                             SurveyInvitation.survey.in_([s.name for s in live])).distinct())
        if stage}
    triggers = [(s.definition or {}).get("trigger") or {} for s in live]
    declared = {stage for t in triggers for stage in (t.get("stage") or [])}
    return {"live": len(live), "names": [s.name for s in live],
            "touchpoints": sorted({t["touchpoint"] for t in triggers if t.get("touchpoint")}),
            "declared_stages": sorted(declared), "invited_stages": sorted(invited_stages)}


PROVIDERS["surveys"] = survey_facts


def _named_touchpoints(value: Any) -> set[str]:
    """Touchpoint names a rule condition names: a name, a list of names, or ``"== name"``."""
    if isinstance(value, str):
        text = value.strip()
        for op in ("==", "="):
            if text.startswith(op):
                text = text[len(op):].strip().strip("'\"")
        return {text} if text and not text.startswith(("!=", "<", ">", "in ", "not ")) else set()
    if isinstance(value, list | tuple):
        return {str(v) for v in value}
    return set()


def alert_facts(session: Session, now: datetime) -> dict[str, Any]:
    """Active alert rules, the ones that open tickets, and the touchpoints they watch."""
    from journeylens.operations.alerts.models import AlertRule

    active = list(session.scalars(select(AlertRule).where(AlertRule.status == "active")))
    watched: set[str] = set()
    watches_all = False
    for rule in active:
        definition = rule.definition or {}
        conditions = definition.get("when") or definition.get("where") or {}
        named = _named_touchpoints(conditions.get("touchpoint"))
        watched |= named
        # an anomaly rule split by touchpoint with no touchpoint filter watches every touchpoint
        watches_all = watches_all or (definition.get("by") == "touchpoint" and not named)
    return {"active_rules": len(active), "ticket_rules": sum(1 for r in active if (r.definition or {}).get("ticket")),
            "watched_touchpoints": sorted(watched), "watches_every_touchpoint": watches_all}


def ticket_facts(session: Session, now: datetime) -> dict[str, Any]:
    """Tickets finished in the last 90 days: how many, how many within their SLA, with a root cause."""
    from journeylens.operations.tickets.inbox import breached
    from journeylens.operations.tickets.models import Ticket

    since = now - timedelta(days=LIVE_WINDOW_DAYS)
    done = [t for t in session.scalars(select(Ticket).where(Ticket.closed_at.is_not(None), Ticket.closed_at >= since))]
    return {"closed": len(done), "closed_within_sla": sum(1 for t in done if not breached(t, now)),
            "closed_with_root_cause": sum(1 for t in done if t.root_cause)}


PROVIDERS["alerts"] = alert_facts
PROVIDERS["tickets"] = ticket_facts
