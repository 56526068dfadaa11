"""Before, during and after: the whole relationship of customers who left and who stayed.

The departure analysis' ``relationship`` part, per group (``left`` / ``stayed``, the same
customers as the comparison, up to each one's reference moment):

* ``acquisition`` — first-touch channels, median tenure and events per 30 days
  (:func:`groups`); cost and attribution are on the Acquisition page;
* ``stages`` — per stage of the journey definition: the share of the group that reached it,
  events per customer who did, and the CX metrics answered at the stage's touchpoints
  (NPS = 100 × (share 9–10 − share 0–6), CSAT = share 4–5, CES = mean 1–7; no score below
  ``min_responses`` answers) (:func:`stages`);
* ``tickets`` — from the app database's tickets, when there are any: the share of customers
  with a ticket, tickets per customer, median hours to close, the share that missed an SLA,
  and tickets per 100 customers by stage (:func:`tickets`). Without an app database the
  section says so instead of showing zeros.

Descriptive: the tested differences are in the departure analysis' ``differences``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from journeylens.analyses import stats
from journeylens.analyses.targets import touchpoint_stages

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from journeylens.journeys.definition import JourneyDefinition

DAY_SECONDS = 86_400
MIN_RESPONSES = 5
GROUPS: tuple[tuple[bool, str], ...] = ((True, "left"), (False, "stayed"))


def groups(refs: pd.DataFrame, first: pd.DataFrame) -> list[dict[str, Any]]:
    """Acquisition and tenure per group: first-touch channels, median tenure, events per 30 days."""
    joined = refs.merge(first, on="customer_id", how="left")
    joined["tenure_days"] = (joined.ref_ts - joined.first_ts) / DAY_SECONDS
    rows = []
    for churned, g in joined.groupby("churned"):
        channels = g.first_channel.fillna("(none)").value_counts(normalize=True).head(5)
        months = g.tenure_days.clip(lower=1) / 30.0
        rows.append({"group": "left" if churned else "stayed", "customers": len(g),
                     "median_tenure_days": float(g.tenure_days.median()),
                     "events_per_30_days": float((g.events / months).median()),
                     "first_channels": {str(k): float(v) for k, v in channels.items()}})
    return rows


def _before_reference(table: ir.Table, refs: ir.Table) -> ir.Table:
    j = table.join(refs, "customer_id")
    return j.filter(j.timestamp.epoch_seconds() < j.ref_ts)


def _scores(answers: pd.DataFrame, min_responses: int) -> dict[str, Any]:
    out: dict[str, Any] = {"responses": len(answers)}
    nps = answers["nps"].dropna()
    csat = answers["csat"].dropna()
    ces = answers["ces"].dropna()
    out["nps"] = stats.nps_score(float((nps >= 9).sum()), float((nps <= 6).sum()), len(nps)) \
        if len(nps) >= min_responses else None
    out["csat"] = float((csat >= 4).mean()) if len(csat) >= min_responses else None
    out["ces"] = float(ces.mean()) if len(ces) >= min_responses else None
    out.update(nps_responses=len(nps), csat_responses=len(csat), ces_responses=len(ces))
    return out


def stages(events: ir.Table, feedback: ir.Table, refs: ir.Table, group_sizes: Mapping[bool, int],
           definition: JourneyDefinition, min_responses: int = MIN_RESPONSES) -> list[dict[str, Any]]:
    """Per stage (definition order) and group: reach, events per customer, CX metrics at the stage."""
    e = _before_reference(events.filter(events.stage.notnull()), refs)
    reach = e.group_by(["stage", "churned"]).aggregate(customers=e.customer_id.nunique(), events=e.count()).to_pandas()
    mapping = touchpoint_stages(definition)
    f = feedback.filter(feedback.customer_id.notnull() & feedback.touchpoint.notnull())
    f = _before_reference(f, refs)
    answers = f.select("churned", "touchpoint", nps=f.nps.cast("float64"), csat=f.csat.cast("float64"),
                       ces=f.ces.cast("float64")).to_pandas()
    answers["stage"] = answers["touchpoint"].map(mapping)
    rows = []
    for stage in definition.stage_names:
        for churned, name in GROUPS:
            hit = reach[(reach.stage == stage) & (reach.churned == churned)]
            customers = int(hit.customers.sum()) if len(hit) else 0
            events_n = int(hit.events.sum()) if len(hit) else 0
            size = group_sizes.get(churned, 0)
            rows.append({"stage": stage, "group": name, "customers": customers,
                         "share": customers / size if size else None,
                         "events_per_customer": events_n / customers if customers else None,
                         **_scores(answers[(answers.stage == stage) & (answers.churned == churned)], min_responses)})
    return rows


def tickets(tickets_frame: pd.DataFrame | None, note: str | None, refs: pd.DataFrame,
            definition: JourneyDefinition) -> dict[str, Any]:
    """Tickets before each customer's reference moment, per group and per stage of their touchpoint."""
    if tickets_frame is None:
        return {"available": False, "note": note or "No app database was given: tickets are not part of this view.",
                "groups": [], "stages": []}
    t = tickets_frame.merge(refs[["customer_id", "churned", "ref_ts"]], on="customer_id", how="inner")
    created = pd.to_datetime(t["created_at"], utc=True)
    t = t[(created.astype("int64") // 1_000_000_000).to_numpy() < t["ref_ts"].to_numpy()]
    t = t.assign(stage=t["touchpoint"].map(touchpoint_stages(definition)))
    sizes = refs.groupby("churned").size()
    out_groups, out_stages = [], []
    for churned, name in GROUPS:
        size = int(sizes.get(churned, 0))
        g = t[t.churned == churned]
        closed = g["hours_to_close"].dropna().to_numpy(dtype=float)
        out_groups.append({"group": name, "customers": size, "tickets": len(g),
                           "customers_with_ticket_share": g.customer_id.nunique() / size if size else None,
                           "tickets_per_customer": len(g) / size if size else None,
                           "median_hours_to_close": float(np.median(closed)) if len(closed) else None,
                           "sla_breached_share": float(g["breached"].mean()) if len(g) else None,
                           "open_share": float(g["open"].mean()) if len(g) else None})
        for stage in [*definition.stage_names, None]:
            n = int((g.stage == stage).sum()) if stage else int(g.stage.isna().sum())
            if n:
                out_stages.append({"stage": stage or "(no stage)", "group": name, "tickets": n,
                                   "tickets_per_100_customers": 100 * n / size if size else None})
    found = len(tickets_frame)
    note_text = None if len(t) else (f"The app database holds {found} ticket(s), none for these customers before "
                                     "their reference moment." if found else "The app database holds no tickets.")
    return {"available": True, "note": note_text, "groups": out_groups, "stages": out_stages}


def window_tickets(tickets_frame: pd.DataFrame | None, refs: pd.DataFrame, window_days: float) -> pd.DataFrame:
    """``(customer_id, feature, n)`` counts of tickets opened, and of tickets that missed an SLA, in each
    customer's window (features ``tickets: opened`` and ``tickets: SLA missed``)."""
    empty = pd.DataFrame({"customer_id": pd.Series(dtype=object), "feature": pd.Series(dtype=object),
                          "n": pd.Series(dtype="int64")})
    if tickets_frame is None or tickets_frame.empty:
        return empty
    t = tickets_frame.merge(refs[["customer_id", "ref_ts"]], on="customer_id", how="inner")
    ts = (pd.to_datetime(t["created_at"], utc=True).astype("int64") // 1_000_000_000).to_numpy()
    t = t[(ts < t["ref_ts"].to_numpy()) & (ts >= t["ref_ts"].to_numpy() - window_days * DAY_SECONDS)]
    parts = [t.groupby("customer_id").size().rename("n").reset_index().assign(feature="tickets: opened"),
             t[t["breached"].astype(bool)].groupby("customer_id").size().rename("n").reset_index()
             .assign(feature="tickets: SLA missed")]
    out = pd.concat(parts, ignore_index=True)
    return out[["customer_id", "feature", "n"]] if len(out) else empty

