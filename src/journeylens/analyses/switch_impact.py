"""Channel-switch impact: do customers who switch channel in a stage end up less loyal?

For every switch pattern ``(stage, from_channel -> to_channel)`` — two consecutive events of
one customer on different channels (events without a channel or customer ignored; order
``(timestamp, _seq)``) — the analysis compares the customers who made that switch at least
once (*switchers*) with the other customers who had an event in the same stage (*others*):

* **Which pairs count** — the stage of a switch is the stage of the event on the new channel.
  With ``within_stage`` (default) both events must carry that stage (a switch in the middle
  of a stage). ``max_gap_minutes`` (default 30, ``None`` = no limit) keeps only switches whose
  second event follows the first within that many minutes: the same visit, so "tried online,
  then phoned" rather than two unrelated contacts days apart.
* **NPS** — from *all* customer-respondent NPS answers (0-10; respondent null or
  ``customer``) of the group's customers, whenever given: the score describes the customer,
  not one survey. NPS = 100 x (share 9-10 - share 0-6) with a 95 % margin of error
  (:func:`journeylens.analyses.stats.nps_margin`); the difference switchers - others is tested
  with a z-test on the +1/0/-1 scores (:func:`~journeylens.analyses.stats.nps_ztest`).
  Answers of one customer are treated as independent, which makes p-values slightly
  optimistic for customers who answer often.
* **Churn** — share churned (:func:`journeylens.analyses.cohorts.customer_outcomes`: a churn
  outcome event or ``customers.churned``) among the customers who could churn: those who
  converted when the definition declares ``outcomes.conversion`` (a prospect who never
  became a customer cannot churn), else all. Computed from the *unfiltered* events (churn is
  a property of the customer). Two-proportion z-test; ``churn_ratio`` = switchers / others.
* **Multiple testing** — the NPS and churn p-values of every reported pattern are adjusted
  together with Benjamini-Hochberg (``nps_q``, ``churn_q``); ``q`` is the smaller of the two
  and ``significant`` is ``q < 0.05``.
* **Ranking** — by ``impact`` = customers x harm, harm = NPS points lost / 100 + churn share
  added, each counted only when worse than the others *and* significant on its own (its q
  below 0.05). ``impact`` reads as "net promoters lost plus extra churned customers"; 0 means
  no established harm. Ties (all the zeros) are ordered by ``q``.

The comparison is observational: switchers may differ from the others in other ways (for
example customers who use both online and offline channels), so read a pattern as where to
look, not as proof of cause. Patterns with fewer than ``min_customers`` switchers are left
out (counted in ``params["patterns_below_min_customers"]``). The engine runs two grouped
aggregations over one row per (stage, customer); the statistics are finished in Python, so
DuckDB and Spark give the same numbers.

>>> from journeylens.analyses.switch_impact import switch_impact   # doctest: +SKIP
>>> rows = switch_impact(lens.events(), lens.warehouse.table("feedback"),  # doctest: +SKIP
...                      definition=lens.definition, customers=lens.warehouse.table("customers")).to_dict()
>>> rows[0]["stage"], rows[0]["from_channel"], rows[0]["to_channel"]  # doctest: +SKIP
('service', 'web', 'call_centre')
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import ibis
import ibis.expr.types as ir

from journeylens.analyses import stats
from journeylens.analyses.cohorts import customer_outcomes
from journeylens.analyses.journey_map import ordered
from journeylens.analyses.metrics import MetricSpec, metric_value, select_respondents
from journeylens.analyses.result import Result, plain
from journeylens.errors import ParameterError
from journeylens.warehouse.durations import epoch_micros

if TYPE_CHECKING:
    from journeylens.analyses.filters import Filters
    from journeylens.journeys.definition import JourneyDefinition

#: False-discovery rate for ``significant``.
ALPHA = 0.05

#: Default longest gap between the two events of a switch (the same visit / contact episode).
DEFAULT_MAX_GAP_MINUTES = 30.0

#: The keys of one ``to_dict()`` row, in order.
ROW_KEYS: tuple[str, ...] = (
    "stage", "from_channel", "to_channel", "customers", "others",
    "nps_switchers", "nps_switchers_moe", "nps_responses_switchers",
    "nps_others", "nps_others_moe", "nps_responses_others", "nps_difference", "nps_p",
    "churn_switchers", "churn_others", "churn_ratio", "churn_p", "nps_q", "churn_q", "q", "significant", "impact",
)
_SUMS = ("customers", "churn_n", "churned", "nps_n", "nps_pro", "nps_det")


@dataclass(frozen=True)
class SwitchImpactResult(Result):
    """Switch patterns, most harmful first. ``to_dict()`` -> ``[{stage, from_channel, to_channel,
    customers, others, nps_switchers, nps_switchers_moe, nps_responses_switchers, nps_others,
    nps_others_moe, nps_responses_others, nps_difference, nps_p, churn_switchers, churn_others,
    churn_ratio, churn_p, nps_q, churn_q, q, significant, impact}]`` (:data:`ROW_KEYS`)."""

    title: str = "Channel-switch impact"

    def to_dict(self) -> list[dict[str, Any]]:
        return [{k: plain(r.get(k)) for k in ROW_KEYS} for r in self.records]

    def harmful(self) -> list[dict[str, Any]]:
        """Significant patterns where switchers score lower NPS or churn more."""
        return [r for r in self.to_dict() if r["significant"] and r["impact"] and r["impact"] > 0]

    def figure(self) -> Any:
        """NPS of the others (the baseline, first) vs the switchers per pattern, with margins of
        error, on NPS's own scale; patterns ordered by the NPS difference, the worst first."""
        import plotly.graph_objects as go

        from journeylens.analyses.chart_rules import axis_category, metric_axis

        rows = sorted(self.to_dict(), key=lambda r: (r["nps_difference"] is None, r["nps_difference"] or 0))
        labels = [f"{r['stage']}: {r['from_channel']} → {r['to_channel']}" for r in rows]
        bars = [go.Bar(name=name, x=labels, y=[r[f"nps_{key}"] for r in rows],
                       error_y={"type": "data", "array": [r[f"nps_{key}_moe"] for r in rows]},
                       customdata=[r[f"nps_responses_{key}"] for r in rows],
                       hovertemplate="%{x}: NPS %{y:.1f} (%{customdata:,} answers)<extra>" + name + "</extra>")
                for name, key in (("others in the stage (baseline)", "others"), ("switchers", "switchers"))]
        fig = go.Figure(data=bars, layout={"title": self.title, "barmode": "group", "yaxis": metric_axis("nps")})
        return axis_category(fig, "x", title="Channel switch (stage: from → to), worst NPS difference first",
                             order=labels)

    def __repr__(self) -> str:
        top = self.records[0] if self.records else None
        head = f", top={top['stage']}: {top['from_channel']}->{top['to_channel']}" if top else ""
        return f"SwitchImpactResult({len(self.records)} patterns{head})"


