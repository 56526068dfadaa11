"""What the surfaces do with rules, in one place: check, add, show — as JSON-ready dicts.

``journeylens alert …``, ``/v1/alert-rules`` and the dashboard's Rules page call these, so a
rule looks the same everywhere.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from journeylens.operations.alerts import notifications, store
from journeylens.operations.alerts.rules import Rule


def seen_touchpoints(lens: Any) -> set[str] | None:
    """Touchpoints with events or feedback in the warehouse (``None`` when there is no lens)."""
    if lens is None:
        return None
    names: set[str] = set()
    for table in ("events", "feedback"):
        t = lens.warehouse.table(table)
        names.update(v for v in t.select("touchpoint").distinct().to_pyarrow().column(0).to_pylist() if v)
    return names


def _defined(lens: Any) -> set[str] | None:
    definition = getattr(lens, "_definition", None) if lens is not None else None
    return {t.name for t in definition.touchpoints} if definition is not None else None


def check(session: Session | None, lens: Any, text: str, *, source: str,
          as_of: datetime | None = None) -> tuple[Rule, dict[str, Any]]:
    """Validate rule YAML; for metric and anomaly rules also say what they would do at ``as_of``."""
    rule, warnings = store.check_rule(session, text, source=source, seen_touchpoints=seen_touchpoints(lens),
                                      defined_touchpoints=_defined(lens))
    out: dict[str, Any] = {"valid": True, "name": rule.name, "kind": rule.kind, "warnings": warnings}
    if lens is not None and rule.kind != "response" and as_of is not None:
        from journeylens.operations.alerts.scheduled import verdicts

        out["verdicts"] = [{"subject": v.subject, "fires": v.fires, "explanation": v.explanation}
                           for v in verdicts(lens, rule, as_of)]
    return rule, out


def add(session: Session, lens: Any, text: str, *, source: str, actor: str) -> dict[str, Any]:
    """Validate (owners must exist) and save; returns the stored rule and the warnings."""
    rule, checked = check(session, lens, text, source=source)
    row = store.save_rule(session, rule, text, actor=actor)
    return {**store.rule_row(row), "warnings": checked["warnings"]}


def show(session: Session, name: str) -> dict[str, Any]:
    """A rule with its YAML, recent alerts and its notification deliveries (failures included)."""
    row = store.get_rule(session, name)
    return {**store.rule_detail(session, row), "deliveries": notifications.delivery_counts(session, row),
            "delivery_problems": notifications.delivery_problems(session, row)}
