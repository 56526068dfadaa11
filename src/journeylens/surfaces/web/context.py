"""What every dashboard page handler needs: the lens, its cached results, the filter choices."""

from __future__ import annotations

import threading
from dataclasses import dataclass
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
    """The request's query, lens and cached results."""

    request: Request
    results: Results

    @property
    def lens(self) -> Any:
        return self.results.lens

    @property
    def query(self) -> dict[str, str]:
        return dict(self.request.query_params)

    def filter_choices(self) -> dict[str, list[str]]:
        """Cohort and channel names for the filter bar (from the journey definition)."""
        from journeylens.analyses.cohorts import cohort_specs

        definition = self.lens.definition
        channels = sorted({t.channel for t in definition.touchpoints if t.channel})
        return {"cohort_names": [s.name for s in cohort_specs(definition)], "channel_names": channels}

    def touchpoint_names(self) -> list[str]:
        return [t.name for t in self.lens.definition.touchpoints]


def results_of(request: Request) -> Results:
    """The app's cached results over its lens pool (reads the data version: call it in a worker thread)."""
    return Results(lens_pool(request.app.state, get_app_lens(request)), result_cache(request.app.state))


def page(request: Request) -> Page:
    """Open the lens and read the data version (run in a worker thread: it queries the warehouse)."""
    return Page(request, results_of(request))


PageDep = Annotated[Page, Depends(page)]
