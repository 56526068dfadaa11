"""Micro-journeys: cohorts of customers, and any analysis run per cohort side by side.

A cohort is a set of customers. Three behaviour cohorts always exist, even without a journey
definition: ``online-only``, ``offline-only`` and ``blended`` (customers who used online
channels only, offline channels only, or both; events without a channel are ignored). A
channel is online when the definition's touchpoints with that channel say ``online: true``,
else when it is in :data:`DEFAULT_ONLINE_CHANNELS`. The definition adds its own rules:

* attribute-based — ``attribute: segment`` with ``equals: smb`` or ``in: [smb, mid]``; the
  attribute is a ``customers`` column (segment, region, plan, value, churned, revenue) or a
  key of its ``attributes`` JSON;
* behaviour-based — ``channels: online-only|offline-only|blended``, ``performed: TOUCHPOINT``
  (at least one such event) or ``first_channel: X`` (channel of the first event).

All conditions of one rule must hold (AND). A customer can be in several cohorts.

>>> import ibis
>>> from datetime import datetime, UTC
>>> events = ibis.memtable({"customer_id": ["a", "a", "b"], "channel": ["web", "store", "app"],
...     "touchpoint": ["visit", "buy", "visit"], "timestamp": [datetime(2024, 1, d, tzinfo=UTC) for d in (1, 2, 1)],
...     "_seq": [1, 2, 3]})
>>> sorted(customers_in_cohort(events, "blended").customer_id.to_list())
['a']
"""

from __future__ import annotations

import importlib
import inspect
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir

from journeylens.analyses.result import plain
from journeylens.analyses.stats import benjamini_hochberg, two_proportion_ztest
from journeylens.errors import ParameterError
from journeylens.journeys.definition import OFFLINE_CHANNELS, ONLINE_CHANNELS, channel_key_expr

if TYPE_CHECKING:
    from journeylens.journeys.definition import Cohort, JourneyDefinition

#: Channels counted as online without a definition (the definition module's list).
DEFAULT_ONLINE_CHANNELS: frozenset[str] = ONLINE_CHANNELS

#: Behaviour cohorts that exist for every warehouse.
CHANNEL_COHORTS: tuple[str, ...] = ("online-only", "offline-only", "blended")

#: ``customers`` columns usable in attribute rules (other names are read from ``attributes`` JSON).
CUSTOMER_COLUMNS: tuple[str, ...] = ("customer_id", "segment", "region", "plan", "value", "churned", "revenue")
_NUMERIC_COLUMNS = ("value", "revenue")


@dataclass(frozen=True)
class Condition:
    """One condition of a cohort rule; ``kind`` is attribute | channels | performed | first_channel."""

    kind: str
    attribute: str | None = None
    values: tuple[Any, ...] = ()
    channels: str | None = None
    touchpoint: str | None = None
    channel: str | None = None

    def describe(self) -> str:
        if self.kind == "attribute":
            return f"{self.attribute} in {list(self.values)}"
        if self.kind == "channels":
            return f"channels used: {self.channels}"
        if self.kind == "performed":
            return f"performed {self.touchpoint}"
        return f"first channel is {self.channel}"


@dataclass(frozen=True)
class CohortSpec:
    """A named cohort: customers meeting every condition (AND)."""

    name: str
    conditions: tuple[Condition, ...]

    @property
    def kind(self) -> str:
        kinds = {c.kind for c in self.conditions}
        return kinds.pop() if len(kinds) == 1 else "combined"

    @property
    def needs_customers(self) -> bool:
        return any(c.kind == "attribute" for c in self.conditions)

    def describe(self) -> str:
        return " and ".join(c.describe() for c in self.conditions)


