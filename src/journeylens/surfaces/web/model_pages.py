"""Model pages: Drivers & priorities, What-if, At-risk customers (nothing is computed here).

- ``/drivers`` — survey key drivers (priority matrix and table) and journey drivers of NPS and churn
- ``/what-if`` — pick a target, a driver and a change; see the predicted outcome and its value
- ``/at-risk`` — customers by value at risk with their reasons (CSV export: ``/export/churn.csv``)
- ``/predicted-nps`` — the base's predicted NPS next to the surveyed one, and whether the model is
  informative on held-out respondents (a warning when it is not)
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from journeylens.operations.auth import role_allows
from journeylens.surfaces.web.access import ReaderDep
from journeylens.surfaces.web.context import PageDep
from journeylens.surfaces.web.rendering import WebRoute, render
from journeylens.surfaces.web.views import VIEWS

router = APIRouter(route_class=WebRoute, include_in_schema=False)

#: Rows shown on the at-risk page (the CSV export has them all).
AT_RISK_ROWS = 100


@router.get("/drivers")
def drivers_page(user: ReaderDep, p: PageDep) -> Response:
    params = VIEWS["drivers"].parse({**p.query, "journey": ""})
    survey, survey_error = p.results.attempt("drivers", **params)
    figure = p.results.figure("drivers", **params) if survey is not None else None
    journey = {target: p.results.attempt("drivers", target=target, survey=None, journey=True)
               for target in ("nps", "churn")}
    context = {"title": "Drivers & priorities", "survey": survey.to_dict() if survey else None,
               "thresholds": survey.params.get("thresholds") if survey else None, "survey_error": survey_error,
               "figure": figure, "target": params["target"], "survey_name": params["survey"] or "",
               "journey": {t: (r.to_dict() if r else None, e) for t, (r, e) in journey.items()}}
    return render(p.request, "drivers.html", context)


def _what_if_choices(p: Any) -> dict[str, list[str]]:
    """Drivers offered per target: the survey ratings and journey levers of NPS, the journey drivers of churn."""
    out: dict[str, list[str]] = {}
    for label, target, journey in (("nps", "nps", False), ("nps, journey", "nps", True), ("churn", "churn", True)):
        result, _ = p.results.attempt("drivers", target=target, survey=None, journey=journey)
        out[label] = [r["driver"] for r in result.to_dict()["drivers"]] if result else []
    return out


@router.get("/what-if")
def what_if_page(user: ReaderDep, p: PageDep) -> Response:
    result, error = (p.results.attempt("what_if", **VIEWS["what_if"].parse(p.query)) if p.query.get("driver")
                     else (None, None))
    context = {"title": "What-if", "result": result.to_dict() if result is not None else None, "error": error,
               "choices": _what_if_choices(p), "target": p.query.get("target", "nps"),
               "driver": p.query.get("driver", ""), "change": p.query.get("change", "0.5")}
    return render(p.request, "what_if.html", context)


@router.get("/predicted-nps")
def predicted_nps_page(user: ReaderDep, p: PageDep) -> Response:
    result, error = p.results.attempt("predicted_nps")
    data = result.to_dict() if result else None
    rows = sorted(data["customers"], key=lambda r: -r["p_detractor"])[:AT_RISK_ROWS] if data else []
    context = {"title": "Predicted NPS", "data": data, "params": result.params if result else {}, "error": error,
               "rows": rows, "can_lookup": role_allows(user.role, "customer.lookup")}
    return render(p.request, "predicted_nps.html", context)


@router.get("/at-risk")
def at_risk_page(user: ReaderDep, p: PageDep) -> Response:
    result, error = p.results.attempt("churn")
    rows = result.to_dict()[:AT_RISK_ROWS] if result else []
    context = {"title": "At-risk customers", "rows": rows, "error": error, "params": result.params if result else {},
               "total": len(result) if result else 0, "can_lookup": role_allows(user.role, "customer.lookup"),
               "value_at_risk": sum(r["value_at_risk"] or 0 for r in result.to_dict()) if result else 0}
    return render(p.request, "at_risk.html", context)
