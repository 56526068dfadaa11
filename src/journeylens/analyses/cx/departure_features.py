"""What each customer's last days looked like, as counts per feature (built with Ibis).

The reference moment is the churn date for customers who left (the first churn outcome event,
else ``customers.churn_date``) and the data's last event for those who stayed. Within the
``window_days`` before it, every event outside the churn outcomes' own stage (the departure
itself would explain nothing) counts towards ``touchpoint: X``, ``channel: X`` and
``stage: X``, and each pair of consecutive touchpoints towards ``pattern: A → B``.

Drop-off, as the journey map defines it (the step where a journey *ends*): the customer's last
event of the window — the last step before leaving, or for a stayer before the data's end —
counts towards ``dropped off at: <touchpoint>`` and ``dropped off in: <stage>`` (one of each
per customer).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import ibis
import ibis.expr.types as ir

from journeylens.analyses.cohorts import customer_outcomes

if TYPE_CHECKING:
    from journeylens.journeys.definition import JourneyDefinition

DAY_SECONDS = 86_400


def reference_moments(events: ir.Table, definition: JourneyDefinition, customers: ir.Table | None,
                      window_days: float) -> ir.Table:
    """``(customer_id, churned, ref_ts)`` (epoch seconds) for customers who could churn and had
    been customers for the whole window: their first conversion (else first event) is at least
    ``window_days`` before ``ref_ts``. Without that, early leavers' windows would hold their
    onboarding and the comparison would find tenure, not reasons."""
    flags = customer_outcomes(events, definition, customers)
    if definition.outcomes.conversion:
        flags = flags.filter(flags.converted)
    churn_ev = events.filter(definition.outcome_expr("churn", events.touchpoint))
    first = churn_ev.group_by("customer_id").aggregate(_ev_ts=churn_ev.timestamp.min().epoch_seconds())
    data_end = events.timestamp.max().epoch_seconds().as_scalar()
    out = flags.left_join(first, "customer_id").select(flags.customer_id, flags.churned, _ev_ts=first._ev_ts)
    if customers is not None:
        dates = customers.filter(customers.churned.fill_null(False) & customers.churn_date.notnull()).select(
            "customer_id", _cd_ts=customers.churn_date.epoch_seconds())
        out = out.left_join(dates, "customer_id").select(out.customer_id, out.churned, out._ev_ts, dates._cd_ts)
    else:
        out = out.mutate(_cd_ts=ibis.null("int64"))
    ref = ibis.ifelse(out.churned, out._ev_ts.fill_null(out._cd_ts), data_end)
    out = out.select("customer_id", "churned", ref_ts=ref.cast("int64"))
    start_test = (definition.outcome_expr("conversion", events.touchpoint) if definition.outcomes.conversion
                  else ibis.literal(True))
    begun = events.filter(start_test).group_by("customer_id").aggregate(
        _start=events.filter(start_test).timestamp.min().epoch_seconds())
    out = out.join(begun, "customer_id")
    return out.filter(out.ref_ts.notnull() & (out.ref_ts - out._start >= ibis.literal(int(window_days * DAY_SECONDS))))



def window_events(events: ir.Table, refs: ir.Table, definition: JourneyDefinition, window_days: float) -> ir.Table:
    """Events of the window before each customer's reference moment (departure stage left out)."""
    rules = [definition.rule_for(name) for name in definition.outcomes.churn]
    churn_stages = {rule.stage for rule in rules if rule is not None}
    e = events.mutate(ts=events.timestamp.epoch_seconds().cast("int64"))
    if churn_stages:
        e = e.filter(e.stage.isnull() | ~e.stage.isin(sorted(s for s in churn_stages if s)))
    j = e.join(refs, "customer_id")
    return j.filter((j.ts < j.ref_ts) & (j.ts >= j.ref_ts - ibis.literal(int(window_days * DAY_SECONDS))))


def feature_counts(windowed: ir.Table) -> ir.Table:
    """``(customer_id, feature, n)`` long table of counts."""
    parts = []
    for column in ("touchpoint", "channel", "stage"):
        rows = windowed.filter(windowed[column].notnull())
        parts.append(rows.select("customer_id", feature=ibis.literal(f"{column}: ") + rows[column]))
    order = ibis.window(group_by=windowed.customer_id, order_by=[windowed.timestamp, windowed._seq])
    pairs = windowed.mutate(_next=windowed.touchpoint.lead().over(order))
    pairs = pairs.filter(pairs._next.notnull() & (pairs._next != pairs.touchpoint))
    parts.append(pairs.select("customer_id", feature=ibis.literal("pattern: ") + pairs.touchpoint
                              + ibis.literal(" → ") + pairs._next))
    last = windowed.mutate(_rank=ibis.row_number().over(ibis.window(
        group_by=windowed.customer_id, order_by=[windowed.timestamp.desc(), windowed._seq.desc()])))
    last = last.filter(last._rank == 0)
    parts.append(last.select("customer_id", feature=ibis.literal("dropped off at: ") + last.touchpoint))
    staged = last.filter(last.stage.notnull())
    parts.append(staged.select("customer_id", feature=ibis.literal("dropped off in: ") + staged.stage))
    union = ibis.union(*parts)
    return union.group_by(["customer_id", "feature"]).aggregate(n=union.count())


def window_scores(feedback: ir.Table, refs: ir.Table, window_days: float) -> ir.Table:
    """``(customer_id, metric, total, n)``: sums of NPS, CSAT and CES answered in the window."""
    f = feedback.filter(feedback.customer_id.notnull()).mutate(ts=feedback.timestamp.epoch_seconds().cast("int64"))
    j = f.join(refs, "customer_id")
    j = j.filter((j.ts < j.ref_ts) & (j.ts >= j.ref_ts - ibis.literal(int(window_days * DAY_SECONDS))))
    parts = [j.filter(j[m].notnull()).select("customer_id", metric=ibis.literal(m), score=j[m].cast("float64"))
             for m in ("nps", "csat", "ces")]
    union = ibis.union(*parts)
    return union.group_by(["customer_id", "metric"]).aggregate(total=union.score.sum(), n=union.count())
