"""The dashboard's views: each is one call of a :class:`journeylens.JourneyLens` method (or an
ingest / journey report function), named so that pages and the CSV export share one cached result.

A view has a ``compute(results, **params)`` function and a ``parse(query)`` function that
reads its parameters from a URL query string, so ``/export/<view>.csv?<same query>`` returns
exactly the table the page shows.

>>> parse_filters({"start": "2024-01-01", "channel": "web,app"}).channel
('web', 'app')
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import pandas as pd

from journeylens.analyses.filters import Filters
from journeylens.errors import JourneyLensError, ParameterError
from journeylens.lens_pool import LensPool
from journeylens.surfaces.web.cache import ResultCache, definition_hash

Query = Mapping[str, str]
FILTER_KEYS: tuple[str, ...] = ("start", "end", "cohort", "channel")
CX_METRICS: tuple[str, ...] = ("nps", "csat", "ces")
FUNNEL_MODES: tuple[str, ...] = ("ordered", "strict", "any")
#: The overview's conversion counts a conversion within this many days of the first event, so
#: recent months (customers who have not had the time yet) do not look like a collapse.
CONVERSION_WINDOW_DAYS = 30


def _text(query: Query, name: str) -> str | None:
    value = (query.get(name) or "").strip()
    return value or None


def _split(value: str | None) -> tuple[str, ...]:
    return tuple(v.strip() for v in (value or "").split(",") if v.strip())


def _number(query: Query, name: str, default: float | None, *, low: float, high: float) -> float | None:
    raw = _text(query, name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError as exc:
        raise ParameterError(f"{name} must be a number, got {raw!r}.") from exc
    if not low <= value <= high:
        raise ParameterError(f"{name} must be between {low:g} and {high:g}, got {value:g}.")
    return value


def parse_filters(query: Query, *, touchpoint: str | None = None) -> Filters:
    """The common filters from a query string (lists comma-separated)."""
    return Filters.from_strings(start=_text(query, "start"), end=_text(query, "end"), cohort=_text(query, "cohort"),
                                channel=_text(query, "channel"), touchpoint=touchpoint)


def _choice(query: Query, name: str, allowed: tuple[str, ...], default: str) -> str:
    value = _text(query, name) or default
    if value not in allowed:
        raise ParameterError(f"Unknown {name} {value!r}; allowed: {', '.join(allowed)}.")
    return value


# --- parameter readers ------------------------------------------------------------------------
def _p_filters(query: Query) -> dict[str, Any]:
    return {"filters": parse_filters(query)}


def _p_metric(query: Query) -> dict[str, Any]:
    return {"filters": parse_filters(query), "metric": _choice(query, "metric", CX_METRICS, "nps"),
            "split": _text(query, "split")}


def _p_compare(query: Query) -> dict[str, Any]:
    """The chosen window and the one it is compared with (``compare`` = previous / last_year)."""
    from journeylens.analyses.periods import window_of

    current = parse_filters(query)
    window = window_of(current.start, current.end, None, None)
    if window is None:
        raise ParameterError("Pick a period (a date preset or From/Until) to compare it with another.")
    base = window.compared(_choice(query, "compare", ("previous", "last_year"), "previous"))
    assert base is not None
    return {"current": current, "base": replace(current, start=base.start.to_pydatetime(),
                                                end=base.end.to_pydatetime())}


def _p_touchpoint(query: Query) -> dict[str, Any]:
    name = _text(query, "touchpoint")
    if name is None:
        raise ParameterError("Name a touchpoint (touchpoint=...).")
    return {"touchpoint": name, "filters": parse_filters(query, touchpoint=name)}


def _p_response_ids(query: Query) -> dict[str, Any]:
    return {"response_ids": _split(query.get("response_ids"))}


def _p_touchpoint_metric(query: Query) -> dict[str, Any]:
    return {**_p_touchpoint(query), "metric": _choice(query, "metric", CX_METRICS, "nps"), "split": _text(query, "split")}


def _p_funnel(query: Query) -> dict[str, Any]:
    steps = _split(_text(query, "steps"))
    if len(steps) < 2:
        raise ParameterError("Pick at least two funnel steps.")
    within = _number(query, "within_days", None, low=0.001, high=3650)
    return {"filters": parse_filters(query), "steps": steps, "mode": _choice(query, "mode", FUNNEL_MODES, "ordered"),
            "within_days": within}


def _p_variants(query: Query) -> dict[str, Any]:
    top = int(_number(query, "top", 20, low=1, high=500) or 20)
    outcome = _text(query, "outcome")
    if outcome not in (None, "conversion", "churn"):
        raise ParameterError(f"Unknown outcome {outcome!r}; allowed: conversion, churn.")
    return {"filters": parse_filters(query), "top": top, "level": _choice(query, "level", ("touchpoint", "stage"),
                                                                          "touchpoint"),
            "collapse_repeats": _text(query, "collapse_repeats") in ("1", "true", "on"), "outcome": outcome}


def _p_moves(query: Query) -> dict[str, Any]:
    """Stage-to-stage moves split by a property (``split``)."""
    split = _text(query, "split")
    if split is None:
        raise ParameterError("Pick a property to split the moves by (split=...).")
    return {"filters": parse_filters(query), "by": split}


def _p_cohort_sizes(query: Query) -> dict[str, Any]:
    built = _text(query, "built")
    return {"filters": parse_filters({k: v for k, v in query.items() if k != "cohort"}),
            **({"built": (built,)} if built else {})}


def _p_cohorts(query: Query) -> dict[str, Any]:
    cohorts = _split(_text(query, "cohorts"))
    if len(cohorts) < 2:
        raise ParameterError("Pick at least two cohorts to compare.")
    return {"filters": parse_filters({k: v for k, v in query.items() if k != "cohort"}), "cohorts": cohorts}


#: Query key carrying more built cohorts (saved ones), one per line, for the CX-metrics-by-cohort table.
WITH_COHORTS = "with_cohorts"


def _p_cohort_metrics(query: Query) -> dict[str, Any]:
    """Filters, the picked cohorts (any number; the first is the baseline of the tests) and the
    built cohorts shown next to the defined ones: ``built`` plus the lines of ``with_cohorts``."""
    extra = [line.strip() for line in (query.get(WITH_COHORTS) or "").splitlines()]
    built = tuple(dict.fromkeys(t for t in [_text(query, "built") or "", *extra] if t))
    return {"filters": parse_filters({k: v for k, v in query.items() if k != "cohort"}),
            "cohorts": _split(_text(query, "cohorts")), "built": built}


def _p_cohort_funnel(query: Query) -> dict[str, Any]:
    funnel = _p_funnel(query)
    return {**_p_cohorts(query), "steps": funnel["steps"], "mode": funnel["mode"]}


def _p_customer(query: Query) -> dict[str, Any]:
    customer = _text(query, "customer_id")
    if customer is None:
        raise ParameterError("Give a customer id.")
    return {"customer_id": customer}


def _p_quarantine(query: Query) -> dict[str, Any]:
    return {"table": _text(query, "table"), "reason": _text(query, "reason")}


def _p_drivers(query: Query) -> dict[str, Any]:
    return {"target": _text(query, "target") or "nps", "survey": _text(query, "survey"),
            "journey": _text(query, "journey") in ("1", "true", "on")}


def _p_what_if(query: Query) -> dict[str, Any]:
    driver = _text(query, "driver")
    if driver is None:
        raise ParameterError("Pick a driver to change.")
    change = _number(query, "change", None, low=-1000, high=1000)
    if change is None:
        raise ParameterError("Give the change (for example 0.5, or -0.1 for ten points fewer customers).")
    return {"target": _choice(query, "target", ("nps", "csat", "churn", "conversion"), "nps"),
            "changes": ((driver, change),), "survey": _text(query, "survey")}


def _p_none(query: Query) -> dict[str, Any]:
    return {}


#: Bootstrap draws behind the dashboard's intervals (the CLI and API default to 100).
WEB_BOOTSTRAP = 50


def _p_spend_return(query: Query) -> dict[str, Any]:
    from journeylens.analyses.marketing.attribution import MODELS
    from journeylens.analyses.marketing.spend import parse_shifts

    source, target = _text(query, "shift_from"), _text(query, "shift_to")
    percent = _number(query, "shift_percent", 10.0, low=0.1, high=100) or 10.0
    shifts = (f"{source}:{target}:{percent:g}",) if source and target and source != target else ()
    parse_shifts(shifts)
    return {"filters": parse_filters(query), "model": _choice(query, "model", MODELS, "markov"),
            "by": _choice(query, "by", ("channel", "campaign"), "channel"), "shifts": shifts}


def _p_departures(query: Query) -> dict[str, Any]:
    return {"window_days": _number(query, "window_days", 90.0, low=7, high=730) or 90.0}


def _spend_return(r: Results, filters: Filters, model: str, by: str, shifts: tuple[str, ...]) -> Any:
    from journeylens.analyses.marketing.spend import parse_shifts

    return r.lens.spend_return(filters=filters, model=model, by=by, shifts=parse_shifts(shifts),
                               bootstrap=WEB_BOOTSTRAP)


# --- computations -----------------------------------------------------------------------------
def _journey_map(r: Results, filters: Filters) -> Any:
    """The map with each card's CX metrics merged in through the map's ``metrics`` hook."""
    scores = [r.get("touchpoint_metrics", filters=filters).to_frame(), r.get("stage_metrics", filters=filters).to_frame()]
    frames = [f for f in scores if not f.empty]
    return r.lens.journey_map(filters=filters, metrics=pd.concat(frames, ignore_index=True) if frames else {})


def _touchpoint_scores(r: Results, touchpoint: str, filters: Filters) -> Any:
    """The touchpoint's own answers (``filters`` name it), grouped by touchpoint so the row carries
    the touchpoint's targets: the page judges each target on the score it shows next to it."""
    return r.lens.metrics(by=["touchpoint"], filters=filters)


