"""``GET /healthz``: a public liveness and readiness probe for load balancers and orchestrators.

Answers ``{"status": "ok", "warehouse": "<engine>", "data_version": "<token>"}`` when the
warehouse answers (the data version is the one the dashboard caches under, re-read at most
once a second), else 503 with ``{"status": "error", "warehouse": ..., "error": "<message>"}``.
It needs no credentials and reveals no data.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from journeylens.surfaces.api.response_schemas import Health

log = logging.getLogger(__name__)
router = APIRouter(tags=["operations"])


def _probe(request: Request) -> tuple[int, dict[str, str | None]]:
    from journeylens.lens_pool import lens_pool
    from journeylens.surfaces.api.deps import get_app_lens
    from journeylens.surfaces.web.context import result_cache

    engine = None
    try:
        pool = lens_pool(request.app.state, get_app_lens(request))
        engine = pool.base.warehouse.engine
        version = result_cache(request.app.state).version(pool, lambda: pool.get().warehouse.data_version())
        return 200, {"status": "ok", "warehouse": engine, "data_version": version}
    except Exception as exc:  # any failure means "not ready"
        log.warning("Health check failed: %s", exc)
        return 503, {"status": "error", "warehouse": engine, "error": type(exc).__name__}


@router.get("/healthz", summary="Health check (public)", response_model=None,
            responses={200: {"model": Health}, 503: {"model": Health, "description": "The warehouse does not answer."}})
async def healthz(request: Request) -> JSONResponse:
    """``{"status": "ok", "warehouse": engine, "data_version": token}``; 503 when the warehouse fails."""
    status, body = await run_in_threadpool(_probe, request)
    return JSONResponse(body, status_code=status, headers={"Cache-Control": "no-store"})
