"""Daily and weekly digests per person: their open tickets, breaches, and the metrics they own.

Queued by the worker's ``tickets.digests`` job. The idempotency key is the person plus the
day (or ISO week), so running the job every hour sends each digest once, and a restarted
worker neither skips nor repeats one. Daily digests go out from ``DIGEST_HOUR_UTC``; weekly
ones on Mondays.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from journeylens.operations.alerts import notifications
from journeylens.operations.models import User, utcnow
from journeylens.operations.tickets.inbox import Visibility, breached, list_tickets, next_due

DIGEST_HOUR_UTC = 7
DIGEST_ROLES: tuple[str, ...] = ("admin", "agent")


def owned_metrics(lens: Any, email: str, teams: list[str]) -> list[dict[str, Any]]:
    """Last 30 days' scores of the touchpoints the journey definition gives to ``email`` or their teams."""
    definition = getattr(lens, "_definition", None) if lens is not None else None
    if definition is None:
        return []
    owners = {email.lower(), *(t.lower() for t in teams)}
    mine = [t.name for t in definition.touchpoints if t.owner and t.owner.lower() in owners]
    if not mine:
        return []
    from datetime import timedelta

    from journeylens.analyses.filters import Filters

    now = utcnow()
    result = lens.metrics(by=("touchpoint",), filters=Filters(start=now - timedelta(days=30), end=now,
                                                               touchpoint=tuple(mine)))
    return result.to_dict()


def digest_for(session: Session, user: User, lens: Any, now: datetime) -> dict[str, Any] | None:
    """The digest's data, or ``None`` when there is nothing to tell."""
    visibility = Visibility.for_user(session, user.email, user.role)
    tickets = list_tickets(session, Visibility(email=user.email, teams=visibility.teams), status="open", now=now)
    metrics = owned_metrics(lens, user.email, list(visibility.teams))
    if not tickets and not metrics:
        return None
    rows = [{"ticket_id": t.id, "priority": t.priority, "customer_id": t.customer_id, "rule": t.rule_name,
             "due": (d.isoformat() if (d := next_due(t)) else None), "breached": breached(t, now)} for t in tickets]
    return {"email": user.email, "open_tickets": rows, "breached": sum(r["breached"] for r in rows),
            "metrics": metrics}


def _text(digest: dict[str, Any], period: str) -> str:
    lines = [f"Your {period} JourneyLens digest: {len(digest['open_tickets'])} open ticket(s), "
             f"{digest['breached']} past their SLA."]
    lines += [f"- #{t['ticket_id']} {t['priority']} {t['rule']} customer {t['customer_id']} due {t['due']}"
              + (" (BREACHED)" if t["breached"] else "") for t in digest["open_tickets"][:50]]
    for m in digest["metrics"]:
        lines.append(f"- {m.get('touchpoint')}: NPS {m.get('nps')}, CSAT {m.get('csat')}, n={m.get('n')}, "
                     f"target {m.get('target_status') or 'none'}")
    return "\n".join(lines)


def queue_digests(session: Session, lens: Any, *, now: datetime | None = None) -> int:
    """Queue today's daily (and on Mondays the weekly) digest of every agent and admin.

    ``lens`` may be a callable returning the lens (opened only when someone gets a digest).
    """
    now = now or utcnow()
    recipients = list(session.scalars(select(User).where(User.active.is_(True), User.role.in_(DIGEST_ROLES))))
    if now.hour < DIGEST_HOUR_UTC or not recipients:
        return 0
    if callable(lens):
        lens = lens()
    periods = [("daily", f"{now:%Y-%m-%d}")]
    if now.weekday() == 0:
        periods.append(("weekly", f"{now.isocalendar().year}-W{now.isocalendar().week:02d}"))
    queued = 0
    for user in recipients:
        digest = digest_for(session, user, lens, now)
        if digest is None:
            continue
        for period, key in periods:
            notifications.queue(session, targets=[("email", user.email)], event_type="digest",
                                event_key=f"{period}-{key}-{user.id}", subject=f"[JourneyLens] {period} digest {key}",
                                text=_text(digest, period), data={"period": period, **digest}, source="digests")
            queued += 1
    return queued
