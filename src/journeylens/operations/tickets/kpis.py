"""Close-the-loop KPIs: is every detractor called back, how fast, and does it recover them?

From stored ticket timestamps only (``journeylens tickets stats --json``, ``GET /v1/tickets/stats``,
the overview page):

* ``contacted_within_24h_share`` / ``_48h_`` — of the tickets whose 24 h (48 h) have passed
  or that were contacted, the share first contacted within 24 h (48 h) of opening;
* hours to first contact and to close: median and p90 (tickets that reached them);
* ``breach_rate`` — share of tickets that missed either SLA timer (running ones judged now);
* ``recovery_rate`` — share of closed tickets with outcome ``recovered``;
* ``follow_up_nps`` — NPS of the customers' answers after closure (the follow-up survey when
  the rule names one, else any answer within ``follow_up_days``), when feedback is given;
* ``root_causes`` over time (per month), and every figure ``by`` team, touchpoint, root cause
  or owner.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from journeylens.errors import ParameterError
from journeylens.operations.models import utcnow
from journeylens.operations.tickets.inbox import breached
from journeylens.operations.tickets.models import Ticket

GROUPINGS: tuple[str, ...] = ("team", "touchpoint", "root_cause", "owner", "rule")
FOLLOW_UP_DAYS = 30


def _hours(start: datetime, end: datetime | None) -> float | None:
    return None if end is None else (end - start).total_seconds() / 3600


def _quantile(values: Sequence[float], q: float) -> float | None:
    return float(np.quantile(np.asarray(values, dtype=float), q)) if values else None


def _share_within(tickets: Iterable[Ticket], hours: float, now: datetime) -> float | None:
    decided = hits = 0
    for t in tickets:
        waited = _hours(t.created_at, t.first_contact_at)
        if waited is None and now - t.created_at < timedelta(hours=hours):
            continue  # still inside the window: not decided yet
        decided += 1
        hits += int(waited is not None and waited <= hours)
    return hits / decided if decided else None


def _nps(scores: Sequence[float]) -> float | None:
    if not scores:
        return None
    return 100.0 * (sum(s >= 9 for s in scores) - sum(s <= 6 for s in scores)) / len(scores)


def summary(tickets: Sequence[Ticket], open_names: set[str], now: datetime,
            follow_ups: dict[int, float] | None = None) -> dict[str, Any]:
    """Every KPI over ``tickets``."""
    contact = [h for t in tickets if (h := _hours(t.created_at, t.first_contact_at)) is not None]
    closing = [h for t in tickets if (h := _hours(t.created_at, t.closed_at)) is not None]
    closed = [t for t in tickets if t.closed_at is not None and t.outcome]
    scores = [follow_ups[t.id] for t in tickets if follow_ups and t.id in follow_ups]
    breaches = sum(breached(t, now) for t in tickets)
    return {
        "tickets": len(tickets),
        "open": sum(t.status in open_names for t in tickets),
        "closed": sum(t.status == "closed" for t in tickets),
        "breached": breaches,
        "breach_rate": breaches / len(tickets) if tickets else None,
        "contacted_within_24h_share": _share_within(tickets, 24, now),
        "contacted_within_48h_share": _share_within(tickets, 48, now),
        "median_hours_to_first_contact": _quantile(contact, 0.5),
        "p90_hours_to_first_contact": _quantile(contact, 0.9),
        "median_hours_to_close": _quantile(closing, 0.5),
        "p90_hours_to_close": _quantile(closing, 0.9),
        "recovery_rate": sum(t.outcome == "recovered" for t in closed) / len(closed) if closed else None,
        "follow_up_responses": len(scores),
        "follow_up_nps": _nps(scores),
    }


def root_causes_over_time(tickets: Iterable[Ticket]) -> list[dict[str, Any]]:
    counts: Counter[tuple[str, str]] = Counter()
    for t in tickets:
        if t.closed_at is not None and t.root_cause:
            counts[(f"{t.closed_at:%Y-%m}", t.root_cause)] += 1
    return [{"month": m, "root_cause": c, "tickets": n} for (m, c), n in sorted(counts.items())]


def follow_up_scores(tickets: Sequence[Ticket], feedback_rows: Iterable[dict[str, Any]],
                     surveys: dict[int, str | None], *, days: int = FOLLOW_UP_DAYS) -> dict[int, float]:
    """ticket id → NPS of the customer's first answer after closure (within ``days``)."""
    by_customer: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in feedback_rows:
        if row.get("customer_id") is not None and row.get("nps") is not None:
            by_customer[str(row["customer_id"])].append(row)
    out: dict[int, float] = {}
    for t in tickets:
        if t.closed_at is None or not t.customer_id:
            continue
        wanted = surveys.get(t.id)
        later = sorted((r for r in by_customer.get(t.customer_id, [])
                        if t.closed_at < r["timestamp"] <= t.closed_at + timedelta(days=days)
                        and (wanted is None or r.get("survey") == wanted)), key=lambda r: r["timestamp"])
        if later:
            out[t.id] = float(later[0]["nps"])
    return out


def ticket_stats(tickets: Sequence[Ticket], open_names: set[str], *, by: str | None = None,
                 now: datetime | None = None, follow_ups: dict[int, float] | None = None) -> dict[str, Any]:
    """The stats shape: the overall KPIs, ``root_causes`` per month and ``by`` groups."""
    if by is not None and by not in GROUPINGS:
        raise ParameterError(f"Cannot group ticket stats by {by!r}; allowed: {', '.join(GROUPINGS)}.")
    now = now or utcnow()
    groups: dict[str | None, list[Ticket]] = defaultdict(list)
    if by is not None:
        for t in tickets:
            groups[getattr(t, by if by != "rule" else "rule_name")].append(t)
    rows = [{by: key, **summary(members, open_names, now, follow_ups)}
            for key, members in sorted(groups.items(), key=lambda kv: (kv[0] is None, str(kv[0])))]
    return {**summary(tickets, open_names, now, follow_ups), "root_causes": root_causes_over_time(tickets),
            "by": rows}


def load_stats(session: Any, visibility: Any, *, by: str | None = None, feedback: Any = None,
               now: datetime | None = None) -> dict[str, Any]:
    """:func:`ticket_stats` over the tickets ``visibility`` allows; follow-up NPS when ``feedback``
    (the warehouse's Ibis table) is given."""
    import ibis
    from sqlalchemy import select

    from journeylens.operations.alerts.models import AlertRule
    from journeylens.operations.tickets.service import open_states

    tickets = list(session.scalars(visibility.apply(select(Ticket))))
    follow_ups = None
    closed = [t for t in tickets if t.closed_at is not None and t.customer_id]
    if feedback is not None and closed:
        start = min(t.closed_at for t in closed)
        customers = sorted({t.customer_id for t in closed})
        rows = (feedback.filter(feedback.customer_id.isin(customers) & (feedback.timestamp > ibis.literal(start))
                                & feedback.nps.notnull())
                .select("customer_id", "timestamp", "survey", "nps").to_pyarrow().to_pylist())
        rules = {r.id: r.definition for r in session.scalars(select(AlertRule))}
        surveys = {t.id: ((rules.get(t.rule_id) or {}).get("ticket") or {}).get("follow_up_survey") for t in closed}
        follow_ups = follow_up_scores(closed, rows, surveys)
    return ticket_stats(tickets, set(open_states(session)), by=by, now=now, follow_ups=follow_ups)
