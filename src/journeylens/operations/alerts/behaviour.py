"""Metric rules on behaviour: conversion, churn and drop-off at a funnel step, with Wilson intervals.

Each is a share of customers over the rule's window ``[as_of - window_days, as_of)``, computed
by the same analyses as every other surface, so a rule quotes the dashboard's numbers:

* ``conversion`` / ``churn`` — :func:`journeylens.analyses.outcomes.outcomes` over the events
  in the window (``where:`` filters them like the dashboard's filters): of the customers
  active then, the share who converted / churned (in the window);
* ``drop_off`` — :func:`journeylens.analyses.funnel.funnel` with the two steps ``step`` →
  ``next_step`` (ordered): of the customers who reached ``step`` in the window, the share who
  did not reach ``next_step`` in it. ``next_step`` defaults to the touchpoint customers most
  often go to straight after ``step`` in the window (the journey's usual path).

The interval is Wilson's (:func:`journeylens.analyses.stats.wilson_interval`); ``n`` is the
number of customers behind the share. A customer who reached ``step`` just before ``as_of``
has had little time to move on: judge drop-off on windows that are long compared with the
usual time between the two steps (the demo's KYC → approval takes minutes to hours).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import ibis

from journeylens.analyses import stats

#: Behaviour metrics a metric rule may watch (the others are CX metrics of the feedback).
BEHAVIOUR_METRICS: tuple[str, ...] = ("conversion", "churn", "drop_off")
#: Lower is better for these: ``target: true`` is not offered (targets are "higher is better").
LOWER_IS_BETTER: tuple[str, ...] = ("churn", "drop_off")


def usual_next_step(events: Any, step: str) -> str | None:
    """The touchpoint customers most often go to straight after ``step`` (ties: by name); None
    when nobody moved on."""
    order = ibis.window(group_by="customer_id", order_by=[events.timestamp, events._seq])
    walked = events.mutate(_next=events.touchpoint.lead().over(order))
    after = walked.filter((walked.touchpoint == ibis.literal(step)) & walked._next.notnull()
                          & (walked._next != ibis.literal(step)))
    top = (after.group_by("_next").aggregate(n=after.count())
           .order_by([ibis.desc("n"), "_next"]).limit(1).to_pyarrow().to_pylist())
    return str(top[0]["_next"]) if top else None


def _share_row(metric: str, hits: int, n: int) -> dict[str, Any]:
    low, high = stats.wilson_interval(hits, n)
    return {metric: hits / n if n else None, f"{metric}_low": low if n else None,
            f"{metric}_high": high if n else None, f"{metric}_n": n, f"{metric}_hits": hits}


def behaviour_window(lens: Any, rule: Any, as_of: datetime, filters: Any) -> dict[str, Any] | None:
    """The share, its interval and ``n`` of the rule's subject over its window (None: no events)."""
    if lens.warehouse.count("events") == 0:
        return None
    events = lens.events()
    customers = lens.warehouse.table("customers")
    if rule.metric == "drop_off":
        from journeylens.analyses.funnel import funnel

        window = filters.apply(events, lens.definition, customers)
        following = rule.next_step or usual_next_step(window, rule.step)
        if following is None:  # nobody went on from the step: every customer who reached it dropped off
            at_step = window.filter(window.touchpoint == ibis.literal(rule.step))
            reached = int(at_step.customer_id.nunique().to_pyarrow().as_py() or 0)
            return {**_share_row("drop_off", reached, reached), "step": rule.step, "next_step": "any other step"}
        rows = funnel(events, steps=[rule.step, following], mode="ordered", filters=filters,
                      definition=lens.definition, customers=customers).records
        reached, moved_on = int(rows[0]["customers"] or 0), int(rows[1]["customers"] or 0)
        return {**_share_row("drop_off", reached - moved_on, reached), "step": rule.step, "next_step": following}
    from journeylens.analyses.outcomes import outcomes

    overall = outcomes(events, filters=filters, definition=lens.definition, customers=customers).overall
    n = int(overall.get("customers") or 0)
    hits = int(overall.get("converted" if rule.metric == "conversion" else "churned") or 0)
    return _share_row(rule.metric, hits, n)

