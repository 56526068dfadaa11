"""Survey read models: the invitation list (the CLI / API contract) and the response funnel.

``invitations()`` rows have exactly the keys ``invitation_id, survey, customer_id,
touchpoint, channel, url, status, created_at, sent_at, answered_at``. ``survey_stats()``
gives per survey: triggered (invited + suppressed), suppressed by reason, sent, opened,
started, completed and the response rate (completed / sent), overall and per channel.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from typing_extensions import TypedDict  # pydantic needs it on Python < 3.12 (response_model)

from journeylens.errors import ParameterError
from journeylens.operations.appdb import AppDatabase
from journeylens.operations.surveys.links import signing_key
from journeylens.operations.surveys.models import (
    INVITATION_STATUSES,
    SUPPRESSION_REASONS,
    Survey,
    SurveyInvitation,
    SurveyResponse,
    SurveySuppression,
)
from journeylens.operations.surveys.registry import definition_of
from journeylens.operations.surveys.triggers import invitation_url
from journeylens.settings import Settings


class InvitationRow(TypedDict):
    invitation_id: str
    survey: str
    customer_id: str
    touchpoint: str
    channel: str
    url: str
    status: str
    created_at: str
    sent_at: str | None
    answered_at: str | None


def _iso(at: datetime | None) -> str | None:
    """ISO 8601 in UTC, one spelling for the CLI and the API."""
    return at.isoformat() if at is not None else None


def invitations(db: AppDatabase, settings: Settings, *, survey: str | None = None,
                status: list[str] | None = None, customer_id: str | None = None,
                limit: int = 1000) -> list[InvitationRow]:
    """Invitations, newest first, with their signed survey URL."""
    bad = [s for s in status or () if s not in INVITATION_STATUSES]
    if bad:
        raise ParameterError(f"Unknown invitation status {bad[0]!r}; allowed: {', '.join(INVITATION_STATUSES)}.",
                             details={"allowed": list(INVITATION_STATUSES)})
    key = signing_key(db, settings)
    query = select(SurveyInvitation).order_by(SurveyInvitation.created_at.desc(), SurveyInvitation.id).limit(limit)
    if survey:
        query = query.where(SurveyInvitation.survey == survey)
    if status:
        query = query.where(SurveyInvitation.status.in_(status))
    if customer_id:
        query = query.where(SurveyInvitation.customer_id == customer_id)
    with db.session() as session:
        return [InvitationRow(invitation_id=i.id, survey=i.survey, customer_id=i.customer_id,
                              touchpoint=i.touchpoint, channel=i.channel, url=invitation_url(settings, key, i),
                              status=i.status, created_at=_iso(i.created_at) or "", sent_at=_iso(i.sent_at),
                              answered_at=_iso(i.answered_at))
                for i in session.scalars(query)]


def _funnel(rows: list[tuple[str, datetime | None, datetime | None, datetime | None, datetime | None]]) -> dict[str, Any]:
    sent = sum(1 for _, s, _o, _st, _a in rows if s is not None)
    opened = sum(1 for _, _s, o, _st, _a in rows if o is not None)
    started = sum(1 for _, _s, _o, st, _a in rows if st is not None)
    completed = sum(1 for *_, a in rows if a is not None)
    return {"invited": len(rows), "sent": sent, "opened": opened, "started": started, "completed": completed,
            "response_rate": round(completed / sent, 4) if sent else None}


def survey_stats(db: AppDatabase, *, survey: str | None = None) -> list[dict[str, Any]]:
    """One entry per survey: triggered, suppressed by reason, the funnel, per channel, anonymous answers."""
    with db.session() as session:
        surveys = list(session.scalars(select(Survey).order_by(Survey.name)))
        if survey:
            surveys = [s for s in surveys if s.name == survey]
        out = []
        for row in surveys:
            invites = list(session.execute(select(
                SurveyInvitation.channel, SurveyInvitation.sent_at, SurveyInvitation.opened_at,
                SurveyInvitation.started_at, SurveyInvitation.answered_at).where(
                SurveyInvitation.survey_id == row.id)).tuples())
            suppressed = Counter({reason: int(n) for reason, n in session.execute(
                select(SurveySuppression.reason, func.count()).where(SurveySuppression.survey == row.name)
                .group_by(SurveySuppression.reason)).tuples()})
            anonymous = session.scalar(select(func.count()).select_from(SurveyResponse).where(
                SurveyResponse.survey_id == row.id, SurveyResponse.invitation_id.is_(None),
                SurveyResponse.status == "completed")) or 0
            by_channel: dict[str, list[Any]] = {}
            for invite in invites:
                by_channel.setdefault(invite[0] or "", []).append(invite)
            funnel = _funnel(invites)
            out.append({"survey": row.name, "kind": row.kind, "status": row.status,
                        "triggered": funnel["invited"] + sum(suppressed.values()),
                        "suppressed": {r: suppressed.get(r, 0) for r in SUPPRESSION_REASONS if suppressed.get(r)},
                        **funnel, "anonymous_completed": int(anonymous),
                        "by_channel": [{"channel": ch, **_funnel(rows)} for ch, rows in sorted(by_channel.items())]})
        return out


def exit_reasons(db: AppDatabase, survey: str) -> list[dict[str, Any]]:
    """For an exit survey: each reason with its count and the stages/touchpoints that led to leaving."""
    with db.session() as session:
        row = session.scalar(select(Survey).where(Survey.name == survey))
        if row is None:
            return []
        definition = definition_of(row)
        question = next((q for q in definition.questions if q.type == "single"), None)
        if question is None:
            return []
        labels = {o.id: definition.text(o.text, definition.default_language) for o in question.options}
        answered = session.execute(select(SurveyResponse.answers, SurveyInvitation.touchpoint, SurveyInvitation.stage)
                                   .join(SurveyInvitation, SurveyInvitation.id == SurveyResponse.invitation_id,
                                         isouter=True)
                                   .where(SurveyResponse.survey_id == row.id,
                                          SurveyResponse.status == "completed")).tuples()
        counts: dict[str, Counter[str]] = {}
        for answers, touchpoint, stage in answered:
            reason = (answers or {}).get(question.id)
            if reason:
                counts.setdefault(reason, Counter())[stage or touchpoint or "—"] += 1
    return [{"reason": reason, "label": labels.get(reason, reason), "count": sum(c.values()),
             "journeys": dict(c.most_common())} for reason, c in sorted(counts.items(), key=lambda kv: -sum(kv[1].values()))]


def why_not(db: AppDatabase, customer_id: str) -> list[dict[str, Any]]:
    """Every suppressed trigger of one customer, with its reason (newest first)."""
    with db.session() as session:
        return [{"survey": s.survey, "touchpoint": s.touchpoint, "channel": s.channel, "reason": s.reason,
                 "detail": s.detail, "at": s.at}
                for s in session.scalars(select(SurveySuppression).where(SurveySuppression.customer_id == customer_id)
                                         .order_by(SurveySuppression.at.desc()))]
