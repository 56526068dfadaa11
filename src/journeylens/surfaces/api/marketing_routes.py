"""HTTP routes for attribution, spend and return, and departures (``read`` scope).

Thin: one :class:`journeylens.JourneyLens` call each, returning ``result.to_dict()``.

- ``GET /v1/attribution``   - ``[{model, <by>, conversions, value}]`` (every model side by side)
- ``POST /v1/attribution/paths`` - the same for an uploaded aggregated paths table (multipart ``file``,
  or the CSV / Parquet bytes as the body): ``{rows, rejected, summary, removal_effects}``
- ``GET /v1/spend-return``  - CPA, ROAS, marginal return with bootstrap intervals, budget what-if
- ``GET /v1/departures``    - leavers vs stayers over their last ``window_days``
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Query, Request, UploadFile
from starlette.concurrency import run_in_threadpool

from journeylens.analyses.cx.departures import DeparturesShape
from journeylens.analyses.marketing.attribution import AttributionRowShape, ModelSettings
from journeylens.analyses.marketing.pathfile import PathAttributionShape, paths_attribution
from journeylens.analyses.marketing.spend import SpendReturnShape, parse_rates, parse_shifts
from journeylens.errors import InputError
from journeylens.surfaces.api.deps import FiltersDep, LensDep, require_scope
from journeylens.surfaces.api.hardening import CountQuery

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


MAX_PATHS_UPLOAD_BYTES = 64 * 2**20


async def _upload_bytes(request: Request, file: UploadFile | None) -> bytes:
    """The uploaded table: the multipart ``file`` field, else the request body (at most 64 MiB)."""
    if file is None and request.headers.get("content-type", "").startswith(
            ("multipart/form-data", "application/x-www-form-urlencoded")):
        raise InputError("A form upload needs the paths table in the field 'file' (CSV or Parquet); "
                         "or send the table itself as the request body.")
    data = await file.read(MAX_PATHS_UPLOAD_BYTES + 1) if file is not None else await request.body()
    if len(data) > MAX_PATHS_UPLOAD_BYTES:
        raise InputError(f"The paths upload is larger than {MAX_PATHS_UPLOAD_BYTES // 2**20} MiB; aggregate "
                         "identical paths first (one row per distinct path).")
    return data


@router.post("/v1/attribution/paths", response_model=PathAttributionShape)
async def post_attribution_paths(
        request: Request,
        file: Annotated[UploadFile | None, File(description="CSV or Parquet: path, conversions, value, nulls.")] = None,
        models: str | None = None, path_col: str = "path", conversions_col: str = "conversions",
        value_col: str | None = None, null_col: str | None = None, sep: str = ">", channels: str | None = None,
        delimiter: str | None = None, order: Annotated[int, Query(ge=1, le=4)] = 1,
        half_life_days: Annotated[float, Query(gt=0)] = 7.0, first_share: Annotated[float, Query(ge=0, le=1)] = 0.4,
        last_share: Annotated[float, Query(ge=0, le=1)] = 0.4) -> Any:
    """Attribution of an aggregated paths table (as ``journeylens attribution --paths``): send it as the
    multipart field ``file`` or as the body (``text/csv`` or Parquet). Rows that cannot be used are listed in
    ``rejected`` with their reason; the good rows are attributed."""
    data = await _upload_bytes(request, file)
    settings = ModelSettings(half_life_days=half_life_days, first_share=first_share, last_share=last_share, order=order)
    known = [c.strip() for c in channels.split(",") if c.strip()] if channels else None
    result = await run_in_threadpool(lambda: paths_attribution(
        data, models=models, settings=settings, path_col=path_col, conversions_col=conversions_col,
        value_col=value_col, null_col=null_col, sep=sep, known_channels=known, delimiter=delimiter,
        source_name=file.filename if file is not None else "request body"))
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
                         min_customers: Annotated[int, CountQuery(1)] = 20) -> Any:
    """Leavers vs stayers: ``{window_days, customers_left, customers_stayed, differences, scores, attributes,
    reasons, relationship, headlines}``."""
    result = await run_in_threadpool(lambda: lens.departures(window_days=window_days, min_customers=min_customers))
    return result.to_dict()
