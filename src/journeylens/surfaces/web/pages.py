"""Analysis pages: overview, journey map, funnel builder, path variants, channels, micro-journeys.

Each handler asks :class:`~journeylens.surfaces.web.views.Results` for named views (cached
results of JourneyLens methods) and renders them; nothing is computed here.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter
from fastapi.responses import RedirectResponse, Response

from journeylens.operations.annotations import saved_cohorts
from journeylens.surfaces.api.deps import AppDbDep
from journeylens.surfaces.web.access import ReaderDep
from journeylens.surfaces.web.context import Page, PageDep
from journeylens.surfaces.web.rendering import WebRoute, render
from journeylens.surfaces.web.views import CX_METRICS, VIEWS, parse_filters

router = APIRouter(route_class=WebRoute, include_in_schema=False)


def _figure(p: Page, view: str, result: Any, **params: Any) -> Any:
    """The cached, styled figure of ``view`` (``None`` when the view failed)."""
    return p.results.figure(view, **params) if result is not None else None


@router.get("/")
def overview(user: ReaderDep, p: PageDep) -> Response:
    """The KPIs and trends; the slower sections below them load as fragments (:mod:`.sections`)."""
    filters = parse_filters(p.query)
    kpis, kpi_error = p.results.attempt("kpis", filters=filters)
    split = {"split": p.query["split"]} if p.query.get("split") else {}
    trends = {m: p.results.attempt("metric_trend", filters=filters, metric=m, **split) for m in CX_METRICS}
    period = p.period()
    kpi_change = (p.results.attempt("kpi_change", **VIEWS["kpi_change"].parse({**p.query, "compare": period["compare"]}))
                  if period["base_label"] else (None, None))
    outcomes, outcome_error = p.results.attempt("outcomes", filters=filters)
    context = {
        "title": "Overview", "kpi": (kpis.to_dict(detail=True) or [None])[0] if kpis else None, "kpi_error": kpi_error,
        "trends": {m: (_figure(p, "metric_trend", r, filters=filters, metric=m, **split), e)
                   for m, (r, e) in trends.items()},
        "period": period, "split": split.get("split"),
        "kpi_change": {r["metric"]: r for r in kpi_change[0].to_dict()} if kpi_change[0] else {},
        "kpi_change_error": kpi_change[1],
        "outcomes": outcomes.to_dict() if outcomes else None, "outcome_figure": _figure(p, "outcomes", outcomes, filters=filters),
        "outcome_error": outcome_error,
        **p.filter_choices(),
    }
    return render(p.request, "overview.html", context)


#: A card needs this many customers to be listed among the biggest drop-offs (tiny cards are noise).
DROP_OFF_MIN_CUSTOMERS = 30


def _biggest_drop_offs(journey: dict[str, Any] | None, limit: int = 3) -> list[dict[str, Any]]:
    """The map's cards with the highest drop-off (presentation order only: the values are the map's)."""
    if not journey:
        return []
    cards = [{**card, "stage": stage["stage"]} for stage in journey["stages"] for card in stage["touchpoints"]
             if card.get("drop_off") and (card.get("customers") or 0) >= DROP_OFF_MIN_CUSTOMERS]
    return sorted(cards, key=lambda c: -c["drop_off"])[:limit]


@router.get("/journey-map")
def journey_map_page(user: ReaderDep, p: PageDep) -> Response:
    filters = parse_filters(p.query)
    result, error = p.results.attempt("journey_map", filters=filters)
    journey = result.to_dict() if result else None
    drops = _biggest_drop_offs(journey)
    split = p.query.get("split") or None
    moves, moves_error = p.results.attempt("moves_split", filters=filters, by=split) if split else (None, None)
    context = {"title": "Journey map", "map": journey, "error": error, "drops": drops,
               "drop_names": {d["touchpoint"] for d in drops},
               "sankey": _figure(p, "journey_map", result, filters=filters),
               "split": split, "moves": _moves_table(moves), "moves_error": moves_error,
               "moves_figure": _figure(p, "moves_split", moves, filters=filters, by=split), **p.filter_choices()}
    return render(p.request, "journey_map.html", context)


#: Moves listed in the journey map's split table (the CSV export has every edge).
SPLIT_MOVES = 12


def _moves_table(result: Any) -> dict[str, Any] | None:
    """The most frequent stage-to-stage moves with each value's share of its own moves
    (presentation only: counts and shares come from the one transitions result)."""
    if result is None:
        return None
    by = result.params["by"]
    rows = [r for r in result.to_dict() if "__start__" not in (r["from"], r["to"])]
    totals: dict[Any, int] = {}
    moves: dict[tuple[str, str], dict[Any, int]] = {}
    for r in rows:
        totals[r[by]] = totals.get(r[by], 0) + r["count"]
        moves.setdefault((r["from"], r["to"]), {})[r[by]] = r["count"]
    values = sorted(totals, key=lambda v: -totals[v])
    top = sorted(moves, key=lambda m: -sum(moves[m].values()))[:SPLIT_MOVES]
    return {"by": by, "values": [{"value": v, "moves": totals[v]} for v in values],
            "rows": [{"from": a, "to": b, "shares": [moves[(a, b)].get(v, 0) / totals[v] if totals[v] else None
                                                      for v in values]} for a, b in top]}


@router.get("/journey-map/deviations")
def deviations_partial(user: ReaderDep, p: PageDep) -> Response:
    """Designed vs actual (loaded after the map: conformance is the slowest analysis)."""
    result = p.results.get("conformance", filters=parse_filters(p.query))
    return render(p.request, "partials/deviations.html", {"conf": result.to_dict()})


def _funnel_query(p: Page) -> dict[str, str]:
    """The query with the builder's repeated ``step`` fields joined into ``steps``."""
    query = p.query
    picked = [s for s in p.request.query_params.getlist("step") if s.strip()]
    if picked:
        query.pop("step", None)
        query["steps"] = ",".join(picked)
    return query


