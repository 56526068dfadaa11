"""Experience features per customer, built in the warehouse with Ibis (DuckDB and Spark alike):
CSAT at each touchpoint, time to reach each step of a funnel and where customers dropped off,
and negative comments (text sentiment, :mod:`journeylens.text`).

* :func:`touchpoint_csat` — ``csat_<touchpoint>``: the customer's mean CSAT (1-5) over the
  responses about that touchpoint; a response that names no touchpoint is attached to the
  customer's nearest preceding event (:func:`~journeylens.analyses.feedback_links.link_feedback`).
* :func:`funnel_progress` — for ordered steps (stages or touchpoints): ``days_to_<step>`` (days
  from the customer's first event to their first event at the step; null when never reached),
  ``reached_<step>`` (0/1) and ``dropoff_<step>`` (reached the step, never reached a later one).
  The default funnel is the definition's stages up to the one after the stage holding the
  conversion outcome (where "not going on" is a drop-off, not a quiet customer).
* :func:`comment_features` — ``negative_comments``: how many of the customer's comments the
  sentiment model labels negative (``comments``: how many were scored). Distinct texts are
  scored once in Python, the labels joined back in the warehouse.

>>> import ibis
>>> from datetime import datetime, UTC
>>> ev = ibis.memtable({"customer_id": ["a", "a", "b"], "touchpoint": ["Apply", "Approved", "Apply"],
...     "stage": ["on", "on", "on"], "timestamp": [datetime(2024, 1, d, tzinfo=UTC) for d in (1, 3, 1)]})
>>> out = funnel_progress(ev, ["Apply", "Approved"], "touchpoint").order_by("customer_id").to_pandas()
>>> out[["customer_id", "days_to_approved", "dropoff_apply"]].values.tolist()
[['a', 2.0, 0], ['b', nan, 1]]
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import ibis
import ibis.expr.types as ir

from journeylens.models.features import DAY_SECONDS, before, slug

#: At most this many touchpoints get a CSAT driver (those answered by the most customers).
CSAT_TOUCHPOINTS = 4


def touchpoint_csat(feedback: ir.Table, events: ir.Table, *, definition: Any = None, as_of: datetime | None = None,
                    limit: int = CSAT_TOUCHPOINTS, min_customers: int = 30,
                    touchpoints: Sequence[str] | None = None) -> tuple[ir.Table | None, list[str]]:
    """``(customer_id, csat_<tp>…)`` for the ``limit`` touchpoints with the most customers who gave
    a CSAT about them (at least ``min_customers``), and the touchpoints chosen."""
    from journeylens.analyses.feedback_links import link_feedback

    fb = before(feedback.filter(feedback.customer_id.notnull() & feedback.csat.between(1, 5)), as_of)
    if "respondent" in fb.columns:
        fb = fb.filter(fb.respondent.isnull() | (fb.respondent == "customer"))
    linked = link_feedback(fb, before(events.filter(events.customer_id.notnull()), as_of), definition=definition)
    linked = linked.filter(linked.touchpoint.notnull())
    if touchpoints is None:
        counts = linked.group_by("touchpoint").aggregate(n=linked.customer_id.nunique())
        counts = counts.filter(counts.n >= min_customers).order_by([ibis.desc("n"), "touchpoint"]).limit(limit)
        touchpoints = [str(v) for v in counts.to_pandas()["touchpoint"]]
    if not touchpoints:
        return None, []
    value = linked.csat.cast("float64")
    aggs = {f"csat_{slug(tp)}": ibis.ifelse(linked.touchpoint == tp, value, ibis.null("float64")).mean()
            for tp in touchpoints}
    return linked.group_by("customer_id").aggregate(**aggs), list(touchpoints)


def churn_stages(definition: Any) -> list[str]:
    """Stages that hold a churn outcome touchpoint (never part of a funnel)."""
    if definition is None or not definition.outcomes.churn:
        return []
    names = {t.name: t.stage for t in definition.touchpoints}
    return sorted({names[tp] for tp in definition.outcomes.churn if names.get(tp)})


def default_funnel(definition: Any, excluded_stages: Sequence[str] = ()) -> list[str]:
    """The definition's stages up to the one after the stage of the conversion outcome (or all
    stages but the last when no conversion is declared), churn stages left out."""
    if definition is None or not definition.stages:
        return []
    stages = [s for s in definition.stage_names if s not in excluded_stages]
    names = {t.name: t.stage for t in definition.touchpoints}
    conversion = [names[tp] for tp in definition.outcomes.conversion if names.get(tp)]
    if conversion:
        last = max(stages.index(s) for s in conversion if s in stages) if any(s in stages for s in conversion) else -1
        return stages[: last + 2] if last >= 0 else stages
    return stages[:-1]


def funnel_progress(events: ir.Table, steps: Sequence[str], level: str,
                    as_of: datetime | None = None) -> ir.Table:
    """``customer_id, days_to_<step>, reached_<step>, dropoff_<step>`` (see the module docstring)."""
    ev = before(events.filter(events.customer_id.notnull()), as_of)
    column = ev[level]
    secs = ev.timestamp.epoch_seconds()
    aggs: dict[str, Any] = {"_first": secs.min()}
    for i, step in enumerate(steps):
        aggs[f"_at{i}"] = ibis.ifelse(column == step, secs, ibis.null("int64")).min()
    out = ev.group_by("customer_id").aggregate(**aggs)
    fields: dict[str, Any] = {}
    for i, step in enumerate(steps):
        name = slug(step)
        reached = out[f"_at{i}"].notnull()
        fields[f"reached_{name}"] = reached.cast("int64")
        if i > 0:
            fields[f"days_to_{name}"] = (out[f"_at{i}"] - out._first).cast("float64") / DAY_SECONDS
        if i < len(steps) - 1:
            later = ibis.literal(False)
            for j in range(i + 1, len(steps)):
                later = later | out[f"_at{j}"].notnull()
            fields[f"dropoff_{name}"] = (reached & ~later).cast("int64")
    return out.select("customer_id", **fields)


def resolve_funnel(events: ir.Table, definition: Any, funnel: Sequence[str] | None,
                   excluded_stages: Sequence[str] = ()) -> tuple[list[str], str]:
    """``(steps, level)``: the given steps (all stages, or all touchpoints, as the names say) or
    :func:`default_funnel`."""
    from journeylens.errors import UnknownNameError

    if not funnel:
        return default_funnel(definition, excluded_stages), "stage"
    stages = set(definition.stage_names) if definition is not None else set()
    if stages and all(s in stages for s in funnel):
        return list(funnel), "stage"
    seen = set(events.filter(events.touchpoint.isin(list(funnel))).select("touchpoint").distinct()
               .to_pandas()["touchpoint"])
    unknown = [s for s in funnel if s not in seen]
    if unknown:
        raise UnknownNameError(f"Unknown funnel step(s) {', '.join(unknown)}: steps are all stages "
                               f"({', '.join(sorted(stages)) or 'none defined'}) or all touchpoints seen in events.",
                               details={"unknown": unknown, "stages": sorted(stages)})
    return list(funnel), "touchpoint"


def comment_features(feedback: ir.Table, *, as_of: datetime | None = None, model: str = "vader",
                     without_nps: bool = False) -> ir.Table | None:
    """``(customer_id, comments, negative_comments)`` from the customers' comments before
    ``as_of`` (``without_nps``: only responses that carry no NPS answer), or ``None`` without a
    ``comment`` column."""
    if "comment" not in feedback.columns:
        return None
    from journeylens.text.sentiment import score_texts

    fb = before(feedback.filter(feedback.customer_id.notnull() & feedback.comment.notnull()
                                & (feedback.comment.strip() != "")), as_of)
    if "respondent" in fb.columns:
        fb = fb.filter(fb.respondent.isnull() | (fb.respondent == "customer"))
    if without_nps and "nps" in fb.columns:
        fb = fb.filter(fb.nps.isnull())
    language = fb.language if "language" in fb.columns else ibis.null("string")
    fb = fb.mutate(_lang=language)
    texts = fb.select("comment", "_lang").distinct().order_by(["comment", "_lang"]).to_pandas()
    scored = score_texts(list(texts["comment"]), [v if isinstance(v, str) else None for v in texts["_lang"]], model)
    labels = ibis.memtable({"_c": list(texts["comment"]), "_l": list(texts["_lang"].astype(object)),
                            "_neg": [int(label == "neg") for _, label, _ in scored],
                            "_scored": [int(label != "not_scored") for _, label, _ in scored]},
                           schema={"_c": "string", "_l": "string", "_neg": "int64", "_scored": "int64"})
    joined = fb.left_join(labels, [fb.comment == labels._c, (fb._lang == labels._l) | (fb._lang.isnull()
                                                                                     & labels._l.isnull())])
    return joined.group_by("customer_id").aggregate(comments=joined._scored.fill_null(0).sum(),
                                                    negative_comments=joined._neg.fill_null(0).sum())
