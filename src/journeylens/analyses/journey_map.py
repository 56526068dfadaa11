"""The journey map: stages x touchpoints, built from what customers actually did.

For every stage (in the definition's order) and every touchpoint in it:

* ``customers`` reaching it and ``share`` of all customers (after filters), ``events``;
* ``median_seconds_in_stage`` — per customer, last minus first event time within the stage,
  median over the customers who reached it (exact, linear interpolation);
* ``drop_off`` — share of the customers reaching it whose journey *ends* there (their last
  staged event) without a conversion; ``churn_share`` — same, but ending there and churned
  (see :func:`journeylens.analyses.cohorts.customer_outcomes` for both outcomes);
* ``conversion_to_next`` — share of customers reaching stage k that later (after their first
  event in k) reach any stage with a higher order; null for the last stage;
* ``ends_later`` / ``drops_off_here`` / ``stays_here`` / ``ends_earlier`` (``_customers`` and
  ``_share``, stages only) — where the journeys of the stage's customers end: in a later
  stage, here without a conversion (the stage's drop-off), here after converting (customers
  who stay, as in usage), or back in an earlier stage; the four add up to every customer;
* ``channel_mix`` — share of the stage's (or touchpoint's) events per channel (``unknown`` when null).

With a definition, touchpoints are the definition's touchpoint rules (events matched by
patterns are grouped under the rule name) and carry channel, category, critical, owner and
targets; an event no rule matches keeps its own name. Events without a stage are counted in
``unmapped_events`` only. ``flows`` are the stage-to-stage moves (consecutive staged events of
one customer whose stage differs) that the Sankey figure draws.

Hook for CX metrics: pass ``metrics`` (a mapping ``{touchpoint: {metric: value}}`` or a
DataFrame with a ``touchpoint`` column — rows whose ``touchpoint`` is null and ``stage`` is set
become stage metrics); every card then has a ``metrics`` object (``{}`` when none), otherwise
``metrics`` is null.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import ibis
import ibis.expr.types as ir
import pandas as pd

from journeylens.analyses.cohorts import customer_outcomes
from journeylens.analyses.result import plain
from journeylens.warehouse import durations

if TYPE_CHECKING:
    from journeylens.analyses.filters import Filters
    from journeylens.journeys.definition import JourneyDefinition

UNKNOWN_CHANNEL = "unknown"


def seconds_between(start: ir.TimestampValue, end: ir.TimestampValue) -> ir.FloatingValue:
    """``end - start`` in seconds (microsecond precision, identical on every engine)."""
    return durations.seconds_between(end, start)


def ordered(events: ir.Table, *, descending: bool = False) -> list[Any]:
    """The canonical event order of one customer: (timestamp, _seq)."""
    if descending:
        return [ibis.desc(events.timestamp), ibis.desc(events._seq)]
    return [events.timestamp, events._seq]


def codes(table: ir.Table, column: str, code: str, *, dtype: str = "int32") -> ir.Table:
    """The distinct values of ``column`` with an integer ``code`` each (0, 1, … in value order).

    Journey-order windows and the temporary tables after them carry codes instead of customer
    ids and label names (ADR 0105): a window sorts every column it carries, and at 106M events
    the strings spilled that sort. The codes are one-to-one, so joining the names back gives
    the same output."""
    values = table.select(column).distinct()
    return values.mutate(**{code: ibis.row_number().over(order_by=values[column]).cast(dtype)})


def label_touchpoints(events: ir.Table, definition: JourneyDefinition | None) -> ir.Table:
    """Add ``tp``: the definition's touchpoint rule name for the event, else its own name.

    When every rule names its events exactly (no glob, no regex) the label is a lookup of the
    event name, and no lookup at all when each rule's only event name is its own: a chain of
    pattern tests per event is what made the journey map and conformance slow at scale.
    """
    if definition is None or not definition.touchpoints:
        return events.mutate(tp=events.touchpoint)
    from journeylens.journeys.definition import exact_rule_names, touchpoint_rules

    names = exact_rule_names(definition)
    if names is not None:
        renamed = {event: rule for event, rule in names.items() if event != rule}
        if not renamed:
            return events.mutate(tp=events.touchpoint)
        return events.mutate(tp=events.touchpoint.substitute(renamed, else_=events.touchpoint))
    rule = touchpoint_rules(definition, events.touchpoint)["touchpoint_rule"]
    return events.mutate(tp=ibis.coalesce(rule, events.touchpoint))


@dataclass(frozen=True, repr=False)
class JourneyMapResult:
    """Stages with their touchpoint cards. ``to_dict()`` →
    ``{"customers", "unmapped_events", "stages": [...], "flows": [{from_stage, to_stage, customers, moves}]}``."""

    stages: Sequence[Mapping[str, Any]]
    customers: int
    flows: Sequence[Mapping[str, Any]] = ()
    unmapped_events: int = 0
    params: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"customers": self.customers, "unmapped_events": self.unmapped_events,
                "stages": plain([dict(s) for s in self.stages]), "flows": plain([dict(f) for f in self.flows])}

    def to_frame(self) -> pd.DataFrame:
        """One row per touchpoint card, with its stage's name and order."""
        rows = [{"stage": s["stage"], "order": s["order"], **{k: v for k, v in tp.items() if k != "channel_mix"}}
                for s in self.stages for tp in s["touchpoints"]]
        return pd.DataFrame(rows)

    def proportions(self) -> dict[str, tuple[int, int]]:
        """``{metric: (customers, of_customers)}`` for cohort significance tests."""
        out: dict[str, tuple[int, int]] = {}
        for s in self.stages:
            n = int(s["customers"])
            out[f"{s['stage']}: reached"] = (n, self.customers)
            out[f"{s['stage']}: drop_off"] = (int(s["drop_off_customers"]), n)
            if s["conversion_to_next"] is not None:
                out[f"{s['stage']}: conversion_to_next"] = (int(s["next_stage_customers"]), n)
        return out

    def figure(self) -> Any:
        """Flows between stages (docs/charts.md): stages left to right in the definition's order,
        forward moves blue, backward moves orange, journeys that end unconverted grey into "drop-off"."""
        import plotly.graph_objects as go

        names = [s["stage"] for s in self.stages]
        index = {n: i for i, n in enumerate(names)}
        flows = [f for f in self.flows if f["from_stage"] in index and f["to_stage"] in index]
        exits = [(index[s["stage"]], int(s["drop_off_customers"])) for s in self.stages if s["drop_off_customers"]]
        last = max(len(names), 1)
        source = [index[f["from_stage"]] for f in flows] + [i for i, _ in exits]
        target = [index[f["to_stage"]] for f in flows] + [len(names)] * len(exits)
        colors = ["rgba(31,95,191,0.45)" if index[f["to_stage"]] > index[f["from_stage"]] else "rgba(194,65,12,0.55)"
                  for f in flows] + ["rgba(100,116,139,0.35)"] * len(exits)
        kinds = ["forward" if c.startswith("rgba(31") else "back" if c.startswith("rgba(194") else "drop-off"
                 for c in colors]
        figure = go.Figure(go.Sankey(
            arrangement="snap",
            node={"label": [f"{n} ({s['customers']:,})" for n, s in zip(names, self.stages, strict=True)]
                  + [f"drop-off ({sum(n for _, n in exits):,})"],
                  "x": [0.01 + 0.9 * i / last for i in range(len(names))] + [0.99],
                  "y": [0.1 + 0.6 * (i % 2) for i in range(len(names))] + [0.95],
                  "color": ["#1f5fbf"] * len(names) + ["#64748b"], "pad": 18},
            link={"source": source, "target": target, "value": [f["customers"] for f in flows] + [n for _, n in exits],
                  "color": colors, "customdata": kinds,
                  "hovertemplate": "%{source.label} → %{target.label}: %{value:,} customers (%{customdata})"
                                   "<extra></extra>"}))
        figure.update_layout(title="Customers moving between stages (blue forward, orange back, grey drop-off)")
        return figure

    def heatmap(self) -> Any:
        """Stage x touchpoint heatmap of the share of customers reaching each touchpoint."""
        import plotly.graph_objects as go

        frame = self.to_frame()
        if frame.empty:
            return go.Figure()
        grid = frame.pivot_table(index="touchpoint", columns="stage", values="share", aggfunc="first")
        grid = grid[[s["stage"] for s in self.stages if s["stage"] in grid.columns]]
        return go.Figure(go.Heatmap(z=grid.values, x=list(grid.columns), y=list(grid.index), colorscale="Blues"))

    def __repr__(self) -> str:
        return f"JourneyMapResult({len(self.stages)} stages, {self.customers} customers)"


