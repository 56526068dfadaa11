"""Running metric and anomaly rules: by the worker on a schedule, or on demand (``alert run``).

Each rule is judged at ``as_of`` (now, or a past instant when replaying history); a subject
that meets the condition fires (deduplicated, with the rule's cool-down), and an open alert
whose subject no longer meets it closes. A rule that fails records its error on its row
(shown on its page) and does not stop the others.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from journeylens.errors import JourneyLensError
from journeylens.operations.alerts import anomalies, metric_rules, notifications
from journeylens.operations.alerts.firing import fire, resolve_cleared
from journeylens.operations.alerts.models import AlertRule
from journeylens.operations.alerts.rules import AnomalyRule, MetricRule, Rule, rule_from_definition
from journeylens.operations.alerts.store import alert_row, list_rules
from journeylens.operations.appdb import AppDatabase
from journeylens.operations.models import utcnow

log = logging.getLogger(__name__)


@dataclass
class RunReport:
    as_of: datetime
    judged: list[dict[str, Any]] = field(default_factory=list)
    fired: list[dict[str, Any]] = field(default_factory=list)
    closed: int = 0
    errors: list[dict[str, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"as_of": self.as_of.isoformat(), "judged": self.judged, "fired": self.fired, "closed": self.closed,
                "errors": self.errors}


def verdicts(lens: Any, rule: Rule, as_of: datetime) -> list[metric_rules.Verdict]:
    """Judge one metric or anomaly rule (nothing stored): what ``alert check`` shows."""
    if isinstance(rule, MetricRule):
        return [metric_rules.judge(lens, rule, as_of)]
    if isinstance(rule, AnomalyRule):
        return anomalies.judge(lens, rule, as_of)
    return []


def _apply(session: Session, stored: AlertRule, rule: Rule, found: list[metric_rules.Verdict], as_of: datetime,
           report: RunReport) -> None:
    for verdict in found:
        report.judged.append({"rule": stored.name, "subject": verdict.subject, "fires": verdict.fires,
                              "explanation": verdict.explanation})
        if not verdict.fires:
            continue
        alert = fire(session, stored, verdict.subject, verdict.explanation, details=verdict.details,
                     cooldown_minutes=rule.cooldown_minutes, now=as_of)
        if alert is None:
            continue
        report.fired.append(alert_row(alert))
        notifications.queue(session, targets=notifications.rule_targets(rule), event_type="alert.fired",
                            event_key=f"alert-{alert.id}", subject=f"[JourneyLens] {stored.name}: {verdict.subject}",
                            text=verdict.explanation,
                            data={"rule": stored.name, "alert": {**alert_row(alert), "details": verdict.details}},
                            source=notifications.rule_source(stored.id))
    report.closed += len(resolve_cleared(session, stored, {v.subject for v in found if v.fires}, now=as_of))


def run_rules(lens: Any, db: AppDatabase, *, as_of: datetime | None = None,
              names: list[str] | None = None) -> RunReport:
    """Judge every active metric and anomaly rule (or only ``names``) at ``as_of``."""
    as_of = as_of or utcnow()
    report = RunReport(as_of=as_of)
    with db.session() as session:
        rows = [r for r in list_rules(session, active_only=True) if r.kind in ("metric", "anomaly")
                and (names is None or r.name in names)]
        ids = [r.id for r in rows]
    for rule_id in ids:
        with db.session() as session:
            stored = session.get(AlertRule, rule_id)
            if stored is None:
                continue
            rule = rule_from_definition(stored.definition)
            stored.last_run_at = utcnow()
            try:
                found = verdicts(lens, rule, as_of)
            except JourneyLensError as exc:
                stored.last_error, stored.last_error_at = exc.message, utcnow()
                report.errors.append({"rule": stored.name, "error": exc.message})
                continue
            except Exception as exc:  # one broken rule must not stop the others
                log.exception("alert rule %s failed", stored.name)
                stored.last_error, stored.last_error_at = f"{type(exc).__name__}: {exc}", utcnow()
                report.errors.append({"rule": stored.name, "error": stored.last_error})
                continue
            _apply(session, stored, rule, found, as_of, report)
    return report