def switch_impact(events: ir.Table, feedback: ir.Table, *, definition: JourneyDefinition | None = None,
                  customers: ir.Table | None = None, within_stage: bool = True,
                  max_gap_minutes: float | None = DEFAULT_MAX_GAP_MINUTES, min_customers: int = 30,
                  filters: Filters | None = None) -> SwitchImpactResult:
    """NPS and churn of the customers who made each channel switch vs the rest of the stage
    (``events`` is ``journey_events``, ``feedback`` the canonical feedback table).

    >>> import ibis
    >>> from datetime import UTC, datetime, timedelta
    >>> t0 = datetime(2024, 1, 1, tzinfo=UTC)
    >>> events = ibis.memtable({"customer_id": ["a", "a", "b"], "channel": ["web", "call_centre", "web"],
    ...     "stage": ["service"] * 3, "stage_order": [1, 1, 1], "touchpoint": ["Help", "Call", "Help"],
    ...     "timestamp": [t0, t0 + timedelta(minutes=5), t0], "_seq": [1, 2, 3]})
    >>> feedback = ibis.memtable({"customer_id": ["a", "b"], "nps": [3, 10], "respondent": ["customer"] * 2})
    >>> row = switch_impact(events, feedback, min_customers=1).to_dict()[0]
    >>> row["from_channel"], row["to_channel"], row["nps_switchers"], row["nps_others"]
    ('web', 'call_centre', -100.0, 100.0)
    """
    if min_customers < 1:
        raise ParameterError(f"min_customers must be ≥ 1, got {min_customers}.")
    if max_gap_minutes is not None and max_gap_minutes <= 0:
        raise ParameterError(f"max_gap_minutes must be > 0 (or None for no limit), got {max_gap_minutes}.")
    scoped = events if filters is None or filters.is_empty() else filters.apply(events, definition, customers)
    scoped = scoped.filter(scoped.customer_id.notnull())
    profile = _stage_customers(scoped, _customer_profile(events, feedback, definition, customers))
    # One row per (stage, customer) with their outcomes and answers feeds both aggregations:
    # computed once for this call, not once per aggregation.
    with profile.cache() as per_customer:
        joined = _switchers(scoped, within_stage, max_gap_minutes).join(per_customer, ["stage", "customer_id"])
        by_stage = {r["stage"]: r for r in _totals(per_customer, ["stage"])}
        patterns = _totals(joined, ["stage", "from_channel", "to_channel"])
    kept = [r for r in patterns if r["customers"] >= min_customers]
    params = {"within_stage": within_stage, "max_gap_minutes": max_gap_minutes, "min_customers": min_customers,
              "patterns_below_min_customers": len(patterns) - len(kept), "alpha": ALPHA,
              "filters": filters.to_dict() if filters is not None else {}}
    return SwitchImpactResult(records=tuple(_finish([_compare(r, by_stage[r["stage"]]) for r in kept])),
                              params=params)


