"""The dashboard's router, listed in ``ROUTER_MODULES`` of :mod:`journeylens.surfaces.api.app`.

Public: ``/login`` and ``/static/*``. Every other page needs a signed-in user whose role
allows it (see :mod:`.access`).
"""

from __future__ import annotations

from fastapi import APIRouter

from journeylens.surfaces.web import access, admin_pages, assets, detail_pages, pages

router = APIRouter(include_in_schema=False)
for _module in (access, assets, pages, detail_pages, admin_pages):
    router.include_router(_module.router)
