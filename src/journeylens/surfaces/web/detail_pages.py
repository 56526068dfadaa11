"""Detail pages: one touchpoint (trend, distribution, comments, topics) and one customer's journey."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter
from fastapi.responses import RedirectResponse, Response

from journeylens.analyses.result import plain
from journeylens.errors import NotFoundError
from journeylens.operations.auth import role_allows
from journeylens.surfaces.web.access import AgentDep, ReaderDep
from journeylens.surfaces.web.context import Page, PageDep
from journeylens.surfaces.web.rendering import WebRoute, render
from journeylens.surfaces.web.views import CX_METRICS, parse_filters

router = APIRouter(route_class=WebRoute, include_in_schema=False)


def _card(p: Page, name: str) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """The touchpoint's journey-map card and its stage (from the cached map)."""
    result, _ = p.results.attempt("journey_map", filters=parse_filters(p.query))
    for stage in (result.to_dict()["stages"] if result else []):
        for card in stage["touchpoints"]:
            if card["touchpoint"] == name:
                return card, stage
    return None, None


#: Comments shown on a touchpoint page (the CSV export has them all).
NEWEST_COMMENTS = 12


def _newest(comments: Any, limit: int = NEWEST_COMMENTS) -> list[dict[str, Any]]:
    """The newest ``limit`` comments of a sentiment result, newest first (presentation order only)."""
    dated = [c for c in comments if c.get("timestamp") is not None]
    return [plain(dict(c)) for c in sorted(dated, key=lambda c: c["timestamp"], reverse=True)[:limit]]


@router.get("/touchpoints/{name:path}/topics")
def touchpoint_topics_partial(name: str, user: ReaderDep, p: PageDep) -> Response:
    """Topics and the pain-point matrix (loaded after the page: topic discovery embeds every comment)."""
    topics, error = p.results.attempt("topics")
    pains, _ = p.results.attempt("pain_points")
    matrix = [r for r in topics.to_dict()["matrix"] if r["touchpoint"] == name] if topics else []
    context = {"name": name, "matrix": matrix, "pains": pains.to_dict() if pains else [], "error": error,
               "topics": topics.to_dict() if topics else None}
    return render(p.request, "partials/topics.html", context)


@router.get("/touchpoints/{name:path}/card")
def touchpoint_card_partial(name: str, user: ReaderDep, p: PageDep) -> Response:
    """The touchpoint's journey-map card (loaded after the page: it needs the whole map)."""
    card, _ = _card(p, name)
    by_touchpoint, _ = p.results.attempt("touchpoint_metrics", filters=parse_filters(p.query))
    return render(p.request, "partials/touchpoint_card.html", {"card": card, "goals": _goals(by_touchpoint, name)})


@router.get("/touchpoints/{name:path}/comments")
def touchpoint_comments_partial(name: str, user: ReaderDep, p: PageDep) -> Response:
    """The newest comments with their sentiment and aspects (loaded after the page: every comment
    of the touchpoint is scored by the text model; aspects are found for the comments shown)."""
    sentiment, sentiment_error = p.results.attempt("sentiment", touchpoint=name,
                                                   filters=parse_filters(p.query, touchpoint=name))
    comments = _newest(sentiment.records) if sentiment else []
    # The aspects of the comments shown only: each comment's aspects do not depend on the others,
    # and the whole feedback table's (the Aspects page) would cost the text model every comment.
    shown = tuple(str(c["response_id"]) for c in comments if c.get("response_id") is not None)
    aspects, _ = p.results.attempt("comment_aspects", response_ids=shown) if shown else (None, None)
    if aspects is not None:
        names = aspects.summary.get("aspect_names", {})
        by_response = {r["response_id"]: r for r in aspects.responses}
        for comment in comments:
            fields = by_response.get(comment.get("response_id"), {})
            comment["aspects"] = [{"id": a, "name": names.get(a, a), "label": fields.get(f"aspect_{a}")}
                                  for a in fields.get("aspects", [])]
    context = {"sentiment": plain(dict(sentiment.overall)) if sentiment else None, "comments": comments,
               "model": sentiment.model if sentiment else None, "can_correct": role_allows(user.role, "ingest"),
               "sentiment_error": sentiment_error, "tquery": {**p.query, "touchpoint": name}}
    return render(p.request, "partials/touchpoint_comments.html", context)