def journey_map(events: ir.Table, *, definition: JourneyDefinition | None = None,
                customers: ir.Table | None = None, filters: Filters | None = None,
                metrics: Mapping[str, Mapping[str, Any]] | pd.DataFrame | None = None) -> JourneyMapResult:
    """Build the journey map of ``events`` (``journey_events``).

    >>> from journeylens.analyses.journey_map import journey_map   # doctest: +SKIP
    >>> journey_map(lens.events(), definition=lens.definition).to_dict()["stages"][0]["drop_off"]  # doctest: +SKIP
    """
    if filters is not None and not filters.is_empty():
        events = filters.apply(events, definition, customers)
    events = label_touchpoints(events, definition)
    staged = events.filter(events.stage.notnull())
    totals = events.aggregate(customers=events.customer_id.nunique(),
                              unmapped=events.stage.isnull().cast("int64").sum()).to_pyarrow().to_pylist()[0]
    total = int(totals["customers"] or 0)
    outcomes = customer_outcomes(events, definition, customers).select("customer_id", "converted", "churned")
    # Every windowed column the map needs, from one sort of each customer's staged events,
    # computed once into a temporary table for this call (not once per part of the map), with
    # integer codes for the customers and the (stage, touchpoint, channel, …) labels (ADR 0105).
    with _labels(staged).cache() as labels:
        names = _Names(labels.to_pyarrow().to_pylist())
        with _marked(_coded(staged, labels, outcomes)).cache() as marked:
            stage_rows, advanced, destinations = _stage_parts(marked, names)
            tp_rows = _touchpoint_stats(marked, names)
            endings = _endings(marked, names)
            channel_counts = _channel_counts(marked, names)
            flows = _flows(marked, names)
    stage_metrics, tp_metrics = _split_metrics(metrics)
    stages: list[dict[str, Any]] = []
    for name, order in _stage_list(definition, stage_rows):
        tps = [_touchpoint_card(name, tp, stats, total, endings, channel_counts, definition, tp_metrics)
               for tp, stats in sorted(tp_rows.get(name, {}).items(), key=lambda kv: (-kv[1]["customers"], kv[0]))]
        card = _stage_card(name, order, stage_rows.get(name, {}), total, tps, endings, channel_counts)
        card.update(next_stage_customers=advanced.get(name, 0), targets=_stage_targets(definition, name),
                    metrics=None if metrics is None else dict(stage_metrics.get(name, {})), touchpoints=tps)
        stages.append(card)
    for stage in stages[:-1]:
        stage["conversion_to_next"] = _share(stage["next_stage_customers"], stage["customers"])
    for stage in stages:
        stage.update(_where_journeys_end(destinations.get(stage["stage"], {}), stage["customers"]))
    params = {"filters": filters.to_dict() if filters is not None else {}}
    return JourneyMapResult(stages=tuple(stages), customers=total, flows=flows,
                            unmapped_events=int(totals["unmapped"] or 0), params=params)