# --- reading the journey definition ------------------------------------------------------
def is_online(channel: ir.StringValue, definition: JourneyDefinition | None = None) -> ir.BooleanValue:
    """Ibis boolean: null without a channel; else the definition's ``channels:`` map, then the
    ``online`` flag of the definition's touchpoints on that channel (first in file order), then
    :data:`DEFAULT_ONLINE_CHANNELS` (names compared lower case, spaces and hyphens as
    underscores); any other channel is offline."""
    flags: dict[str, bool] = {}
    if definition is not None:
        flags.update({c: kind == "online" for c, kind in definition.channels.items()})
        for tp in definition.touchpoints:
            if tp.channel and tp.online is not None:
                flags.setdefault(tp.channel, tp.online)
    # Names already in normal form are judged by comparing the raw value; only other spellings
    # pay for normalising the text (CASE branches run only for the rows that reach them).
    for name in sorted(DEFAULT_ONLINE_CHANNELS | OFFLINE_CHANNELS):
        flags.setdefault(name, name in DEFAULT_ONLINE_CHANNELS)
    key = channel_key_expr(channel)
    known = ibis.cases(*((channel == name, ibis.literal(flag)) for name, flag in flags.items()),
                       else_=one_of(key, sorted(DEFAULT_ONLINE_CHANNELS)))
    return ibis.ifelse(channel.isnull(), ibis.null(dt.boolean), known)


def one_of(value: ir.Value, options: Sequence[Any]) -> ir.BooleanValue:
    """``value IN options`` as equalities: DuckDB plans an ``IN`` list as a join against the
    list and evaluates a computed ``value`` for every row, even inside a ``CASE`` branch that
    few rows reach."""
    test: ir.BooleanValue = ibis.literal(False)
    for option in options:
        test = test | (value == option)
    return test


def cohort_specs(definition: JourneyDefinition | None = None) -> tuple[CohortSpec, ...]:
    """The built-in channel cohorts followed by the definition's rules (a rule with a
    built-in name replaces it)."""
    specs = {n: CohortSpec(n, (Condition("channels", channels=n),)) for n in CHANNEL_COHORTS}
    for rule in (definition.cohorts if definition is not None else ()):
        specs.pop(rule.name, None)
        specs[rule.name] = CohortSpec(rule.name, _conditions(rule))
    return tuple(specs.values())


def _conditions(rule: Cohort) -> tuple[Condition, ...]:
    out = []
    if rule.attribute:
        values = rule.in_ if rule.in_ is not None else [rule.equals]
        out.append(Condition("attribute", attribute=rule.attribute, values=tuple(values)))
    if rule.channels:
        out.append(Condition("channels", channels=rule.channels))
    if rule.performed:
        out.append(Condition("performed", touchpoint=rule.performed))
    if rule.first_channel:
        out.append(Condition("first_channel", channel=rule.first_channel))
    return tuple(out)


# --- membership ----------------------------------------------------------------------------
def customers_in_cohort(events: ir.Table, cohort: str, definition: JourneyDefinition | None = None,
                        customers: ir.Table | None = None) -> ir.Table:
    """The customers (one ``customer_id`` column, distinct) of the cohort named ``cohort``, or
    of a cohort built from conditions (see :mod:`journeylens.analyses.cohort_builder`)."""
    from journeylens.analyses.cohort_builder import check_built, is_built, parse_cohort
    from journeylens.analyses.names import check_names

    specs = {s.name: s for s in cohort_specs(definition)}
    if cohort not in specs and is_built(cohort):
        spec = parse_cohort(cohort)
        check_built(events, spec, customers)
        return _members(events, spec, definition, customers)
    check_names("cohort", [cohort], specs)
    return _members(events, specs[cohort], definition, customers)


def _members(events: ir.Table, spec: CohortSpec, definition: JourneyDefinition | None,
             customers: ir.Table | None) -> ir.Table:
    if spec.needs_customers and customers is None:
        raise ParameterError(f"Cohort {spec.name!r} ({spec.describe()}) is attribute-based and needs "
                             "the customers table.")
    members: ir.Table | None = None
    for condition in spec.conditions:
        part = _condition_members(events, condition, definition, customers)
        members = part if members is None else members.filter(members.customer_id.isin(part.customer_id))
    assert members is not None  # a rule has at least one condition (validated by the definition)
    return members


