"""Departure analysis: why customers leave, and what their last days looked like.

Customers who could churn (converted, when the definition declares conversions) are split
into those who **left** (a churn outcome event or ``customers.churned``) and those who
**stayed**; only customers who had been customers for the whole window before the reference
moment take part (otherwise early leavers' onboarding would look like a reason). For each, the ``window_days`` before the reference moment are compared (the churn
date; for stayers the data's last event — see :mod:`.departure_features`):

* ``differences`` — per feature (events per ``touchpoint:``, ``channel:``, ``stage:``; tickets
  ``tickets: opened`` / ``tickets: SLA missed`` when the app database has tickets; and shares
  of customers: ``pattern: A → B``, consecutive touchpoints, and the drop-off ``dropped off at:``
  touchpoint / ``dropped off in:`` stage, the last step of the window) the mean count per
  customer of each group (shares: the share of customers showing it), the ratio left/stayed,
  a Welch t-test on the counts (shares: a two-proportion z-test) and Benjamini-Hochberg
  q-values across every feature and score tested; ``sentence`` reads "Customers who left had
  2.3× as many …". ``drop_offs`` repeats the drop-off rows.
* ``scores`` — mean NPS / CSAT / CES answered in the window, per group, Welch-tested (same BH).
* ``attributes`` — churn share per level of ``segment``, ``plan``, ``region`` (customers
  table) against the other levels, z-tested (same BH).
* ``reasons`` — ``exit_survey``: answers to the exit survey's ``reason`` question
  (JourneyLens surveys of kind ``exit``); and the last comment of each customer who left (window before the churn date, or
  after it): the most frequent comments, and the words most over-represented against the
  stayers' last comments (log-odds ratio with an informative Dirichlet prior, Monroe et al.
  2008; ``z`` > 1.96 is distinctive).
* ``relationship`` — before / during / after per group: first-touch channel shares, median
  tenure (first event to reference), events per 30 days; ``stages`` — per stage, reach, events
  and the CX metrics answered there; ``tickets`` — tickets per group and stage, or a note that
  there are none (see :mod:`.relationship`).

Observational: the comparison shows where to look, not what caused the departure.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import ibis
import pandas as pd
from pydantic import BaseModel, ConfigDict

from journeylens.analyses import stats
from journeylens.analyses.cx import departure_features as feats
from journeylens.analyses.cx import relationship as rel
from journeylens.analyses.marketing.paths import property_text
from journeylens.analyses.result import plain
from journeylens.errors import ParameterError

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from journeylens.journeys.definition import JourneyDefinition

ATTRIBUTES: tuple[str, ...] = ("segment", "plan", "region")
DROP_OFF = "dropped off"
ALPHA = 0.05
_WORD = re.compile(r"[a-z][a-z']+")
_STOP = frozenset(["the", "a", "an", "and", "or", "to", "of", "in", "on", "for", "is", "it", "my", "i", "me", "was", "with", "this", "that", "be", "at", "by", "not", "no", "but", "have", "had", "so", "are", "you", "your", "we", "our", "they", "them", "very", "just"])


class DeparturesShape(BaseModel):
    """The JSON shape of :meth:`DeparturesResult.to_dict` (the HTTP route's response model)."""

    model_config = ConfigDict(extra="allow")
    window_days: float
    customers_left: int
    customers_stayed: int
    differences: list[dict[str, Any]]
    scores: list[dict[str, Any]]
    attributes: list[dict[str, Any]]
    reasons: dict[str, Any]
    relationship: list[dict[str, Any]]
    stages: list[dict[str, Any]]
    tickets: dict[str, Any]
    drop_offs: list[dict[str, Any]]
    headlines: list[str]


@dataclass(frozen=True, repr=False)
class DeparturesResult:
    """``to_dict()`` → ``{window_days, customers_left, customers_stayed, differences, scores,
    attributes, reasons: {comments, words, exit_survey}, relationship, stages, tickets, drop_offs,
    headlines}``."""

    window_days: float
    left: int
    stayed: int
    differences: Sequence[Mapping[str, Any]]
    scores: Sequence[Mapping[str, Any]]
    attributes: Sequence[Mapping[str, Any]]
    reasons: Mapping[str, Any]
    relationship: Sequence[Mapping[str, Any]]
    stages: Sequence[Mapping[str, Any]] = ()
    tickets: Mapping[str, Any] = field(default_factory=dict)
    params: Mapping[str, Any] = field(default_factory=dict)

    @property
    def drop_offs(self) -> list[Mapping[str, Any]]:
        """The drop-off rows of ``differences``: where the last days ended, left vs stayed."""
        return [r for r in self.differences if r["feature"].startswith(DROP_OFF)]

    def headlines(self, limit: int = 5) -> list[str]:
        """The significant over-represented features as sentences: the strongest channel,
        touchpoint and pattern first, then the others by ratio."""
        rows = sorted((r for r in self.differences if r["significant"] and (r["ratio"] or 0) > 1),
                      key=lambda r: -(r["ratio"] or 0))
        leaders = [next((r for r in rows if r["feature"].startswith(kind)), None)
                   for kind in ("channel: ", "touchpoint: ", "dropped off at: ", "tickets: ", "pattern: ")]
        ordered = [r for r in leaders if r is not None] + [r for r in rows if r not in leaders]
        return [r["sentence"] for r in ordered[:limit]]

    def to_dict(self) -> dict[str, Any]:
        return plain({"window_days": self.window_days, "customers_left": self.left, "customers_stayed": self.stayed,
                      "differences": [dict(r) for r in self.differences], "scores": [dict(r) for r in self.scores],
                      "attributes": [dict(r) for r in self.attributes], "reasons": dict(self.reasons),
                      "relationship": [dict(r) for r in self.relationship], "stages": [dict(r) for r in self.stages],
                      "tickets": dict(self.tickets), "drop_offs": [dict(r) for r in self.drop_offs],
                      "headlines": self.headlines()})

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([dict(r) for r in self.differences])

    def figure(self) -> Any:
        """The most over-represented significant features: ratio left / stayed."""
        import plotly.graph_objects as go

        rows = [r for r in self.differences if r["significant"]][:15][::-1]
        return go.Figure(go.Bar(x=[r["ratio"] for r in rows], y=[r["feature"] for r in rows], orientation="h"),
                         layout={"title": f"Before leaving: last {self.window_days:g} days, left vs stayed (×)",
                                 "xaxis": {"type": "log", "title": "ratio"}, "margin": {"l": 280}})

    def __repr__(self) -> str:
        return f"DeparturesResult({self.left} left, {self.stayed} stayed, {len(self.differences)} features)"


def _is_share(feature: str) -> bool:
    """Features counted once per customer (compared as shares of customers, not mean counts)."""
    return feature.startswith(("pattern: ", DROP_OFF))


def _sentence(feature: str, ratio: float, window_days: float) -> str:
    kind, _, name = feature.partition(": ")
    if kind.startswith(DROP_OFF):
        where = f"at '{name}'" if kind == "dropped off at" else f"in the {name} stage"
        return (f"Customers who left were {ratio:.1f}× as likely to have dropped off {where} "
                f"(their last step in the {window_days:g} days before leaving).")
    what = {"touchpoint": f"'{name}' events", "channel": f"{name.replace('_', ' ')} contacts",
            "stage": f"{name} events", "pattern": f"journeys with '{name}'",
            "tickets": "tickets" if name == "opened" else "tickets that missed their SLA"}.get(kind, feature)
    if kind == "pattern":
        return f"Customers who left were {ratio:.1f}× as likely to have {what} in their last {window_days:g} days."
    return f"Customers who left had {ratio:.1f}× as many {what} in their last {window_days:g} days."


def _differences(counts: pd.DataFrame, n_left: int, n_stayed: int, min_customers: int,
                 window_days: float) -> list[dict[str, Any]]:
    rows = []
    for feature, g in counts.groupby("feature"):
        if len(g) < min_customers:
            continue
        a, b = g[~g.churned]["n"].to_numpy(float), g[g.churned]["n"].to_numpy(float)
        if _is_share(str(feature)):
            test = stats.two_proportion_ztest(len(a), n_stayed, len(b), n_left)
            stayed, left = len(a) / n_stayed, len(b) / n_left
        else:
            test = stats.welch_ttest(n_stayed, a.sum(), (a * a).sum(), n_left, b.sum(), (b * b).sum())
            stayed, left = a.sum() / n_stayed, b.sum() / n_left
        ratio = left / stayed if stayed > 0 else math.inf
        rows.append({"feature": str(feature), "left": left, "stayed": stayed, "ratio": ratio,
                     "customers_left": len(b), "customers_stayed": len(a), "p": test.p_value,
                     "sentence": _sentence(str(feature), ratio, window_days)})
    return rows


def _scores(scores: pd.DataFrame) -> list[dict[str, Any]]:
    rows = []
    for metric, g in scores.groupby("metric"):
        per = g.assign(mean=g.total / g.n)
        a, b = per[~per.churned]["mean"].to_numpy(float), per[per.churned]["mean"].to_numpy(float)
        test = stats.welch_ttest(len(a), a.sum(), (a * a).sum(), len(b), b.sum(), (b * b).sum())
        rows.append({"metric": str(metric), "left": b.mean() if len(b) else None, "stayed": a.mean() if len(a) else None,
                     "difference": test.difference, "customers_left": len(b), "customers_stayed": len(a),
                     "p": test.p_value})
    return rows


def _attributes(refs: pd.DataFrame, customers: pd.DataFrame | None) -> list[dict[str, Any]]:
    if customers is None or customers.empty:
        return []
    joined = refs.merge(customers, on="customer_id", how="inner")
    rows = []
    for column in ATTRIBUTES:
        if column not in joined or joined[column].nunique() < 2:
            continue
        for level, g in joined.groupby(column):
            rest = joined[joined[column] != level]
            test = stats.two_proportion_ztest(rest.churned.sum(), len(rest), g.churned.sum(), len(g))
            share, other = g.churned.mean(), rest.churned.mean()
            rows.append({"attribute": column, "level": str(level), "customers": len(g), "churn_share": share,
                         "churn_share_others": other, "ratio": share / other if other > 0 else math.inf,
                         "p": test.p_value})
    return rows


def _words(texts: Sequence[str]) -> Counter[str]:
    return Counter(w for t in texts for w in _WORD.findall(t.lower()) if w not in _STOP)


def _reasons(comments: pd.DataFrame, top: int) -> dict[str, Any]:
    """Most frequent last comments of leavers; words distinctive of them (log-odds, Dirichlet prior)."""
    if comments.empty:
        return {"comments": [], "words": []}
    last = comments.sort_values("timestamp").groupby("customer_id").tail(1)
    left = last[last.churned]["comment"].astype(str)
    normalised = left.str.lower().str.strip().str.rstrip(".!? ")
    frequent = [{"comment": c, "customers": int(n), "share": n / len(left)} for c, n in
                normalised.value_counts().head(top).items()] if len(left) else []
    a, b = _words(left.tolist()), _words(last[~last.churned]["comment"].astype(str).tolist())
    prior = a + b
    a0, b0, p0 = sum(a.values()), sum(b.values()), sum(prior.values())
    words: list[dict[str, Any]] = []
    for w, count in a.items():
        pa, pb, _pw = count + prior[w] * 0.01, b[w] + prior[w] * 0.01, prior[w] * 0.01
        delta = math.log(pa / (a0 + p0 * 0.01 - pa)) - math.log(pb / (b0 + p0 * 0.01 - pb))
        z = delta / math.sqrt(1 / pa + 1 / pb)
        words.append({"word": w, "left": count, "stayed": b[w], "z": z})
    words = sorted((x for x in words if x["left"] >= 5), key=lambda x: -x["z"])[:top]
    return {"comments": frequent, "words": words, "customers_with_comment": len(left)}


def _exit_reasons(feedback: ir.Table) -> list[dict[str, Any]]:
    """Answers to the exit survey's ``reason`` question (feedback rows whose properties say
    ``survey_kind: exit``, as JourneyLens surveys write them), most frequent first."""
    exits = feedback.filter(property_text(feedback, "survey_kind") == "exit")
    exits = exits.mutate(reason=property_text(exits, "reason"))
    exits = exits.filter(exits.reason.notnull())
    counted = exits.group_by("reason").aggregate(answers=exits.count()).to_pyarrow().to_pylist()
    total = sum(r["answers"] for r in counted)
    return [{"reason": r["reason"], "answers": int(r["answers"]), "share": r["answers"] / total}
            for r in sorted(counted, key=lambda r: (-r["answers"], r["reason"]))]


def departures(events: ir.Table, feedback: ir.Table, *, definition: JourneyDefinition,
               customers: ir.Table | None = None, window_days: float = 90, min_customers: int = 20,
               top: int = 15, tickets: pd.DataFrame | None = None, tickets_note: str | None = None) -> DeparturesResult:
    """Compare the last ``window_days`` of customers who left with those of customers who stayed.

    ``tickets`` (one row per ticket: ``customer_id, touchpoint, created_at, hours_to_close, open,
    breached``, as :func:`journeylens.operations.tickets.frame.ticket_frame` reads them) adds the
    tickets to the comparison and to the relationship; ``tickets_note`` says why there are none."""
    if not 1 <= window_days <= 3650:
        raise ParameterError(f"window_days must be between 1 and 3650, got {window_days}.")
    if not definition.outcomes.churn and customers is None:
        raise ParameterError("Departures need churn: declare outcomes.churn in the journey definition or load "
                             "customers with a churned column.")
    refs_expr = feats.reference_moments(events, definition, customers, window_days)
    refs = refs_expr.to_pandas()
    n_left, n_stayed = int(refs.churned.sum()), int((~refs.churned).sum())
    if n_left == 0 or n_stayed == 0:
        raise ParameterError(f"Departures need customers who left and who stayed; found {n_left} and {n_stayed}.")
    windowed = feats.window_events(events, refs_expr, definition, window_days)
    counts = pd.concat([feats.feature_counts(windowed).to_pandas(), rel.window_tickets(tickets, refs, window_days)],
                       ignore_index=True).merge(refs[["customer_id", "churned"]], on="customer_id")
    scores = feats.window_scores(feedback, refs_expr, window_days).to_pandas().merge(
        refs[["customer_id", "churned"]], on="customer_id")
    cust = customers.select("customer_id", *[c for c in ATTRIBUTES if c in customers.columns]).to_pandas() \
        if customers is not None else None
    diffs, score_rows, attr_rows = (_differences(counts, n_left, n_stayed, min_customers, window_days),
                                    _scores(scores), _attributes(refs, cust))
    tested = diffs + score_rows + attr_rows
    for row, q in zip(tested, stats.benjamini_hochberg([r["p"] for r in tested]), strict=True):
        row.update(q=q, significant=bool(q < ALPHA))
    diffs.sort(key=lambda r: (not r["significant"], -abs(math.log(r["ratio"])) if 0 < r["ratio"] < math.inf else -1e9))
    fb = feedback.filter(feedback.comment.notnull() & feedback.customer_id.notnull())
    fb = fb.join(refs_expr, "customer_id")
    fb = fb.filter(fb.timestamp.epoch_seconds() >= fb.ref_ts - ibis.literal(int(window_days * feats.DAY_SECONDS)))
    comments = fb.select("customer_id", "timestamp", "comment", "churned").to_pandas()
    reasons = _reasons(comments, top) | {"exit_survey": _exit_reasons(feedback)}
    first = events.group_by("customer_id").aggregate(
        first_ts=events.timestamp.min().epoch_seconds(), events=events.count(),
        first_channel=events.channel.argmin(events.timestamp)).to_pandas()
    params = {"window_days": window_days, "min_customers": min_customers, "alpha": ALPHA}
    stage_rows = rel.stages(events, feedback, refs_expr, {True: n_left, False: n_stayed}, definition)
    return DeparturesResult(window_days=window_days, left=n_left, stayed=n_stayed, differences=diffs,
                            scores=score_rows, attributes=sorted(attr_rows, key=lambda r: r["p"]),
                            reasons=reasons, relationship=rel.groups(refs, first), stages=stage_rows,
                            tickets=rel.tickets(tickets, tickets_note, refs, definition), params=params)


