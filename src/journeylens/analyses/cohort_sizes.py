"""Cohort sizes in one pass: every cohort rule judged on one row per customer.

:func:`journeylens.analyses.cohorts.cohorts` needs only how many customers each cohort has.
Building each cohort's member list and unioning them (what :func:`assign_cohorts` does for
the analyses that need the members) scans the events once per rule; here one aggregation per
customer carries a flag for every behaviour condition (channel mix, performed touchpoints),
the first channel is an arg-min in the same aggregation, attribute conditions from one pass over
``customers``, and each cohort is the AND of its flags. Same membership rules, same numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import ibis
import ibis.expr.types as ir

from journeylens.warehouse.aggregates import arg_min

if TYPE_CHECKING:
    from journeylens.analyses.cohorts import CohortSpec, Condition
    from journeylens.journeys.definition import JourneyDefinition


def cohort_sizes(events: ir.Table, specs: Sequence[CohortSpec], definition: JourneyDefinition | None,
                 customers: ir.Table | None) -> tuple[int, dict[str, int]]:
    """(customers with events, {cohort: customers}) for the ``specs`` that can be judged
    (attribute rules only with ``customers``)."""
    from journeylens.analyses.cohorts import is_online

    judged = [s for s in specs if customers is not None or not s.needs_customers]
    conditions = {_key(c): c for s in judged for c in s.conditions}
    known = events.filter(events.customer_id.notnull())
    # The online flag is a column judged once per event: written into both aggregates, Spark
    # evaluated the channel map (a CASE over every known channel name) twice per event.
    known = known.mutate(_online=ibis.ifelse(known.channel.notnull(),
                                             is_online(known.channel, definition).cast("int8"), ibis.null("int8")))
    flags: dict[str, ir.Value] = {"_on": known._online.max(), "_off": (1 - known._online).max()}
    for key, c in conditions.items():
        if c.kind == "performed":
            flags[key] = _performed(known, c, definition).cast("int8").max()
    if any(c.kind == "first_channel" for c in conditions.values()):
        # The channel of the first event in journey order: an aggregate, not a window over every
        # event; lower-cased once per customer afterwards, not once per event.
        flags["_first"] = arg_min(known.channel, ibis.struct({"t": known.timestamp, "s": known._seq}))
    per = known.group_by("customer_id").aggregate(**flags)
    attributes = {key: c for key, c in conditions.items() if c.kind == "attribute"}
    if attributes and customers is not None:
        from journeylens.analyses.cohorts import _attribute_test

        tests = {key: _attribute_test(customers, c.attribute or "", c.values).fill_null(False).cast("int8").max()
                 for key, c in attributes.items()}
        per = per.left_join(customers.group_by("customer_id").aggregate(**tests), "customer_id").drop(
            "customer_id_right")
    sums = {spec.name: _all(per, spec.conditions).cast("int64").sum() for spec in judged}
    row = per.aggregate(_total=per.count(), **sums).to_pyarrow().to_pylist()[0]
    return int(row["_total"] or 0), {spec.name: int(row[spec.name] or 0) for spec in judged}


def _key(c: Condition) -> str:
    return f"_c{abs(hash((c.kind, c.attribute, c.values, c.channels, c.touchpoint, c.channel)))}"


def _performed(events: ir.Table, c: Condition, definition: JourneyDefinition | None) -> ir.BooleanValue:
    touchpoint = c.touchpoint or ""
    if definition is not None and any(tp.name == touchpoint for tp in definition.touchpoints):
        return definition.touchpoint_expr(touchpoint, events.touchpoint)
    return (events.touchpoint == touchpoint).fill_null(False)


def _all(per: ir.Table, conditions: Sequence[Condition]) -> ir.BooleanValue:
    test: ir.BooleanValue = ibis.literal(True)
    for c in conditions:
        test = test & _holds(per, c)
    return test.fill_null(False)


def _holds(per: ir.Table, c: Condition) -> Any:
    if c.kind == "channels":
        return {"online-only": (per._on == 1) & (per._off == 0), "offline-only": (per._on == 0) & (per._off == 1),
                "blended": (per._on == 1) & (per._off == 1)}[c.channels or ""]
    if c.kind == "first_channel":
        return per._first.lower() == (c.channel or "").lower()
    return per[_key(c)] == 1