def _condition_members(events: ir.Table, c: Condition, definition: JourneyDefinition | None,
                       customers: ir.Table | None) -> ir.Table:
    if c.kind == "channels":
        return _channel_mix_members(events, c.channels or "", definition)
    if c.kind == "performed":
        touchpoint = c.touchpoint or ""
        known = definition is not None and any(tp.name == touchpoint for tp in definition.touchpoints)
        test = definition.touchpoint_expr(touchpoint, events.touchpoint) if known and definition else (
            events.touchpoint == touchpoint)
        return events.filter(test).select("customer_id").distinct()
    if c.kind == "first_channel":
        return _first_channel_members(events, c.channel or "")
    assert customers is not None
    return customers.filter(_attribute_test(customers, c.attribute or "", c.values)).select("customer_id").distinct()


def _channel_mix_members(events: ir.Table, mode: str, definition: JourneyDefinition | None) -> ir.Table:
    if mode not in CHANNEL_COHORTS:
        raise ParameterError(f"Unknown channels mode {mode!r}; allowed: {', '.join(CHANNEL_COHORTS)}.")
    flagged = events.filter(events.channel.notnull()).mutate(
        online=is_online(events.channel, definition).cast("int8"))
    mix = flagged.group_by("customer_id").aggregate(on=flagged.online.max(), off=(1 - flagged.online).max())
    keep = {"online-only": (mix.on == 1) & (mix.off == 0), "offline-only": (mix.on == 0) & (mix.off == 1),
            "blended": (mix.on == 1) & (mix.off == 1)}[mode]
    return mix.filter(keep).select("customer_id")


def _first_channel_members(events: ir.Table, channel: str) -> ir.Table:
    ranked = events.mutate(_rn=ibis.row_number().over(group_by=events.customer_id,
                                                      order_by=[events.timestamp, events._seq]))
    first = ranked.filter(ranked._rn == 0)
    return first.filter(first.channel.lower() == channel.lower()).select("customer_id").distinct()


def _attribute_test(customers: ir.Table, attribute: str, values: Sequence[Any]) -> ir.BooleanValue:
    """A customer attribute compared with rule values: a typed column, else a key of the
    ``attributes`` JSON (read with a regular expression so every engine agrees)."""
    if attribute in _NUMERIC_COLUMNS:
        return customers[attribute].isin([float(v) for v in values])
    if attribute == "churned":
        return customers.churned.isin([str(v).lower() in ("true", "1", "yes") for v in values])
    text = [str(v).lower() if isinstance(v, bool) else str(v) for v in values]
    if attribute in CUSTOMER_COLUMNS:
        return customers[attribute].isin(text)
    pattern = r'"' + re.escape(attribute) + r'"\s*:\s*"?([^",}]*)'
    # Spaces trimmed by a regular expression: Ibis's strip() becomes TRIM(' \t\n\r\v\f' FROM …)
    # on Spark, whose string literals read '\v' and '\f' as the letters v and f ("tv" → "t").
    return customers.attributes.re_extract(pattern, 1).re_replace(r"^\s+|\s+$", "").isin(text)


def assign_cohorts(events: ir.Table, definition: JourneyDefinition | None = None,
                   customers: ir.Table | None = None, built: Sequence[str] = ()) -> ir.Table:
    """Every (customer_id, cohort) membership; attribute rules are skipped without ``customers``.
    ``built`` cohorts (:mod:`journeylens.analyses.cohort_builder`) are added under their text, so
    they sit next to the defined ones wherever results are grouped by cohort."""
    from journeylens.analyses.cohort_builder import check_built, parse_cohort

    specs = list(cohort_specs(definition))
    names = {s.name for s in specs}
    for text in dict.fromkeys(t.strip() for t in built if t and t.strip()):
        if text not in names:  # a defined cohort's name always wins
            spec = parse_cohort(text)
            check_built(events, spec, customers)
            specs.append(spec)
    parts = [
        _members(events, spec, definition, customers).select("customer_id", cohort=ibis.literal(spec.name))
        for spec in specs if customers is not None or not spec.needs_customers
    ]
    return ibis.union(*parts, distinct=True)