# --- engine part (Ibis) -----------------------------------------------------------------------
def _customer_profile(events: ir.Table, feedback: ir.Table, definition: JourneyDefinition | None,
                      customers: ir.Table | None) -> ir.Table:
    """One row per customer with events (unfiltered: these describe the customer):
    ``churn_n, churned, nps_n, nps_pro, nps_det``."""
    out = _churn_outcomes(events, definition, customers)
    out = out.left_join(_nps_per_customer(feedback), "customer_id").drop("customer_id_right")
    return out.mutate(nps_n=out.nps_n.fill_null(0), nps_pro=out.nps_pro.fill_null(0),
                      nps_det=out.nps_det.fill_null(0))


def _churn_outcomes(events: ir.Table, definition: JourneyDefinition | None,
                    customers: ir.Table | None) -> ir.Table:
    """``customer_id, churn_n, churned``: churn_n is 1 for a customer who could churn (converted,
    when the definition declares conversion outcomes; else every customer)."""
    outcomes = customer_outcomes(events.filter(events.customer_id.notnull()), definition, customers)
    declared = definition is not None and bool(definition.outcomes.conversion)
    at_risk = outcomes.converted if declared else ibis.literal(True)
    return outcomes.select("customer_id", churn_n=at_risk.cast("int64"),
                           churned=(at_risk & outcomes.churned).cast("int64"))


def _nps_per_customer(feedback: ir.Table) -> ir.Table:
    """``customer_id, nps_n, nps_pro, nps_det`` over the customer's NPS answers."""
    answers = select_respondents(feedback, "customer")
    answers = answers.mutate(_nps=metric_value(answers, MetricSpec.parse("nps")))
    answers = answers.filter(answers._nps.notnull() & answers.customer_id.notnull())
    return answers.group_by("customer_id").aggregate(
        nps_n=answers.count(), nps_pro=(answers._nps >= 9).cast("int64").sum(),
        nps_det=(answers._nps <= 6).cast("int64").sum())


def _stage_customers(events: ir.Table, profile: ir.Table) -> ir.Table:
    """One row per (stage, customer) with a staged event, with the customer's profile."""
    staged = events.filter(events.stage.notnull()).select("stage", "customer_id").distinct()
    return staged.join(profile, "customer_id")


def _switchers(events: ir.Table, within_stage: bool, max_gap_minutes: float | None) -> ir.Table:
    """Distinct ``stage, from_channel, to_channel, customer_id`` of the channel switches."""
    known = events.filter(events.channel.notnull())
    window = ibis.window(group_by=known.customer_id, order_by=ordered(known))
    pairs = known.mutate(from_channel=known.channel.lag().over(window), from_stage=known.stage.lag().over(window),
                         from_us=epoch_micros(known.timestamp).lag().over(window))
    keep = pairs.from_channel.notnull() & (pairs.from_channel != pairs.channel) & pairs.stage.notnull()
    if within_stage:
        keep &= pairs.stage == pairs.from_stage
    if max_gap_minutes is not None:
        # Integer microseconds: ``epoch_seconds`` on DuckDB converts every timestamp through
        # the ICU calendar (twice per event here), most of this analysis's cost at 10M events.
        keep &= (epoch_micros(pairs.timestamp) - pairs.from_us) <= round(max_gap_minutes * 60 * 1_000_000)
    moves = pairs.filter(keep)
    return moves.select("stage", "from_channel", "customer_id", to_channel=moves.channel).distinct()