def _quarantine(r: Results, table: str | None, reason: str | None) -> Any:
    from journeylens.ingest.reports import quarantine_report

    return quarantine_report(r.lens.warehouse, table=table, reason=reason, limit=200)


def _ingest_log(r: Results) -> Any:
    from journeylens.ingest.reports import ingest_history

    return ingest_history(r.lens.warehouse, limit=50)


def _identities(r: Results) -> Any:
    from journeylens.ingest.stitching import identity_report

    return identity_report(r.lens.warehouse.table("events"), limit=20)


@dataclass(frozen=True)
class View:
    compute: Callable[..., Any]
    parse: Callable[[Query], dict[str, Any]]
    title: str


VIEWS: dict[str, View] = {
    "kpis": View(lambda r, filters: r.lens.metrics(by=[], filters=filters), _p_filters, "CX metrics"),
    "metric_trend": View(lambda r, filters, metric, split=None: r.lens.metrics(
        by=[split, "month"] if split else ["month"], metrics=[metric], filters=filters), _p_metric, "Metric trend"),
    "outcomes": View(lambda r, filters: r.lens.outcomes(filters=filters, within_days=CONVERSION_WINDOW_DAYS),
                     _p_filters, "Conversion and churn"),
    "kpi_change": View(lambda r, current, base: r.lens.window_change(current, base), _p_compare,
                       "CX metrics against the comparison period"),
    "freshness": View(lambda r: r.lens.freshness(), _p_none, "Data freshness"),
    "properties": View(lambda r, top=5, sources=("event", "feedback", "customer"): r.lens.properties(
        top=top, sources=sources), _p_none, "Properties that can split a number"),
    "changes": View(lambda r, filters: r.lens.metric_changes(by=["touchpoint"], period="month", filters=filters,
                                                             every_period=True),
                    _p_filters, "Changes, month by month"),
    "touchpoint_metrics": View(lambda r, filters: r.lens.metrics(by=["touchpoint", "stage"], filters=filters),
                               _p_filters, "Touchpoint scores"),
    "stage_metrics": View(lambda r, filters: r.lens.metrics(by=["stage"], filters=filters), _p_filters,
                          "Stage scores"),
    "journey_map": View(_journey_map, _p_filters, "Journey map"),
    "conformance": View(lambda r, filters: r.lens.conformance(filters=filters), _p_filters, "Designed vs actual"),
    "funnel": View(lambda r, filters, steps, mode, within_days: r.lens.funnel(
        list(steps), filters=filters, mode=mode, within_days=within_days), _p_funnel, "Funnel"),
    "funnel_vs_map": View(lambda r, filters, steps, mode, within_days: r.lens.funnel_vs_map(
        list(steps), filters=filters, mode=mode, within_days=within_days), _p_funnel, "Funnel vs journey map"),
    "variants": View(lambda r, filters, **p: r.lens.variants(filters=filters, **p), _p_variants, "Path variants"),
    "moves_split": View(lambda r, filters, by: r.lens.transitions(filters=filters, level="stage", by=by), _p_moves,
                        "Moves between stages, split by a property"),
    "channels": View(lambda r, filters: r.lens.channels(filters=filters), _p_filters, "Channel hopping"),
    "switch_impact": View(lambda r, filters: r.lens.switch_impact(filters=filters), _p_filters,
                          "Channel switches and loyalty"),
    "cohorts": View(lambda r, filters, built=(): r.lens.cohorts(filters=filters, built=built), _p_cohort_sizes,
                    "Cohorts"),
    "cohort_map": View(lambda r, filters, cohorts: r.lens.compare_cohorts("journey_map", list(cohorts), filters=filters),
                       _p_cohorts, "Journey map by cohort"),
    "cohort_funnel": View(lambda r, filters, cohorts, steps, mode: r.lens.compare_cohorts(
        "funnel", list(cohorts), filters=filters, steps=list(steps), mode=mode), _p_cohort_funnel, "Funnel by cohort"),
    "cohort_metrics": View(lambda r, filters, cohorts, built=(): r.lens.metrics(
        by=["cohort"], filters=filters, built=built), _p_cohort_metrics, "Metrics by cohort"),
    "cohort_metric_tests": View(lambda r, filters, cohorts, built=(): r.lens.metric_changes(
        by=["cohort"], period=None, baseline=cohorts[0] if cohorts else None, filters=filters, built=built),
        _p_cohort_metrics, "Metric differences by cohort"),
    "touchpoint_scores": View(_touchpoint_scores, _p_touchpoint, "Touchpoint score"),
    "touchpoint_trend": View(lambda r, touchpoint, filters, metric, split=None: r.lens.metrics(
        by=[split, "month"] if split else ["month"], metrics=[metric], filters=filters), _p_touchpoint_metric,
        "Touchpoint trend"),
    "sentiment": View(lambda r, touchpoint, filters: r.lens.sentiment(touchpoint=[touchpoint], comment_limit=None),
                      _p_touchpoint, "Comments and sentiment"),
    "topics": View(lambda r: r.lens.topics(), _p_none, "Comment topics"),
    "pain_points": View(lambda r: r.lens.pain_points(top=30), _p_none, "Pain points"),
    "aspects": View(lambda r: r.lens.aspects(response_limit=None), _p_none, "Comment aspects"),
    "comment_aspects": View(lambda r, response_ids: r.lens.aspects(response_ids=response_ids, response_limit=None),
                            _p_response_ids, "Aspects of the comments shown"),
    "timeline": View(lambda r, customer_id: r.lens.customer_timeline(customer_id), _p_customer, "Customer timeline"),
    "drivers": View(lambda r, target, survey, journey: r.lens.drivers(target=target, survey=survey, journey=journey),
                    _p_drivers, "Key drivers"),
    "what_if": View(lambda r, target, changes, survey: r.lens.what_if(target=target, changes=dict(changes),
                                                                      survey=survey), _p_what_if, "What-if"),
    "churn": View(lambda r: r.lens.predict_churn(), _p_none, "At-risk customers"),
    "predicted_nps": View(lambda r: r.lens.predict_nps(), _p_none, "Predicted NPS"),
    "quarantine": View(_quarantine, _p_quarantine, "Quarantine"),
    "ingest_log": View(_ingest_log, _p_none, "Ingest history"),
    "spend_return": View(_spend_return, _p_spend_return, "Spend and return"),
    "departures": View(lambda r, window_days: r.lens.departures(window_days=window_days), _p_departures,
                       "Departures"),
    "identities": View(_identities, _p_none, "Identity stitching"),
}