def _goals(by_touchpoint: Any, name: str) -> dict[str, Any] | None:
    rows = by_touchpoint.to_dict(detail=True) if by_touchpoint else []
    return next((r for r in rows if r.get("touchpoint") == name), None)


@router.get("/touchpoints/{name:path}")
def touchpoint_page(name: str, user: ReaderDep, p: PageDep) -> Response:
    """Scores and trends; the journey-map card, the comments and the topics load after it."""
    filters = parse_filters(p.query, touchpoint=name)
    stage = next((t.stage for t in p.lens.definition.touchpoints if t.name == name), None)
    if stage is None:  # not a defined touchpoint: a card of the map only (rare), else unknown
        card, in_stage = _card(p, name)
        if card is None or in_stage is None:
            raise NotFoundError(f"No touchpoint {name!r} in the journey map.")
        stage = in_stage["stage"]
    scores, score_error = p.results.attempt("touchpoint_scores", touchpoint=name, filters=filters)
    trends = {}
    split = {"split": p.query["split"]} if p.query.get("split") else {}
    for metric in CX_METRICS:
        result, error = p.results.attempt("touchpoint_trend", touchpoint=name, filters=filters, metric=metric, **split)
        figure = (p.results.figure("touchpoint_trend", touchpoint=name, filters=filters, metric=metric, **split)
                  if result is not None and len(result) else None)
        trends[metric] = (figure, error)
    row = (scores.to_dict(detail=True) or [None])[0] if scores else None
    context = {"title": name, "name": name, "stage": stage, "row": row, "goals": row,
               "score_error": score_error, "trends": trends, "tquery": {**p.query, "touchpoint": name},
               "split": split.get("split"), **p.filter_choices()}
    return render(p.request, "touchpoint.html", context)


@router.get("/customers")
def customer_search(user: AgentDep, p: PageDep, q: str | None = None) -> Response:
    if q and q.strip():
        return RedirectResponse(f"/customers/{quote(q.strip(), safe='')}", status_code=303)
    return render(p.request, "customer.html", {"title": "Customer lookup", "timeline": None, "error": None})


#: Timeline entries per page of the customer page (the chart above shows them all).
TIMELINE_PAGE_ITEMS = 25


@router.get("/customers/{customer_id:path}")
def customer_page(customer_id: str, user: AgentDep, p: PageDep) -> Response:
    result, error = p.results.attempt("timeline", customer_id=customer_id)
    timeline = result.to_dict() if result else None
    items = list(reversed(timeline["items"])) if timeline else []
    pages = max(1, -(-len(items) // TIMELINE_PAGE_ITEMS))
    try:
        number = min(max(1, int(p.query.get("page", "1"))), pages)
    except ValueError:
        number = 1
    shown = items[(number - 1) * TIMELINE_PAGE_ITEMS: number * TIMELINE_PAGE_ITEMS]
    # The churn model trains for a while on a big warehouse: never make the page wait for it
    # (the latest scores computed, possibly for an earlier data version, else "being computed").
    churn, risk_error, _fresh = p.results.latest("churn") if timeline else (None, None, True)
    risk_pending = bool(timeline) and churn is None and risk_error is None
    context = {"title": f"Customer {customer_id}", "timeline": timeline, "error": error, "customer_id": customer_id,
               "risk": churn.customer(customer_id) if churn else None, "risk_error": risk_error,
               "risk_pending": risk_pending,
               "risk_horizon": churn.params.get("horizon_days") if churn else None,
               "items": shown, "total_items": len(items), "page": number, "pages": pages,
               "first_item": (number - 1) * TIMELINE_PAGE_ITEMS + 1 if shown else 0,
               "figure": p.results.figure("timeline", customer_id=customer_id) if items else None}
    return render(p.request, "customer.html", context, status_code=404 if error and error.http_status == 404 else 200)