def _stage_card(name: str, order: int, row: Mapping[str, Any], total: int, tps: Sequence[Mapping[str, Any]],
                endings: Mapping[tuple[str, str], tuple[int, int]],
                channel_counts: Mapping[tuple[str, str, str], int]) -> dict[str, Any]:
    reached = int(row.get("customers", 0))
    dropped = sum(endings.get((name, tp["touchpoint"]), (0, 0))[0] for tp in tps)
    churned = sum(endings.get((name, tp["touchpoint"]), (0, 0))[1] for tp in tps)
    return {
        "stage": name, "order": order, "customers": reached, "share": _share(reached, total),
        "events": int(row.get("events", 0)), "median_seconds_in_stage": row.get("median_seconds"),
        "drop_off": _share(dropped, reached), "drop_off_customers": dropped,
        "churn_share": _share(churned, reached), "churned_customers": churned,
        "conversion_to_next": None, "next_stage_customers": 0,
        "channel_mix": _mix((ch, n) for (st, _tp, ch), n in channel_counts.items() if st == name),
    }


def _share(part: int | float, whole: int | float) -> float | None:
    return part / whole if whole else None


def _mix(counts: Iterable[tuple[str, int]]) -> dict[str, float]:
    merged: dict[str, int] = {}
    for channel, n in counts:
        merged[channel] = merged.get(channel, 0) + n
    total = sum(merged.values())
    return {ch: n / total for ch, n in sorted(merged.items(), key=lambda kv: (-kv[1], kv[0]))} if total else {}


