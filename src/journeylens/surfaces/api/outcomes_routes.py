"""HTTP routes for conversion/churn outcomes and the journey-map card scores (``read`` scope).

Thin: one :class:`journeylens.JourneyLens` call each, returning ``result.to_dict()``.

- ``GET /v1/journey/outcomes``          - conversion and churn per period of first event
  (``period`` = week | month), with Wilson intervals; common filters
- ``GET /v1/metrics/touchpoint-scores`` - CX metrics per touchpoint and per stage with target
  status (``window_days`` links unlabelled feedback to the nearest preceding event)
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from starlette.concurrency import run_in_threadpool

from journeylens.surfaces.api import response_schemas as rs
from journeylens.surfaces.api.deps import FiltersDep, LensDep, require_scope
from journeylens.surfaces.api.hardening import CountQuery, DaysQuery

router = APIRouter(tags=["analyses"], dependencies=[Depends(require_scope("read"))])




@router.get("/v1/journey/outcomes", response_model=None, responses=rs.documented(rs.OutcomesPublic))
async def get_outcomes(lens: LensDep, filters: FiltersDep,
                       period: Literal["week", "month"] = "month",
                       within_days: Annotated[float | None, Query(gt=0, le=3650)] = None) -> dict[str, Any]:
    """``{period, overall: {customers, converted, churned, conversion(+_low/_high), churn(+_low/_high)},
    periods: [...], latest_change: [{metric, base_period, current_period, base, current, difference, p_value}]}``."""
    result = await run_in_threadpool(lens.outcomes, filters=filters, period=period, within_days=within_days)
    out: dict[str, Any] = result.to_dict()
    return out


@router.get("/v1/metrics/touchpoint-scores", response_model=None, responses=rs.documented(list[rs.MetricRow]))
async def get_touchpoint_scores(lens: LensDep, window_days: Annotated[float, DaysQuery()] = 7.0,
                                min_n: Annotated[int | None, CountQuery(1)] = None) -> list[dict[str, Any]]:
    """``[{level: touchpoint|stage, touchpoint, stage, n, nps…, csat…, ces…, target_status}]``."""
    params: dict[str, Any] = {"window_days": window_days}
    if min_n is not None:
        params["min_sample_size"] = min_n
    result = await run_in_threadpool(lambda: lens.touchpoint_scores(**params))
    rows: list[dict[str, Any]] = result.to_dict()
    return rows
