"""``DELETE /v1/customers/{customer_id}`` (admin): erase one customer everywhere.

The same :func:`journeylens.operations.forget.forget_customer` as ``journeylens customer
forget ID``; the answer counts what was removed, by table. Ids may contain ``/``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from journeylens.operations.forget import forget_customer
from journeylens.surfaces.api.deps import AppDbDep, LensDep, Principal, require_scope

router = APIRouter(tags=["privacy"])


class Forgotten(BaseModel):
    """What an erasure removed (rows by table); never the customer's data."""

    removed: dict[str, int]
    anonymous_ids: int
    total: int


@router.delete("/v1/customers/{customer_id:path}", response_model=Forgotten)
async def delete_customer(request: Request, customer_id: str, lens: LensDep, db: AppDbDep,
                          principal: Annotated[Principal, Depends(require_scope("admin"))]) -> Forgotten:
    """Erase the customer from events, feedback, customers, journeys, identities, quarantine,
    cached results and every plugin's tables; the audit trail records that it happened."""
    report = await run_in_threadpool(forget_customer, lens, customer_id, db=db, actor=principal.actor)
    cache = getattr(request.app.state, "web_cache", None)  # the dashboard's results may show the customer
    if cache is not None:
        cache.clear()
    return Forgotten(**report.to_dict())
