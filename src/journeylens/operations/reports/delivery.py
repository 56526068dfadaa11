"""Scheduled delivery of the state-of-the-journey report (a worker job, a built-in plugin).

Every run renders the report once for all due schedules and queues one email per recipient
in the durable outbox, keyed by schedule, due moment and recipient: a worker killed after
queueing and before marking the schedule sent queues nothing twice on the next run.
"""

from __future__ import annotations

import base64
import logging
from datetime import datetime
from typing import Any

from journeylens.hooks import hookimpl
from journeylens.operations.appdb import AppDatabase
from journeylens.operations.outbox import enqueue
from journeylens.operations.reports.render import render_html, render_pdf
from journeylens.operations.reports.schedules import due_schedules, mark_sent
from journeylens.operations.reports.state import state_of_journey

log = logging.getLogger(__name__)
INTERVAL_SECONDS = 900.0


def send_due_reports(db: AppDatabase, lens: Any, now: datetime) -> dict[str, int]:
    """Queue the report for every due schedule; returns ``{"schedules", "emails"}``."""
    due = due_schedules(db, now)
    if not due:
        return {"schedules": 0, "emails": 0}
    content = state_of_journey(lens, db, include_text=False, include_models=True, now=now)
    html = render_html(content)
    pdf = render_pdf(html) if any(s["format"] == "pdf" for s in due) else None
    title = content.to_dict()["title"] + (f": {content.to_dict()['journey']}" if content.to_dict()["journey"] else "")
    emails = 0
    for schedule in due:
        payload: dict[str, Any] = {"subject": f"{title} ({schedule['cadence']} report)",
                                   "text": f"The {schedule['cadence']} state-of-the-journey report '{schedule['name']}'"
                                           " is attached." if pdf and schedule["format"] == "pdf" else
                                   f"The {schedule['cadence']} state-of-the-journey report '{schedule['name']}'.",
                                   "html": html if schedule["format"] == "html" else None}
        if schedule["format"] == "pdf" and pdf is not None:
            payload["attachments"] = [{"filename": "state-of-the-journey.pdf", "content_type": "application/pdf",
                                       "data_base64": base64.b64encode(pdf).decode("ascii")}]
        with db.session() as session:
            for recipient in schedule["recipients"]:
                enqueue(session, channel="email", target=recipient, payload=payload, source="report",
                        idempotency_key=f"report:{schedule['id']}:{schedule['due_at']}:{recipient}")
                emails += 1
        mark_sent(db, schedule["id"], now)
    return {"schedules": len(due), "emails": emails}


def _job(context: Any) -> dict[str, int]:
    return send_due_reports(context.db, context.lens(), context.now)


@hookimpl
def journeylens_worker_jobs() -> list[Any]:
    from journeylens.operations.worker import Job

    return [Job("reports.send_due", interval_seconds=INTERVAL_SECONDS, run=_job)]