def _totals(table: ir.Table, keys: Sequence[str]) -> list[dict[str, Any]]:
    agg = table.group_by(list(keys)).aggregate(customers=table.count(),
                                               **{k: table[k].sum() for k in _SUMS if k != "customers"})
    rows = agg.to_pyarrow().to_pylist()
    return [{**{k: r[k] for k in keys}, **{k: int(r[k] or 0) for k in _SUMS}} for r in rows]


# --- finishing statistics (Python) ----------------------------------------------------------
def _share(part: float, whole: float) -> float:
    return part / whole if whole > 0 else math.nan


def _compare(switch: Mapping[str, Any], stage: Mapping[str, Any]) -> dict[str, Any]:
    """Switchers vs the rest of the stage from the two sets of sums (others = stage - switchers);
    a test needs at least two answers (NPS) or customers who could churn in each group."""
    others = {k: stage[k] - switch[k] for k in _SUMS}
    s_n, s_pro, s_det = switch["nps_n"], switch["nps_pro"], switch["nps_det"]
    o_n, o_pro, o_det = others["nps_n"], others["nps_pro"], others["nps_det"]
    nps_s, nps_o = stats.nps_score(s_pro, s_det, s_n), stats.nps_score(o_pro, o_det, o_n)
    churn_s, churn_o = _share(switch["churned"], switch["churn_n"]), _share(others["churned"], others["churn_n"])
    return {
        "stage": switch["stage"], "from_channel": switch["from_channel"], "to_channel": switch["to_channel"],
        "customers": switch["customers"], "others": others["customers"],
        "nps_switchers": nps_s, "nps_switchers_moe": stats.nps_margin(s_pro, s_det, s_n),
        "nps_responses_switchers": s_n, "nps_others": nps_o, "nps_others_moe": stats.nps_margin(o_pro, o_det, o_n),
        "nps_responses_others": o_n, "nps_difference": nps_s - nps_o,
        "nps_p": stats.nps_ztest(o_pro, o_det, o_n, s_pro, s_det, s_n).p_value if min(s_n, o_n) >= 2 else math.nan,
        "churn_switchers": churn_s, "churn_others": churn_o,
        "churn_ratio": churn_s / churn_o if churn_o > 0 else math.nan,
        "churn_p": stats.two_proportion_ztest(others["churned"], others["churn_n"], switch["churned"],
                                              switch["churn_n"]).p_value if min(switch["churn_n"], others["churn_n"]) >= 2
        else math.nan,
    }


def _harm(row: Mapping[str, Any]) -> float:
    """NPS points lost / 100 plus churn share added, each counted only when worse than the
    others and significant on its own (its q-value below ``ALPHA``)."""
    harm = 0.0
    if row["nps_q"] < ALPHA and row["nps_difference"] < 0:
        harm -= row["nps_difference"] / 100
    if row["churn_q"] < ALPHA and row["churn_switchers"] > row["churn_others"]:
        harm += row["churn_switchers"] - row["churn_others"]
    return harm


def _finish(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Add BH q-values (NPS and churn tests pooled), ``significant`` and ``impact``; rank."""
    q_values = stats.benjamini_hochberg([p for r in rows for p in (r["nps_p"], r["churn_p"])])
    for i, row in enumerate(rows):
        row["nps_q"], row["churn_q"] = q_values[2 * i], q_values[2 * i + 1]
        pair = [q for q in (row["nps_q"], row["churn_q"]) if not math.isnan(q)]
        row["q"] = min(pair) if pair else math.nan
        row["significant"] = bool(pair) and row["q"] < ALPHA
        row["impact"] = row["customers"] * _harm(row)
    return sorted(rows, key=lambda r: (-r["impact"], r["q"] if not math.isnan(r["q"]) else 2.0,
                                       r["stage"], r["from_channel"], r["to_channel"]))
