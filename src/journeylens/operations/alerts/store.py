"""Rules in the app database: add (validated), list, show, pause, resume; alerts listing.

``check_rule`` is what ``journeylens alert check`` prints: errors stop a rule, warnings do
not (a touchpoint the warehouse has not seen yet is a warning — a new programme starts with
an empty warehouse).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from journeylens.errors import NotFoundError
from journeylens.journeys import yamlmarks
from journeylens.operations.alerts.models import Alert, AlertRule
from journeylens.operations.alerts.rules import (
    ResponseRule,
    Rule,
    RuleError,
    parse_rule,
    to_definition,
)
from journeylens.operations.audit import record
from journeylens.operations.models import utcnow
from journeylens.operations.tickets.routing import user_exists

ALERT_KEYS: tuple[str, ...] = ("alert_id", "rule", "kind", "subject", "fired_at", "explanation", "status")


def rule_warnings(rule: Rule, text: str, *, seen_touchpoints: set[str] | None,
                  defined_touchpoints: set[str] | None) -> list[dict[str, Any]]:
    """Problems that do not stop a rule: names the warehouse or the journey do not know (yet)."""
    root = yamlmarks.compose(text) if text else None
    warnings = []
    for section in ("when", "where"):
        touchpoint = (getattr(rule, section, None) or {}).get("touchpoint")
        if not isinstance(touchpoint, str):
            continue
        line, column = yamlmarks.locate(root, (section, "touchpoint"))
        if seen_touchpoints is not None and touchpoint not in seen_touchpoints:
            warnings.append({"line": line, "column": column, "path": f"{section}.touchpoint",
                             "message": f"touchpoint {touchpoint!r} has no data in the warehouse yet; "
                                        "the rule fires once it does"})
        elif defined_touchpoints and touchpoint not in defined_touchpoints and seen_touchpoints is None:
            warnings.append({"line": line, "column": column, "path": f"{section}.touchpoint",
                             "message": f"touchpoint {touchpoint!r} is not in the journey definition"})
    return warnings


def owner_errors(session: Session, rule: Rule, text: str) -> list[yamlmarks.Issue]:
    """The rule's ticket owner and escalation target must be existing users."""
    if not isinstance(rule, ResponseRule) or rule.ticket is None:
        return []
    root = yamlmarks.compose(text) if text else None
    issues = []
    for path, email in ((("ticket", "owner"), rule.ticket.owner),
                        (("ticket", "escalation", "reassign_to"), rule.ticket.escalation.reassign_to)):
        if email and email != "lead" and not user_exists(session, email):
            issues.append(yamlmarks.Issue(*yamlmarks.locate(root, path), yamlmarks.format_path(path),
                                          f"no user {email!r}; add one with `journeylens user add {email} --role agent`"))
    return issues


def check_rule(session: Session | None, text: str, *, source: str, seen_touchpoints: set[str] | None = None,
               defined_touchpoints: set[str] | None = None) -> tuple[Rule, list[dict[str, Any]]]:
    """Validate rule YAML (and its owners, when a session is given); returns the rule and its warnings."""
    rule = parse_rule(text, source=source)
    if session is not None:
        issues = owner_errors(session, rule, text)
        if issues:
            message, details = yamlmarks.problems("Alert rule", source, issues)
            raise RuleError(message, details=details)
    return rule, rule_warnings(rule, text, seen_touchpoints=seen_touchpoints, defined_touchpoints=defined_touchpoints)


def save_rule(session: Session, rule: Rule, text: str, *, actor: str) -> AlertRule:
    """Add the rule, or replace the definition of the rule with the same name (status kept)."""
    row = session.scalar(select(AlertRule).where(AlertRule.name == rule.name))
    now = utcnow()
    if row is None:
        row = AlertRule(name=rule.name, kind=rule.kind, status="active", created_by=actor, created_at=now)
        session.add(row)
    row.kind, row.definition, row.source_yaml, row.updated_at = rule.kind, to_definition(rule), text, now
    session.flush()
    record(session, actor=actor, action="alert_rule.save", target=rule.name, details={"kind": rule.kind})
    return row


def get_rule(session: Session, name: str) -> AlertRule:
    row = session.scalar(select(AlertRule).where(AlertRule.name == name))
    if row is None:
        names = ", ".join(session.scalars(select(AlertRule.name).order_by(AlertRule.name))) or "(none)"
        raise NotFoundError(f"No alert rule {name!r}; rules: {names}.", details={"rule": name})
    return row


def list_rules(session: Session, *, kind: str | None = None, active_only: bool = False) -> list[AlertRule]:
    query = select(AlertRule).order_by(AlertRule.name)
    if kind:
        query = query.where(AlertRule.kind == kind)
    if active_only:
        query = query.where(AlertRule.status == "active")
    return list(session.scalars(query))


def set_status(session: Session, name: str, status: str, *, actor: str) -> AlertRule:
    row = get_rule(session, name)
    row.status, row.updated_at = status, utcnow()
    record(session, actor=actor, action=f"alert_rule.{'pause' if status == 'paused' else 'resume'}", target=name)
    return row


def delete_rule(session: Session, name: str, *, actor: str) -> None:
    row = get_rule(session, name)
    session.delete(row)
    record(session, actor=actor, action="alert_rule.delete", target=name)


def rule_row(row: AlertRule) -> dict[str, Any]:
    """``journeylens alert list --json`` shape of one rule."""
    return {"name": row.name, "kind": row.kind, "status": row.status, "created_by": row.created_by,
            "created_at": _iso(row.created_at), "updated_at": _iso(row.updated_at),
            "last_run_at": _iso(row.last_run_at), "last_fired_at": _iso(row.last_fired_at),
            "last_error": row.last_error, "last_error_at": _iso(row.last_error_at)}


def rule_detail(session: Session, row: AlertRule, *, recent: int = 20) -> dict[str, Any]:
    alerts = session.scalars(select(Alert).where(Alert.rule_id == row.id).order_by(Alert.id.desc()).limit(recent))
    return {**rule_row(row), "definition": row.definition, "yaml": row.source_yaml,
            "recent_alerts": [alert_row(a) for a in alerts]}


def list_alerts(session: Session, *, status: str = "open", rule: str | None = None,
                limit: int = 500) -> list[Alert]:
    query = select(Alert).order_by(Alert.fired_at.desc(), Alert.id.desc()).limit(limit)
    if status != "all":
        query = query.where(Alert.status == status)
    if rule:
        query = query.where(Alert.rule_name == rule)
    return list(session.scalars(query))


def alert_row(alert: Alert) -> dict[str, Any]:
    """``journeylens alerts --json`` shape."""
    return {"alert_id": alert.id, "rule": alert.rule_name, "kind": alert.kind, "subject": alert.subject,
            "fired_at": _iso(alert.fired_at), "explanation": alert.explanation, "status": alert.status}


def close_alert(session: Session, alert_id: int, *, actor: str) -> Alert:
    alert = session.get(Alert, alert_id)
    if alert is None:
        raise NotFoundError(f"No alert {alert_id}.")
    alert.status, alert.closed_at, alert.open_key = "closed", utcnow(), None
    record(session, actor=actor, action="alert.close", target=str(alert_id))
    return alert


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
