"""Channel hopping: how customers move between channels along their journeys.

Over each customer's events in (timestamp, _seq) order, ignoring events without a channel:

* ``matrix`` - every pair of consecutive events as ``from_channel -> to_channel`` with
  ``transitions`` and distinct ``customers``; ``switch`` marks pairs whose channel differs
  and ``crosses_online`` pairs that go between an online and an offline channel;
* ``multichannel_share`` - share of customers who used more than one channel;
* ``hops`` - channel switches per customer: ``hops_distribution`` and ``mean_hops``;
* ``in_stage_switch_share`` - share of customers who switched channel between two
  consecutive events of the same stage (in the middle of a stage);
* ``online_offline`` - online -> offline and offline -> online switches (transitions, customers);
  online/offline as in :func:`journeylens.analyses.cohorts.is_online`.

>>> from journeylens.analyses.channels import channels   # doctest: +SKIP
>>> channels(lens.events(), definition=lens.definition).to_dict()["mean_hops"]  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import ibis
import ibis.expr.types as ir
import pandas as pd

from journeylens.analyses.cohorts import is_online
from journeylens.analyses.journey_map import codes, ordered
from journeylens.analyses.result import plain

if TYPE_CHECKING:
    from journeylens.analyses.filters import Filters
    from journeylens.journeys.definition import JourneyDefinition


@dataclass(frozen=True, repr=False)
class ChannelsResult:
    """``to_dict()`` -> ``{"customers", "multichannel_customers", "multichannel_share",
    "mean_hops", "hops_distribution": [{hops, customers, share}], "in_stage_switch_customers",
    "in_stage_switch_share", "online_offline": {"online_to_offline": {transitions, customers},
    "offline_to_online": {...}}, "matrix": [{from_channel, to_channel, transitions, customers,
    switch, crosses_online}]}``."""

    summary: Mapping[str, Any]
    hops_distribution: Sequence[Mapping[str, Any]]
    matrix: Sequence[Mapping[str, Any]]
    online_offline: Mapping[str, Mapping[str, int]]
    params: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return plain({**self.summary, "hops_distribution": [dict(r) for r in self.hops_distribution],
                      "online_offline": {k: dict(v) for k, v in self.online_offline.items()},
                      "matrix": [dict(r) for r in self.matrix]})

    def to_frame(self) -> pd.DataFrame:
        """The switch matrix as rows."""
        return pd.DataFrame([dict(r) for r in self.matrix])

    def pivot(self) -> pd.DataFrame:
        """The switch matrix as a from x to table of transitions."""
        frame = self.to_frame()
        if frame.empty:
            return frame
        return frame.pivot_table(index="from_channel", columns="to_channel", values="transitions", fill_value=0)

    def proportions(self) -> dict[str, tuple[int, int]]:
        n = int(self.summary["customers"])
        return {"multichannel": (int(self.summary["multichannel_customers"]), n),
                "in_stage_switch": (int(self.summary["in_stage_switch_customers"]), n)}

    def figure(self) -> Any:
        """Heatmap of the channel-to-channel matrix."""
        import plotly.graph_objects as go

        grid = self.pivot()
        if grid.empty:
            return go.Figure()
        # Staying on a channel would dominate the colour scale: the diagonal is shown apart, as text.
        switches = grid.astype("float64").copy()
        stays = {c: switches.loc[c, c] for c in switches.index if c in switches.columns}
        for channel in stays:
            switches.loc[channel, channel] = float("nan")
        figure = go.Figure(go.Heatmap(z=switches.values, x=list(grid.columns), y=list(grid.index), colorscale="Blues",
                                      colorbar={"title": {"text": "switches"}},
                                      hovertemplate="%{y} → %{x}: %{z:,} switches<extra></extra>"))
        for channel, n in stays.items():
            figure.add_annotation(x=channel, y=channel, text=f"stay {n:,.0f}", showarrow=False,
                                  font={"size": 9, "color": "#64748b"})
        figure.update_layout(xaxis={"title": {"text": "to channel"}}, yaxis={"title": {"text": "from channel"}},
                             title="Channel switches (staying on a channel shown apart, as text)")
        return figure

    def __repr__(self) -> str:
        return f"ChannelsResult({self.summary['customers']} customers, mean_hops={self.summary['mean_hops']})"


def channels(events: ir.Table, *, definition: JourneyDefinition | None = None,
             customers: ir.Table | None = None, filters: Filters | None = None) -> ChannelsResult:
    """Channel switches in ``events`` (``journey_events``)."""
    if filters is not None and not filters.is_empty():
        events = filters.apply(events, definition, customers)
    known = events.filter(events.channel.notnull())
    # Integer codes for the customers, channels and stages (ADR 0105): the window sorts and the
    # temporary table hold numbers, not strings (106M events: strings spilled the sort).
    kinds = codes(known, "channel", "c")
    kinds = kinds.mutate(online=is_online(kinds.channel, definition))
    stages = codes(known.filter(known.stage.notnull()), "stage", "s")
    people = codes(known, "customer_id", "customer", dtype="int64")
    with kinds.cache() as kinds:
        names = {int(r["c"]): str(r["channel"]) for r in kinds.select("c", "channel").to_pyarrow().to_pylist()}
        coded = known.join(kinds, "channel").left_join(stages, "stage").left_join(people, "customer_id")
        coded = coded.select("customer", "c", "s", "online", "timestamp", "_seq")
        window = ibis.window(group_by=coded.customer, order_by=ordered(coded))
        # The previous event's kind from its own channel's kind: no second window over the table.
        pairs = coded.mutate(from_c=coded.c.lag().over(window), from_s=coded.s.lag().over(window),
                             from_online=coded.online.lag().over(window))
        pairs = pairs.mutate(switch=pairs.from_c.notnull() & (pairs.from_c != pairs.c))
        pairs = pairs.mutate(in_stage=pairs.switch & pairs.s.notnull() & (pairs.s == pairs.from_s))
        # The windowed pairs feed four aggregates: computed once (a temporary table for the
        # duration of this call), not once per aggregate.
        with pairs.select("customer", "c", "from_c", "online", "from_online", "switch", "in_stage").cache() as pairs:
            return _summarise(pairs, names, filters)


def _summarise(pairs: ir.Table, names: Mapping[int, str], filters: Filters | None) -> ChannelsResult:
    per_customer = pairs.group_by("customer").aggregate(
        hops=pairs.switch.cast("int64").sum(), n_channels=pairs.c.nunique(),
        in_stage=pairs.in_stage.cast("int8").max())
    hops = per_customer.group_by("hops").aggregate(
        customers=per_customer.count(), multi=(per_customer.n_channels > 1).cast("int64").sum(),
        in_stage=per_customer.in_stage.cast("int64").sum()).order_by("hops")
    hop_rows = hops.to_pyarrow().to_pylist()
    total = sum(int(r["customers"]) for r in hop_rows)
    multi = sum(int(r["multi"] or 0) for r in hop_rows)
    in_stage = sum(int(r["in_stage"] or 0) for r in hop_rows)
    summary = {
        "customers": total, "multichannel_customers": multi, "multichannel_share": multi / total if total else None,
        "mean_hops": sum(int(r["hops"]) * int(r["customers"]) for r in hop_rows) / total if total else None,
        "in_stage_switch_customers": in_stage, "in_stage_switch_share": in_stage / total if total else None,
    }
    distribution = [{"hops": int(r["hops"]), "customers": int(r["customers"]), "share": int(r["customers"]) / total}
                    for r in hop_rows]
    return ChannelsResult(summary=summary, hops_distribution=tuple(distribution), matrix=_matrix(pairs, names),
                          online_offline=_online_offline(pairs),
                          params={"filters": filters.to_dict() if filters is not None else {}})


def _matrix(pairs: ir.Table, names: Mapping[int, str]) -> tuple[dict[str, Any], ...]:
    moves = pairs.filter(pairs.from_c.notnull())
    agg = moves.group_by("from_c", "c").aggregate(
        transitions=moves.count(), customers=moves.customer.nunique(),
        crosses_online=(moves.online != moves.from_online).fill_null(False).cast("int8").max())
    rows = []
    for r in agg.to_pyarrow().to_pylist():
        source, target = names[r["from_c"]], names[r["c"]]
        rows.append({"from_channel": source, "to_channel": target,
                     "transitions": int(r["transitions"]), "customers": int(r["customers"]),
                     "switch": source != target, "crosses_online": bool(r["crosses_online"])})
    return tuple(sorted(rows, key=lambda r: (-r["transitions"], r["from_channel"], r["to_channel"])))


def _online_offline(pairs: ir.Table) -> dict[str, dict[str, int]]:
    crossing = pairs.filter(pairs.switch & pairs.online.notnull() & pairs.from_online.notnull()
                            & (pairs.online != pairs.from_online))
    agg = crossing.group_by(to_online=crossing.online).aggregate(
        transitions=crossing.count(), customers=crossing.customer.nunique())
    found = {bool(r["to_online"]): r for r in agg.to_pyarrow().to_pylist()}
    return {name: {"transitions": int(found.get(to_online, {}).get("transitions", 0)),
                   "customers": int(found.get(to_online, {}).get("customers", 0))}
            for name, to_online in (("online_to_offline", False), ("offline_to_online", True))}