def warm_plan() -> list[tuple[str, dict[str, Any], bool]]:
    """``(view, params, with_figure)`` of what the main pages show without filters, in the order
    a visitor meets them (the overview first, the slowest analysis, conformance, last)."""
    everyone: dict[str, Any] = {"filters": parse_filters({})}
    from journeylens.surfaces.web.pages import BUILDER_MAX_VALUES

    plan = [("kpis", everyone, False)]
    plan += [("metric_trend", {**everyone, "metric": m}, True) for m in CX_METRICS]
    plan[1:1] = [("freshness", {}, False), ("properties", {}, False),
                 ("properties", {"top": BUILDER_MAX_VALUES, "sources": ("customer",)}, False)]
    plan += [("outcomes", everyone, True), ("changes", everyone, False), ("touchpoint_metrics", everyone, False),
             ("switch_impact", everyone, True), ("stage_metrics", everyone, False), ("journey_map", everyone, True),
             ("channels", everyone, True), ("variants", VIEWS["variants"].parse({}), False),
             ("ingest_log", {}, False), ("quarantine", VIEWS["quarantine"].parse({}), False),
             ("identities", {}, False), ("cohorts", everyone, False),
             ("spend_return", VIEWS["spend_return"].parse({}), True), ("departures", VIEWS["departures"].parse({}), True),
             ("conformance", everyone, False)]
    return plan