@router.get("/funnel")
def funnel_page(user: ReaderDep, p: PageDep) -> Response:
    query = _funnel_query(p)
    params = VIEWS["funnel"].parse(query) if query.get("steps") else {}
    result, error = p.results.attempt("funnel", **params) if params else (None, None)
    versus, versus_error = p.results.attempt("funnel_vs_map", **params) if result else (None, None)
    steps = [s for s in query.get("steps", "").split(",") if s]
    context = {"title": "Funnel builder", "funnel": result.to_dict() if result else None, "error": error,
               "versus": versus.to_dict() if versus else None, "versus_error": versus_error,
               "figure": _figure(p, "funnel", result, **params), "steps": steps, "fquery": query,
               "touchpoints": p.touchpoint_names(), **p.filter_choices()}
    template = "partials/funnel_result.html" if p.request.headers.get("hx-request") else "funnel.html"
    return render(p.request, template, context)


@router.get("/variants")
def variants_page(user: ReaderDep, p: PageDep) -> Response:
    params = VIEWS["variants"].parse(p.query)
    result, error = p.results.attempt("variants", **params)
    context = {"title": "Path variants", "variants": result.to_dict() if result else None, "error": error,
               "params": params, **p.filter_choices()}
    return render(p.request, "variants.html", context)


@router.get("/channels")
def channels_page(user: ReaderDep, p: PageDep) -> Response:
    filters = parse_filters(p.query)
    result, error = p.results.attempt("channels", filters=filters)
    context = {"title": "Channel hopping", "ch": result.to_dict() if result else None, "error": error,
               "figure": _figure(p, "channels", result, filters=filters), **p.filter_choices()}
    return render(p.request, "channels.html", context)


def _cohort_sections(p: Page, query: dict[str, str]) -> dict[str, Any]:
    params = VIEWS["cohort_map"].parse(query)
    chosen = list(params["cohorts"])
    cmap, map_error = p.results.attempt("cohort_map", **params)
    funnel, funnel_error = ((p.results.attempt("cohort_funnel", **VIEWS["cohort_funnel"].parse(query)))
                            if query.get("steps") else (None, None))
    tests = cmap.to_dict()["tests"] if cmap else []
    tests_by_key = {f"{t['cohort']}|{t['metric']}": t for t in tests}
    shares = {**{f"{t['baseline']}|{t['metric']}": t["baseline_share"] for t in tests},
              **{f"{t['cohort']}|{t['metric']}": t["share"] for t in tests}}
    return {"chosen": chosen, "cmap": cmap.to_dict() if cmap else None, "tests_by_key": tests_by_key, "shares": shares, "map_error": map_error,
            "cmap_figure": _figure(p, "cohort_map", cmap, **params),
            "cfunnel": funnel.to_dict() if funnel else None, "funnel_error": funnel_error}


