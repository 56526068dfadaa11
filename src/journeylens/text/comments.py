"""Comments read from the ``feedback`` table, and their sentiment per comment and per touchpoint.

>>> import ibis
>>> from datetime import datetime, UTC
>>> fb = ibis.memtable({"response_id": ["1", "2", "3"], "touchpoint": ["web", "web", "shop"],
...     "comment": ["Love the new app", "Das war wirklich sehr schlecht", "Awful queue"],
...     "timestamp": [datetime(2024, 1, 1, tzinfo=UTC)] * 3})
>>> [(c["label"], c["language"]) for c in score_comments(fb).to_dict()["comments"]]
[('pos', 'en'), ('not_scored', 'de'), ('neg', None)]
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import ibis
import ibis.expr.types as ir

from journeylens.analyses.result import Result, plain
from journeylens.errors import ParameterError
from journeylens.text.language import not_scored_reason
from journeylens.text.sentiment import NOT_SCORED, SentimentModel, get_model, score_texts

COMMENT_COLUMNS: tuple[str, ...] = ("response_id", "customer_id", "timestamp", "touchpoint", "channel",
                                    "survey", "language", "comment", "nps", "csat", "ces")


def read_comments(feedback: ir.Table, *, touchpoint: Sequence[str] | None = None, respondent: str = "customer",
                  events: ir.Table | None = None, definition: Any = None, window_days: float = 7.0,
                  limit: int | None = None) -> list[dict[str, Any]]:
    """Non-empty comments in (timestamp, _seq) order, with ``stage`` (and the touchpoint from the
    nearest preceding event when ``events`` are given)."""
    from journeylens.analyses.metrics import select_respondents
    from journeylens.analyses.targets import touchpoint_stages

    rows = feedback
    if "respondent" in rows.columns:
        rows = select_respondents(rows, respondent)
    rows = rows.filter(rows.comment.notnull() & (rows.comment.strip() != ""))
    if events is not None:
        from journeylens.analyses.feedback_links import link_feedback

        rows = link_feedback(rows, events, definition=definition, window_days=window_days).drop("link")
    else:
        mapping = touchpoint_stages(definition)
        stage = rows.touchpoint.substitute(mapping, else_=ibis.null("string")) if mapping else ibis.null("string")
        rows = rows.mutate(stage=stage)
    if touchpoint:
        rows = rows.filter(rows.touchpoint.isin(list(touchpoint)))
    order = [c for c in ("timestamp", "_seq", "response_id") if c in rows.columns]
    columns = [c for c in (*COMMENT_COLUMNS, "stage") if c in rows.columns]
    rows = rows.order_by(order).select(*columns)
    if limit is not None:
        rows = rows.limit(limit)
    return rows.to_pyarrow().to_pylist()


@dataclass(frozen=True)
class SentimentResult(Result):
    """Per-comment sentiment plus summaries. ``to_dict()`` →
    ``{"model", "overall": {...}, "by_touchpoint": [...], "comments": [...]}`` (comments capped by
    ``comment_limit``; counts cover every comment)."""

    model: str = "vader"
    overall: Mapping[str, Any] = field(default_factory=dict)
    by_touchpoint: Sequence[Mapping[str, Any]] = ()
    comment_limit: int | None = 100
    title: str = "Comment sentiment"

    def to_dict(self) -> dict[str, Any]:  # type: ignore[override]
        comments = self.records if self.comment_limit is None else self.records[: self.comment_limit]
        return {"model": self.model, "overall": plain(dict(self.overall)),
                "by_touchpoint": [plain(dict(r)) for r in self.by_touchpoint],
                "comments": [plain(dict(r)) for r in comments]}


def summarise(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Counts per label and the mean score of the scored comments."""
    counts = {label: 0 for label in ("pos", "neu", "neg", NOT_SCORED)}
    scores = []
    languages: Counter[str] = Counter()
    for row in rows:
        counts[row["label"]] += 1
        if row["label"] == NOT_SCORED and row.get("language"):
            languages[str(row["language"])] += 1
        if row["score"] is not None:
            scores.append(row["score"])
    scored = len(scores)
    return {"n": len(rows), "positive": counts["pos"], "neutral": counts["neu"], "negative": counts["neg"],
            "not_scored": counts[NOT_SCORED], "not_scored_languages": dict(languages.most_common()),
            "mean_score": sum(scores) / scored if scored else None,
            "negative_share": counts["neg"] / scored if scored else None}


def score_comments(feedback: ir.Table, *, model: str | SentimentModel | None = None,
                   touchpoint: Sequence[str] | None = None, respondent: str = "customer",
                   events: ir.Table | None = None, definition: Any = None,
                   comment_limit: int | None = 100) -> SentimentResult:
    """Sentiment of every comment (languages not scored → ``not_scored``), overall and per touchpoint;
    ``model`` None → :func:`journeylens.text.sentiment.default_model`."""
    if comment_limit is not None and comment_limit < 0:
        raise ParameterError("comment_limit must be ≥ 0 (or None for all comments).")
    chosen = model if isinstance(model, SentimentModel) else get_model(model)
    comments = read_comments(feedback, touchpoint=touchpoint, respondent=respondent, events=events,
                             definition=definition)
    scored = score_texts([c["comment"] for c in comments], [c.get("language") for c in comments], chosen)
    rows = [{**{k: c.get(k) for k in ("response_id", "customer_id", "timestamp", "touchpoint", "stage")},
             "language": lang, "score": value, "label": label,
             "not_scored_reason": not_scored_reason(c["comment"], lang) if label == NOT_SCORED else None,
             "comment": c["comment"]}
            for c, (value, label, lang) in zip(comments, scored, strict=True)]
    groups: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        groups[row["touchpoint"]].append(row)
    by_tp = [{"touchpoint": tp, **summarise(members)}
             for tp, members in sorted(groups.items(), key=lambda kv: (kv[0] is None, str(kv[0])))]
    params = {"model": chosen.name, "touchpoint": list(touchpoint or []), "respondent": respondent}
    return SentimentResult(rows, params, model=chosen.name, overall=summarise(rows), by_touchpoint=by_tp,
                           comment_limit=comment_limit)