def _stage_list(definition: JourneyDefinition | None, observed: Mapping[str, Mapping[str, Any]]) -> list[tuple[str, int]]:
    listed = [(s.name, i + 1) for i, s in enumerate(definition.stages)] if definition is not None else []
    known = {n for n, _ in listed}
    listed += [(n, int(r["stage_order"] or 0)) for n, r in observed.items() if n not in known]
    return sorted(listed, key=lambda item: (item[1], item[0]))


def _stage_targets(definition: JourneyDefinition | None, stage: str) -> dict[str, float]:
    if definition is None:
        return {}
    return next((dict(s.targets) for s in definition.stages if s.name == stage), {})


#: The label columns of a staged event (``ch``: its channel, ``unknown`` when null).
LABEL_COLUMNS: tuple[str, ...] = ("stage", "stage_order", "tp", "category", "critical", "ch")


def _labels(staged: ir.Table) -> ir.Table:
    """The distinct labels of the staged events, each with a ``label`` code, a stage code
    ``s`` and a (stage, touchpoint) code ``t``."""
    labels = staged.select(*LABEL_COLUMNS[:-1], ch=staged.channel.fill_null(UNKNOWN_CHANNEL)).distinct()
    every = [labels[c] for c in LABEL_COLUMNS]
    return labels.mutate(label=ibis.row_number().over(order_by=every).cast("int32"),
                         s=ibis.dense_rank().over(order_by=labels.stage).cast("int32"),
                         t=ibis.dense_rank().over(order_by=[labels.stage, labels.tp]).cast("int32"))


class _Names:
    """Codes back to names: ``stage[s]``, ``touchpoint[t]`` (stage, touchpoint), ``label[label]``."""

    def __init__(self, labels: list[dict[str, Any]]) -> None:
        self.stage = {r["s"]: r["stage"] for r in labels}
        self.touchpoint = {r["t"]: (r["stage"], r["tp"]) for r in labels}
        self.label = {r["label"]: r for r in labels}


def _coded(staged: ir.Table, labels: ir.Table, outcomes: ir.Table) -> ir.Table:
    """Staged events as integers: ``customer`` (a code per customer), ``label``, ``s``, ``t``,
    ``stage_order``, ``timestamp``, ``_seq``, with the customer's ``converted`` and ``churned``."""
    people = outcomes.mutate(customer=ibis.row_number().over(order_by=outcomes.customer_id))
    rows = staged.mutate(ch=staged.channel.fill_null(UNKNOWN_CHANNEL))
    same = [rows.stage == labels.stage, *(rows[c].identical_to(labels[c]) for c in LABEL_COLUMNS[1:])]
    rows = rows.join(labels, same).select(rows.customer_id, rows.timestamp, rows._seq, rows.stage_order,
                                          labels.label, labels.s, labels.t)
    rows = rows.left_join(people, "customer_id")  # events without a customer id: no code, no outcome
    return rows.select("customer", "label", "s", "t", "stage_order", "timestamp", "_seq", "converted", "churned")