def customer_outcomes(events: ir.Table, definition: JourneyDefinition | None = None,
                      customers: ir.Table | None = None) -> ir.Table:
    """``(customer_id, converted, churned, converted_at)`` for every customer with events
    (``converted_at``: the first conversion event, null when not converted).

    Converted: an event of a ``outcomes.conversion`` touchpoint; without declared conversion
    outcomes, reaching the last stage (the definition's last, else the last observed).
    Churned: an ``outcomes.churn`` event, or ``customers.churned`` true.
    """
    conversion: ir.BooleanValue
    if definition is not None and definition.outcomes.conversion:
        conversion = definition.outcome_expr("conversion", events.touchpoint)
    else:
        last = len(definition.stages) if definition is not None else events.stage_order.max().as_scalar()
        conversion = events.stage_order == last
    churn = (definition.outcome_expr("churn", events.touchpoint) if definition is not None
             else ibis.literal(False))
    flags = events.mutate(_conv=conversion.fill_null(False).cast("int8"), _churn=churn.fill_null(False).cast("int8"))
    out = flags.group_by("customer_id").aggregate(
        converted=flags._conv.max() == 1, churned=flags._churn.max() == 1,
        converted_at=flags.timestamp.min(where=flags._conv == 1))
    if customers is None:
        return out
    churned_ids = customers.filter(customers.churned.fill_null(False)).select("customer_id").distinct()
    return out.mutate(churned=out.churned | out.customer_id.isin(churned_ids.customer_id))


# --- results ------------------------------------------------------------------------------
@dataclass(frozen=True, repr=False)
class CohortsResult:
    """Cohort sizes. ``to_dict()`` → ``{"customers": N, "cohorts": [{cohort, kind, rule, customers, share}]}``."""

    records: Sequence[Mapping[str, Any]]
    customers: int
    params: Mapping[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"customers": self.customers, "cohorts": [dict(r) for r in self.records]}

    def to_frame(self) -> Any:
        import pandas as pd

        return pd.DataFrame([dict(r) for r in self.records])

    def figure(self) -> Any:
        import plotly.graph_objects as go

        return go.Figure(go.Bar(x=[r["cohort"] for r in self.records], y=[r["customers"] for r in self.records]))

    def __repr__(self) -> str:
        return f"CohortsResult({len(self.records)} cohorts, {self.customers} customers)"


def cohorts(events: ir.Table, *, definition: JourneyDefinition | None = None, customers: ir.Table | None = None,
            filters: Any = None, built: Sequence[str] = ()) -> CohortsResult:
    """Size of every cohort among the customers with events (after ``filters``), plus the
    cohorts ``built`` from conditions (kind ``built``; see :mod:`journeylens.analyses.cohort_builder`)."""
    if filters is not None and not filters.is_empty():
        events = filters.apply(events, definition, customers)
    from journeylens.analyses.cohort_sizes import cohort_sizes

    specs = cohort_specs(definition)
    for spec in specs:  # unknown channel modes are errors here too
        for c in spec.conditions:
            if c.kind == "channels" and c.channels not in CHANNEL_COHORTS:
                raise ParameterError(f"Unknown channels mode {c.channels!r}; allowed: {', '.join(CHANNEL_COHORTS)}.")
    total, counts = cohort_sizes(events, specs, definition, customers)
    records = []
    for spec in cohort_specs(definition):
        n = counts.get(spec.name, 0) if (customers is not None or not spec.needs_customers) else None
        records.append({"cohort": spec.name, "kind": spec.kind, "rule": spec.describe(), "customers": n,
                        "share": (n / total if total and n is not None else None)})
    for text in built:
        from journeylens.analyses.cohort_builder import parse_cohort

        spec = parse_cohort(text)
        members = customers_in_cohort(events, spec.name, definition, customers)
        n = int(members.filter(members.customer_id.isin(events.customer_id)).customer_id.nunique().execute())
        records.append({"cohort": spec.name, "kind": "built", "rule": spec.describe(), "customers": n,
                        "share": n / total if total else None})
    return CohortsResult(records=tuple(records), customers=total,
                         params={"filters": _filters_dict(filters), **({"built": list(built)} if built else {})})


