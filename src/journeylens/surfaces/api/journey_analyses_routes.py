"""HTTP routes for transitions, variants and funnels (thin: one JourneyLens call each, ``read`` scope).

- ``GET /v1/journey/transitions`` — ``level``, ``min_share``, ``by`` (a property, as of each move)
- ``GET /v1/journey/variants``    — ``top``, ``level``, ``collapse_repeats``, ``outcome``
- ``GET /v1/journey/funnel``      — ``steps`` (comma-separated), ``mode``, ``within_days``, ``exclude``,
  ``by`` (a journey_events column), ``level``
- ``GET /v1/journey/funnel-vs-map`` — the same parameters (no ``by``): per step the journey map's customers
  split into ``reached``, ``never_step_1``, ``stopped_earlier``, ``not_after_previous`` (they add up to ``on_map``)

All take the common filters ``start``, ``end``, ``cohort``, ``channel``, ``stage``,
``touchpoint`` (lists comma-separated) and return exactly what ``--json`` prints.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from starlette.concurrency import run_in_threadpool

from journeylens.surfaces.api import response_schemas as rs
from journeylens.surfaces.api.deps import FiltersDep, LensDep, require_scope
from journeylens.surfaces.api.hardening import DaysQuery

router = APIRouter(tags=["journey analyses"], dependencies=[Depends(require_scope("read"))])

Level = Annotated[Literal["touchpoint", "stage"], Query(description="Nodes: touchpoint or stage.")]




def _split(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


@router.get("/v1/journey/transitions", response_model=None, responses=rs.documented(list[rs.TransitionRow]))
async def get_transitions(lens: LensDep, filters: FiltersDep, level: Level = "touchpoint",
                          min_share: Annotated[float, Query(ge=0, le=1)] = 0.0,
                          by: Annotated[str | None, Query(description="Split every move by a property (event "
                                                          "property, customer attribute, event column), as of "
                                                          "the move's source event; top 10 + other.")] = None) -> Any:
    """The directly-follows graph: ``[{from, to, count, customers, median_seconds, mean_seconds, p90_seconds}]``
    (with ``by``: each row starts with the property's value)."""
    params: dict[str, Any] = {"by": by} if by else {}
    result = await run_in_threadpool(lens.transitions, filters=filters, level=level, min_share=min_share, **params)
    return result.to_dict()


@router.get("/v1/journey/variants", response_model=None, responses=rs.documented(list[rs.VariantRow]))
async def get_variants(lens: LensDep, filters: FiltersDep, top: Annotated[int, Query(ge=1, le=10_000)] = 20,
                       level: Level = "touchpoint", collapse_repeats: bool = False,
                       outcome: Literal["conversion", "churn"] | None = None) -> Any:
    """The most common paths: ``[{path, customers, share, median_seconds}]`` (+ ``outcome_rate``)."""
    result = await run_in_threadpool(lens.variants, filters=filters, top=top, level=level,
                                     collapse_repeats=collapse_repeats, outcome=outcome)
    return result.to_dict()


@router.get("/v1/journey/funnel", response_model=None,
            responses=rs.documented(list[rs.FunnelStep] | rs.FunnelByGroup))
async def get_funnel(lens: LensDep, filters: FiltersDep,
                     steps: Annotated[str, Query(description="Steps in order, comma-separated.")],
                     mode: Literal["ordered", "strict", "any"] = "ordered",
                     within_days: Annotated[float | None, DaysQuery()] = None, exclude: str | None = None,
                     by: Annotated[str | None, Query(description="A journey_events column to break down by.")] = None,
                     level: Level = "touchpoint") -> Any:
    """``[{step, customers, conversion_from_start, conversion_from_previous, median_seconds_from_previous}]``;
    with ``by``: ``{"groups": [... with group], "test": {...}}``."""
    result = await run_in_threadpool(lens.funnel, _split(steps), filters=filters, mode=mode,
                                     within_days=within_days, exclude=_split(exclude), breakdown_col=by,
                                     level=level)
    return result.to_dict()


@router.get("/v1/journey/funnel-vs-map")
async def get_funnel_vs_map(lens: LensDep, filters: FiltersDep,
                            steps: Annotated[str, Query(description="Steps in order, comma-separated.")],
                            mode: Literal["ordered", "strict", "any"] = "ordered",
                            within_days: Annotated[float | None, DaysQuery()] = None, exclude: str | None = None,
                            level: Level = "touchpoint") -> Any:
    """``[{step, previous_step, on_map, reached, never_step_1, stopped_earlier, not_after_previous}]``:
    the funnel reconciled with the journey map (the four parts add up to ``on_map``)."""
    result = await run_in_threadpool(lens.funnel_vs_map, _split(steps), filters=filters, mode=mode,
                                     within_days=within_days, exclude=_split(exclude), level=level)
    return result.to_dict()
