"""Alerts and tickets as a built-in plugin of the core's hooks.

* ``journeylens_rows_landed`` — new feedback rows are judged by the response rules at once;
* ``journeylens_worker_jobs`` — catch-up of missed batches, metric/anomaly rules, escalation
  and digests, run by the worker (inside ``serve`` or ``journeylens worker``);
* ``journeylens_outbox_settled`` — a notification that gave up is shown on its rule's page;
* ``journeylens_forget_customer`` — a customer's tickets, their trail and alerts are erased.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import delete, func, select

from journeylens.hooks import hookimpl
from journeylens.operations.appdb import AppDatabase

# One app database per URL for hooks, never created as a side effect of an ingest (shared with
# the survey triggers, which have the same need).
from journeylens.operations.surveys.triggers import existing_app_db

log = logging.getLogger(__name__)

CATCH_UP_SECONDS = 15.0
RULES_SECONDS = 300.0
ESCALATION_SECONDS = 60.0
DIGEST_SECONDS = 3600.0


@hookimpl
def journeylens_rows_landed(lens: Any, table: str, batch: str) -> None:
    if table != "feedback" or lens is None:
        return
    from journeylens.operations.alerts.responses import handle_batch

    db = existing_app_db(lens.settings)
    if db is None:  # no app database yet, so no rules
        return
    report = handle_batch(lens, db, batch)
    if report.alerts or report.tickets:
        log.info("response rules on batch %s: %s", batch, report.to_dict())


def _has_active(db: AppDatabase, kinds: tuple[str, ...]) -> bool:
    """Whether any active rule of ``kinds`` exists (jobs open the warehouse only then)."""
    from journeylens.operations.alerts.models import AlertRule

    with db.session() as session:
        query = select(AlertRule.id).where(AlertRule.kind.in_(kinds), AlertRule.status == "active").limit(1)
        return session.scalar(query) is not None


def _catch_up(context: Any) -> Any:
    from journeylens.operations.alerts.responses import catch_up

    if not _has_active(context.db, ("response",)):
        return []
    return [r.to_dict() for r in catch_up(context.lens(), context.db, now=context.now)]


def _rules(context: Any) -> Any:
    from journeylens.operations.alerts.scheduled import run_rules

    if not _has_active(context.db, ("metric", "anomaly")):
        return {}
    return run_rules(context.lens(), context.db).to_dict()


def _escalate(context: Any) -> Any:
    from journeylens.operations.tickets.escalation import run_escalation

    return run_escalation(context.db, now=context.now).to_dict()


def _digests(context: Any) -> Any:
    from journeylens.operations.tickets.digests import queue_digests

    def lens() -> Any:
        try:
            return context.lens()
        except Exception:  # the digest still lists tickets when the warehouse is busy elsewhere
            log.warning("digests without owned metrics: the warehouse could not be opened", exc_info=True)
            return None

    with context.db.session() as session:
        return queue_digests(session, lens, now=context.now)


def _follow_ups(context: Any) -> Any:
    from journeylens.operations.tickets.follow_up import run_follow_ups

    return run_follow_ups(context.db, context.settings, now=context.now)


@hookimpl
def journeylens_worker_jobs() -> list[Any]:
    from journeylens.operations.worker import Job

    return [Job("alerts.catch_up", CATCH_UP_SECONDS, _catch_up), Job("alerts.rules", RULES_SECONDS, _rules),
            Job("tickets.escalate", ESCALATION_SECONDS, _escalate), Job("tickets.digests", DIGEST_SECONDS, _digests),
            Job("tickets.follow_up", ESCALATION_SECONDS, _follow_ups)]


@hookimpl
def journeylens_outbox_settled(session: Any, message: Any) -> None:
    if message.status != "dead" or not str(message.source).startswith("alert_rule:"):
        return
    from journeylens.operations.alerts.models import AlertRule
    from journeylens.operations.models import utcnow

    rule = session.get(AlertRule, int(str(message.source).split(":", 1)[1]))
    if rule is not None:
        rule.last_error = f"{message.channel} to {message.target} gave up after {message.attempts} attempts: " \
                          f"{message.last_error}"
        rule.last_error_at = utcnow()


@hookimpl
def journeylens_forget_customer(lens: Any, customer_id: str) -> dict[str, int]:
    from journeylens.operations.alerts.models import Alert
    from journeylens.operations.outbox_models import OutboxMessage
    from journeylens.operations.tickets.models import Ticket, TicketEvent

    db = existing_app_db(lens.settings)
    if db is None:
        return {}
    with db.session() as session:
        ids = list(session.scalars(select(Ticket.id).where(Ticket.customer_id == customer_id)))
        events = session.scalar(select(func.count()).select_from(TicketEvent).where(TicketEvent.ticket_id.in_(ids)))
        session.execute(delete(TicketEvent).where(TicketEvent.ticket_id.in_(ids)))
        session.execute(delete(Ticket).where(Ticket.id.in_(ids)))
        alerts = [a for a in session.scalars(select(Alert).where(Alert.kind == "response"))
                  if (a.details.get("response") or {}).get("customer_id") == customer_id]
        for alert in alerts:
            session.delete(alert)
        messages = [m for m in session.scalars(select(OutboxMessage).where(OutboxMessage.source.like("alert_rule:%")))
                    if _mentions(m.payload, customer_id)]
        for message in messages:
            session.delete(message)
    return {"tickets": len(ids), "ticket_events": int(events or 0), "alerts": len(alerts),
            "outbox": len(messages)}


def _mentions(payload: dict[str, Any], customer_id: str) -> bool:
    data = payload.get("data") or {}
    return any((data.get(part) or {}).get("customer_id") == customer_id for part in ("response", "ticket"))


# --- evidence for the maturity assessment (issue 16 reads these facts) -----------------------
def alert_facts(session: Any, now: Any) -> dict[str, Any]:
    """Active rules, the touchpoints they watch, and how many open tickets."""
    from journeylens.operations.alerts.models import AlertRule

    rules = list(session.scalars(select(AlertRule).where(AlertRule.status == "active")))
    watched = sorted({str(t) for r in rules for section in ("when", "where")
                      if isinstance(t := (r.definition.get(section) or {}).get("touchpoint"), str)})
    return {"active_rules": len(rules), "watched_touchpoints": watched,
            "ticket_rules": sum(1 for r in rules if r.kind == "response" and r.definition.get("ticket"))}


def ticket_facts(session: Any, now: Any, *, days: int = 90) -> dict[str, Any]:
    """Tickets closed in the last ``days``: how many, within their SLA, with a root cause."""
    from datetime import timedelta

    from journeylens.operations.tickets.inbox import breached
    from journeylens.operations.tickets.models import Ticket

    closed = list(session.scalars(select(Ticket).where(Ticket.closed_at >= now - timedelta(days=days))))
    return {"closed": len(closed), "closed_within_sla": sum(not breached(t, now) for t in closed),
            "closed_with_root_cause": sum(bool(t.root_cause) for t in closed)}


def _register_evidence() -> None:
    from journeylens.operations.maturity import evidence

    evidence.PROVIDERS.setdefault("alerts", alert_facts)
    evidence.PROVIDERS.setdefault("tickets", ticket_facts)


_register_evidence()
