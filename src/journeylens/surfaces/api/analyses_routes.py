"""HTTP routes for the journey map, channels, conformance, retention, cohorts and timelines.

Thin: each route calls the same :class:`journeylens.JourneyLens` method as the CLI and returns
``result.to_dict()``. Access follows :mod:`journeylens.surfaces.policy` (``read``; customer
timelines ``customer.lookup``). Common filters are query parameters:
``start``, ``end``, ``cohort``, ``channel``, ``stage``, ``touchpoint`` (lists comma-separated).

- ``GET /v1/journey/map``            - the journey map (``?by=smb,blended`` compares cohorts)
- ``GET /v1/journey/channels``       - channel hopping
- ``GET /v1/journey/conformance``    - designed vs actual, friction signals
- ``GET /v1/journey/retention``      - cohort retention (``period``, ``periods``)
- ``GET /v1/journey/time-to-stage``  - time between stages (``from_stage``, ``to_stage``)
- ``GET /v1/cohorts``                - every cohort and its size (``?build=segment=business;channels=blended``)
- ``GET /v1/cohorts/compare``        - ``?analysis=journey_map&cohorts=a,b`` side by side, tested
- ``GET /v1/customers/{id}``         - one customer's whole history
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool

from journeylens.analyses.filters import Filters
from journeylens.errors import ParameterError
from journeylens.surfaces.api import response_schemas as rs
from journeylens.surfaces.api.deps import FiltersDep, LensDep
from journeylens.surfaces.api.hardening import CountQuery, DaysQuery

router = APIRouter(tags=["analyses"])  # who may call what: surfaces/policy.py


ByQuery = Annotated[str | None, Query(description="Cohorts to compare side by side, comma-separated (2+).")]


def _cohort_list(value: str) -> list[str]:
    names = [c.strip() for c in value.split(",") if c.strip()]
    if len(names) < 2:
        raise ParameterError("Give at least two cohorts, comma-separated (for example 'online-only,blended').")
    return names


async def _maybe_by(lens: Any, by: str | None, analysis: str, filters: Filters, compute: Any,
                    **params: Any) -> dict[str, Any]:
    if by:
        result = await run_in_threadpool(lens.compare_cohorts, analysis, _cohort_list(by), filters=filters, **params)
    else:
        result = await run_in_threadpool(compute)
    out: dict[str, Any] = result.to_dict()
    return out


@router.get("/v1/journey/map", response_model=None, responses=rs.documented(rs.JourneyMapPublic | rs.CohortComparisonPublic))
async def get_journey_map(lens: LensDep, filters: FiltersDep, by: ByQuery = None) -> dict[str, Any]:
    return await _maybe_by(lens, by, "journey_map", filters, lambda: lens.journey_map(filters=filters))


@router.get("/v1/journey/channels", response_model=None, responses=rs.documented(rs.ChannelsPublic | rs.CohortComparisonPublic))
async def get_channels(lens: LensDep, filters: FiltersDep, by: ByQuery = None) -> dict[str, Any]:
    return await _maybe_by(lens, by, "channels", filters, lambda: lens.channels(filters=filters))


@router.get("/v1/journey/conformance", response_model=None, responses=rs.documented(rs.ConformancePublic | rs.CohortComparisonPublic))
async def get_conformance(
    lens: LensDep, filters: FiltersDep, by: ByQuery = None,
    repeat_window_days: Annotated[float, DaysQuery()] = 1.0, recontact_days: Annotated[float, DaysQuery()] = 7.0,
    contact: Annotated[str | None, Query(description="Contact touchpoints, comma-separated.")] = None,
    min_transitions: Annotated[int, CountQuery(1)] = 5,
) -> dict[str, Any]:
    params = {"repeat_window_days": repeat_window_days, "recontact_days": recontact_days,
              "min_transitions": min_transitions,
              "contact_touchpoints": [c.strip() for c in contact.split(",")] if contact else None}
    return await _maybe_by(lens, by, "conformance", filters, lambda: lens.conformance(filters=filters, **params),
                           **params)


@router.get("/v1/journey/retention", response_model=None, responses=rs.documented(rs.RetentionPublic | rs.CohortComparisonPublic))
async def get_retention(lens: LensDep, filters: FiltersDep, by: ByQuery = None,
                        period: Literal["week", "month"] = "week",
                        periods: Annotated[int, Query(ge=1, le=120)] = 12) -> dict[str, Any]:
    params = {"period": period, "periods": periods}
    return await _maybe_by(lens, by, "retention", filters, lambda: lens.retention(filters=filters, **params),
                           **params)


@router.get("/v1/journey/time-to-stage", response_model=None, responses=rs.documented(list[rs.TimeToStageRow]))
async def get_time_to_stage(lens: LensDep, filters: FiltersDep, from_stage: str | None = None,
                            to_stage: str | None = None) -> list[dict[str, Any]]:
    result = await run_in_threadpool(lens.time_to_stage, filters=filters, from_stage=from_stage, to_stage=to_stage)
    rows: list[dict[str, Any]] = result.to_dict()
    return rows


@router.get("/v1/cohorts", response_model=None, responses=rs.documented(rs.CohortsPublic))
async def get_cohorts(lens: LensDep, start: str | None = None, end: str | None = None,
                      build: Annotated[list[str] | None, Query(description="Also size a cohort built from conditions, "
                                       "such as 'segment=business; performed=Card delivered' (repeatable); every "
                                       "cohort= filter takes the same text.")] = None) -> dict[str, Any]:
    result = await run_in_threadpool(lens.cohorts, filters=Filters.from_strings(start=start, end=end),
                                     built=build or ())
    out: dict[str, Any] = result.to_dict()
    return out


@router.get("/v1/cohorts/compare", response_model=None, responses=rs.documented(rs.CohortComparisonPublic))
async def get_cohorts_compare(lens: LensDep, filters: FiltersDep,
                              cohorts: Annotated[str, Query(description="Cohorts, comma-separated (2+).")],
                              analysis: str = "journey_map",
                              alpha: Annotated[float, Query(gt=0, lt=1)] = 0.05) -> dict[str, Any]:
    result = await run_in_threadpool(lens.compare_cohorts, analysis, _cohort_list(cohorts), filters=filters,
                                     alpha=alpha)
    out: dict[str, Any] = result.to_dict()
    return out


@router.get("/v1/customers/{customer_id:path}", response_model=None, responses=rs.documented(rs.CustomerTimelinePublic))
async def get_customer(lens: LensDep, customer_id: str) -> dict[str, Any]:
    result = await run_in_threadpool(lens.customer_timeline, customer_id)
    out: dict[str, Any] = result.to_dict()
    return out
