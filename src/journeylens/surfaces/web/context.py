"""What every dashboard page handler needs: the lens, its cached results, the filter choices."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, Request

from journeylens.lens_pool import lens_pool
from journeylens.surfaces.api.deps import get_app_lens
from journeylens.surfaces.web.cache import ResultCache
from journeylens.surfaces.web.views import Results

_lock = threading.Lock()


def result_cache(state: Any) -> ResultCache:
    """The app's one :class:`ResultCache` (``app.state.web_cache``), created on first use."""
    with _lock:
        if getattr(state, "web_cache", None) is None:
            state.web_cache = ResultCache()
    cache: ResultCache = state.web_cache
    return cache


@dataclass(frozen=True)
class Page:
    """The request's query (a date preset resolved into ``start``/``end``), lens and cached results."""

    request: Request
    results: Results
    resolved: dict[str, str] = field(default_factory=dict)

    @property
    def lens(self) -> Any:
        return self.results.lens

    @property
    def query(self) -> dict[str, str]:
        return dict(self.resolved)

    def period(self) -> dict[str, Any]:
        """What period the page covers and what it is compared with (labels for the header)."""
        from journeylens.analyses.periods import window_of

        fresh, _ = self.results.attempt("freshness")
        first, last = (fresh.params["first"], fresh.params["last"]) if fresh else (None, None)
        query = self.resolved
        window = window_of(query.get("start"), query.get("end"), first, last)
        chosen = bool(query.get("start") or query.get("end"))
        # All data has nothing of the same length before it: compare only a chosen period.
        compare = (query.get("compare") or "previous") if chosen else "none"
        base = window.compared(compare) if window is not None and compare in ("previous", "last_year") else None
        return {"label": window.label() if window else "no data yet", "chosen": chosen,
                "days": round(window.days) if window else 0, "compare": compare,
                "base_label": base.label() if base else None,
                "warnings": fresh.warnings if fresh else [], "fresh": fresh.to_dict() if fresh else None}

    def filter_choices(self) -> dict[str, Any]:
        """Cohort and channel names for the filter bar (from the journey definition) and the
        period header (what dates the page covers)."""
        from journeylens.analyses.cohorts import cohort_specs

        definition = self.lens.definition
        channels = sorted({t.channel for t in definition.touchpoints if t.channel})
        return {"cohort_names": [s.name for s in cohort_specs(definition)], "channel_names": channels,
                "period": self.period()}

    def touchpoint_names(self) -> list[str]:
        return [t.name for t in self.lens.definition.touchpoints]


def results_of(request: Request) -> Results:
    """The app's cached results over its lens pool (reads the data version: call it in a worker thread)."""
    return Results(lens_pool(request.app.state, get_app_lens(request)), result_cache(request.app.state))


def resolve_query(query: dict[str, str], results: Results) -> dict[str, str]:
    """The query with a date preset (``preset=30d``) turned into ``start``/``end`` dates, ending
    on the data's last day (a feed that stopped long ago still shows its last 30 days)."""
    preset = query.get("preset")
    if not preset or preset == "custom" or query.get("start") or query.get("end"):
        return {k: v for k, v in query.items() if v != "" or k not in ("start", "end")}
    from journeylens.analyses.periods import preset_window

    fresh, _ = results.attempt("freshness")
    window = preset_window(preset, fresh.params["last"] if fresh else None)
    return {**query, "start": window.start.date().isoformat(), "end": window.end.date().isoformat()}


def page(request: Request) -> Page:
    """Open the lens and read the data version (run in a worker thread: it queries the warehouse)."""
    results = results_of(request)
    return Page(request, results, resolve_query(dict(request.query_params), results))


PageDep = Annotated[Page, Depends(page)]
