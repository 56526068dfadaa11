"""Evidence from the surveys module (alert rules and tickets register theirs in
:mod:`journeylens.operations.alerts.plugin`).

A provider reads its module's records and returns plain facts for :mod:`.checks`; it is
registered in :data:`journeylens.operations.maturity.evidence.PROVIDERS` when its module is
imported.
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