def _marked(coded: ir.Table) -> ir.Table:
    """Coded staged events with ``prev_s`` (the previous event's stage), ``is_last`` (the
    customer's last staged event) and ``ahead`` (the highest stage order from this event on),
    all over one window order."""
    window = ibis.window(group_by=coded.customer, order_by=ordered(coded))
    rest = ibis.window(group_by=coded.customer, order_by=ordered(coded), rows=(0, None))
    return coded.select(
        "customer", "label", "s", "t", "stage_order", "timestamp", "converted", "churned",
        prev_s=coded.s.lag().over(window), is_last=coded.s.lead().over(window).isnull(),
        ahead=coded.stage_order.max().over(rest))


#: Where the journeys of a stage's customers end; the four parts add up to the stage's customers.
ENDINGS: tuple[str, ...] = ("ends_later", "drops_off_here", "stays_here", "ends_earlier")


def _stage_parts(marked: ir.Table, names: _Names
                 ) -> tuple[dict[str, dict[str, Any]], dict[str, int], dict[str, dict[str, int]]]:
    """Per stage: customers, events, median seconds in the stage; customers who advance (after
    their first event in the stage they reach a stage of higher order); and where their
    journeys end — in a later stage, here unconverted (drop-off), here converted (they stay:
    usage, renewal) or in an earlier stage. One aggregation per (customer, stage)."""
    last = marked.filter(marked.is_last).select("customer", _last=marked.stage_order)
    per = marked.group_by("customer", "s", "stage_order").aggregate(
        first_ts=marked.timestamp.min(), last_ts=marked.timestamp.max(), n=marked.count(),
        ahead=marked.ahead.max(), converted=marked.converted.max())
    per = per.left_join(last, "customer").drop("customer_right")
    here = per._last == per.stage_order
    agg = per.group_by("s").aggregate(
        stage_order=per.stage_order.min(), customers=per.count(), events=per.n.sum(),
        median_seconds=seconds_between(per.first_ts, per.last_ts).median(),
        advanced=(per.ahead > per.stage_order).cast("int64").sum(),
        ends_later=(per._last > per.stage_order).cast("int64").sum(),
        drops_off_here=(here & ~per.converted).cast("int64").sum(),
        stays_here=(here & per.converted).cast("int64").sum(),
        ends_earlier=(per._last < per.stage_order).cast("int64").sum())
    rows = [{**r, "stage": names.stage[r["s"]]} for r in agg.to_pyarrow().to_pylist()]
    stats = {r["stage"]: {k: r[k] for k in ("stage", "stage_order", "customers", "events", "median_seconds")}
             for r in rows}
    advanced = {r["stage"]: int(r["advanced"] or 0) for r in rows}
    destinations = {r["stage"]: {k: int(r[k] or 0) for k in ENDINGS} for r in rows}
    return stats, advanced, destinations


def _touchpoint_stats(marked: ir.Table, names: _Names) -> dict[str, dict[str, dict[str, Any]]]:
    agg = marked.group_by("t").aggregate(customers=marked.customer.nunique(), events=marked.count())
    labels: dict[int, list[dict[str, Any]]] = {}
    for label in names.label.values():
        labels.setdefault(label["t"], []).append(label)
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for r in agg.to_pyarrow().to_pylist():
        stage, tp = names.touchpoint[r["t"]]
        categories = [x["category"] for x in labels[r["t"]] if x["category"] is not None]
        critical = [int(x["critical"]) for x in labels[r["t"]] if x["critical"] is not None]
        out.setdefault(stage, {})[tp] = {"stage": stage, "tp": tp, "customers": r["customers"], "events": r["events"],
                                         "category": max(categories, default=None),
                                         "critical": max(critical, default=None)}
    return out