def _cohort_metrics(p: Page, query: dict[str, str], saved: list[dict[str, str]]) -> dict[str, Any]:
    """The CX-metrics-by-cohort table: the picked cohorts (all defined ones when none is picked)
    and, next to them, the cohort just built and every cohort kept in a saved view."""
    from journeylens.surfaces.web.views import WITH_COHORTS

    mquery = {k: v for k, v in query.items() if k != "steps"}
    if saved:
        mquery[WITH_COHORTS] = "\n".join(s["cohort"] for s in saved)
    params = VIEWS["cohort_metrics"].parse(mquery)
    picked, built = list(params["cohorts"]), list(params["built"])
    metrics, error = p.results.attempt("cohort_metrics", **params)
    tests, _ = p.results.attempt("cohort_metric_tests", **params) if picked else (None, None)
    views = {s["cohort"]: s["view"] for s in saved}
    shown = set(picked or []) | set(built)
    rows = [{**r, "kind": (f"saved view “{views[r['cohort']]}”" if r["cohort"] in views else "built")
             if r["cohort"] in built else "defined"}
            for r in (metrics.to_dict(detail=True) if metrics else [])
            if r.get("cohort") is not None and (not picked or r["cohort"] in shown)]
    return {"metric_rows": rows, "metrics_error": error, "metric_baseline": picked[0] if picked else None,
            "metric_tests": [t for t in tests.to_dict() if t.get("cohort") in shown] if tests else [],
            "mquery": mquery}


#: Customer attributes offered by the cohort builder have at most this many values.
BUILDER_MAX_VALUES = 20
BUILDER_PREFIX = "b_"


def _builder(p: Page, query: dict[str, str]) -> dict[str, Any]:
    """The cohort builder's choices, and the cohort built from the picked conditions (its
    canonical text replaces the builder's fields in ``query``, so a saved view or a shared
    link carries one ``built=`` parameter)."""
    from journeylens.analyses.cohort_builder import cohort_text
    from journeylens.analyses.cohorts import CHANNEL_COHORTS

    properties, _ = p.results.attempt("properties", top=BUILDER_MAX_VALUES, sources=("customer",))
    attributes = [{"name": r["property"], "values": [v["value"] for v in r["top_values"]]}
                  for r in (properties.to_dict() if properties else [])
                  if r["source"] == "customer" and 1 < r["distinct"] <= BUILDER_MAX_VALUES]
    params = p.request.query_params
    picked = [(a["name"], params.getlist(f"{BUILDER_PREFIX}{a['name']}")) for a in attributes]
    picked += [(key, params.getlist(f"{BUILDER_PREFIX}{key}")) for key in ("channels", "performed", "first_channel")]
    text = cohort_text(picked) if any(values for _, values in picked) else (query.get("built") or "").strip()
    for key in [k for k in query if k.startswith(BUILDER_PREFIX)]:
        query.pop(key)
    if text:
        query["built"] = text
    return {"built": text or None, "attributes": attributes, "channel_modes": CHANNEL_COHORTS,
            "picked": {key: values for key, values in picked}}


@router.get("/micro-journeys")
def micro_journeys_page(user: ReaderDep, p: PageDep) -> Response:
    query = p.query
    picked = [c for c in p.request.query_params.getlist("cohorts") if c.strip()]
    if len(picked) > 1:
        query["cohorts"] = ",".join(picked)
    builder = _builder(p, query)
    if any(k.startswith(BUILDER_PREFIX) for k in p.request.query_params):  # one canonical, shareable link
        return RedirectResponse(f"/micro-journeys?{urlencode(query)}#builder", status_code=303)
    everyone = parse_filters({k: v for k, v in query.items() if k != "cohort"})
    sizes, builder["error"] = (p.results.attempt("cohorts", filters=everyone, built=(builder["built"],))
                               if builder["built"] else (None, None))
    if sizes is None:
        sizes, sizes_error = p.results.attempt("cohorts", filters=everyone)
    else:
        sizes_error = None
    built_row = next((r for r in sizes.to_dict()["cohorts"] if r["kind"] == "built"), None) if sizes else None
    context: dict[str, Any] = {"title": "Micro-journeys", "sizes": sizes.to_dict() if sizes else None,
                               "sizes_error": sizes_error, "cquery": query, "touchpoints": p.touchpoint_names(),
                               "chosen": [], "builder": builder, "built_row": built_row, **p.filter_choices()}
    context["compare"] = len([c for c in query.get("cohorts", "").split(",") if c]) >= 2
    return render(p.request, "micro_journeys.html", context)


@router.get("/micro-journeys/compare")
def cohort_compare_partial(user: ReaderDep, p: PageDep) -> Response:
    """The chosen cohorts side by side (loaded after the page: a journey map per cohort)."""
    return render(p.request, "partials/cohort_compare.html", {**_cohort_sections(p, p.query), "cquery": p.query})


@router.get("/micro-journeys/cohort-metrics")
def cohort_metrics_partial(user: ReaderDep, p: PageDep, db: AppDbDep) -> Response:
    """CX metrics by cohort, loaded after the page: the picked (or all defined) cohorts, the one
    just built and every cohort kept in a saved view."""
    with db.session() as session:
        saved = saved_cohorts(session)
    return render(p.request, "partials/cohort_metrics.html", _cohort_metrics(p, p.query, saved))
