"""Transitions: the directly-follows graph of the journeys.

An edge ``A → B`` counts every time a customer's event at node ``A`` is immediately followed
by an event at node ``B`` (events ordered by ``timestamp`` then ``_seq``). Every journey also
gets a ``__start__ → first`` and a ``last → __end__`` edge; their seconds are null. On
touchpoint level the counts equal pm4py's ``discover_dfg`` (plus its start/end activities).

Times are the seconds between the two events: ``median_seconds`` is the exact median (mean of
the two middle values for an even count), ``p90_seconds`` the 90th percentile with linear
interpolation between closest ranks (``numpy.percentile``'s default); both engines compute
them exactly (DuckDB ``quantile_cont``, Spark ``percentile``).

With ``by`` (an event column, an event property, a customer column or attribute) every edge
occurrence takes the value of that property *as of its source event* (the customer's latest
event carrying it at or before the move; a ``__start__`` edge is read at the first event), so
"Login → Help on app 6.0.0" is counted apart from "Login → Help on 5.14.2". Rows gain the
property's column; the ``top`` most frequent values are kept and the rest become ``"other"``.

On ``level="stage"`` events without a stage are left out and consecutive events of the same
stage collapse into one visit, timed at its first event: ``A → B`` then means "left stage A
for stage B", and its seconds run from entering A to entering B.

>>> import ibis
>>> from datetime import datetime, UTC
>>> events = ibis.memtable({"customer_id": ["a", "a", "b"], "touchpoint": ["visit", "buy", "visit"],
...     "timestamp": [datetime(2024, 1, 1, 0, 0, s, tzinfo=UTC) for s in (0, 30, 0)], "_seq": [1, 2, 3]})
>>> [(r["from"], r["to"], r["count"]) for r in transitions(events).records]
[('__start__', 'visit', 2), ('buy', '__end__', 1), ('visit', '__end__', 1), ('visit', 'buy', 1)]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from journeylens.analyses.filters import Filters
from journeylens.analyses.journey_map import codes
from journeylens.analyses.properties import DEFAULT_TOP
from journeylens.analyses.result import Result
from journeylens.errors import ParameterError
from journeylens.warehouse.aggregates import arg_min
from journeylens.warehouse.durations import micros_between
from journeylens.warehouse.execution import to_pyarrow_on

if TYPE_CHECKING:
    from journeylens.journeys.definition import JourneyDefinition

LEVELS: tuple[str, ...] = ("touchpoint", "stage")
START = "__start__"
END = "__end__"
COLUMNS: tuple[str, ...] = ("from", "to", "count", "customers", "median_seconds", "mean_seconds", "p90_seconds")
#: Columns of ``journey_events`` a split may use directly (the source event's own value).
SPLIT_COLUMNS: tuple[str, ...] = ("channel", "stage", "touchpoint", "category", "critical", "episode")
#: Above this many events the graph is built per bucket of customers (see :func:`bucketed_graph`).
BUCKET_EVENTS = 10_000_000


def check_level(level: str) -> str:
    if level not in LEVELS:
        raise ParameterError(f"Unknown level {level!r}; use one of: {', '.join(LEVELS)}.",
                             details={"level": level, "allowed": list(LEVELS)})
    return level


def journey_order(events: ir.Table) -> Any:
    """The one ordering of a customer's events: timestamp, then source order."""
    return ibis.window(group_by=events.customer_id, order_by=[events.timestamp, events._seq])


def journey_nodes(events: ir.Table, *, level: str = "touchpoint", collapse_repeats: bool = False,
                  carry: Sequence[str] = ()) -> ir.Table:
    """Events as ``customer_id, node, timestamp, _seq`` at ``level`` (rows without a node dropped).

    ``collapse_repeats`` keeps only the first event of each run of the same node; stage level
    always collapses. ``carry`` names further event columns to keep.
    """
    check_level(level)
    nodes = events.select("customer_id", "timestamp", "_seq", *carry, node=events[level].cast("string"))
    nodes = nodes.filter(nodes.node.notnull())
    if collapse_repeats or level == "stage":
        nodes = nodes.mutate(previous_node=nodes.node.lag().over(journey_order(nodes)))
        nodes = nodes.filter(nodes.previous_node.isnull() | (nodes.previous_node != nodes.node))
        nodes = nodes.drop("previous_node")
    return nodes


