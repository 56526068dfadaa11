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
)
from journeylens.errors import ParameterError
from journeylens.warehouse.durations import micros_between

if TYPE_CHECKING:
    from journeylens.journeys.definition import JourneyDefinition

OUTCOMES: tuple[str, ...] = ("conversion", "churn")


@dataclass(frozen=True, repr=False)
class VariantsResult(Result):
    """Rows ``{path, customers, share, median_seconds}`` (+ ``outcome_rate`` with outcomes)."""

    def figure(self) -> Any:
        """Horizontal bars, one per variant labelled with its path, the most common on top;
        customers with thousands separators and the share of all customers on hover."""
        import plotly.graph_objects as go

        from journeylens.analyses.chart_rules import axis_category, axis_count

        rows = sorted(self.records, key=lambda r: -int(r["customers"]))
        labels = [" → ".join(r["path"]) for r in rows]
        fig = go.Figure(go.Bar(x=[r["customers"] for r in rows], y=labels, orientation="h",
                               customdata=[r.get("share") for r in rows],
                               hovertemplate="%{y}<br>%{x:,} customers (%{customdata:.1%} of all)<extra></extra>"))
        axis_count(fig, "x", title="Customers whose whole journey is this path")
        return axis_category(fig, "y", title="Path", order=labels[::-1])


@dataclass(frozen=True)
class PathCode:
    """An exact, order-preserving integer encoding of paths over a known set of nodes.

    Node ``names[i]`` gets the digit ``i + 1`` (names sorted, so digits compare like names);
    the first ``head_length`` steps of a path are packed, most significant first, into one
    int64 ``head`` of ``bits``-wide digits (a missing step is digit 0), and any later steps
    form the ``tail`` array of digits. ``(head, tail)`` is injective, and comparing it
    (head, then tail element-wise) orders paths exactly as comparing their node lists.
    """

    names: tuple[str, ...]

    @property
    def bits(self) -> int:
        return max(1, len(self.names).bit_length())

    @property
    def head_length(self) -> int:
        return 63 // self.bits

    def decode(self, head: int, tail: Sequence[int] | None) -> list[str]:
        mask = (1 << self.bits) - 1
        digits = [(head >> (self.bits * (self.head_length - 1 - i))) & mask for i in range(self.head_length)]
        return [self.names[d - 1] for d in [*digits, *(tail or ())] if d]


def path_codes(nodes: ir.Table, code: PathCode) -> ir.Table:
    """One row per customer: ``customer_id, head, tail`` (see :class:`PathCode`) and ``seconds``
    from their first to their last node.

    Grouping customers on two integers instead of arrays of strings is what makes variants
    fast; the encoding is exact, so no path can be mistaken for another.
    """
    digits = ibis.memtable({"node": list(code.names), "digit": list(range(1, len(code.names) + 1))},
                           schema={"node": "string", "digit": "int64"})
    coded = nodes.join(digits, "node")
    coded = coded.mutate(position=ibis.row_number().over(journey_order(coded)))
    in_head = coded.position < code.head_length
    shift = ibis.greatest((code.head_length - 1 - coded.position) * code.bits, 0).cast("int32")
    later = ibis.struct({"position": coded.position, "digit": coded.digit})
    paths = coded.group_by("customer_id").aggregate(
        head=ibis.ifelse(in_head, coded.digit << shift, 0).sum().cast("int64"),
        tail=later.collect(where=~in_head).sort().map(lambda s: s.digit),
        seconds=micros_between(coded.timestamp.max(), coded.timestamp.min()).cast("float64") / 1_000_000,
    )
    # No later steps is an empty tail, not null: nulls sort differently on each engine.
    return paths.mutate(tail=paths.tail.fill_null(ibis.literal([], type="array<int64>")))


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


def _spans(events: ir.Table, level: str) -> ir.Table:
    """Per customer ``seconds`` from their first to their last event at ``level`` (repeats included)."""
    at_level = events.filter(events[level].notnull())
    return at_level.group_by("customer_id").aggregate(
        seconds=micros_between(at_level.timestamp.max(), at_level.timestamp.min()).cast("float64") / 1_000_000)


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
    nodes = journey_nodes(events, level=level, collapse_repeats=collapse_repeats)
    code = PathCode(tuple(sorted(nodes.select("node").distinct().to_pyarrow().column("node").to_pylist())))
    per_customer = path_codes(nodes, code)
    if collapse_repeats or level == "stage":  # the span counts the collapsed repeats too
        per_customer = per_customer.drop("seconds").join(_spans(events, level), "customer_id")
    metrics: dict[str, Any] = {}
    if is_outcome is not None:
        reached = events.filter(is_outcome).select("customer_id").distinct()
        per_customer = per_customer.left_join(reached.mutate(outcome=ibis.literal(1)), "customer_id")
        metrics["outcome_rate"] = per_customer.outcome.fill_null(0).mean()
    grouped = per_customer.group_by(["head", "tail"]).aggregate(
        customers=per_customer.count(), median_seconds=per_customer.seconds.median(), **metrics)
    grouped = grouped.mutate(share=grouped.customers.cast("float64") / grouped.customers.sum().over())
    ranked = grouped.order_by([ibis.desc("customers"), "head", "tail"])
    if top is not None:
        ranked = ranked.limit(top)
    columns = ["customers", "share", "median_seconds", *metrics]
    rows = [{"path": code.decode(r["head"], r["tail"]), **{c: r[c] for c in columns}}
            for r in ranked.to_pyarrow().to_pylist()]
    rows.sort(key=lambda r: (-r["customers"], r["path"]))
    params = {"top": top, "level": level, "collapse_repeats": collapse_repeats,
              "outcome_touchpoints": list(outcome_touchpoints or ()), "outcome": outcome,
              "filters": filters.to_dict() if filters is not None else {}}
    return VariantsResult(records=tuple(rows), params=params, title=f"Variants ({level})")