def _filters_dict(filters: Any) -> dict[str, Any]:
    return filters.to_dict() if filters is not None else {}


# --- cohorts side by side -------------------------------------------------------------------
#: Analyses that :func:`compare_cohorts` runs by name (module:function).
ANALYSES: dict[str, str] = {
    "journey_map": "journeylens.analyses.journey_map:journey_map",
    "channels": "journeylens.analyses.channels:channels",
    "conformance": "journeylens.analyses.conformance:conformance",
    "retention": "journeylens.analyses.retention:retention",
    "time_to_stage": "journeylens.analyses.retention:time_to_stage",
    "funnel": "journeylens.analyses.funnel:funnel",
    "transitions": "journeylens.analyses.transitions:transitions",
    "variants": "journeylens.analyses.variants:variants",
}


@dataclass(frozen=True, repr=False)
class CohortComparison:
    """One analysis per cohort plus significance tests against the first (baseline) cohort.

    ``to_dict()`` → ``{"analysis", "baseline", "cohorts": [{cohort, customers, converted,
    churned, result}], "tests": [{metric, cohort, baseline, share, baseline_share, difference,
    n, baseline_n, p_value, p_adjusted, significant}]}``. ``p_adjusted`` is Benjamini-Hochberg
    over every test in the comparison; ``significant`` is ``p_adjusted < alpha``.
    """

    analysis: str
    entries: Sequence[Mapping[str, Any]]
    tests: Sequence[Mapping[str, Any]]
    params: Mapping[str, Any]

    def to_dict(self) -> dict[str, Any]:
        cohorts_out = [{**{k: v for k, v in e.items() if k != "result"}, "result": e["result"].to_dict()}
                       for e in self.entries]
        return plain({"analysis": self.analysis, "baseline": self.entries[0]["cohort"],
                      "cohorts": cohorts_out, "tests": [dict(t) for t in self.tests]})

    def to_frame(self) -> Any:
        import pandas as pd

        return pd.DataFrame([dict(t) for t in self.tests])

    def figure(self) -> Any:
        import plotly.graph_objects as go

        metrics = sorted({t["metric"] for t in self.tests})
        bars = [go.Bar(name=e["cohort"], x=metrics,
                       y=[next((t["share"] if t["cohort"] == e["cohort"] else t["baseline_share"]
                                for t in self.tests if t["metric"] == m
                                and e["cohort"] in (t["cohort"], t["baseline"])), None) for m in metrics])
                for e in self.entries]
        return go.Figure(bars, layout={"barmode": "group"})

    def __repr__(self) -> str:
        return f"CohortComparison({self.analysis}, {[e['cohort'] for e in self.entries]})"


