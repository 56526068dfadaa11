"""One customer's whole history: what they did and what they said, in time order.

:func:`customer_timeline` merges the customer's ``journey_events`` (with stage, channel,
episode and step) and ``feedback`` rows (scores and comments) into one list of ``items``
ordered by time (an event before a feedback row at the same instant, events in (timestamp,
_seq) order), and adds the customer's attributes and outcomes from the ``customers`` table.

Identity stitching is visible: ``anonymous_ids`` lists the anonymous ids merged into the
customer, feedback given under any of them is included, and looking up an anonymous id that
was linked to a customer opens that customer (``resolved_from`` says so). Never-linked
visitors are customers named ``anon:<anonymous id>``.

>>> from journeylens.analyses.timeline import customer_timeline   # doctest: +SKIP
>>> customer_timeline(lens.events(), "c-42", feedback=wh.table("feedback")).to_dict()["summary"]  # doctest: +SKIP
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import ibis.expr.types as ir
import pandas as pd

from journeylens.analyses.result import plain
from journeylens.errors import NotFoundError

if TYPE_CHECKING:
    from journeylens.journeys.definition import JourneyDefinition

ANON_PREFIX = "anon:"
NO_STAGE = "(no stage)"
#: The timeline chart's row of feedback answers, kept apart from the stages.
FEEDBACK_ROW = "feedback answers"
EVENT_COLUMNS = ("timestamp", "touchpoint", "channel", "stage", "stage_order", "episode", "step",
                 "anonymous_id", "event_id", "properties", "_seq")
FEEDBACK_COLUMNS = ("timestamp", "response_id", "touchpoint", "channel", "survey", "nps", "csat", "ces",
                    "comment", "language")
ATTRIBUTE_COLUMNS = ("segment", "region", "plan", "value")
OUTCOME_COLUMNS = ("churned", "churn_date", "revenue")


@dataclass(frozen=True, repr=False)
class TimelineResult:
    """``to_dict()`` -> ``{"customer_id", "resolved_from", "anonymous_ids", "attributes",
    "outcomes", "summary": {events, feedback, first_seen, last_seen, episodes, stages},
    "items": [{kind: "event"|"feedback", timestamp, ...}]}``."""

    customer_id: str
    items: Sequence[Mapping[str, Any]]
    anonymous_ids: Sequence[str] = ()
    attributes: Mapping[str, Any] = field(default_factory=dict)
    outcomes: Mapping[str, Any] = field(default_factory=dict)
    resolved_from: str | None = None

    def summary(self) -> dict[str, Any]:
        events = [i for i in self.items if i["kind"] == "event"]
        stages: list[str] = []
        for e in events:
            if e.get("stage") and e["stage"] not in stages:
                stages.append(e["stage"])
        times = [i["timestamp"] for i in self.items if i["timestamp"] is not None]
        return {"events": len(events), "feedback": len(self.items) - len(events),
                "first_seen": min(times) if times else None, "last_seen": max(times) if times else None,
                "episodes": len({e["episode"] for e in events if e.get("episode") is not None}),
                "stages": stages}

    def to_dict(self) -> dict[str, Any]:
        return plain({"customer_id": self.customer_id, "resolved_from": self.resolved_from,
                      "anonymous_ids": list(self.anonymous_ids), "attributes": dict(self.attributes),
                      "outcomes": dict(self.outcomes), "summary": self.summary(),
                      "items": [dict(i) for i in self.items]})

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([dict(i) for i in self.items])

    def figure(self) -> Any:
        """Events as markers on a date axis, one row per stage in journey order (top to bottom);
        feedback as stars on a row of its own, apart from the stages."""
        import plotly.graph_objects as go

        from journeylens.analyses.chart_rules import axis_category, date_axis

        frame = self.to_frame()
        if frame.empty:
            return go.Figure()
        events = frame[frame["kind"] == "event"]
        fb = frame[frame["kind"] == "feedback"]
        stage_rows = events.assign(stage=events["stage"].fillna(NO_STAGE))
        order = (stage_rows.assign(order=stage_rows.get("stage_order", pd.Series(dtype=float)).fillna(1e9))
                 .groupby("stage")["order"].min().sort_values(kind="stable"))
        scores = [" · ".join(f"{m.upper()} {row[m]:g}" for m in ("nps", "csat", "ces")
                             if m in fb.columns and pd.notna(row.get(m))) for _, row in fb.iterrows()]
        fig = go.Figure([
            go.Scatter(x=stage_rows["timestamp"], y=stage_rows["stage"], mode="markers", name="events",
                       customdata=stage_rows[["touchpoint", "channel"]].fillna("").to_numpy().tolist(),
                       hovertemplate="%{x|%Y-%m-%d %H:%M}: %{customdata[0]} (%{customdata[1]})<extra></extra>"),
            go.Scatter(x=fb["timestamp"], y=[FEEDBACK_ROW] * len(fb), mode="markers", marker_symbol="star",
                       marker_size=12, name="feedback", customdata=[[s] for s in scores],
                       hovertemplate="%{x|%Y-%m-%d %H:%M}: %{customdata[0]}<extra>feedback</extra>"),
        ])
        fig.update_layout(xaxis=date_axis("Date (UTC)"))
        rows = [FEEDBACK_ROW, *order.index.tolist()] if len(fb) else order.index.tolist()
        return axis_category(fig, "y", title="Stage (journey order, top to bottom)", order=rows[::-1])

    def __repr__(self) -> str:
        return f"TimelineResult({self.customer_id!r}, {len(self.items)} items)"


def customer_timeline(events: ir.Table, customer_id: str, *, feedback: ir.Table | None = None,
                      customers: ir.Table | None = None,
                      definition: JourneyDefinition | None = None) -> TimelineResult:
    """The merged, time-ordered history of ``customer_id`` (a customer id, an ``anon:`` id, or
    an anonymous id linked to a customer). Raises :class:`NotFoundError` for an unknown id."""
    resolved_from = None
    mine = events.filter(events.customer_id == customer_id)
    event_rows = _rows(mine, EVENT_COLUMNS)
    if not event_rows:
        owner = _owner_of_anonymous(events, customer_id)
        if owner is not None:
            resolved_from, customer_id = customer_id, owner
            event_rows = _rows(events.filter(events.customer_id == customer_id), EVENT_COLUMNS)
    profile = _profile(customers, customer_id)
    if not event_rows and profile is None:
        raise NotFoundError(
            f"No customer {customer_id!r}: no journey events and no customers row have that id "
            "(ids are case-sensitive; never-linked visitors are named 'anon:<anonymous id>').",
            details={"customer_id": customer_id})
    anonymous = sorted({r["anonymous_id"] for r in event_rows if r.get("anonymous_id")})
    if customer_id.startswith(ANON_PREFIX) and customer_id[len(ANON_PREFIX):] not in anonymous:
        anonymous.insert(0, customer_id[len(ANON_PREFIX):])
    feedback_rows = _feedback(feedback, [customer_id, *anonymous])
    items = [{"kind": "event", **{k: v for k, v in r.items() if k != "_seq"}, "_order": (0, r["_seq"] or 0)}
             for r in event_rows]
    items += [{"kind": "feedback", **r, "_order": (1, i)} for i, r in enumerate(feedback_rows)]
    items.sort(key=lambda i: (i["timestamp"] is None, i["timestamp"] or 0, i["_order"]))
    attributes, outcomes = _split_profile(profile)
    outcomes = {**outcomes, **_journey_outcomes(events, customer_id, definition)}
    return TimelineResult(customer_id=customer_id, resolved_from=resolved_from, anonymous_ids=tuple(anonymous),
                          attributes=attributes, outcomes=outcomes,
                          items=tuple({k: v for k, v in i.items() if k != "_order"} for i in items))


def _rows(table: ir.Table, columns: Sequence[str]) -> list[dict[str, Any]]:
    present = [c for c in columns if c in table.columns]
    order = [c for c in ("timestamp", "_seq") if c in present]
    return [dict(r) for r in table.select(*present).order_by(order).to_pyarrow().to_pylist()]


def _owner_of_anonymous(events: ir.Table, anonymous_id: str) -> str | None:
    linked = events.filter(events.anonymous_id == anonymous_id).select("customer_id").distinct()
    owners = [r["customer_id"] for r in linked.limit(2).to_pyarrow().to_pylist()]
    return owners[0] if len(owners) == 1 else None


def _profile(customers: ir.Table | None, customer_id: str) -> dict[str, Any] | None:
    if customers is None:
        return None
    rows = customers.filter(customers.customer_id == customer_id).limit(1).to_pyarrow().to_pylist()
    return rows[0] if rows else None


def _split_profile(profile: Mapping[str, Any] | None) -> tuple[dict[str, Any], dict[str, Any]]:
    if profile is None:
        return {}, {}
    attributes = {k: profile.get(k) for k in ATTRIBUTE_COLUMNS if profile.get(k) is not None}
    extra = profile.get("attributes")
    if extra:
        try:
            parsed = json.loads(extra)
        except ValueError:
            parsed = {"attributes": extra}
        attributes.update(parsed if isinstance(parsed, dict) else {"attributes": parsed})
    outcomes = {k: profile.get(k) for k in OUTCOME_COLUMNS if profile.get(k) is not None}
    return attributes, outcomes


def _feedback(feedback: ir.Table | None, ids: Sequence[str]) -> list[dict[str, Any]]:
    if feedback is None:
        return []
    return _rows(feedback.filter(feedback.customer_id.isin(list(ids))), FEEDBACK_COLUMNS)


def _journey_outcomes(events: ir.Table, customer_id: str, definition: JourneyDefinition | None) -> dict[str, Any]:
    if definition is None:
        return {}
    from journeylens.analyses.cohorts import customer_outcomes

    mine = events.filter(events.customer_id == customer_id)
    rows = customer_outcomes(mine, definition).to_pyarrow().to_pylist()
    if not rows:
        return {}
    return {"converted": bool(rows[0]["converted"]), "churn_event": bool(rows[0]["churned"])}
