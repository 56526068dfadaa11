"""HTTP routes of the models (thin: one JourneyLens call each, ``read`` scope).

- ``GET /v1/drivers`` — ``target``, ``drivers`` (comma-separated), ``journey_drivers``, ``survey``, ``min_n``, ``funnel``
- ``GET /v1/what-if`` — ``target``, ``change`` (repeatable, ``DRIVER=AMOUNT``), ``drivers``, ``survey``, ``funnel``,
  ``journey_drivers`` (NPS/CSAT: journey levers; default: decided by the driver names)
- ``GET /v1/predict/churn`` — ``horizon_days``, ``as_of``, ``backtest`` (the predictions made at ``as_of``)
- ``GET /v1/predict/churn/backtest`` — ``horizon_days``, ``as_of``: how those predictions did, next to a baseline
- ``GET /v1/predict/nps`` — ``as_of``, ``horizon_days``
- ``GET /v1/predict/nps/validation`` — ``as_of``, ``horizon_days``: held-out scores and whether the model is informative
- ``GET /v1/predict/survival`` — ``by`` (a customers column), ``horizon_days``
- ``GET /v1/predict/purchases`` — ``purchase``, ``value_property``, ``as_of``, ``horizon_days``, ``backtest``

Each returns exactly what the matching CLI command prints with ``--json``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from starlette.concurrency import run_in_threadpool

from journeylens.models.churn_result import ChurnRow
from journeylens.models.drivers import DriversPayload
from journeylens.models.predicted_nps import NpsValidationPayload, PredictedNpsPayload
from journeylens.models.purchases import PurchaseRow
from journeylens.models.survival import SurvivalRow
from journeylens.models.whatif import WhatIfPayload, parse_changes
from journeylens.surfaces.api.deps import LensDep, require_scope
from journeylens.surfaces.api.hardening import CountQuery, HorizonQuery, IsoDateTime

router = APIRouter(tags=["models"], dependencies=[Depends(require_scope("read"))])


def _utc(value: datetime | None) -> datetime | None:
    from datetime import UTC

    return value if value is None or value.tzinfo else value.replace(tzinfo=UTC)


def _list(text: str | None) -> list[str] | None:
    return [p.strip() for p in text.split(",") if p.strip()] if text else None


@router.get("/v1/drivers", response_model=DriversPayload)
async def get_drivers(lens: LensDep, target: str = "nps", drivers: str | None = None, journey_drivers: bool = False,
                      survey: str | None = None, min_n: Annotated[int, CountQuery(2)] = 30,
                      funnel: str | None = None) -> Any:
    """Key drivers: ``{target, n, r2, method, drivers: [{driver, importance, …, sentence}]}``."""
    extra = {"funnel": _list(funnel)} if funnel else {}
    result = await run_in_threadpool(lens.drivers, target=target, drivers=_list(drivers), survey=survey,
                                     journey=journey_drivers, min_n=min_n, **extra)
    return result.to_dict()


@router.get("/v1/what-if", response_model=WhatIfPayload)
async def get_what_if(lens: LensDep, change: Annotated[list[str], Query()], target: str = "nps",
                      drivers: str | None = None, survey: str | None = None, funnel: str | None = None,
                      journey_drivers: bool | None = None) -> Any:
    """``{target, baseline, predicted, delta, low, high, method, value_delta}``."""
    extra = {"funnel": _list(funnel)} if funnel else {}
    result = await run_in_threadpool(lens.what_if, target=target, changes=parse_changes(change),
                                     drivers=_list(drivers), survey=survey, journey=journey_drivers, **extra)
    return result.to_dict()


@router.get("/v1/predict/churn", response_model=list[ChurnRow])
async def get_churn(lens: LensDep, horizon_days: Annotated[int, HorizonQuery()] = 90, as_of: IsoDateTime | None = None,
                    backtest: bool = False) -> Any:
    """``[{customer_id, churn_probability, value_at_risk, reasons}]`` (with ``backtest``: made at ``as_of``)."""
    result = await run_in_threadpool(lens.predict_churn, horizon_days=horizon_days, as_of=_utc(as_of),
                                     backtest=backtest)
    return result.to_dict()


@router.get("/v1/predict/churn/backtest", response_model=dict[str, Any])
async def get_churn_backtest(lens: LensDep, horizon_days: Annotated[int, HorizonQuery()] = 90,
                             as_of: IsoDateTime | None = None) -> Any:
    """``{split, model, model_scores, baseline, baseline_scores, ...}`` of the predictions made at ``as_of``."""
    result = await run_in_threadpool(lens.predict_churn, horizon_days=horizon_days, as_of=_utc(as_of), backtest=True)
    return result.scores()


@router.get("/v1/predict/purchases", response_model=list[PurchaseRow] | dict[str, Any])
async def get_purchases(lens: LensDep, purchase: str, value_property: str | None = None,
                        as_of: IsoDateTime | None = None, horizon_days: Annotated[int, HorizonQuery()] = 90,
                        backtest: bool = False) -> Any:
    """``[{customer_id, expected_purchases, p_alive, expected_value}]`` (with ``backtest``: the errors)."""
    result = await run_in_threadpool(lens.predict_purchases, purchase, value_property=value_property,
                                     as_of=_utc(as_of), horizon_days=horizon_days, backtest=backtest)
    return result.to_dict()


@router.get("/v1/predict/nps", response_model=PredictedNpsPayload)
async def get_predicted_nps(lens: LensDep, as_of: IsoDateTime | None = None,
                            horizon_days: Annotated[int, HorizonQuery()] = 180) -> Any:
    """``{surveyed_nps, predicted_nps, predicted_low, predicted_high, customers: [{customer_id, p_promoter, p_detractor}]}``."""
    result = await run_in_threadpool(lens.predict_nps, as_of=_utc(as_of), horizon_days=horizon_days)
    return result.to_dict()


@router.get("/v1/predict/nps/validation", response_model=NpsValidationPayload)
async def get_predicted_nps_validation(lens: LensDep, as_of: IsoDateTime | None = None,
                                       horizon_days: Annotated[int, HorizonQuery()] = 180) -> Any:
    """``{informative, verdict, split, validation}``: how the predictions did on respondents the model did not see."""
    result = await run_in_threadpool(lens.predict_nps, as_of=_utc(as_of), horizon_days=horizon_days)
    return result.validation()


@router.get("/v1/predict/survival", response_model=list[SurvivalRow])
async def get_survival(lens: LensDep, by: str = "segment", horizon_days: Annotated[int, HorizonQuery()] = 365) -> Any:
    """``[{segment, customers, churned, median_days, expected_days, churn_by_horizon, curve}]``."""
    result = await run_in_threadpool(lens.survival, by=by, horizon_days=horizon_days)
    return result.to_dict()
