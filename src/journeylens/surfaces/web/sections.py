"""Sections loaded after their page (``hx-trigger="load"``), so the page answers with what is
above the fold while the slower numbers are computed.

- ``GET /overview/section/{section}`` — the overview's "what changed significantly"
  (``changes``), "what hurts loyalty" (``harms``) and "touchpoints below target" (``worst``)
- ``GET /split-options`` — the choices of a "Split by" menu: properties with 2–50 values
  (finding them reads every event's properties)
- ``GET /channels/impact`` — the channel page's "do channel switches hurt loyalty?"

Each asks :class:`~journeylens.surfaces.web.views.Results` for the same cached views the page
used to, with the page's query, so every number is the one the page showed before.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from fastapi.responses import Response

from journeylens.analyses.switch_impact import ALPHA as SWITCH_ALPHA
from journeylens.analyses.targets import STATUS_ORDER
from journeylens.surfaces.web.access import ReaderDep
from journeylens.surfaces.web.context import Page, PageDep
from journeylens.surfaces.web.rendering import WebRoute, render
from journeylens.surfaces.web.views import parse_filters

router = APIRouter(route_class=WebRoute, include_in_schema=False)

#: Rows shown in the overview's short lists (the CSV export has them all).
OVERVIEW_CHANGES = 12
OVERVIEW_HARMS = 3
#: A property can split a trend when it has more than one and at most this many values.
SPLIT_MAX_VALUES = 50


def _worst_touchpoints(result: Any, limit: int = 10) -> list[dict[str, Any]]:
    """Touchpoints off target, worst status first, then by answers (presentation order only)."""
    if result is None:
        return []
    rows = [r for r in result.to_dict(detail=True) if r.get("touchpoint") and r.get("target_status") in ("missed", "at_risk")]
    return sorted(rows, key=lambda r: (-STATUS_ORDER[r["target_status"]], -r["n"]))[:limit]


def _changes(p: Page) -> dict[str, Any]:
    changes, change_error = p.results.attempt("changes", filters=parse_filters(p.query))
    significant = list(changes.significant()) if changes else []
    return {"changes": significant[:OVERVIEW_CHANGES], "changes_significant": len(significant),
            "changes_tested": sum(1 for r in changes.to_dict() if r.get("p") is not None) if changes else 0,
            "change_error": change_error}


def _harms(p: Page) -> dict[str, Any]:
    harms, harm_error = p.results.attempt("switch_impact", filters=parse_filters(p.query))
    return {"harms": harms.harmful()[:OVERVIEW_HARMS] if harms else [], "harms_tested": len(harms) if harms else 0,
            "harm_error": harm_error, "alpha": SWITCH_ALPHA}


def _worst(p: Page) -> dict[str, Any]:
    scores, score_error = p.results.attempt("touchpoint_metrics", filters=parse_filters(p.query))
    return {"worst": _worst_touchpoints(scores), "score_error": score_error}


OVERVIEW_SECTIONS = {"changes": _changes, "harms": _harms, "worst": _worst}


@router.get("/overview/section/{section}")
def overview_section(section: Literal["changes", "harms", "worst"], user: ReaderDep, p: PageDep) -> Response:
    return render(p.request, f"partials/overview_{section}.html", OVERVIEW_SECTIONS[section](p))


def split_names(p: Page) -> list[str]:
    """Properties with a few values, offered to split a trend or the moves by."""
    properties, _ = p.results.attempt("properties")
    return [r["property"] for r in properties.to_dict() if 1 < r["distinct"] <= SPLIT_MAX_VALUES] if properties else []


@router.get("/split-options")
def split_options(user: ReaderDep, p: PageDep) -> Response:
    return render(p.request, "partials/split_options.html", {"split_names": split_names(p),
                                                             "split": p.query.get("split") or None})


@router.get("/channels/impact")
def channel_impact(user: ReaderDep, p: PageDep) -> Response:
    filters = parse_filters(p.query)
    impact, impact_error = p.results.attempt("switch_impact", filters=filters)
    context = {"impact": impact.to_dict() if impact else None, "impact_error": impact_error,
               "impact_params": impact.params if impact else {},
               "impact_figure": p.results.figure("switch_impact", filters=filters) if impact and len(impact) else None}
    return render(p.request, "partials/channel_impact.html", context)
