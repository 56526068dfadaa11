"""Aspects across the ``feedback`` table: per aspect, per touchpoint x aspect, per response.

``aspects(feedback)`` → :class:`AspectsResult`; ``to_dict()`` →
``{"model", "period", "comments", "with_aspects", "not_scored", "not_scored_languages",
"aspects": [...], "matrix": [...], "responses": [...]}``:

* ``aspects``: per configured aspect ``aspect``, ``name``, ``mentions``, ``positive``,
  ``neutral``, ``negative``, ``negative_share``, ``mean_score`` and ``trend`` (per period
  ``n``, ``negative``, ``negative_share``);
* ``matrix``: touchpoint x aspect cells ``n``, ``negative_share``, ``mean_score`` and
  ``pain = n x negative_share`` (they join the topic cells in ``pain_points``);
* ``responses``: per response (capped by ``response_limit``) its ids, touchpoint, time, comment,
  language and the flat fields of :func:`journeylens.text.aspects.aspect_fields`.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from journeylens.analyses.metrics import PERIODS, period_label
from journeylens.analyses.result import Result, plain
from journeylens.errors import ParameterError
from journeylens.text.aspects import AspectSpec, aspect_fields, comment_aspects, load_aspects
from journeylens.text.comments import read_comments
from journeylens.text.language import detect_language, is_scored
from journeylens.text.sentiment import SentimentModel, get_model


@dataclass(frozen=True)
class AspectsResult(Result):
    """``records`` are the per-aspect summaries (see the module docstring)."""

    summary: Mapping[str, Any] = field(default_factory=dict)
    matrix: Sequence[Mapping[str, Any]] = ()
    responses: Sequence[Mapping[str, Any]] = ()
    title: str = "Aspects of the experience"

    def to_dict(self) -> dict[str, Any]:  # type: ignore[override]
        return {**plain(dict(self.summary)), "aspects": [plain(dict(r)) for r in self.records],
                "matrix": [plain(dict(r)) for r in self.matrix], "responses": [plain(dict(r)) for r in self.responses]}

    @classmethod
    def from_dict(cls, payload: Mapping[str, Any], params: Mapping[str, Any] | None = None) -> AspectsResult:
        summary = {k: v for k, v in payload.items() if k not in ("aspects", "matrix", "responses")}
        return cls(payload["aspects"], dict(params or {}), summary=summary, matrix=payload["matrix"],
                   responses=payload["responses"])


def _counts(labels: Sequence[str]) -> dict[str, Any]:
    c = Counter(labels)
    n = len(labels)
    return {"n": n, "positive": c["pos"], "neutral": c["neu"], "negative": c["neg"],
            "negative_share": c["neg"] / n if n else None}


def _summaries(rows: Sequence[Mapping[str, Any]], specs: Sequence[AspectSpec], period: str) -> list[dict[str, Any]]:
    out = []
    for spec in specs:
        hits = [(r, r["found"][spec.id]) for r in rows if spec.id in r["found"]]
        by_period: dict[str, list[str]] = defaultdict(list)
        for row, hit in hits:
            if row["period"] is not None:
                by_period[row["period"]].append(hit["label"])
        counts = _counts([h["label"] for _, h in hits])
        out.append({"aspect": spec.id, "name": spec.name, "mentions": counts.pop("n"), **counts,
                    "mean_score": sum(h["score"] for _, h in hits) / len(hits) if hits else None,
                    "trend": [{period: p, **_counts(labels)} for p, labels in sorted(by_period.items())]})
    return out


def _matrix(rows: Sequence[Mapping[str, Any]], specs: Sequence[AspectSpec]) -> list[dict[str, Any]]:
    names = {s.id: s.name for s in specs}
    cells: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        if row["touchpoint"] is not None:
            for aspect, hit in row["found"].items():
                cells[(row["touchpoint"], aspect)].append(hit)
    out = []
    for (touchpoint, aspect), hits in cells.items():
        negative = sum(h["label"] == "neg" for h in hits) / len(hits)
        out.append({"touchpoint": touchpoint, "aspect": aspect, "label": names[aspect], "n": len(hits),
                    "negative_share": negative, "mean_score": sum(h["score"] for h in hits) / len(hits),
                    "pain": len(hits) * negative})
    return sorted(out, key=lambda r: (-r["pain"], -r["n"]))


def aspects(feedback: Any, *, touchpoint: Sequence[str] | None = None, period: str = "month",
            model: str | SentimentModel | None = None, aspects_path: str | None = None, semantic: bool = True,
            respondent: str = "customer", events: Any = None, definition: Any = None, embed_cache: Any = None,
            response_limit: int | None = 100) -> AspectsResult:
    """Aspect-based sentiment of every comment in ``feedback`` (see the module docstring)."""
    if period not in PERIODS:
        raise ParameterError(f"Unknown period {period!r}; allowed: {', '.join(PERIODS)}.")
    if response_limit is not None and response_limit < 0:
        raise ParameterError("response_limit must be ≥ 0 (or None for all responses).")
    specs = load_aspects(aspects_path)
    chosen = model if isinstance(model, SentimentModel) else get_model(model)
    comments = read_comments(feedback, touchpoint=touchpoint, respondent=respondent, events=events,
                             definition=definition)
    languages = [c.get("language") or detect_language(c["comment"]) for c in comments]
    scored = [i for i, lang in enumerate(languages) if is_scored(lang)]
    found = comment_aspects([comments[i]["comment"] for i in scored], chosen, specs, semantic=semantic,
                            embed_cache=embed_cache)
    rows = []
    for i, hits in zip(scored, found, strict=True):
        c = comments[i]
        rows.append({"response_id": c.get("response_id"), "customer_id": c.get("customer_id"),
                     "touchpoint": c.get("touchpoint"), "timestamp": c.get("timestamp"), "comment": c["comment"],
                     "language": languages[i], "period": period_label(c.get("timestamp"), period), "found": hits})
    skipped = Counter(str(languages[i]) for i in range(len(comments)) if not is_scored(languages[i]))
    summary = {"model": chosen.name, "period": period, "comments": len(comments),
               "with_aspects": sum(bool(r["found"]) for r in rows), "not_scored": sum(skipped.values()),
               "not_scored_languages": dict(skipped.most_common()), "aspect_names": {s.id: s.name for s in specs}}
    listed = rows if response_limit is None else rows[-response_limit:][::-1] if response_limit else []
    responses = [{**{k: r[k] for k in ("response_id", "customer_id", "touchpoint", "timestamp", "language",
                                       "comment")}, **aspect_fields(r["found"], specs)} for r in listed]
    params = {"touchpoint": list(touchpoint or []), "period": period, "model": chosen.name,
              "aspects_path": aspects_path, "semantic": semantic}
    return AspectsResult(_summaries(rows, specs, period), params, summary=summary, matrix=_matrix(rows, specs),
                         responses=responses)


def response_aspects(feedback: Any, *, model: str | SentimentModel | None = None, aspects_path: str | None = None,
                     semantic: bool = True, embed_cache: Any = None) -> list[dict[str, Any]]:
    """Every response with a comment and its aspect fields (``aspects``, ``negative_aspects``,
    ``aspect_<id>``, ``aspect_<id>_score``) — what alert rules on aspects read."""
    result = aspects(feedback, model=model, aspects_path=aspects_path, semantic=semantic, embed_cache=embed_cache,
                     response_limit=None)
    return [plain(dict(r)) for r in result.responses]