def apply_filters(events: ir.Table, filters: Filters | None, definition: JourneyDefinition | None,
                  customers: ir.Table | None = None) -> ir.Table:
    """The common filters; ``customers`` is needed only by attribute-based cohorts."""
    if filters is None or filters.is_empty():
        return events
    return filters.apply(events, definition, customers)


def transition_edges(nodes: ir.Table, *, timed: bool = False, carry: Sequence[str] = (),
                     start: Any = START, end: Any = END) -> ir.Table:
    """One row per edge occurrence: ``customer_id, source, target, micros`` (null for start/end),
    plus the source event's ``timestamp`` and ``carry`` columns when ``timed``. ``start`` and
    ``end`` are the start and end nodes' values (integer codes for :func:`coded_nodes`)."""
    window = journey_order(nodes)
    ordered = nodes.mutate(next_node=nodes.node.lead().over(window), next_ts=nodes.timestamp.lead().over(window),
                           position=ibis.row_number().over(window))
    extra = ["timestamp", *carry] if timed else []
    # Integer microseconds: exact, and quantiles over integers are cheaper than over doubles.
    moves = ordered.select(
        "customer_id", *extra, source=ordered.node,
        target=ordered.next_node.fill_null(ibis.literal(end, type=nodes.node.type())),
        micros=micros_between(ordered.next_ts, ordered.timestamp),
    )
    firsts = ordered.filter(ordered.position == 0)
    starts = firsts.select("customer_id", *extra, source=ibis.literal(start, type=nodes.node.type()),
                           target=firsts.node, micros=ibis.null("int64"))
    return moves.union(starts)


#: Codes of the start and end nodes in :func:`coded_nodes` (node codes count from 0).
START_CODE, END_CODE = -1, -2


def coded_nodes(nodes: ir.Table) -> tuple[ir.Table, ir.Table]:
    """``nodes`` with integer codes for ``customer_id`` and ``node``, and the node dictionary
    ``(code, node)``.

    A journey-order window carries every column of every row through its sort. With the
    customer ids and touchpoint names as strings, 106M events spilled most of the sort to disk
    under a 7 GB limit (the reference query: 275 s); as integers the same window is 27 s and
    does not spill (ADR 0105). The codes are a one-to-one relabelling, so counts, distinct
    customers and times are unchanged; names come back through the dictionary.
    """
    names = codes(nodes, "node", "code")
    people = codes(nodes, "customer_id", "person", dtype="int64")
    coded = nodes.join(names, "node").join(people, "customer_id")
    return coded.select(customer_id=coded.person, timestamp=coded.timestamp, _seq=coded._seq, node=coded.code), names


@dataclass(frozen=True, repr=False)
class TransitionsResult(Result):
    """Rows ``{from, to, count, customers, median_seconds, mean_seconds, p90_seconds}``."""

    @property
    def by(self) -> str | None:
        value = self.params.get("by")
        return str(value) if value else None

    def figure(self) -> Any:
        """A Sankey diagram of the edges (cycles are drawn as they are); split by a property,
        bars of each value's most frequent moves."""
        import plotly.graph_objects as go

        if self.by:
            return split_figure(self.records, self.by)
        labels = sorted({r["from"] for r in self.records} | {r["to"] for r in self.records})
        index = {label: i for i, label in enumerate(labels)}
        link = {"source": [index[r["from"]] for r in self.records], "target": [index[r["to"]] for r in self.records],
                "value": [r["count"] for r in self.records]}
        return go.Figure(go.Sankey(node={"label": labels}, link=link))


