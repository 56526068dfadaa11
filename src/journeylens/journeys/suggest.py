"""Suggest a journey definition from the events, for a person to edit.

How the suggestion is made (all in Ibis, so it runs where the events live):

- journeys are the stitched customers' event sequences in ``(timestamp, _seq)`` order;
  ``$``-prefixed system events (such as ``$identify``) are left out;
- each touchpoint gets its **median normalised position**: an event's position in its
  journey scaled to 0 (first) … 1 (last); a one-event journey counts as 0.5;
- the ``max_touchpoints`` most frequent touchpoints are ordered by that median position and
  cut into ``stages`` equal-width position bins (empty bins dropped), each named
  ``Stage N \N{EN DASH} <its most frequent touchpoint>``;
- a touchpoint's channel is the most common non-empty event channel, else ``unknown``;
- conversion outcomes are the most common last touchpoints (each ending at least
  ``outcome_min_share`` of journeys, at most three; the most common one always).

>>> import pyarrow as pa, ibis
>>> events = ibis.memtable(pa.table({
...     "customer_id": ["a", "a", "a", "b", "b"], "anonymous_id": [None] * 5,
...     "touchpoint": ["Visit", "Buy", "Review", "Visit", "Buy"], "channel": ["web"] * 5,
...     "timestamp": pa.array([1, 2, 3, 1, 2], pa.timestamp("s", "UTC")), "_seq": [1, 2, 3, 4, 5]}))
>>> d = suggest_definition(events, stages=2)
>>> [t.name for t in d.touchpoints], d.stage_names, d.outcomes.conversion
(['Visit', 'Buy', 'Review'], ['Stage 1 \N{EN DASH} Visit', 'Stage 2 \N{EN DASH} Buy'], ['Buy', 'Review'])
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import ibis
import ibis.expr.types as ir

from journeylens.errors import EmptyDataError, ParameterError
from journeylens.ingest.stitching import resolve_customers
from journeylens.journeys.definition import JourneyDefinition, Outcomes, Stage, Touchpoint

UNKNOWN_CHANNEL = "unknown"
STAGE_DASH = "\N{EN DASH}"


def journey_positions(events: ir.Table) -> ir.Table:
    """Stitched, non-system events with ``_pos`` (0-based), ``_n`` (journey length) and
    ``_norm`` (position scaled to 0…1)."""
    e = resolve_customers(events)
    e = e.filter(e.touchpoint.notnull() & (e.touchpoint != "") & ~e.touchpoint.startswith("$")
                 & e.customer_id.notnull())
    pos = ibis.row_number().over(group_by=e.customer_id, order_by=[e.timestamp, e._seq])
    n = e.touchpoint.count().over(group_by=e.customer_id)
    e = e.mutate(_pos=pos, _n=n)
    norm = ibis.cases((e._n > 1, e._pos.cast("float64") / (e._n - 1).cast("float64")), else_=0.5)
    return e.mutate(_norm=norm)


def suggest_definition(events: ir.Table, *, stages: int = 4, max_touchpoints: int = 40,
                       outcome_min_share: float = 0.2, name: str = "Suggested journey") -> JourneyDefinition:
    """A proposed :class:`JourneyDefinition` from the events (see the module docstring)."""
    if stages < 1 or max_touchpoints < 1:
        raise ParameterError("stages and max_touchpoints must be at least 1.")
    positioned = journey_positions(events)
    stats = (positioned.group_by("touchpoint")
             .aggregate(events=positioned.count(), median_position=positioned._norm.median())
             .order_by([ibis.desc("events"), "touchpoint"]).limit(max_touchpoints)
             .to_pyarrow().to_pylist())
    if not stats:
        raise EmptyDataError("There are no events to suggest a journey from; ingest events first.")
    stats.sort(key=lambda r: (r["median_position"], -r["events"], r["touchpoint"]))
    names = [r["touchpoint"] for r in stats]
    channels = _top_channels(positioned, names)
    stage_of = _stage_bins([r["median_position"] for r in stats], names, [r["events"] for r in stats], stages)
    touchpoints = [Touchpoint(name=n, stage=stage_of[n], channel=channels.get(n, UNKNOWN_CHANNEL))
                   for n in names]
    return JourneyDefinition(
        name=name, version="1",
        description="Suggested from the data; edit stages, channels, categories and targets.",
        stages=[Stage(name=s) for s in dict.fromkeys(stage_of.values())],
        touchpoints=touchpoints,
        outcomes=Outcomes(conversion=_last_touchpoints(positioned, names, outcome_min_share)),
    )


def _top_channels(positioned: ir.Table, names: Sequence[str]) -> dict[str, str]:
    e = positioned.filter(positioned.touchpoint.isin(list(names)) & positioned.channel.notnull()
                          & (positioned.channel != ""))
    rows = e.group_by(["touchpoint", "channel"]).aggregate(n=e.count()).to_pyarrow().to_pylist()
    best: dict[str, tuple[int, str]] = {}
    for row in rows:
        tp, key = row["touchpoint"], (-row["n"], row["channel"])
        if tp not in best or key < best[tp]:
            best[tp] = key
    return {tp: key[1] for tp, key in best.items()}


def _stage_bins(positions: Sequence[float], names: Sequence[str], counts: Sequence[int],
                stages: int) -> dict[str, str]:
    """Touchpoint → stage name, by equal-width bins of median position (names in order)."""
    bins = [min(int(p * stages), stages - 1) for p in positions]
    main: dict[int, tuple[int, str]] = {}
    for b, n, c in zip(bins, names, counts, strict=True):
        if b not in main or c > main[b][0]:
            main[b] = (c, n)
    labels = {b: f"Stage {i} {STAGE_DASH} {main[b][1]}" for i, b in enumerate(sorted(main), start=1)}
    return {n: labels[b] for b, n in zip(bins, names, strict=True)}


def _last_touchpoints(positioned: ir.Table, names: Sequence[str], min_share: float) -> list[str]:
    last = positioned.filter(positioned._pos == positioned._n - 1)
    rows: list[Mapping[str, Any]] = (last.group_by("touchpoint").aggregate(journeys=last.count())
                                     .order_by([ibis.desc("journeys"), "touchpoint"])
                                     .to_pyarrow().to_pylist())
    total = sum(r["journeys"] for r in rows)
    ranked = [r for r in rows if r["touchpoint"] in set(names)]
    chosen = [r["touchpoint"] for r in ranked[:3] if total and r["journeys"] / total >= min_share]
    return chosen or [r["touchpoint"] for r in ranked[:1]]
