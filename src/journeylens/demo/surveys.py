"""The demo's surveys: four survey files, and invitations sent from the demo's own journeys.

The demo's events are history (older than any answer window), so after adding the surveys the
latest matching events of a few customers are put through the live trigger path *as if they
arrived now* — the same :func:`journeylens.operations.surveys.triggers.evaluate` the collector
uses, nothing is written to the warehouse — which invites those customers with links a person
can open (no SMTP needed: the link list is the delivery).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import ibis

from journeylens.operations.appdb import AppDatabase
from journeylens.operations.models import utcnow
from journeylens.operations.surveys import registry, stats
from journeylens.operations.surveys.triggers import active_surveys, evaluate

HERE = Path(__file__).parent
DEMO_SURVEYS = ("branch-visit", "call-centre", "exit", "enps")
_PICK = {"branch-visit": "Branch service visit", "call-centre": "Call centre: %", "exit": "Account closed"}


def add_demo_surveys(db: AppDatabase) -> list[str]:
    with db.session() as session:
        for name in DEMO_SURVEYS:
            path = HERE / f"{name}.survey.yaml"
            registry.add_survey(session, path.read_text(encoding="utf-8"), source=str(path))
    return list(DEMO_SURVEYS)


def send_demo_invitations(lens: Any, db: AppDatabase, *, per_survey: int = 4) -> list[stats.InvitationRow]:
    """Invite the customers behind the latest matching demo events, as if those events arrived now."""
    events = lens.warehouse.table("events")
    definition = lens.definition
    now = utcnow()
    rows: list[dict[str, Any]] = []
    for survey, pattern in _PICK.items():
        match = events.touchpoint.like(pattern) if "%" in pattern else events.touchpoint == ibis.literal(pattern)
        picked = (events.filter(match, events.customer_id.notnull())
                  .order_by(ibis.desc(events.timestamp)).limit(per_survey)
                  .select("customer_id", "timestamp", "touchpoint", "channel", "event_id", "_key", "_seq")
                  .to_pyarrow().to_pylist())
        for i, row in enumerate(picked):
            row["timestamp"] = now - timedelta(minutes=i + 1)
            rule = definition.rule_for(row["touchpoint"])
            row["_stage"] = rule.stage if rule is not None else None
            if survey == "exit":
                row["_outcome"] = "churn"
            row["properties"] = '{"email": "' + f"{row['customer_id']}@customers.example" + '"}'
        rows.extend(picked)
    evaluate(db, lens.settings, active_surveys(db), rows,
             stage_of=lambda name: (r.stage if (r := definition.rule_for(name)) is not None else None), now=now)
    return stats.invitations(db, lens.settings, limit=100)
