"""Funnels: how many customers get through an ordered list of steps (touchpoints or stages).

Every customer's funnel starts at their first event at step 1 (journey order: ``timestamp``
then ``_seq``). Modes:

* ``ordered`` — each step is the earliest event of that step *after* the previous step's
  matched event (other events may come in between);
* ``strict`` — each step must be the very next event of the journey (at the chosen level);
* ``any`` — the customer's first event at each step, in any order; a step counts as reached
  when steps 1..k all occurred, at the moment the last of them occurred.

``within_days`` keeps only steps reached within that many days of the step-1 event (in
``any`` mode: the span between the earliest and latest of steps 1..k). ``exclude`` drops a
customer from the whole funnel when an event at one of those nodes lies strictly between
their step-1 event and the last step they reached (in ``strict`` mode nothing can lie between).

Rows: ``step``, ``customers``, ``conversion_from_start``, ``conversion_from_previous``
(null for step 1) and ``median_seconds_from_previous`` (exact median; null for step 1).
With ``breakdown_col`` each customer belongs to the group given by that column on their
first event; rows gain ``group``, and ``to_dict()`` becomes ``{"groups": rows, "test": …}``
where ``test`` holds a chi-square test of the final conversion across groups and pairwise
two-proportion z-tests with Benjamini-Hochberg adjusted p-values.

>>> import ibis
>>> from datetime import datetime, UTC
>>> events = ibis.memtable({"customer_id": ["a", "a", "a", "b", "b"],
...     "touchpoint": ["visit", "cart", "buy", "visit", "buy"],
...     "timestamp": [datetime(2024, 1, 1, 0, 0, s, tzinfo=UTC) for s in (0, 10, 40, 0, 5)],
...     "_seq": [1, 2, 3, 4, 5]})
>>> [(r["step"], r["customers"]) for r in funnel(events, steps=["visit", "cart", "buy"]).records]
[('visit', 2), ('cart', 1), ('buy', 1)]
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import ibis
import ibis.expr.types as ir

from journeylens.analyses import stats
from journeylens.analyses.filters import Filters
from journeylens.analyses.names import check_names, distinct_values
from journeylens.analyses.result import Result
from journeylens.analyses.transitions import (
    apply_filters,
    check_level,
    journey_nodes,
    journey_order,
)
from journeylens.errors import ParameterError
from journeylens.warehouse.durations import micros_between, seconds_between

if TYPE_CHECKING:
    from journeylens.journeys.definition import JourneyDefinition

MODES: tuple[str, ...] = ("ordered", "strict", "any")
COLUMNS: tuple[str, ...] = ("step", "customers", "conversion_from_start", "conversion_from_previous",
                            "median_seconds_from_previous")
MISSING_GROUP = "(none)"


@dataclass(frozen=True, repr=False)
class FunnelResult(Result):
    """Rows per step (per group with a breakdown) plus the significance ``test`` of a breakdown."""

    test: Mapping[str, Any] | None = None

    def to_dict(self) -> Any:
        rows = super().to_dict()
        return rows if self.test is None else {"groups": rows, "test": stats_plain(self.test)}

    def figure(self) -> Any:
        """A Plotly funnel chart (one trace per group with a breakdown): steps top to bottom in
        funnel order, customers with thousands separators and the share of step 1 on each bar."""
        import plotly.graph_objects as go

        from journeylens.analyses.chart_rules import NOT_SET, axis_category, axis_count

        fig = go.Figure()
        steps = list(dict.fromkeys(r["step"] for r in self.records))
        for group, grouped in itertools.groupby(self.records, key=lambda r: r.get("group")):
            rows = list(grouped)
            name = None if group is None else (NOT_SET if group == MISSING_GROUP else str(group))
            fig.add_trace(go.Funnel(name=name, y=[r["step"] for r in rows], x=[r["customers"] for r in rows],
                                    texttemplate="%{value:,} (%{percentInitial:.1%})",
                                    hovertemplate="%{y}: %{x:,} customers, %{percentInitial:.1%} of step 1, "
                                                  "%{percentPrevious:.1%} of the previous step<extra></extra>"))
        breakdown = self.params.get("breakdown_col")
        fig.update_layout(showlegend=breakdown is not None, legend_title_text=str(breakdown or ""))
        axis_count(fig, "x", title="Customers reaching the step")
        # Funnel traces draw their y axis reversed (first category on top), so steps go in as they are.
        return axis_category(fig, "y", title="Funnel step (in order)", order=steps)


def stats_plain(test: Mapping[str, Any]) -> Any:
    from journeylens.analyses.result import plain

    return plain(dict(test))


def _check(steps: Sequence[str], mode: str, within_days: float | None, exclude: Sequence[str]) -> None:
    if not steps or any(not s for s in steps):
        raise ParameterError("A funnel needs at least one non-empty step, for example steps=['visit', 'buy'].",
                             details={"steps": list(steps)})
    if mode not in MODES:
        raise ParameterError(f"Unknown funnel mode {mode!r}; use one of: {', '.join(MODES)}.",
                             details={"mode": mode, "allowed": list(MODES)})
    if within_days is not None and within_days <= 0:
        raise ParameterError(f"within_days must be positive, got {within_days}.", details={"within_days": within_days})
    if overlap := sorted(set(steps) & set(exclude)):
        raise ParameterError(f"A node cannot be both a step and an exclusion: {', '.join(overlap)}.",
                             details={"overlap": overlap})


def _check_step_names(events: ir.Table, level: str, names: Sequence[str],
                      definition: JourneyDefinition | None) -> None:
    """A step the data and the definition never name is an error with close matches (not a zero)."""
    known: set[str] = set()
    if definition is not None:
        known |= {t.name if level == "touchpoint" else t.stage for t in definition.touchpoints}
    if not set(names) <= known:  # only then read the data's names (a scan of the whole table)
        known |= set(distinct_values(events, level))
    check_names("step", names, known)


def _within(later: ir.TimestampValue, start: ir.TimestampValue, window_us: int | None) -> ir.BooleanValue:
    if window_us is None:
        return ibis.literal(True)
    return micros_between(later, start) <= window_us


def _ranked(nodes: ir.Table, names: Sequence[str]) -> ir.Table:
    """Events at ``names`` with ``position`` (journey order among those events only)."""
    subset = nodes.filter(nodes.node.isin(list(names)))
    return subset.mutate(position=ibis.row_number().over(journey_order(subset)))


def _ordered(cand: ir.Table, steps: Sequence[str], window_us: int | None) -> ir.Table:
    """Per customer ``p{k}``/``t{k}``: position and time of each step matched in order."""
    first = cand.filter(cand.node == steps[0])
    wide = first.group_by("customer_id").aggregate(p0=first.position.min(), t0=first.timestamp.min())
    previous = wide.select("customer_id", prev_p="p0", start_t="t0")
    for k, step in enumerate(steps[1:], start=1):
        here = cand.filter(cand.node == step)
        joined = here.join(previous, "customer_id")
        joined = joined.filter(joined.position > joined.prev_p, _within(joined.timestamp, joined.start_t, window_us))
        matched = joined.group_by("customer_id").aggregate(
            **{f"p{k}": joined.position.min(), f"t{k}": joined.timestamp.min(), "start_t": joined.start_t.min()})
        wide = wide.left_join(matched, "customer_id").select(
            *[wide[c] for c in wide.columns], matched[f"p{k}"], matched[f"t{k}"])
        previous = matched.select("customer_id", prev_p=f"p{k}", start_t="start_t")
    return wide.mutate(**{f"done{k}": wide[f"t{k}"] for k in range(len(steps))})


def _strict(nodes: ir.Table, steps: Sequence[str], window_us: int | None) -> ir.Table:
    """Per customer: from their first step-1 event, whether the next events are the next steps.

    Positions count every event of the journey, but only events at step nodes are kept after
    that, so the matching works on a small table: step k is reached when the event ``k``
    places after the step-1 event is at ``steps[k]`` (and so were all before it).
    """
    # The window numbers every event but carries only a small integer for the node (the
    # index of the step node it is, else null) instead of its name: at 106M events the names
    # made the sort spill (ADR 0105).
    distinct = list(dict.fromkeys(steps))
    node = ibis.cases(*((nodes.node == name, ibis.literal(i, type="int16")) for i, name in enumerate(distinct)),
                      else_=ibis.null("int16"))
    slim = nodes.select("customer_id", "timestamp", "_seq", node=node)
    positioned = slim.mutate(position=ibis.row_number().over(journey_order(slim)))
    cand = positioned.filter(positioned.node.notnull())
    first = cand.filter(cand.node == distinct.index(steps[0]))
    wide = first.group_by("customer_id").aggregate(p0=first.position.min(), t0=first.timestamp.min())
    near = cand.join(wide, "customer_id")
    offset = near.position - near.p0
    near = near.filter(offset > 0, offset < len(steps))
    later = near.group_by("customer_id").aggregate(
        **{f"t{k}": near.timestamp.min(where=(offset == k) & (near.node == distinct.index(step)))
           for k, step in enumerate(steps[1:], start=1)})
    wide = wide.left_join(later, "customer_id").select(wide.customer_id, wide.t0, *[later[f"t{k}"]
                                                                                   for k in range(1, len(steps))])
    wide = wide.mutate(done0=wide.t0)
    reached: ir.BooleanValue = ibis.literal(True)
    for k in range(1, len(steps)):
        reached = reached & wide[f"t{k}"].notnull() & _within(wide[f"t{k}"], wide.t0, window_us)
        wide = wide.mutate(**{f"done{k}": ibis.ifelse(reached, wide[f"t{k}"], ibis.null("timestamp"))})
    return wide


def _any(cand: ir.Table, steps: Sequence[str], window_us: int | None) -> ir.Table:
    """Per customer: first occurrence of each step; step k done when steps 1..k all occurred.

    ``lo{k}``/``hi{k}`` (positions of the first and last matched step, for exclusions) only
    when ``cand`` has positions: without exclusions the funnel needs no window at all.
    """
    positioned = "position" in cand.columns
    firsts = cand.group_by("customer_id").aggregate(
        **({f"p{k}": cand.position.min(where=cand.node == s) for k, s in enumerate(steps)} if positioned else {}),
        **{f"t{k}": cand.timestamp.min(where=cand.node == s) for k, s in enumerate(steps)})
    firsts = firsts.filter(firsts.t0.notnull())
    columns: dict[str, Any] = {"done0": firsts.t0, "first_t0": firsts.t0}
    if positioned:
        columns.update(lo0=firsts.p0, hi0=firsts.p0)
    reached: ir.BooleanValue = ibis.literal(True)
    for k in range(1, len(steps)):
        t_k = firsts[f"t{k}"]
        earliest = ibis.least(columns[f"first_t{k - 1}"], t_k)
        latest = ibis.greatest(columns[f"done{k - 1}"], t_k)
        reached = reached & t_k.notnull() & _within(latest, earliest, window_us)
        columns[f"first_t{k}"] = earliest
        columns[f"done{k}"] = ibis.ifelse(reached, latest, ibis.null("timestamp"))
        if positioned:
            p_k = firsts[f"p{k}"]
            columns[f"lo{k}"] = ibis.ifelse(reached, ibis.least(columns[f"lo{k - 1}"], p_k), ibis.null("int64"))
            columns[f"hi{k}"] = ibis.ifelse(reached, ibis.greatest(columns[f"hi{k - 1}"], p_k), ibis.null("int64"))
    return firsts.mutate(**columns)


def _bounds(wide: ir.Table, n_steps: int, mode: str) -> ir.Table:
    """``lo``/``hi``: positions of the first and last matched step of each customer."""
    if mode == "any":
        lo = ibis.coalesce(*[wide[f"lo{k}"] for k in reversed(range(n_steps))])
        hi = ibis.coalesce(*[wide[f"hi{k}"] for k in reversed(range(n_steps))])
        return wide.select("customer_id", lo=lo, hi=hi)
    last = ibis.coalesce(*[ibis.ifelse(wide[f"done{k}"].notnull(), wide[f"p{k}"], ibis.null("int64"))
                           for k in reversed(range(n_steps))])
    return wide.select("customer_id", lo=wide.p0, hi=last)


def _drop_excluded(wide: ir.Table, cand: ir.Table, exclude: Sequence[str], n_steps: int, mode: str) -> ir.Table:
    bounds = _bounds(wide, n_steps, mode)
    hits = cand.filter(cand.node.isin(list(exclude))).join(bounds, "customer_id")
    hits = hits.filter((hits.position > hits.lo) & (hits.position < hits.hi))
    return wide.anti_join(hits.select("customer_id").distinct(), "customer_id")


def _groups(events: ir.Table, breakdown_col: str, customers: ir.Table | None = None) -> ir.Table:
    """Each customer's group: ``breakdown_col`` on their first event, or a property's first
    value in their journey (an event property, a customer column or attribute)."""
    if breakdown_col not in events.columns:
        from journeylens.analyses.properties import property_column

        valued = property_column(events, breakdown_col, events=events, customers=customers, kind="event",
                                 what="breakdown_property")
        valued = valued.filter(valued[breakdown_col].notnull())
        ranked = valued.mutate(rank=ibis.row_number().over(journey_order(valued)))
        firsts = ranked.filter(ranked.rank == 0)
        return firsts.select("customer_id", group=firsts[breakdown_col])
    ranked = events.mutate(rank=ibis.row_number().over(journey_order(events)))
    firsts = ranked.filter(ranked.rank == 0)
    return firsts.select("customer_id", group=firsts[breakdown_col].cast("string").fill_null(MISSING_GROUP))


def funnel_wide(events: ir.Table, *, steps: Sequence[str], level: str = "touchpoint", mode: str = "ordered",
                within_days: float | None = None, exclude: Sequence[str] = ()) -> ir.Table:
    """Per customer who reached step 1: ``done{k}`` (time step k was reached, else null)."""
    window_us = None if within_days is None else round(within_days * 86_400_000_000)
    if mode == "strict":
        return _strict(journey_nodes(events, level=level), steps, window_us)
    nodes = journey_nodes(events, level=level)
    if mode == "any" and not exclude:  # first times only: no positions, no window
        return _any(nodes.filter(nodes.node.isin(list(steps))), steps, window_us)
    cand = _ranked(nodes, [*steps, *exclude])
    wide = _ordered(cand, steps, window_us) if mode == "ordered" else _any(cand, steps, window_us)
    return _drop_excluded(wide, cand, exclude, len(steps), mode) if exclude else wide


def _aggregate(wide: ir.Table, n_steps: int, by: list[str]) -> list[dict[str, Any]]:
    metrics: dict[str, Any] = {}
    for k in range(n_steps):
        metrics[f"c{k}"] = wide[f"done{k}"].count()
        if k:
            metrics[f"m{k}"] = seconds_between(wide[f"done{k}"], wide[f"done{k - 1}"]).median()
    table = wide.group_by(by).aggregate(**metrics) if by else wide.aggregate(**metrics)
    return table.to_pyarrow().to_pylist()


def _rows(counts: Mapping[str, Any], steps: Sequence[str]) -> list[dict[str, Any]]:
    rows = []
    for k, step in enumerate(steps):
        customers = int(counts.get(f"c{k}") or 0)
        start, previous = int(counts.get("c0") or 0), int(counts.get(f"c{k - 1}") or 0) if k else 0
        rows.append({
            "step": step, "customers": customers,
            "conversion_from_start": customers / start if start else None,
            "conversion_from_previous": (customers / previous if previous else None) if k else None,
            "median_seconds_from_previous": counts.get(f"m{k}") if k else None,
        })
    return rows


def conversion_test(finals: Mapping[str, tuple[int, int]], *, alpha: float = 0.05) -> dict[str, Any]:
    """Chi-square test of final conversion across groups plus pairwise z-tests (BH-adjusted).

    ``finals`` maps group → (converted, started); groups that nobody started are skipped.

    >>> test = conversion_test({"web": (30, 100), "store": (60, 100)})
    >>> test["significant"], test["pairs"][0]["significant"]
    (True, True)
    """
    groups = sorted(g for g, (_, started) in finals.items() if started)
    table: list[list[float]] = [[finals[g][0], finals[g][1] - finals[g][0]] for g in groups]
    chi = stats.chi_square(table)
    pairs: list[dict[str, Any]] = []
    for a, b in itertools.combinations(groups, 2):
        z = stats.two_proportion_ztest(finals[a][0], finals[a][1], finals[b][0], finals[b][1])
        pairs.append({"a": a, "b": b, "difference": z.difference, "z": z.statistic, "p_value": z.p_value})
    for pair, adjusted in zip(pairs, stats.benjamini_hochberg([p["p_value"] for p in pairs]), strict=True):
        pair["p_adjusted"] = adjusted
        pair["significant"] = bool(adjusted == adjusted and adjusted < alpha)
    return {"method": "chi-square (final conversion) + pairwise two-proportion z-tests, Benjamini-Hochberg",
            "statistic": chi.statistic, "dof": chi.dof, "p_value": chi.p_value, "alpha": alpha,
            "significant": bool(chi.p_value == chi.p_value and chi.p_value < alpha), "pairs": pairs}


def checked_funnel(events: ir.Table, *, steps: list[str], level: str, mode: str, within_days: float | None,
                   exclude: list[str], filters: Filters | None, definition: JourneyDefinition | None,
                   customers: ir.Table | None) -> tuple[ir.Table, ir.Table]:
    """The parameters checked (unknown steps list close matches), then the filtered events and
    :func:`funnel_wide` of them."""
    check_level(level)
    _check(steps, mode, within_days, exclude)
    _check_step_names(events, level, [*steps, *exclude], definition)
    events = apply_filters(events, filters, definition, customers)
    return events, funnel_wide(events, steps=steps, level=level, mode=mode, within_days=within_days, exclude=exclude)


def funnel(events: ir.Table, *, steps: Sequence[str], level: str = "touchpoint", mode: str = "ordered",
           within_days: float | None = None, exclude: Sequence[str] = (), breakdown_col: str | None = None,
           alpha: float = 0.05, filters: Filters | None = None,
           definition: JourneyDefinition | None = None, customers: ir.Table | None = None) -> FunnelResult:
    """Customers reaching each of ``steps`` (see the module docstring for the modes)."""
    steps, exclude = list(steps), list(exclude or ())
    events, wide = checked_funnel(events, steps=steps, level=level, mode=mode, within_days=within_days,
                                  exclude=exclude, filters=filters, definition=definition, customers=customers)
    params = {"steps": steps, "level": level, "mode": mode, "within_days": within_days, "exclude": exclude,
              "breakdown_col": breakdown_col, "filters": filters.to_dict() if filters is not None else {}}
    title = f"Funnel ({mode}): {' → '.join(steps)}"
    if breakdown_col is None:
        totals = _aggregate(wide, len(steps), [])
        return FunnelResult(records=tuple(_rows(totals[0] if totals else {}, steps)), params=params, title=title)
    groups = _groups(events, breakdown_col, customers)
    grouped = wide.left_join(groups, wide.customer_id == groups.customer_id).drop("customer_id_right")
    grouped = grouped.mutate(group=grouped.group.fill_null(MISSING_GROUP))
    records: list[dict[str, Any]] = []
    finals: dict[str, tuple[int, int]] = {}
    for counts in sorted(_aggregate(grouped, len(steps), ["group"]), key=lambda c: str(c["group"])):
        rows = _rows(counts, steps)
        finals[counts["group"]] = (rows[-1]["customers"], rows[0]["customers"])
        records.extend({"group": counts["group"], **row} for row in rows)
    return FunnelResult(records=tuple(records), params=params, title=title,
                        test=conversion_test(finals, alpha=alpha))