def transitions(events: ir.Table, *, level: str = "touchpoint", min_share: float = 0.0,
                filters: Filters | None = None, definition: JourneyDefinition | None = None,
                customers: ir.Table | None = None, bucket_events: int = BUCKET_EVENTS,
                by: str | None = None, top: int = DEFAULT_TOP) -> TransitionsResult:
    """The directly-follows graph of ``journey_events``.

    Above ``bucket_events`` events the graph is built per bucket of customers (each bucket's
    window fits in memory); the facade sizes it from the engine's memory limit.

    ``min_share`` drops edges whose count is below that share of all edges' counts (start
    and end edges included). Rows are ordered by count (descending), then ``from``, ``to``
    (with ``by``: by the property's value first, ``None`` last). A split is built in one pass.
    """
    check_level(level)
    if not 0.0 <= min_share <= 1.0:
        raise ParameterError(f"min_share must be between 0 and 1, got {min_share}.",
                             details={"min_share": min_share})
    filtered = apply_filters(events, filters, definition, customers)
    own_column = [by] if by in SPLIT_COLUMNS and by in events.columns else []
    nodes = journey_nodes(filtered, level=level, carry=own_column)
    if by:
        split = one_pass_graph(_split_edges(nodes, by, own_column, events, customers, top), by=by)
        graph = to_pyarrow_on(split, on=nodes).to_pylist()
    else:
        # The events are an upper bound of the nodes (and counting a whole table is nearly free):
        # count the nodes only when the bound says the graph may need buckets.
        bound = int(filtered.count().to_pyarrow().as_py())
        size = bound if bound <= bucket_events else int(nodes.count().to_pyarrow().as_py())
        buckets = -(-size // max(bucket_events, 1))
        coded, names = coded_nodes(nodes)
        if buckets > 1:
            parts = [to_pyarrow_on(bucketed_graph(coded, buckets), on=nodes)]  # in-memory parts
        else:
            parts = [coded_graph(coded).to_pyarrow(), start_edges(coded).to_pyarrow()]
        graph = _decoded(parts, names)
    rows = [{**({by: r[by]} if by else {}), "from": r["source"], "to": r["target"], "count": r["count"],
             "customers": r["customers"],
             **{f"{name}_seconds": _seconds(r[f"{name}_us"]) for name in ("median", "mean", "p90")}}
            for r in graph]
    params = {"level": level, "min_share": min_share, "filters": _filters_dict(filters),
              **({"by": by, "top": top} if by else {})}
    return TransitionsResult(records=tuple(_prune(rows, min_share, by)), params=params,
                             title=f"Transitions ({level})" + (f" by {by}" if by else ""))


def _split_edges(nodes: ir.Table, by: str, own_column: list[str], events: ir.Table,
                 customers: ir.Table | None, top: int) -> ir.Table:
    """Edge occurrences with column ``by``: the source event's own column, else the property
    as of the source event (see :func:`journeylens.analyses.properties.property_column`)."""
    from journeylens.analyses.properties import property_column, top_or_other

    edges = transition_edges(nodes, timed=True, carry=own_column)
    if own_column:
        return top_or_other(edges.mutate(**{by: edges[by].cast("string")}), by, top)
    return property_column(edges, by, events=events, customers=customers, kind="transition", top=top,
                           what="property", also_known=[c for c in SPLIT_COLUMNS if c in events.columns])


def coded_graph(coded: ir.Table) -> ir.Table:
    """The graph of :func:`coded_nodes` without its start edges, in one window pass and one
    aggregation: ``source, target, count, customers, median_us, mean_us, p90_us``.

    The start edges (:func:`start_edges`) are a second, cheaper query: taking them from the
    same window made the engine keep the whole windowed log (106M rows) to read it twice.
    """
    window = journey_order(coded)
    ordered = coded.mutate(next_node=coded.node.lead().over(window), next_ts=coded.timestamp.lead().over(window))
    moves = ordered.select("customer_id", source=ordered.node,
                           target=ordered.next_node.fill_null(ibis.literal(END_CODE, type=coded.node.type())),
                           micros=micros_between(ordered.next_ts, ordered.timestamp))
    return one_pass_graph(moves)


def start_edges(coded: ir.Table) -> ir.Table:
    """The ``__start__ → first node`` edges of :func:`coded_nodes`, from each customer's first
    event (an arg-min, no window); their seconds are null."""
    first = coded.group_by("customer_id").aggregate(
        node=arg_min(coded.node, ibis.struct({"t": coded.timestamp, "s": coded._seq})))
    starts = first.group_by(target=first.node).aggregate(count=first.count())
    none = ibis.null("float64")
    return starts.select(source=ibis.literal(START_CODE, type=coded.node.type()), target=starts.target,
                         count=starts["count"], customers=starts["count"], median_us=none, mean_us=none, p90_us=none)


def _decoded(parts: Sequence[pa.Table], names: ir.Table) -> list[dict[str, Any]]:
    """The coded graph's rows with node names (and the start and end nodes) for the codes."""
    labels: dict[int, str] = {START_CODE: START, END_CODE: END}
    labels.update((int(r["code"]), str(r["node"])) for r in names.to_pyarrow().to_pylist())
    return [{**r, "source": labels[r["source"]], "target": labels[r["target"]]}
            for part in parts for r in part.to_pylist()]


def one_pass_graph(edges: ir.Table, by: str | None = None) -> ir.Table:
    """``source, target, count, customers, median_us, mean_us, p90_us`` in one aggregation."""
    return edges.group_by([*([by] if by else []), "source", "target"]).aggregate(
        count=edges.count(), customers=edges.customer_id.nunique(), median_us=edges.micros.median(),
        mean_us=edges.micros.mean(), p90_us=edges.micros.quantile(0.9),
    )


def bucketed_graph(nodes: ir.Table, buckets: int) -> ir.Table:
    """The same graph, built one bucket of customers (by customer code, see :func:`coded_nodes`) at a time.

    Each bucket's window fits in memory instead of spilling the whole log. The partial
    results are exact and mergeable: customers never span buckets, so distinct counts add
    up, and the durations are kept as counts per ``(source, target, micros)`` from which
    :func:`quantiles_from_counts` takes the exact quantiles.
    """
    bucket = nodes.customer_id % buckets
    parts = []
    for b in range(buckets):
        edges = transition_edges(nodes.filter(bucket == b), start=START_CODE, end=END_CODE)
        times = edges.group_by(["source", "target", "micros"]).aggregate(n=edges.count())
        people = edges.group_by(["source", "target"]).aggregate(n=edges.customer_id.nunique())
        # One query per bucket, so that the window is computed once for both aggregations.
        parts.append(times.mutate(kind=ibis.literal("times"))
                     .union(people.mutate(micros=ibis.null("int64"), kind=ibis.literal("people")))
                     .to_pyarrow())
    merged = ibis.memtable(pa.concat_tables(parts))
    merged = merged.group_by(["kind", "source", "target", "micros"]).aggregate(n=merged.n.sum())
    counted = merged.filter(merged.kind == "times").drop("kind")
    customers = merged.filter(merged.kind == "people").select("source", "target", customers="n")
    return quantiles_from_counts(counted).join(customers, ["source", "target"])


def quantiles_from_counts(counted: ir.Table) -> ir.Table:
    """Exact ``count, median_us, mean_us, p90_us`` per edge from ``source, target, micros, n``.

    Quantiles interpolate linearly between closest ranks, like ``quantile_cont``: for rank
    ``(total - 1) * q`` the two values around it are the first whose cumulative count passes
    its floor and its ceiling.
    """
    edge = [counted.source, counted.target]
    timed = counted.micros.notnull()
    ranked = counted.mutate(
        cum=counted.n.sum(where=timed).over(ibis.window(group_by=edge, order_by=counted.micros, rows=(None, 0))),
        timed_n=counted.n.sum(where=timed).over(ibis.window(group_by=edge)))
    timed = ranked.micros.notnull()
    stats: dict[str, Any] = {"count": ranked.n.sum(), "timed_n": ranked.timed_n.max(),
                             "mean_us": (ranked.micros.cast("float64") * ranked.n).sum() / ranked.n.sum(where=timed)}
    for name, q in (("median", 0.5), ("p90", 0.9)):
        rank = (ranked.timed_n - 1).cast("float64") * q
        for side, bound in (("lo", rank.floor()), ("hi", rank.ceil())):
            stats[f"{name}_{side}"] = ranked.micros.min(where=timed & (ranked.cum > bound))
    graph = ranked.group_by(["source", "target"]).aggregate(**stats)
    columns: dict[str, Any] = {}
    for name, q in (("median", 0.5), ("p90", 0.9)):
        rank = (graph.timed_n - 1).cast("float64") * q
        low, high = graph[f"{name}_lo"].cast("float64"), graph[f"{name}_hi"].cast("float64")
        columns[f"{name}_us"] = low + (high - low) * (rank - rank.floor())
    return graph.select("source", "target", "count", "mean_us", **columns)


def _prune(rows: Sequence[Mapping[str, Any]], min_share: float, by: str | None = None) -> list[dict[str, Any]]:
    total = sum(int(r["count"]) for r in rows)
    columns = (by, *COLUMNS) if by else COLUMNS
    kept = [{c: r[c] for c in columns} for r in rows if total and int(r["count"]) >= min_share * total]
    if by:
        return sorted(kept, key=lambda r: (r[by] is None, str(r[by]), -int(r["count"]), r["from"], r["to"]))
    return sorted(kept, key=lambda r: (-int(r["count"]), r["from"], r["to"]))


def split_figure(records: Sequence[Mapping[str, Any]], by: str, moves: int = 12) -> Any:
    """Grouped horizontal bars: each value's share of the most frequent moves (start and end
    edges left out), so a move that grew after a release stands out."""
    import plotly.graph_objects as go

    from journeylens.analyses.chart_rules import NOT_SET, axis_share

    inner = [r for r in records if START not in (r["from"], r["to"]) and END not in (r["from"], r["to"])]
    totals: dict[tuple[str, str], int] = {}
    per_value: dict[str, int] = {}
    for r in inner:
        totals[(r["from"], r["to"])] = totals.get((r["from"], r["to"]), 0) + int(r["count"])
        per_value[str(r[by] if r[by] is not None else NOT_SET)] = per_value.get(
            str(r[by] if r[by] is not None else NOT_SET), 0) + int(r["count"])
    top_moves = sorted(totals, key=lambda m: -totals[m])[:moves][::-1]
    fig = go.Figure()
    for value in sorted(per_value, key=lambda v: -per_value[v]):
        counts = {(r["from"], r["to"]): int(r["count"]) for r in inner
                  if str(r[by] if r[by] is not None else NOT_SET) == value}
        fig.add_trace(go.Bar(name=value, orientation="h", y=[f"{a} → {b}" for a, b in top_moves],
                             x=[counts.get(m, 0) / per_value[value] for m in top_moves],
                             hovertemplate="%{y}: %{x:.1%} of this value's moves<extra>" + value + "</extra>"))
    fig.update_layout(barmode="group", legend_title_text=by, height=max(320, 60 + 28 * len(top_moves)))
    axis_share(fig, "x", title=f"Share of the value's moves (%) — split by {by}")
    return fig


def _seconds(micros: float | None) -> float | None:
    return None if micros is None else float(micros) / 1_000_000


def _filters_dict(filters: Filters | None) -> dict[str, Any]:
    return filters.to_dict() if filters is not None else {}