def compare_cohorts(events: ir.Table, analysis: str | Callable[..., Any], cohorts: Sequence[str], *,
                    definition: JourneyDefinition | None = None, customers: ir.Table | None = None,
                    filters: Any = None, alpha: float = 0.05, **params: Any) -> CohortComparison:
    """Run ``analysis`` (a name in :data:`ANALYSES` or a function ``(events, **params)``) once
    per cohort, side by side, and test whether conversion and churn shares — plus every share
    the result exposes through ``proportions()`` — differ from the first cohort's
    (two-proportion z-tests, Benjamini-Hochberg adjusted).
    """
    if len(cohorts) < 2:
        raise ParameterError("Comparing cohorts needs at least two cohort names.", details={"cohorts": list(cohorts)})
    name, fn = _resolve_analysis(analysis)
    base = filters.apply(events, definition, customers) if filters is not None and not filters.is_empty() else events
    outcomes = customer_outcomes(base, definition, customers)
    extra = {k: v for k, v in {"definition": definition, "customers": customers}.items()
             if k in inspect.signature(fn).parameters and k not in params}
    _check_params(name, fn, {**extra, **params})
    entries = []
    for cohort in cohorts:
        members = customers_in_cohort(events, cohort, definition, customers)
        subset = base.filter(base.customer_id.isin(members.customer_id))
        result = fn(subset, **extra, **params)
        mine = outcomes.filter(outcomes.customer_id.isin(members.customer_id))
        row = mine.aggregate(n=mine.count(), converted=mine.converted.cast("int64").sum(),
                             churned=mine.churned.cast("int64").sum()).to_pyarrow().to_pylist()[0]
        n = int(row["n"] or 0)
        shares = {"conversion": (int(row["converted"] or 0), n), "churn": (int(row["churned"] or 0), n)}
        if callable(getattr(result, "proportions", None)):
            shares.update(result.proportions())
        entries.append({"cohort": cohort, "customers": n, "converted": shares["conversion"][0],
                        "churned": shares["churn"][0], "result": result, "_shares": shares})
    tests = _significance(entries, alpha)
    return CohortComparison(analysis=name, entries=tuple({k: v for k, v in e.items() if k != "_shares"} for e in entries),
                            tests=tests, params={"cohorts": list(cohorts), "alpha": alpha, **params})


def _check_params(name: str, fn: Callable[..., Any], given: Mapping[str, Any]) -> None:
    """Refuse parameters ``fn`` does not take, and required ones not given, before any work."""
    parameters = list(inspect.signature(fn).parameters.values())[1:]  # the first one is the events
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
        return
    names = {p.name for p in parameters}
    unknown = sorted(set(given) - names)
    missing = [p.name for p in parameters if p.default is inspect.Parameter.empty and p.name not in given
               and p.kind in (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    if unknown or missing:
        raise ParameterError(f"Comparing cohorts by {name!r}: " + "; ".join(
            [*([f"it needs {', '.join(missing)} (give them on the analysis itself, e.g. "
                f"/v1/journey/{name.replace('_', '-')}?by=… or `journeylens journey {name.replace('_', '-')} --by …`)"]
               if missing else []),
             *([f"it does not take {', '.join(unknown)}"] if unknown else [])]) + ".",
            details={"analysis": name, "missing": missing, "unknown": unknown})


def _resolve_analysis(analysis: str | Callable[..., Any]) -> tuple[str, Callable[..., Any]]:
    if callable(analysis):
        return getattr(analysis, "__name__", "custom"), analysis
    if analysis not in ANALYSES:
        raise ParameterError(f"Unknown analysis {analysis!r}; allowed: {', '.join(ANALYSES)}.",
                             details={"analysis": analysis, "allowed": list(ANALYSES)})
    module_name, _, attr = ANALYSES[analysis].partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ParameterError(f"Analysis {analysis!r} is not available in this installation.") from exc
    return analysis, getattr(module, attr)


def _significance(entries: Sequence[Mapping[str, Any]], alpha: float) -> tuple[dict[str, Any], ...]:
    baseline = entries[0]
    tests = []
    for entry in entries[1:]:
        for metric, (hits_b, n_b) in baseline["_shares"].items():
            if metric not in entry["_shares"]:
                continue
            hits, n = entry["_shares"][metric]
            test = two_proportion_ztest(hits_b, n_b, hits, n)
            tests.append({"metric": metric, "cohort": entry["cohort"], "baseline": baseline["cohort"],
                          "share": hits / n if n else None, "baseline_share": hits_b / n_b if n_b else None,
                          "difference": test.difference, "n": n, "baseline_n": n_b, "p_value": test.p_value})
    adjusted = benjamini_hochberg([t["p_value"] for t in tests])
    for test_row, q in zip(tests, adjusted, strict=True):
        test_row["p_adjusted"] = q
        test_row["significant"] = bool(q == q and q < alpha)
    return tuple(tests)
