"""HTTP route for the channel-switch impact (thin: one JourneyLens call, ``read`` scope).

- ``GET /v1/journey/switch-impact`` — ``max_gap_minutes`` (default 30; 0 = no limit),
  ``within_stage`` (default true), ``min_customers`` (default 30) and the common filters
  ``start``, ``end``, ``cohort``, ``channel``, ``stage``, ``touchpoint`` (lists comma-separated).
  Returns exactly what ``journeylens journey switch-impact --json`` prints.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from starlette.concurrency import run_in_threadpool

from journeylens.analyses.switch_impact import DEFAULT_MAX_GAP_MINUTES
from journeylens.surfaces.api import response_schemas as rs
from journeylens.surfaces.api.deps import FiltersDep, LensDep, require_scope
from journeylens.surfaces.api.hardening import CountQuery, MinutesQuery

router = APIRouter(tags=["journey analyses"], dependencies=[Depends(require_scope("read"))])




@router.get("/v1/journey/switch-impact", response_model=None, responses=rs.documented(list[rs.SwitchImpactRow]))
async def get_switch_impact(
    lens: LensDep, filters: FiltersDep,
    max_gap_minutes: Annotated[float, MinutesQuery(description="0 = no limit.")] = DEFAULT_MAX_GAP_MINUTES,
    within_stage: bool = True, min_customers: Annotated[int, CountQuery(1)] = 30,
) -> list[dict[str, Any]]:
    """``[{stage, from_channel, to_channel, customers, others, nps_switchers, …, q, significant, impact}]``,
    most harmful first."""
    result = await run_in_threadpool(lens.switch_impact, filters=filters, within_stage=within_stage,
                                     max_gap_minutes=max_gap_minutes or None, min_customers=min_customers)
    rows: list[dict[str, Any]] = result.to_dict()
    return rows
