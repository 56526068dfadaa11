"""HTTP routes for attribution, spend and return, and departures (``read`` scope).

Thin: one :class:`journeylens.JourneyLens` call each, returning ``result.to_dict()``.

- ``GET /v1/attribution``   - ``[{model, <by>, conversions, value}]`` (every model side by side)
- ``GET /v1/spend-return``  - CPA, ROAS, marginal return with bootstrap intervals, budget what-if
- ``GET /v1/departures``    - leavers vs stayers over their last ``window_days``
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from starlette.concurrency import run_in_threadpool

from journeylens.analyses.cx.departures import DeparturesShape
from journeylens.analyses.marketing.attribution import AttributionRowShape, ModelSettings
from journeylens.analyses.marketing.spend import SpendReturnShape, parse_rates, parse_shifts
from journeylens.surfaces.api.deps import FiltersDep, LensDep, require_scope

router = APIRouter(tags=["marketing"], dependencies=[Depends(require_scope("read"))])


@router.get("/v1/attribution", response_model=list[AttributionRowShape])
async def get_attribution(lens: LensDep, filters: FiltersDep, conversion: str | None = None, by: str = "channel",
                          models: str | None = None, lookback_days: Annotated[float, Query(ge=0)] = 0,
                          value_property: str | None = None, order: Annotated[int, Query(ge=1, le=4)] = 1,
                          half_life_days: Annotated[float, Query(gt=0)] = 7.0,
                          first_share: Annotated[float, Query(ge=0, le=1)] = 0.4,
                          last_share: Annotated[float, Query(ge=0, le=1)] = 0.4) -> Any:
    """``[{model, <by>, conversions, value}]``."""
    settings = ModelSettings(half_life_days=half_life_days, first_share=first_share, last_share=last_share, order=order)
    result = await run_in_threadpool(lambda: lens.attribution(
        filters=filters, conversion=conversion, by=by, models=models, lookback_days=lookback_days,
        value_property=value_property, settings=settings))
    return result.to_dict()


@router.get("/v1/spend-return", response_model=SpendReturnShape)
async def get_spend_return(lens: LensDep, filters: FiltersDep, model: str = "markov", by: str = "channel",
                           period: str = "month", conversion: str | None = None, value_property: str | None = None,
                           shift: Annotated[list[str] | None, Query()] = None,
                           rate: Annotated[list[str] | None, Query()] = None,
                           bootstrap: Annotated[int, Query(ge=0, le=1000)] = 100) -> Any:
    """``{model, by, period, currency, totals, by_model, periods, marginal, what_if, unmatched_spend, notes}``;
    ``shift=FROM:TO:PERCENT`` and ``rate=CURRENCY=RATE`` repeat."""
    result = await run_in_threadpool(lambda: lens.spend_return(
        filters=filters, model=model, by=by, period=period, conversion=conversion, value_property=value_property,
        shifts=parse_shifts(shift or []), rates=parse_rates(rate or []), bootstrap=bootstrap))
    return result.to_dict()


@router.get("/v1/departures", response_model=DeparturesShape)
async def get_departures(lens: LensDep, window_days: Annotated[float, Query(ge=1, le=3650)] = 90,
                         min_customers: Annotated[int, Query(ge=1)] = 20) -> Any:
    """Leavers vs stayers: ``{window_days, customers_left, customers_stayed, differences, scores, attributes,
    reasons, relationship, headlines}``."""
    result = await run_in_threadpool(lambda: lens.departures(window_days=window_days, min_customers=min_customers))
    return result.to_dict()