def _channel_counts(marked: ir.Table, names: _Names) -> dict[tuple[str, str, str], int]:
    out: dict[tuple[str, str, str], int] = {}
    for r in marked.group_by("label").aggregate(n=marked.count()).to_pyarrow().to_pylist():
        label = names.label[r["label"]]
        key = (label["stage"], label["tp"], label["ch"])
        out[key] = out.get(key, 0) + int(r["n"])
    return out


def _endings(marked: ir.Table, names: _Names) -> dict[tuple[str, str], tuple[int, int]]:
    """(stage, touchpoint) → (customers ending there unconverted, customers ending there churned)."""
    last = marked.filter(marked.is_last & marked.converted.notnull())
    agg = last.group_by("t").aggregate(
        dropped=(~last.converted).cast("int64").sum(), churned=last.churned.cast("int64").sum())
    return {names.touchpoint[r["t"]]: (int(r["dropped"] or 0), int(r["churned"] or 0))
            for r in agg.to_pyarrow().to_pylist()}


def _where_journeys_end(counts: Mapping[str, int], reached: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in ENDINGS:
        out[f"{key}_customers"] = counts.get(key, 0)
        out[f"{key}_share"] = _share(counts.get(key, 0), reached)
    return out


def _flows(marked: ir.Table, names: _Names) -> tuple[dict[str, Any], ...]:
    moves = marked.filter(marked.prev_s.notnull() & (marked.prev_s != marked.s))
    agg = moves.group_by(from_s=moves.prev_s, to_s=moves.s).aggregate(
        customers=moves.customer.nunique(), moves=moves.count())
    rows = [{"from_stage": names.stage[r["from_s"]], "to_stage": names.stage[r["to_s"]], "customers": r["customers"],
             "moves": r["moves"]} for r in agg.to_pyarrow().to_pylist()]
    return tuple(sorted(rows, key=lambda r: (-r["customers"], r["from_stage"], r["to_stage"])))


def _touchpoint_card(stage: str, tp: str, stats: Mapping[str, Any], total: int,
                     endings: Mapping[tuple[str, str], tuple[int, int]],
                     channel_counts: Mapping[tuple[str, str, str], int],
                     definition: JourneyDefinition | None,
                     tp_metrics: Mapping[str, Mapping[str, Any]] | None) -> dict[str, Any]:
    rule = next((t for t in definition.touchpoints if t.name == tp), None) if definition is not None else None
    mix = _mix((ch, n) for (st, t, ch), n in channel_counts.items() if st == stage and t == tp)
    reached = int(stats["customers"])
    dropped, churned = endings.get((stage, tp), (0, 0))
    observed_channel = next(iter(mix), None)
    return {
        "touchpoint": tp,
        "channel": rule.channel if rule is not None and rule.channel else observed_channel,
        "category": rule.category if rule is not None else stats.get("category"),
        "critical": bool(rule.critical if rule is not None else stats.get("critical")),
        "owner": rule.owner if rule is not None else None,
        "customers": reached, "share": _share(reached, total), "events": int(stats["events"]),
        "drop_off": _share(dropped, reached), "churn_share": _share(churned, reached),
        "channel_mix": mix,
        "targets": dict(rule.targets) if rule is not None else {},
        "metrics": None if tp_metrics is None else dict(tp_metrics.get(tp, {})),
    }


def _split_metrics(metrics: Mapping[str, Mapping[str, Any]] | pd.DataFrame | None
                   ) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]] | None]:
    """(stage metrics, touchpoint metrics) from the ``metrics`` hook argument."""
    if metrics is None:
        return {}, None
    if isinstance(metrics, Mapping):
        return {}, {str(k): dict(v) for k, v in metrics.items()}
    stage_m: dict[str, dict[str, Any]] = {}
    tp_m: dict[str, dict[str, Any]] = {}
    for row in metrics.to_dict(orient="records"):
        values: dict[str, Any] = {str(k): plain(v) for k, v in row.items() if k not in ("stage", "touchpoint")}
        tp = row.get("touchpoint")
        if tp is not None and not pd.isna(tp):
            tp_m[str(tp)] = values
        elif row.get("stage") is not None:
            stage_m[str(row["stage"])] = values
    return stage_m, tp_m
