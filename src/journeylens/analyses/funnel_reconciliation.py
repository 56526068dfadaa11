"""The funnel and the journey map, reconciled customer by customer.

The journey map counts every customer with an event at a touchpoint, in any order and at
any time; a funnel counts the customers who reach its steps in order after their first
step-1 event. For every step after the first this table splits the map's count into rows
that add up to it:

* ``reached`` — counted by the funnel at this step;
* ``never_step_1`` — had the step but no step-1 event (or were excluded from the funnel by
  an ``exclude`` event);
* ``stopped_earlier`` — started the funnel but did not reach the previous step;
* ``not_after_previous`` — reached the previous step, but every event at this step came
  before it (or, with ``within_days``, too late; in ``strict`` mode not as the very next event).

``on_map = reached + never_step_1 + stopped_earlier + not_after_previous`` on every row.

>>> import ibis
>>> from datetime import datetime, UTC
>>> events = ibis.memtable({"customer_id": ["a", "a", "b", "b", "c"],
...     "touchpoint": ["approve", "card", "card", "approve", "card"],
...     "timestamp": [datetime(2024, 1, d, tzinfo=UTC) for d in (1, 2, 1, 2, 1)], "_seq": [1, 2, 3, 4, 5]})
>>> row = reconcile_funnel(events, steps=["approve", "card"]).records[0]
>>> (row["on_map"], row["reached"], row["never_step_1"], row["stopped_earlier"], row["not_after_previous"])
(3, 1, 1, 0, 1)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import ibis.expr.types as ir

from journeylens.analyses.filters import Filters
from journeylens.analyses.funnel import checked_funnel
from journeylens.analyses.result import Result
from journeylens.analyses.transitions import journey_nodes

if TYPE_CHECKING:
    from journeylens.journeys.definition import JourneyDefinition

PARTS: tuple[str, ...] = ("reached", "never_step_1", "stopped_earlier", "not_after_previous")
#: What each part means, for tables that decode themselves.
LABELS: dict[str, str] = {
    "on_map": "customers with the step on the journey map",
    "reached": "reached it in the funnel (in order, after the previous step)",
    "never_step_1": "never did step 1 (or were excluded)",
    "stopped_earlier": "started the funnel but stopped before the previous step",
    "not_after_previous": "reached the previous step, but did this step only before it (or outside the window)",
}


@dataclass(frozen=True, repr=False)
class FunnelReconciliationResult(Result):
    """Rows ``step, previous_step, on_map, reached, never_step_1, stopped_earlier, not_after_previous``."""

    title: str = "Funnel vs journey map"

    def figure(self) -> Any:
        """Stacked bars per step: the map's customers split into the parts (they add up)."""
        import plotly.graph_objects as go

        from journeylens.analyses.chart_rules import axis_category, axis_count

        fig = go.Figure()
        steps = [r["step"] for r in self.records]
        for part in PARTS:
            fig.add_trace(go.Bar(name=LABELS[part], y=steps, x=[r[part] for r in self.records], orientation="h",
                                 hovertemplate="%{y}: %{x:,} customers<extra>" + LABELS[part] + "</extra>"))
        fig.update_layout(barmode="stack", legend={"orientation": "h", "y": -0.3})
        axis_count(fig, "x", title="Customers with the step on the journey map")
        return axis_category(fig, "y", title="Funnel step", order=steps[::-1])


def reconcile_funnel(events: ir.Table, *, steps: Sequence[str], level: str = "touchpoint", mode: str = "ordered",
                     within_days: float | None = None, exclude: Sequence[str] = (), filters: Filters | None = None,
                     definition: JourneyDefinition | None = None,
                     customers: ir.Table | None = None) -> FunnelReconciliationResult:
    """Split the map's customers at each step after the first into the parts above."""
    steps, exclude = list(steps), list(exclude or ())
    events, wide = checked_funnel(events, steps=steps, level=level, mode=mode, within_days=within_days,
                                  exclude=exclude, filters=filters, definition=definition, customers=customers)
    nodes = journey_nodes(events, level=level)
    records = []
    for k in range(1, len(steps)):
        had = nodes.filter(nodes.node == steps[k]).select("customer_id").distinct()
        state = wide.select(_cid=wide.customer_id, _prev=wide[f"done{k - 1}"], _here=wide[f"done{k}"])
        joined = had.left_join(state, had.customer_id == state._cid)
        counts = joined.aggregate(
            on_map=joined.count(), reached=joined._here.count(),
            never_step_1=joined._cid.isnull().cast("int64").sum(),
            stopped_earlier=(joined._cid.notnull() & joined._prev.isnull()).cast("int64").sum(),
            not_after_previous=(joined._prev.notnull() & joined._here.isnull()).cast("int64").sum(),
        ).to_pyarrow().to_pylist()[0]
        records.append({"step": steps[k], "previous_step": steps[k - 1],
                        **{key: int(counts[key] or 0) for key in ("on_map", *PARTS)}})
    params = {"steps": steps, "level": level, "mode": mode, "within_days": within_days, "exclude": exclude,
              "filters": filters.to_dict() if filters is not None else {}}
    return FunnelReconciliationResult(records=tuple(records), params=params,
                                      title=f"Funnel ({mode}) vs journey map: {' → '.join(steps)}")
