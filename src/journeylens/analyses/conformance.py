"""Designed vs actual: how observed journeys compare with the defined stage order.

Over each customer's staged events in (timestamp, _seq) order:

* ``following_share`` - share of customers whose stage order never decreases;
* ``backward_moves`` - consecutive events going to a stage of lower order (from, to, moves, customers);
* ``skipped_stages`` - per stage, customers who reached a later stage without ever being in it,
  counting only stages between the customer's first and last observed stage (journeys are
  often observed from the middle, so earlier stages are not called skipped);
* ``friction`` - signals ranked by customers touched (then occurrences):
  ``repeat`` (the same touchpoint again within ``repeat_window_days``), ``recontact`` (a contact
  touchpoint within ``recontact_days`` of the previous contact; contacts are
  ``contact_touchpoints`` or, by default, touchpoints on a contact channel in
  :data:`CONTACT_CHANNELS`) and ``long_wait`` (a touchpoint-to-touchpoint gap longer than the
  usual 90th percentile of that transition, for transitions seen at least ``min_transitions`` times).

Touchpoints are the definition's touchpoint rule names when a definition is given.

>>> from journeylens.analyses.conformance import conformance   # doctest: +SKIP
>>> conformance(lens.events(), definition=lens.definition).to_dict()["following_share"]  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import ibis
import ibis.expr.types as ir
import pandas as pd

from journeylens.analyses.cohorts import one_of
from journeylens.analyses.journey_map import codes, label_touchpoints, ordered, seconds_between
from journeylens.analyses.result import plain
from journeylens.errors import ParameterError
from journeylens.journeys.definition import OFFLINE_CHANNELS, ONLINE_CHANNELS

if TYPE_CHECKING:
    from journeylens.analyses.filters import Filters
    from journeylens.journeys.definition import JourneyDefinition

#: Channels whose touchpoints count as contacts (lower case, spaces as underscores).
CONTACT_CHANNELS: frozenset[str] = frozenset({
    "call_centre", "call_center", "callcenter", "phone", "telephone", "chat", "live_chat", "desk",
    "helpdesk", "support", "service", "counter",
})
DAY_SECONDS = 86_400.0


@dataclass(frozen=True, repr=False)
class ConformanceResult:
    """``to_dict()`` -> ``{"customers", "following_customers", "following_share",
    "backward_moves": [{from_stage, to_stage, moves, customers}], "skipping_customers",
    "skipped_stages": [{stage, order, customers, share}], "friction": [{signal, touchpoint,
    from_touchpoint, customers, share, occurrences, threshold_seconds}]}``."""

    summary: Mapping[str, Any]
    backward_moves: Sequence[Mapping[str, Any]]
    skipped_stages: Sequence[Mapping[str, Any]]
    friction: Sequence[Mapping[str, Any]]
    params: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return plain({**self.summary, "backward_moves": [dict(r) for r in self.backward_moves],
                      "skipped_stages": [dict(r) for r in self.skipped_stages],
                      "friction": [dict(r) for r in self.friction]})

    def to_frame(self) -> pd.DataFrame:
        """The friction signals, ranked."""
        return pd.DataFrame([dict(r) for r in self.friction])

    def proportions(self) -> dict[str, tuple[int, int]]:
        n = int(self.summary["customers"])
        return {"following": (int(self.summary["following_customers"]), n),
                "skipping": (int(self.summary["skipping_customers"]), n)}

    def figure(self) -> Any:
        """Bar chart of the friction signals by customers touched."""
        import plotly.graph_objects as go

        labels = [f"{r['signal']}: {r['touchpoint']}" for r in self.friction]
        return go.Figure(go.Bar(x=[r["customers"] for r in self.friction], y=labels, orientation="h"))

    def __repr__(self) -> str:
        return f"ConformanceResult(following_share={self.summary['following_share']}, {len(self.friction)} signals)"


def conformance(events: ir.Table, *, definition: JourneyDefinition | None = None,
                customers: ir.Table | None = None, filters: Filters | None = None,
                repeat_window_days: float = 1.0, recontact_days: float = 7.0,
                contact_touchpoints: Sequence[str] | None = None, min_transitions: int = 5) -> ConformanceResult:
    """Compare the observed journeys in ``events`` with the defined stage order."""
    if repeat_window_days <= 0 or recontact_days <= 0 or min_transitions < 1:
        raise ParameterError("repeat_window_days and recontact_days must be > 0 and min_transitions >= 1.")
    if filters is not None and not filters.is_empty():
        events = filters.apply(events, definition, customers)
    events = label_touchpoints(events, definition)
    labels = _labels(events, contact_filter(events, definition, contact_touchpoints))
    with labels.cache() as labels:
        names = labels.to_pyarrow().to_pylist()
        with _coded(events, labels).cache() as coded:
            staged, steps, summary = _stage_steps(coded)
            stage_names = {r["stage"]: r["stage_name"] for r in names}
            orders = _stage_orders(definition, staged, stage_names)
            skipping, skipped = _skipped(staged, orders, int(summary["customers"]))
            summary = {**summary, "skipping_customers": skipping}
            backward = [{**r, "from_stage": stage_names[r["from_stage"]], "to_stage": stage_names[r["to_stage"]]}
                        for r in _backward(steps)]
            signals = [*_repeats(coded, repeat_window_days), *_recontacts(coded, recontact_days),
                       *_long_waits(coded, min_transitions)]
            everyone = int(coded.customer_id.nunique().execute())
    tp_names = {r["tp"]: r["tp_name"] for r in names}
    signals = [{**r, "touchpoint": tp_names[r["touchpoint"]],
                "from_touchpoint": None if r["from_touchpoint"] is None else tp_names[r["from_touchpoint"]]}
               for r in signals]
    friction = sorted(({**s, "share": s["customers"] / everyone if everyone else None} for s in signals),
                      key=lambda s: (-s["customers"], -s["occurrences"], s["signal"], s["touchpoint"],
                                     s["from_touchpoint"] or ""))
    params = {"repeat_window_days": repeat_window_days, "recontact_days": recontact_days,
              "min_transitions": min_transitions, "filters": filters.to_dict() if filters is not None else {}}
    backward.sort(key=lambda r: (-r["customers"], r["from_stage"], r["to_stage"]))
    return ConformanceResult(summary=summary, backward_moves=tuple(backward), skipped_stages=skipped,
                             friction=tuple(friction), params=params)


def _labels(events: ir.Table, contact: ir.BooleanValue) -> ir.Table:
    """The distinct (stage, stage order, touchpoint, channel) of the events with integer codes
    ``stage`` and ``tp`` (null for a null name) and the ``contact`` flag (ADR 0105: the windows
    sort integers, not names)."""
    labels = events.select(stage_name=events.stage, stage_order=events.stage_order, tp_name=events.tp,
                           channel=events.channel, contact=contact.fill_null(False)).distinct()
    stage = ibis.dense_rank().over(order_by=labels.stage_name).cast("int32")
    tp = ibis.dense_rank().over(order_by=labels.tp_name).cast("int32")
    return labels.mutate(stage=ibis.ifelse(labels.stage_name.isnull(), ibis.null("int32"), stage),
                         tp=ibis.ifelse(labels.tp_name.isnull(), ibis.null("int32"), tp))


def _coded(events: ir.Table, labels: ir.Table) -> ir.Table:
    """``customer_id`` (a code per customer), ``stage``, ``stage_order``, ``tp``, ``contact``,
    ``timestamp``, ``_seq`` as numbers; events without a customer id keep a null code."""
    people = codes(events, "customer_id", "customer", dtype="int64")
    same = [events.stage.identical_to(labels.stage_name), events.stage_order.identical_to(labels.stage_order),
            events.tp.identical_to(labels.tp_name), events.channel.identical_to(labels.channel)]
    rows = events.join(labels, same).select(events.customer_id, events.timestamp, events._seq, labels.stage,
                                            labels.stage_order, labels.tp, labels.contact)
    rows = rows.left_join(people, "customer_id")
    return rows.select(customer_id=rows.customer, stage=rows.stage, stage_order=rows.stage_order, tp=rows.tp,
                       contact=rows.contact, timestamp=rows.timestamp, _seq=rows._seq)


def following_summary(events: ir.Table, *, definition: JourneyDefinition | None = None) -> dict[str, Any]:
    """Only the stage-order part of :func:`conformance`: ``{customers, following_customers,
    following_share}`` (a customer follows the map when no step moves back to an earlier stage)."""
    return _stage_steps(label_touchpoints(events, definition))[2]


def _stage_steps(events: ir.Table) -> tuple[ir.Table, ir.Table, dict[str, Any]]:
    staged = events.filter(events.stage.notnull())
    window = ibis.window(group_by=staged.customer_id, order_by=ordered(staged))
    steps = staged.mutate(from_stage=staged.stage.lag().over(window), from_order=staged.stage_order.lag().over(window))
    steps = steps.mutate(backward=steps.from_order.notnull() & (steps.stage_order < steps.from_order))
    per_customer = steps.group_by("customer_id").aggregate(backward=steps.backward.cast("int8").max())
    counts = per_customer.aggregate(n=per_customer.count(), back=per_customer.backward.cast("int64").sum())
    row = counts.to_pyarrow().to_pylist()[0]
    total, back = int(row["n"] or 0), int(row["back"] or 0)
    return staged, steps, {"customers": total, "following_customers": total - back,
                           "following_share": (total - back) / total if total else None}


def _backward(steps: ir.Table) -> list[dict[str, Any]]:
    back = steps.filter(steps.backward)
    agg = back.group_by("from_stage", to_stage=back.stage).aggregate(moves=back.count(),
                                                                      customers=back.customer_id.nunique())
    return [{k: (int(v) if k in ("moves", "customers") else v) for k, v in r.items()} for r in agg.to_pyarrow().to_pylist()]


def _stage_orders(definition: JourneyDefinition | None, staged: ir.Table,
                  stage_names: dict[Any, Any]) -> list[tuple[str, int]]:
    if definition is not None:
        return [(s.name, i + 1) for i, s in enumerate(definition.stages)]
    observed = staged.select("stage", "stage_order").distinct().to_pyarrow().to_pylist()
    return sorted(((stage_names[r["stage"]], int(r["stage_order"])) for r in observed if r["stage_order"] is not None),
                  key=lambda item: (item[1], item[0]))


def _skipped(staged: ir.Table, stages: list[tuple[str, int]], total: int) -> tuple[int, tuple[dict[str, Any], ...]]:
    """One query: per customer, first/last order and whether each stage was visited."""
    if not stages:
        return 0, ()
    visited = {f"v{order}": (staged.stage_order == order).cast("int8").max() for _, order in stages}
    per = staged.group_by("customer_id").aggregate(lo=staged.stage_order.min(), hi=staged.stage_order.max(), **visited)
    skips = {f"s{order}": ((per.lo < order) & (per.hi > order) & (per[f"v{order}"] == 0)) for _, order in stages}
    any_skip = ibis.literal(False)
    for test in skips.values():
        any_skip = any_skip | test
    sums = {k: v.cast("int64").sum() for k, v in skips.items()}
    row = per.aggregate(any=any_skip.cast("int64").sum(), **sums).to_pyarrow().to_pylist()[0]
    rows = [{"stage": name, "order": order, "customers": int(row[f"s{order}"] or 0),
             "share": int(row[f"s{order}"] or 0) / total if total else None}
            for name, order in stages if row[f"s{order}"]]
    return int(row["any"] or 0), tuple(rows)


def _signal_rows(table: ir.Table, signal: str, by_from: bool = False,
                 threshold: ir.Value | None = None) -> list[dict[str, Any]]:
    keys = ["tp", "from_tp"] if by_from else ["tp"]
    metrics: dict[str, ir.Value] = {"occurrences": table.count(), "customers": table.customer_id.nunique()}
    if threshold is not None:
        metrics["threshold_seconds"] = threshold.max()
    out = []
    for r in table.group_by(keys).aggregate(**metrics).to_pyarrow().to_pylist():
        out.append({"signal": signal, "touchpoint": r["tp"], "from_touchpoint": r.get("from_tp"),
                    "customers": int(r["customers"]), "occurrences": int(r["occurrences"]),
                    "threshold_seconds": r.get("threshold_seconds")})
    return out


def _repeats(events: ir.Table, window_days: float) -> list[dict[str, Any]]:
    window = ibis.window(group_by=[events.customer_id, events.tp], order_by=ordered(events))
    marked = events.mutate(prev_ts=events.timestamp.lag().over(window))
    gap = seconds_between(marked.prev_ts, marked.timestamp)
    return _signal_rows(marked.filter(marked.prev_ts.notnull() & (gap <= window_days * DAY_SECONDS)), "repeat")


def contact_filter(events: ir.Table, definition: JourneyDefinition | None,
                   contact_touchpoints: Sequence[str] | None) -> ir.BooleanValue:
    """Which events are contacts: the named touchpoints, else events on a contact channel."""
    if contact_touchpoints:
        return events.tp.isin(list(contact_touchpoints))
    # Channels whose kind is known by name (contact or not) are compared raw; only other
    # spellings are normalised (the CASE runs that branch only for the rows that reach it).
    def normal(name: str) -> str:
        return name.strip().lower().replace(" ", "_").replace("-", "_")

    named = {c for c in ONLINE_CHANNELS | OFFLINE_CHANNELS | CONTACT_CHANNELS if normal(c) == c}
    if definition is not None:
        named |= {tp.channel for tp in definition.touchpoints if tp.channel}
    contacts = sorted(c for c in named if normal(c) in CONTACT_CHANNELS)
    others = sorted(c for c in named if normal(c) not in CONTACT_CHANNELS)
    key = events.channel.strip().lower().replace(" ", "_").replace("-", "_")
    test = ibis.cases((events.channel.isnull(), False), (events.channel.isin(contacts), True),
                      (events.channel.isin(others), False), else_=one_of(key, sorted(CONTACT_CHANNELS)))
    if definition is not None:
        rules = [tp.name for tp in definition.touchpoints if tp.channel and normal(tp.channel) in CONTACT_CHANNELS]
        if rules:
            test = test | events.tp.isin(rules)
    return test


def _recontacts(events: ir.Table, days: float) -> list[dict[str, Any]]:
    contacts = events.filter(events.contact)
    window = ibis.window(group_by=contacts.customer_id, order_by=ordered(contacts))
    marked = contacts.mutate(prev_ts=contacts.timestamp.lag().over(window))
    gap = seconds_between(marked.prev_ts, marked.timestamp)
    return _signal_rows(marked.filter(marked.prev_ts.notnull() & (gap <= days * DAY_SECONDS)), "recontact")


def _long_waits(events: ir.Table, min_transitions: int) -> list[dict[str, Any]]:
    window = ibis.window(group_by=events.customer_id, order_by=ordered(events))
    pairs = events.mutate(from_tp=events.tp.lag().over(window), prev_ts=events.timestamp.lag().over(window))
    pairs = pairs.filter(pairs.from_tp.notnull()).mutate(gap=seconds_between(pairs.prev_ts, pairs.timestamp))
    usual = pairs.group_by("from_tp", "tp").aggregate(n=pairs.count(), p90=pairs.gap.quantile(0.9))
    usual = usual.filter(usual.n >= min_transitions)
    joined = pairs.join(usual, ["from_tp", "tp"])
    slow = joined.filter(joined.gap > joined.p90)
    return _signal_rows(slow, "long_wait", by_from=True, threshold=slow.p90)