#: Chart heights in pixels, per view (one place, so pages and the pre-warmer share cached figures).
DEFAULT_FIGURE_HEIGHT = 340
FIGURE_HEIGHTS: dict[str, int] = {"metric_trend": 260, "touchpoint_trend": 260, "outcomes": 300, "timeline": 300,
                                  "journey_map": 420, "moves_split": 420, "channels": 420, "switch_impact": 380,
                                  "spend_return": 620, "departures": 460, "drivers": 420}


def _freeze(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_freeze(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, _freeze(v)) for k, v in value.items()))
    return value


class Results:
    """The cached results of one request (one data version for the whole request).

    ``lens`` is the calling thread's lens from ``pool`` (its own DuckDB cursor), so views
    computed by different threads run at the same time.
    """

    def __init__(self, pool: LensPool, cache: ResultCache):
        self.pool = pool
        self.cache = cache
        version = cache.version(pool, lambda: self.lens.warehouse.data_version())
        self.key = (version, definition_hash(self.lens.definition))

    @property
    def lens(self) -> Any:
        return self.pool.get()

    def get(self, view: str, **params: Any) -> Any:
        if view not in VIEWS:
            raise ParameterError(f"Unknown view {view!r}; allowed: {', '.join(VIEWS)}.")
        key = (*self.key, view, _freeze(params))
        return self.cache.get(key, lambda: VIEWS[view].compute(self, **params))

    def figure(self, view: str, **params: Any) -> Any:
        """The view's ``figure()`` in the dashboard's style (height from :data:`FIGURE_HEIGHTS`),
        as script-safe JSON (cached too)."""
        from journeylens.surfaces.web.rendering import figure_json, styled

        height = FIGURE_HEIGHTS.get(view, DEFAULT_FIGURE_HEIGHT)
        result = self.get(view, **params)
        key = (*self.key, view, "figure", height, _freeze(params))
        return self.cache.get(key, lambda: figure_json(styled(result.figure(), height=height)))

    def latest(self, view: str, **params: Any) -> tuple[Any, JourneyLensError | None, bool]:
        """``(result, error, fresh)`` without waiting: this data version's result when computed;
        else the latest one computed for an earlier version (``fresh`` false) while this
        version's is computed in the background; ``(None, None, False)`` before any. For slow
        secondary views (a model) on pages that must answer at once."""
        key = (*self.key, view, _freeze(params))
        found, value = self.cache._lookup(key)
        if found:
            return value, None, True
        self.cache.compute_in_background(key, lambda: VIEWS[view].compute(self, **params))
        value = self.cache.latest(key[1:])
        if isinstance(value, JourneyLensError):
            return None, value, False
        if isinstance(value, Exception):
            raise value
        return value, None, False

    def attempt(self, view: str, **params: Any) -> tuple[Any, JourneyLensError | None]:
        """``(result, None)``, or ``(None, error)`` so one failing section does not fail a page."""
        try:
            return self.get(view, **params), None
        except JourneyLensError as exc:
            return None, exc

    def from_query(self, view: str, query: Query) -> Any:
        if view not in VIEWS:
            raise ParameterError(f"Unknown view {view!r}; allowed: {', '.join(VIEWS)}.")
        return self.get(view, **VIEWS[view].parse(query))


def frame_of(result: Any, part: str | None = None) -> pd.DataFrame:
    """The table a page shows: ``result.to_frame()``, or one list ``part`` of ``result.to_dict()``."""
    if isinstance(result, list):
        return pd.DataFrame(result)
    if part:
        payload = result.to_dict()
        if not isinstance(payload, dict) or not isinstance(payload.get(part), list):
            raise ParameterError(f"This result has no table {part!r}.")
        return pd.DataFrame(payload[part])
    if hasattr(result, "to_frame"):
        frame: pd.DataFrame = result.to_frame()
        return frame
    payload = result.to_dict()
    return pd.DataFrame(payload if isinstance(payload, list) else [payload])
