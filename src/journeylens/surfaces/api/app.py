"""The FastAPI application factory.

Routers register themselves: each module in ``ROUTER_MODULES`` exposes ``router``
(a ``fastapi.APIRouter``). Add a module there rather than growing this file.
"""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI

import journeylens
from journeylens.settings import Settings, get_settings
from journeylens.surfaces.api.deps import authorize
from journeylens.surfaces.api.errors import install_error_handlers
from journeylens.surfaces.api.hardening import RefuseNul
from journeylens.surfaces.api.openapi_doc import install_openapi

ROUTER_MODULES: tuple[str, ...] = (
    "auth_routes",
    "collector",
    "journey_routes",
    "analyses_routes",
    "ingest_routes",
    "metrics_routes",
    "journey_analyses_routes",
    "outcomes_routes",
    "switch_impact_routes",
    "marketing_routes",
    "survey_routes",
    "ticket_routes",
    "programme_routes",
    "models_routes",
    "trust_routes",
    "journeylens.surfaces.cli.remote_route",
    "privacy_routes",
    "text_routes",
    "journeylens.surfaces.web.routes",
)


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Runs the worker in a background thread when ``app.state.run_worker`` (``journeylens serve``)."""
    worker = None
    if getattr(app.state, "run_worker", False):
        from starlette.concurrency import run_in_threadpool

        from journeylens.surfaces.api.background import start_worker

        worker = await run_in_threadpool(start_worker, app)
    try:
        yield
    finally:
        if worker is not None:
            worker.stop()


def create_app(settings: Settings | None = None, **state: Any) -> FastAPI:
    """Build the app. ``state`` entries (for example a ready ``lens``, or ``run_worker=True``)
    land on ``app.state``."""
    settings = settings or get_settings()
    app = FastAPI(
        lifespan=_lifespan,
        title="JourneyLens",
        version=journeylens.__version__,
        description="Customer-journey analytics and CX management: ingestion, analyses, closing the loop.",
        dependencies=[Depends(authorize)],  # one access table for every route (surfaces/policy.py)
    )
    app.state.settings = settings
    for key, value in state.items():
        setattr(app.state, key, value)
    install_error_handlers(app)
    app.add_middleware(RefuseNul)
    for name in ROUTER_MODULES:
        module = importlib.import_module(name if "." in name else f"journeylens.surfaces.api.{name}")
        app.include_router(module.router)
    install_openapi(app)
    return app
