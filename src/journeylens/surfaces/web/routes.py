"""The dashboard's router, listed in ``ROUTER_MODULES`` of :mod:`journeylens.surfaces.api.app`.

Public: ``/login``, ``/static/*`` and ``/healthz``. Every other page needs a signed-in user
whose role allows it (see :mod:`.access`). The router's lifespan starts the pre-warmer
(:mod:`.prewarm`) with the server.
"""

from __future__ import annotations

from fastapi import APIRouter

from journeylens.surfaces.web import (
    access,
    admin_pages,
    assets,
    detail_pages,
    health,
    marketing_pages,
    model_pages,
    pages,
    prewarm,
    programme_pages,
    sections,
    survey_admin_pages,
    survey_page,
    text_pages,
    ticket_pages,
    trust_pages,
)

# The sub-routers keep their pages out of the OpenAPI schema; /healthz is in it.
router = APIRouter(lifespan=prewarm.lifespan)
for _module in (access, assets, pages, sections, text_pages, detail_pages, admin_pages, survey_page, survey_admin_pages,
                programme_pages, trust_pages, marketing_pages, model_pages, ticket_pages):
    router.include_router(_module.router)
router.include_router(health.router)
