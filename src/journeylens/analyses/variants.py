"""Variants: the most common whole paths customers take.

A customer's path is the sequence of their nodes (touchpoints, or stages) ordered by
``timestamp`` then ``_seq`` — the same variant pm4py's ``get_variants`` gives with a stable
sort. ``collapse_repeats`` turns immediate repeats (``A, A, B``) into one (``A, B``); stage
level always collapses (see :mod:`journeylens.analyses.transitions`).

Each row: ``path`` (list of nodes), ``customers``, ``share`` (of all customers with a path),
``median_seconds`` (exact median over the variant's customers of the time from their first
to their last event at that level, repeats included), and ``outcome_rate`` when ``outcome_touchpoints`` are
given (share of the variant's customers with at least one event at one of those touchpoints).
Rows are ordered by customers (descending), then path.

>>> import ibis
>>> from datetime import datetime, UTC
>>> events = ibis.memtable({"customer_id": ["a", "a", "b", "b", "c"],
...     "touchpoint": ["visit", "buy", "visit", "buy", "visit"],
...     "timestamp": [datetime(2024, 1, 1, 0, 0, s, tzinfo=UTC) for s in (0, 30, 0, 10, 0)],
...     "_seq": [1, 2, 3, 4, 5]})
>>> [(r["path"], r["customers"], r["median_seconds"]) for r in variants(events).records]
[(['visit', 'buy'], 2, 20.0), (['visit'], 1, 0.0)]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import ibis
import ibis.expr.types as ir

from journeylens.analyses.filters import Filters
from journeylens.analyses.result import Result
from journeylens.analyses.transitions import (
    apply_filters,
    check_level,
    journey_nodes,
    journey_order,
    seconds_between,
)
from journeylens.errors import ParameterError

if TYPE_CHECKING:
    from journeylens.journeys.definition import JourneyDefinition

OUTCOMES: tuple[str, ...] = ("conversion", "churn")


@dataclass(frozen=True, repr=False)
class VariantsResult(Result):
    """Rows ``{path, customers, share, median_seconds}`` (+ ``outcome_rate`` with outcomes)."""

    def figure(self) -> Any:
        """Horizontal bars: one per variant, labelled with its path."""
        import plotly.graph_objects as go

        labels = [" → ".join(r["path"]) for r in self.records]
        return go.Figure(go.Bar(x=[r["customers"] for r in self.records], y=labels, orientation="h"))


def customer_paths(nodes: ir.Table) -> ir.Table:
    """One row per customer: ``customer_id, path`` (array of nodes in journey order)."""
    ranked = nodes.mutate(position=ibis.row_number().over(journey_order(nodes)))
    # Arrays of (position, node) sort the same way on every engine, so the path order does
    # not depend on order-sensitive aggregation support (Spark has none in Ibis).
    return ranked.group_by("customer_id").aggregate(
        path=ibis.struct({"position": ranked.position, "node": ranked.node}).collect().sort().map(lambda s: s.node)
    )


def _outcome_flag(events: ir.Table, definition: JourneyDefinition | None, outcome: str | None,
                  outcome_touchpoints: Sequence[str] | None) -> ir.BooleanValue | None:
    """Is an event an outcome? From explicit touchpoints, else the definition's ``outcomes``."""
    if outcome_touchpoints:
        return events.touchpoint.isin(list(outcome_touchpoints))
    if outcome is None:
        return None
    if outcome not in OUTCOMES:
        raise ParameterError(f"Unknown outcome {outcome!r}; use one of: {', '.join(OUTCOMES)}.",
                             details={"outcome": outcome, "allowed": list(OUTCOMES)})
    if definition is None or not getattr(definition.outcomes, outcome):
        raise ParameterError(f"The journey definition names no {outcome} outcome touchpoints; add them under "
                             f"'outcomes: {outcome}:' or pass outcome_touchpoints explicitly.")
    return definition.outcome_expr(outcome, events.touchpoint)  # type: ignore[arg-type]


def variants(events: ir.Table, *, top: int | None = 20, level: str = "touchpoint", collapse_repeats: bool = False,
             outcome_touchpoints: Sequence[str] | None = None, outcome: str | None = None,
             filters: Filters | None = None, definition: JourneyDefinition | None = None,
             customers: ir.Table | None = None) -> VariantsResult:
    """The ``top`` most common paths (all of them when ``top`` is None).

    ``outcome`` (``conversion`` or ``churn``) takes the outcome touchpoints from the journey
    definition's ``outcomes``; ``outcome_touchpoints`` names them directly.
    """
    check_level(level)
    if top is not None and top < 1:
        raise ParameterError(f"top must be a positive number of variants, got {top}.", details={"top": top})
    events = apply_filters(events, filters, definition, customers)
    is_outcome = _outcome_flag(events, definition, outcome, outcome_touchpoints)
    at_level = events.filter(events[level].notnull())
    spans = at_level.group_by("customer_id").aggregate(
        seconds=seconds_between(at_level.timestamp.max(), at_level.timestamp.min()))
    nodes = journey_nodes(events, level=level, collapse_repeats=collapse_repeats)
    per_customer = customer_paths(nodes).join(spans, "customer_id")
    metrics: dict[str, Any] = {}
    if is_outcome is not None:
        reached = events.filter(is_outcome).select("customer_id").distinct()
        per_customer = per_customer.left_join(reached.mutate(outcome=ibis.literal(1)), "customer_id")
        metrics["outcome_rate"] = per_customer.outcome.fill_null(0).mean()
    grouped = per_customer.group_by("path").aggregate(
        customers=per_customer.count(), median_seconds=per_customer.seconds.median(), **metrics)
    grouped = grouped.mutate(share=grouped.customers.cast("float64") / grouped.customers.sum().over())
    ranked = grouped.order_by([ibis.desc("customers"), "path"])
    if top is not None:
        ranked = ranked.limit(top)
    columns = ["path", "customers", "share", "median_seconds", *metrics]
    rows = [{c: r[c] for c in columns} for r in ranked.to_pyarrow().to_pylist()]
    rows.sort(key=lambda r: (-r["customers"], r["path"]))
    params = {"top": top, "level": level, "collapse_repeats": collapse_repeats,
              "outcome_touchpoints": list(outcome_touchpoints or ()), "outcome": outcome,
              "filters": filters.to_dict() if filters is not None else {}}
    return VariantsResult(records=tuple(rows), params=params, title=f"Variants ({level})")
