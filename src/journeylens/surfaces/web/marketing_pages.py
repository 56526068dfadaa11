"""Dashboard pages for both ends of the relationship: **Acquisition** (attribution models side
by side, spend, return, marginal return, budget what-if) and **Departures** (why customers
leave). Each asks :class:`~journeylens.surfaces.web.views.Results` for one cached view."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from journeylens.analyses.marketing.attribution import MODELS
from journeylens.surfaces.web.access import ReaderDep
from journeylens.surfaces.web.context import PageDep
from journeylens.surfaces.web.rendering import WebRoute, render
from journeylens.surfaces.web.views import VIEWS

router = APIRouter(route_class=WebRoute, include_in_schema=False)


def _side_by_side(payload: dict[str, Any]) -> tuple[list[str], list[dict[str, Any]]]:
    """Rows per unit with each model's conversions (presentation only: the numbers are the result's)."""
    models = [m for m in MODELS if any(r["model"] == m for r in payload["by_model"])]
    units: dict[str, dict[str, Any]] = {}
    for r in payload["by_model"]:
        row = units.setdefault(r["unit"], {"unit": r["unit"], "spend": r["spend"]})
        row[r["model"]] = r["conversions"]
    return models, sorted(units.values(), key=lambda r: -(r["spend"] or 0))


@router.get("/acquisition")
def acquisition_page(user: ReaderDep, p: PageDep) -> Response:
    params = VIEWS["spend_return"].parse(p.query)
    result, error = p.results.attempt("spend_return", **params)
    payload = result.to_dict() if result else None
    models, side = _side_by_side(payload) if payload else ([], [])
    units = [r["unit"] for r in payload["totals"] if r["spend"]] if payload else []
    context = {"title": "Acquisition", "sr": payload, "error": error, "models": models, "side": side,
               "all_models": MODELS, "units": units, "params": params,
               "figure": p.results.figure("spend_return", **params) if result else None, **p.filter_choices()}
    return render(p.request, "acquisition.html", context)


@router.get("/departures")
def departures_page(user: ReaderDep, p: PageDep) -> Response:
    params = VIEWS["departures"].parse(p.query)
    result, error = p.results.attempt("departures", **params)
    payload = result.to_dict() if result else None
    context = {"title": "Departures", "dep": payload, "error": error, "params": params,
               "figure": p.results.figure("departures", **params) if result and len(result.differences) else None}
    return render(p.request, "departures.html", context)
