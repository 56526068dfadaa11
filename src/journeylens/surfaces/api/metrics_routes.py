"""HTTP routes for CX metrics, feedback links and text analytics (``read`` scope).

Thin: each route calls the same :class:`journeylens.JourneyLens` method as the CLI and returns
``result.to_dict()``. Lists in query strings are comma-separated.

- ``GET /v1/metrics``               - ``?by=touchpoint,month&metric=nps,csat&employee=false&detail=false``
  (``by=cohort&build=segment=smb&saved_cohorts=true``: built and saved cohorts next to the defined ones)
- ``GET /v1/metrics/changes``       - ``?by=touchpoint&period=month`` (``period=none&baseline=X`` → group vs rest)
- ``GET /v1/feedback/links``        - ``?window_days=7``
- ``GET /v1/text/sentiment``        - ``?model=minilm-3class&limit=100``
- ``GET /v1/text/topics``           - ``?touchpoint=T&k=K&period=month``
- ``GET /v1/text/pain-points``      - ``?top=20``
- ``GET /v1/text/aspects``          - ``?touchpoint=T&period=month&limit=100``
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from starlette.concurrency import run_in_threadpool

from journeylens.errors import ParameterError
from journeylens.surfaces.api import response_schemas as rs
from journeylens.surfaces.api import text_schemas as ts
from journeylens.surfaces.api.deps import DbSessionDep, FiltersDep, LensDep, require_scope
from journeylens.surfaces.api.hardening import CountQuery, DaysQuery

router = APIRouter(tags=["metrics"], dependencies=[Depends(require_scope("read"))])


MetricQuery = Annotated[str | None, Query(description="nps, csat, ces or custom names, comma-separated.")]
MinNQuery = Annotated[int | None, CountQuery(1, description="Minimum answers for a score.")]
BuildQuery = Annotated[list[str] | None, Query(max_length=20, description=(
    "With by=cohort: also a cohort built from conditions, such as 'segment=business; performed=Card delivered' "
    "(repeatable)."))]
SavedCohortsQuery = Annotated[bool, Query(description="With by=cohort: also every built cohort kept in a saved view.")]


def _built(build: list[str] | None, saved: bool, session: Any) -> dict[str, Any]:
    texts = [t.strip() for t in build or [] if t.strip()]
    if saved:
        from journeylens.operations.annotations import saved_cohorts

        texts += [row["cohort"] for row in saved_cohorts(session)]
    return {"built": tuple(dict.fromkeys(texts))} if texts else {}


def _split(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


def _params(metric: str | None, min_n: int | None, **extra: Any) -> dict[str, Any]:
    params = dict(extra)
    if metric:
        params["metrics"] = _split(metric)
    if min_n is not None:
        params["min_sample_size"] = min_n
    return params


@router.get("/v1/metrics", response_model=None, responses=rs.documented(list[rs.MetricRow]))
async def get_metrics(lens: LensDep, filters: FiltersDep, session: DbSessionDep, by: str = "touchpoint,month",
                      metric: MetricQuery = None, min_n: MinNQuery = None, employee: bool = False, detail: bool = False,
                      build: BuildQuery = None, saved_cohorts: SavedCohortsQuery = False) -> list[dict[str, Any]]:
    params = _params(metric, min_n, respondent="employee" if employee else "customer",
                     **_built(build, saved_cohorts, session))
    result = await run_in_threadpool(lambda: lens.metrics(by=_split(by), filters=filters, **params))
    rows: list[dict[str, Any]] = result.to_dict(detail=detail)
    return rows


@router.get("/v1/metrics/changes", response_model=None, responses=rs.documented(list[rs.MetricChangeRow]))
async def get_metric_changes(lens: LensDep, filters: FiltersDep, session: DbSessionDep, by: str = "touchpoint", period: str = "month",
                             baseline: str | None = None, metric: MetricQuery = None, min_n: MinNQuery = None,
                             alpha: Annotated[float, Query(gt=0, lt=1)] = 0.05,
                             every_period: bool = False, build: BuildQuery = None,
                             saved_cohorts: SavedCohortsQuery = False) -> list[dict[str, Any]]:
    chosen = None if period.lower() == "none" else period
    groups = _split(by)
    if chosen is None and len(groups) != 1:
        raise ParameterError("Group-vs-group comparison (period=none) takes exactly one 'by' grouping.")
    params = _params(metric, min_n, alpha=alpha, **_built(build, saved_cohorts, session))
    if every_period and chosen is not None:  # every period vs the one before it, not only the latest
        params["every_period"] = True
    result = await run_in_threadpool(lambda: lens.metric_changes(by=groups, period=chosen, baseline=baseline,
                                                                 filters=filters, **params))
    rows: list[dict[str, Any]] = result.to_dict()
    return rows


@router.get("/v1/feedback/links", response_model=None, responses=rs.documented(rs.FeedbackLinksPublic))
async def get_feedback_links(lens: LensDep, window_days: Annotated[float, DaysQuery()] = 7.0,
                             customers: Annotated[int, Query(ge=0, le=10_000)] = 100) -> dict[str, Any]:
    result = await run_in_threadpool(lambda: lens.feedback_links(window_days=window_days, customer_limit=customers))
    out: dict[str, Any] = result.to_dict()
    return out


@router.get("/v1/text/sentiment", response_model=None, responses=rs.documented(ts.SentimentPublic))
async def get_sentiment(lens: LensDep, model: str | None = None, touchpoint: str | None = None,
                        limit: Annotated[int, Query(ge=0, le=100_000)] = 100) -> dict[str, Any]:
    result = await run_in_threadpool(lambda: lens.sentiment(model=model, touchpoint=_split(touchpoint) or None,
                                                            comment_limit=limit))
    out: dict[str, Any] = result.to_dict()
    return out


@router.get("/v1/text/topics", response_model=None, responses=rs.documented(ts.TopicsPublic))
async def get_topics(lens: LensDep, touchpoint: str | None = None, k: Annotated[int | None, Query(ge=2, le=50)] = None,
                     period: str = "month") -> dict[str, Any]:
    result = await run_in_threadpool(lambda: lens.topics(touchpoint=_split(touchpoint) or None, k=k, period=period))
    out: dict[str, Any] = result.to_dict()
    return out


@router.get("/v1/text/pain-points", response_model=None, responses=rs.documented(list[ts.PainPoint]))
async def get_pain_points(lens: LensDep, top: Annotated[int, Query(ge=1, le=500)] = 20,
                          k: Annotated[int | None, Query(ge=2, le=50)] = None) -> list[dict[str, Any]]:
    result = await run_in_threadpool(lambda: lens.pain_points(top=top, k=k))
    rows: list[dict[str, Any]] = result.to_dict()
    return rows


@router.get("/v1/text/aspects", response_model=None, responses=rs.documented(ts.AspectsPublic))
async def get_aspects(lens: LensDep, touchpoint: str | None = None, period: str = "month",
                      limit: Annotated[int, Query(ge=0, le=100_000)] = 100) -> dict[str, Any]:
    result = await run_in_threadpool(lambda: lens.aspects(touchpoint=_split(touchpoint) or None, period=period,
                                                          response_limit=limit))
    out: dict[str, Any] = result.to_dict()
    return out
