"""Response rules: judge each new feedback row, fire alerts, open tickets, queue notifications.

:func:`handle_batch` runs from the ``rows_landed`` hook (file ingest, HTTP upload, collector
load, survey answers) for one warehouse batch. Everything a batch causes — alerts, tickets,
outbox messages and the ``alert_batches`` row that marks it done — commits in one
app-database transaction. A process killed before that commit leaves the batch unmarked,
and :func:`catch_up` (a worker job) handles it again; tickets are unique per response and
rule, so nothing is lost and nothing doubles.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import ibis
from sqlalchemy import select
from sqlalchemy.orm import Session

from journeylens.operations.alerts import notifications
from journeylens.operations.alerts.bulk import Hit, fire_batch
from journeylens.operations.alerts.conditions import Test, resolve
from journeylens.operations.alerts.firing import fire
from journeylens.operations.alerts.models import AlertBatch, AlertRule
from journeylens.operations.alerts.rules import ResponseRule, rule_from_definition
from journeylens.operations.alerts.store import alert_row
from journeylens.operations.appdb import AppDatabase
from journeylens.operations.models import utcnow
from journeylens.operations.tickets.routing import route
from journeylens.operations.tickets.service import create_ticket, find_ticket

log = logging.getLogger(__name__)
TABLE = "feedback"
_SENTIMENT_WORDS = {"pos": "positive", "neu": "neutral", "neg": "negative"}


@dataclass
class BatchReport:
    batch: str
    responses: int = 0
    alerts: int = 0
    tickets: int = 0
    skipped: bool = False
    fired: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"batch": self.batch, "responses": self.responses, "alerts": self.alerts,
                "tickets": self.tickets, "skipped": self.skipped}


def response_key(row: Mapping[str, Any]) -> str:
    """A stable key of one response: its id, else its dedupe key, else a hash of its content."""
    for name in ("response_id", "_key"):
        if row.get(name):
            return str(row[name])
    content = [str(row.get(c)) for c in ("customer_id", "timestamp", "touchpoint", "survey", "nps", "csat", "ces",
                                         "comment")]
    return "content:" + hashlib.sha256("|".join(content).encode()).hexdigest()[:32]


def _json(text: Any) -> dict[str, Any]:
    if not text:
        return {}
    try:
        value = json.loads(text)
    except (TypeError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def read_batch(lens: Any, batch: str) -> list[dict[str, Any]]:
    """The feedback rows of one ingest batch, in ingest order."""
    feedback = lens.warehouse.table(TABLE)
    rows = feedback.filter(feedback._batch == ibis.literal(batch)).order_by("_seq").to_pyarrow().to_pylist()
    for row in rows:
        row["_metrics"], row["_properties"] = _json(row.get("metrics")), _json(row.get("properties"))
    return rows


def _needs(rules: Sequence[ResponseRule], prefix: str) -> bool:
    return any(f == prefix or f.startswith(prefix + ".") for r in rules for f in r.when)


def _customers(lens: Any, ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    wanted = sorted({i for i in ids if i})
    if not wanted:
        return {}
    customers = lens.warehouse.table("customers")
    rows = customers.filter(customers.customer_id.isin(wanted)).to_pyarrow().to_pylist()
    out: dict[str, dict[str, Any]] = {}
    for row in rows:
        attributes = {**_json(row.pop("attributes", None)),
                      **{k: v for k, v in row.items() if not k.startswith("_") and v is not None}}
        out[str(row["customer_id"])] = attributes
    return out


def _definition(lens: Any) -> Any:
    definition = getattr(lens, "_definition", None)
    if definition is None and lens.warehouse.count("events") > 0:
        definition = lens.definition
    return definition


def build_contexts(lens: Any, rows: list[dict[str, Any]], rules: Sequence[ResponseRule]) -> list[dict[str, Any]]:
    """Per row: its stage, its customer's attributes, its comment's sentiment — only what rules use."""
    definition = _definition(lens) if (_needs(rules, "stage") or any(
        r.ticket and r.ticket.assignment == "touchpoint_owner" for r in rules)) else None
    stages = {t.name: t.stage for t in definition.touchpoints} if definition is not None else {}
    owners = {t.name: t.owner for t in definition.touchpoints if t.owner} if definition is not None else {}
    customers = _customers(lens, (str(r.get("customer_id") or "") for r in rows)) if _needs(rules, "customer") else {}
    sentiments: list[str | None] = [None] * len(rows)
    if _needs(rules, "sentiment"):
        from journeylens.text.sentiment import score_texts

        scored = score_texts([r.get("comment") for r in rows], [r.get("language") for r in rows])
        sentiments = [_SENTIMENT_WORDS.get(label) for _, label, _ in scored]
    return [{"stage": stages.get(str(r.get("touchpoint"))), "touchpoint_owner": owners.get(str(r.get("touchpoint"))),
             "customer": customers.get(str(r.get("customer_id")), {}), "sentiment": sentiments[i]}
            for i, r in enumerate(rows)]


def matches(tests: Sequence[Test], row: Mapping[str, Any], ctx: Mapping[str, Any]) -> bool:
    return all(t.holds(resolve(t.field, row, ctx)) for t in tests)


def explain(tests: Sequence[Test], row: Mapping[str, Any], ctx: Mapping[str, Any]) -> str:
    parts = [f"{t.describe()} (was {resolve(t.field, row, ctx)!r})" for t in tests]
    who = row.get("customer_id") or "an anonymous customer"
    return f"Response {response_key(row)} from {who}: " + "; ".join(parts) + "."


def _public(row: Mapping[str, Any]) -> dict[str, Any]:
    keep = ("response_id", "customer_id", "timestamp", "touchpoint", "channel", "survey", "nps", "csat", "ces",
            "comment", "language")
    out = {k: row.get(k) for k in keep}
    contact = {k: str(v) for k, v in (row.get("_properties") or {}).items() if k in ("email", "phone") and v}
    if contact:
        out["contact"] = contact  # for the follow-up survey after closure
    out["timestamp"] = out["timestamp"].isoformat() if isinstance(out["timestamp"], datetime) else out["timestamp"]
    return out


def find_hits(rules: Sequence[tuple[AlertRule, ResponseRule]], rows: list[dict[str, Any]],
              contexts: list[dict[str, Any]]) -> list[Hit]:
    """Every (rule, row) pair that matches, in rule then ingest order."""
    hits = []
    for stored, rule in rules:
        tests = rule.tests
        for row, ctx in zip(rows, contexts, strict=True):
            if matches(tests, row, ctx):
                hits.append(Hit(stored=stored, rule=rule, key=response_key(row), explanation=explain(tests, row, ctx),
                                response=_public(row), touchpoint_owner=ctx.get("touchpoint_owner")))
    return hits


def judge_rows(session: Session, rules: Sequence[tuple[AlertRule, ResponseRule]], rows: list[dict[str, Any]],
               contexts: list[dict[str, Any]], *, timezone: str, now: datetime) -> BatchReport:
    """Fire every rule on every matching row (in ``session``; the caller commits).

    Set-wise first (:mod:`journeylens.operations.alerts.bulk`); when a concurrent writer
    conflicts, row by row, where each conflict is settled on its own.
    """
    hits = find_hits(rules, rows, contexts)
    report = BatchReport(batch="")
    fired = fire_batch(session, hits, timezone=timezone, now=now) if hits else None
    if fired is not None:
        report.alerts, report.tickets = fired.alerts, fired.tickets
        return report
    for hit in hits:
        _fire_one(session, hit, report, timezone=timezone, now=now)
    return report


def _fire_one(session: Session, hit: Hit, report: BatchReport, *, timezone: str, now: datetime) -> None:
    stored, rule = hit.stored, hit.rule
    alert = fire(session, stored, f"response:{hit.key}", hit.explanation, details={"response": hit.response},
                 cooldown_minutes=rule.cooldown_minutes, now=now)
    ticket = None
    if rule.ticket is not None:
        known = find_ticket(session, stored.id, hit.key)
        owner, team = route(session, rule.ticket, hit.touchpoint_owner) if known is None else (None, None)
        ticket = known or create_ticket(
            session, rule_id=stored.id, rule_name=stored.name, response_key=hit.key, response=hit.response,
            priority=rule.ticket.priority, owner=owner, team=team, business_hours=rule.ticket.business_hours,
            first_contact_hours=rule.ticket.first_contact_hours, close_hours=rule.ticket.close_hours,
            alert_id=alert.id if alert else None, timezone=timezone, now=now)
        report.tickets += int(known is None)
    if alert is not None:
        report.alerts += 1
        message = notifications.alert_message(stored, rule, {**alert_row(alert), "details": alert.details,
                                                             "fired_at": alert.fired_at}, ticket, now)
        if message is not None:
            notifications.queue_many(session, [message])


def active_response_rules(session: Session, since: datetime | None = None) -> list[tuple[AlertRule, ResponseRule]]:
    """Active response rules (created at or before ``since`` when given, for catch-up)."""
    query = select(AlertRule).where(AlertRule.kind == "response", AlertRule.status == "active")
    if since is not None:
        query = query.where(AlertRule.created_at <= since)
    out = []
    for stored in session.scalars(query.order_by(AlertRule.id)):
        rule = rule_from_definition(stored.definition)
        assert isinstance(rule, ResponseRule)
        out.append((stored, rule))
    return out


def handle_batch(lens: Any, db: AppDatabase, batch: str, *, landed_at: datetime | None = None,
                 now: datetime | None = None) -> BatchReport:
    """Judge one feedback batch once (a batch already marked done is skipped)."""
    now = now or utcnow()
    with db.session() as session:
        if session.get(AlertBatch, (TABLE, batch)) is not None:
            return BatchReport(batch=batch, skipped=True)
        rules = active_response_rules(session, landed_at)
        rows = read_batch(lens, batch) if rules else []
        contexts = build_contexts(lens, rows, [r for _, r in rules]) if rows else []
        # The "batch done" row first: its INSERT opens the real transaction, so the savepoints
        # below nest inside it (pysqlite would otherwise let a savepoint's RELEASE commit).
        session.add(AlertBatch(table_name=TABLE, batch=batch, processed_at=now, responses=len(rows)))
        session.flush()
        report = judge_rows(session, rules, rows, contexts, timezone=lens.settings.timezone, now=now)
        report.batch, report.responses = batch, len(rows)
    return report


def unhandled_batches(lens: Any, db: AppDatabase, *, limit: int = 50) -> list[tuple[str, datetime | None]]:
    """Feedback batches the warehouse holds that landed after the first active response rule
    was created and that no worker has marked done (oldest first)."""
    with db.session() as session:
        first_rule = session.scalar(select(AlertRule.created_at).where(
            AlertRule.kind == "response", AlertRule.status == "active").order_by(AlertRule.created_at).limit(1))
        if first_rule is None:
            return []
        done = set(session.scalars(select(AlertBatch.batch).where(AlertBatch.table_name == TABLE)))
    log_t = lens.warehouse.table("ingest_log")
    recent = log_t.filter((log_t.table == TABLE) & (log_t.accepted > 0) & (log_t.finished_at >= first_rule))
    rows = recent.order_by("finished_at").select("_batch", "finished_at").to_pyarrow().to_pylist()
    return [(r["_batch"], r["finished_at"]) for r in rows if r["_batch"] not in done][:limit]


def catch_up(lens: Any, db: AppDatabase, *, now: datetime | None = None) -> list[BatchReport]:
    """Handle every batch the live hook missed (a crash, a worker that was down)."""
    return [handle_batch(lens, db, batch, landed_at=finished, now=now)
            for batch, finished in unhandled_batches(lens, db)]
