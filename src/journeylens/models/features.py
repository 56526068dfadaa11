"""Customer features for the models, built in the warehouse with Ibis (same code on DuckDB
and Spark), plus the attribute table read from ``customers``.

:func:`journey_features` gives one row per customer from the events strictly before
``as_of`` (all events when ``None``): activity counts, recency and tenure in days, channel
switches, repeat contacts on one channel within ``repeat_window_days``, per-touchpoint and
per-channel counts, switches into the contact channel from another channel (all of them, and
those inside one episode: ``contact_switches_in_episode``, a customer who started online and
then called within the same visit), and feedback
(answers, last NPS, detractor answers, mean CSAT; with ``comments`` negative comments too).
:func:`churn_times` gives when each customer churned (first churn outcome event, else
``churn_date``), so labels can be taken from *after* the cut-off.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from journeylens.analyses.journey_map import ordered

if TYPE_CHECKING:
    from journeylens.journeys.definition import JourneyDefinition

DAY_SECONDS = 86_400.0
_BOOL_TEXT = {"true": 1.0, "t": 1.0, "yes": 1.0, "y": 1.0, "1": 1.0,
              "false": 0.0, "f": 0.0, "no": 0.0, "n": 0.0, "0": 0.0}


@dataclass(frozen=True)
class FeatureSpec:
    """What the journey features look at."""

    as_of: datetime | None = None
    repeat_window_days: float = 7.0
    contact_channel: str = "call_centre"
    touchpoints: Sequence[str] = field(default_factory=tuple)
    channels: Sequence[str] = field(default_factory=tuple)


def slug(name: str) -> str:
    return re.sub(r"[^0-9a-z]+", "_", name.lower()).strip("_")


def before(table: ir.Table, as_of: datetime | None) -> ir.Table:
    return table if as_of is None else table.filter(table.timestamp < ibis.literal(as_of, type="timestamp('UTC')"))


def top_values(events: ir.Table, column: str, limit: int, exclude: Sequence[str] = ()) -> list[str]:
    """The ``limit`` values of ``column`` reached by the most customers (for stable feature columns)."""
    kept = events.filter(events[column].notnull() & ~events[column].isin(list(exclude) or [""]))
    counts = kept.group_by(column).aggregate(n=kept.customer_id.nunique()).order_by([ibis.desc("n"), column])
    return [str(v) for v in counts.limit(limit).to_pandas()[column]]


def churn_touchpoints(events: ir.Table, definition: JourneyDefinition | None) -> list[str]:
    """Touchpoints that are churn outcomes or share a stage with one (kept out of the features)."""
    if definition is None or not definition.outcomes.churn:
        return []
    hit = events.filter(definition.outcome_expr("churn", events.touchpoint))
    stages = [s for s in hit.select("stage").distinct().to_pandas()["stage"].dropna()]
    staged = events.filter(events.stage.isin(stages or [""]) | definition.outcome_expr("churn", events.touchpoint))
    return [str(v) for v in staged.select("touchpoint").distinct().to_pandas()["touchpoint"].dropna()]


def frame_by_customer(table: ir.Table) -> pd.DataFrame:
    """A per-customer table as floats indexed by ``customer_id``, in a fixed order (same data,
    same frame, same model: samples and splits are drawn by position)."""
    return to_float_frame(table.order_by("customer_id").to_pandas().set_index("customer_id"))


def journey_features(events: ir.Table, spec: FeatureSpec, feedback: ir.Table | None = None,
                     comments: str | None = None) -> ir.Table:
    """One row per customer with an event before ``spec.as_of``; see the module docstring."""
    ev = before(events.filter(events.customer_id.notnull()), spec.as_of)
    # the reference time as a literal: a scalar subquery here is re-planned per group on some engines
    last = spec.as_of if spec.as_of is not None else ev.timestamp.max().to_pyarrow().as_py()
    ref = ibis.literal(last, type="timestamp('UTC')").epoch_seconds()
    win = ibis.window(group_by=ev.customer_id, order_by=ordered(ev))
    ev = ev.mutate(_prev_channel=ev.channel.lag().over(win), _prev_episode=ev.episode.lag().over(win),
                   _secs=ev.timestamp.epoch_seconds())
    contact = ev.channel == spec.contact_channel
    switch_in = ev._prev_channel.notnull() & (ev._prev_channel != ev.channel) & contact
    contacts = ev.filter(contact)
    cwin = ibis.window(group_by=contacts.customer_id, order_by=ordered(contacts))
    contacts = contacts.mutate(_gap=contacts._secs - contacts._secs.lag().over(cwin))
    repeats = contacts.group_by("customer_id").aggregate(
        repeat_contacts=(contacts._gap <= spec.repeat_window_days * DAY_SECONDS).cast("int64").sum())
    aggs: dict[str, Any] = {
        "events": ev.count(), "episodes": ev.episode.max(),
        "recency_days": (ref - ev._secs.max()) / DAY_SECONDS, "tenure_days": (ref - ev._secs.min()) / DAY_SECONDS,
        "channel_switches": (ev._prev_channel.notnull() & (ev._prev_channel != ev.channel)).cast("int64").sum(),
        "switches_to_contact": switch_in.cast("int64").sum(),
        "contact_switches_in_episode": (switch_in & (ev._prev_episode == ev.episode)).cast("int64").sum(),
    }
    for tp in spec.touchpoints:
        aggs[f"tp_{slug(tp)}"] = (ev.touchpoint == tp).cast("int64").sum()
    for ch in spec.channels:
        aggs[f"ch_{slug(ch)}"] = (ev.channel == ch).cast("int64").sum()
    out = ev.group_by("customer_id").aggregate(**aggs)
    out = out.left_join(repeats, "customer_id").drop("customer_id_right")
    out = out.mutate(repeat_contacts=out.repeat_contacts.fill_null(0))
    if feedback is not None:
        out = out.left_join(_feedback_features(feedback, spec.as_of), "customer_id").drop("customer_id_right")
        out = out.mutate(answers=out.answers.fill_null(0), detractor_answers=out.detractor_answers.fill_null(0))
        if comments is not None:
            from journeylens.models.experience import comment_features

            scored = comment_features(feedback, as_of=spec.as_of, model=comments)
            if scored is not None:
                out = out.left_join(scored, "customer_id").drop("customer_id_right")
                out = out.mutate(comments=out.comments.fill_null(0), negative_comments=out.negative_comments.fill_null(0))
    return out


def _feedback_features(feedback: ir.Table, as_of: datetime | None) -> ir.Table:
    fb = before(feedback.filter(feedback.customer_id.notnull()), as_of)
    fb = fb.filter(fb.respondent.isnull() | (fb.respondent == "customer"))
    nps = ibis.ifelse(fb.nps.between(0, 10), fb.nps.cast("float64"), ibis.null("float64"))
    csat = ibis.ifelse(fb.csat.between(1, 5), fb.csat.cast("float64"), ibis.null("float64"))
    fb = fb.mutate(_nps=nps, _csat=csat)
    last = fb.filter(fb._nps.notnull()).mutate(_rank=ibis.row_number().over(
        ibis.window(group_by=fb.customer_id, order_by=[ibis.desc(fb.timestamp), ibis.desc(fb._seq)])))
    last = last.filter(last._rank == 0).select("customer_id", last_nps=last._nps)
    agg = fb.group_by("customer_id").aggregate(answers=fb.count(), detractor_answers=(fb._nps <= 6).cast("int64").sum(),
                                               mean_csat=fb._csat.mean())
    return agg.left_join(last, "customer_id").drop("customer_id_right")


def churn_times(events: ir.Table, definition: JourneyDefinition | None, customers: ir.Table | None) -> ir.Table:
    """``customer_id, churn_at`` (first churn outcome event, else ``customers.churn_date``)."""
    parts = []
    if definition is not None and definition.outcomes.churn:
        hit = events.filter(definition.outcome_expr("churn", events.touchpoint) & events.customer_id.notnull())
        parts.append(hit.group_by("customer_id").aggregate(churn_at=hit.timestamp.min()))
    if customers is not None:
        dated = customers.filter(customers.churn_date.notnull())
        parts.append(dated.select("customer_id", churn_at=dated.churn_date))
    if not parts:
        return ibis.memtable({"customer_id": [], "churn_at": []},
                             schema={"customer_id": "string", "churn_at": "timestamp('UTC')"})
    union = parts[0] if len(parts) == 1 else parts[0].union(parts[1])
    return union.group_by("customer_id").aggregate(churn_at=union.churn_at.min())


# --- customer attributes (pandas, bounded) ------------------------------------------------------
def to_number(column: pd.Series) -> pd.Series | None:
    """A text column as numbers: booleans (true/false, yes/no, y/n, 1/0, any case) → 1/0, blank → null;
    ``None`` when the column is not numeric."""
    text = column.astype("string").str.strip().str.lower()
    text = text.mask(text == "")
    known = text.dropna()
    if known.empty:
        return None
    if known.isin(list(_BOOL_TEXT)).all() and known.nunique() <= 2:
        return text.map(_BOOL_TEXT).astype(float)
    numeric = pd.to_numeric(text, errors="coerce")
    return numeric.astype(float) if numeric[known.index].notna().all() else None


#: Attribute names that describe the outcome itself (a snapshot's ``status = closed``): never features.
OUTCOME_LIKE = re.compile(r"(status|state|churn|closed|cancel|terminat|end_date|ended)", re.IGNORECASE)


def attribute_frame(customers: pd.DataFrame, max_levels: int = 12) -> pd.DataFrame:
    """Model-ready customer attributes: numbers and booleans as floats, dates as days since 1970, categories one-hot
    (``segment=retail``; levels beyond ``max_levels`` pooled as ``other``), indexed by customer.
    Columns named like an outcome (:data:`OUTCOME_LIKE`) are left out: they leak the label."""
    base = customers.set_index("customer_id")
    extra = pd.DataFrame([json.loads(v) if isinstance(v, str) and v else {} for v in base.get("attributes", [])],
                         index=base.index) if "attributes" in base.columns else pd.DataFrame(index=base.index)
    skip = {"churned", "churn_date", "attributes", "revenue"}
    raw = pd.concat([base[[c for c in base.columns if c not in skip and not c.startswith("_")]], extra], axis=1)
    parts: list[pd.Series | pd.DataFrame] = []
    for col in raw.columns:
        if OUTCOME_LIKE.search(str(col)):
            continue
        series = raw[col]
        number = series.astype(float) if pd.api.types.is_numeric_dtype(series) else to_number(series)
        if number is None:
            number = _days(series)
        if number is not None:
            parts.append(number.rename(str(col)))
            continue
        text = series.astype("string").str.strip()
        levels = text.value_counts().index[:max_levels]
        if len(levels) < 2 or text.nunique() > 0.5 * len(text):
            continue  # an identifier or a constant, not a category
        pooled = text.where(text.isin(levels) | text.isna(), "other")
        dummies = pd.get_dummies(pooled, prefix=str(col), prefix_sep="=", dtype=float)
        parts.append(dummies)
    return pd.concat(parts, axis=1) if parts else pd.DataFrame(index=base.index)


def _days(column: pd.Series) -> pd.Series | None:
    """A column of dates or timestamps as days since 1970 (a number a model can split), else ``None``."""
    if pd.api.types.is_datetime64_any_dtype(column):
        stamps = pd.to_datetime(column, utc=True)
    else:
        text = column.astype("string").str.strip()
        known = text.dropna()
        if known.empty or not known.str.match(r"^\d{4}-\d{2}-\d{2}").all():
            return None
        stamps = pd.to_datetime(text, utc=True, errors="coerce", format="ISO8601")
        if stamps[known.index].isna().any():
            return None
    return (stamps - pd.Timestamp(0, tz="UTC")) / pd.Timedelta(days=1)


def to_float_frame(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.apply(pd.to_numeric, errors="coerce").astype(float).replace([np.inf, -np.inf], np.nan)
