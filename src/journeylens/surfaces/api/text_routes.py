"""HTTP routes for sentiment label corrections (stored in the app DB, ``text_corrections``).

- ``POST /v1/text/corrections``            (``ingest`` scope) ``{"response_id", "comment",
  "label": "negative|neutral|positive", "aspect"?, "previous_label"?, "model"?}`` → the stored row
- ``GET  /v1/text/corrections``            (``read``) → the newest correction per response and aspect
- ``GET  /v1/text/corrections/evaluation`` (``read``) ``?model=minilm-3class`` → ``{model, n,
  accuracy, macro_f1, f1}`` of that model on the corrected comments
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from journeylens.surfaces.api import response_schemas as rs
from journeylens.surfaces.api import text_schemas as ts
from journeylens.surfaces.api.deps import DbSessionDep, Principal, require_scope
from journeylens.text import corrections

router = APIRouter(tags=["text"])


class CorrectionIn(BaseModel):
    response_id: str = Field(min_length=1, max_length=200)
    comment: str = Field(min_length=1, max_length=20_000)
    label: str = Field(description="negative, neutral or positive")
    aspect: str = Field(default="", max_length=64, description="an aspect id, or empty for the whole comment")
    previous_label: str = Field(default="", max_length=16)
    model: str = Field(default="", max_length=64)


@router.post("/v1/text/corrections", status_code=201, response_model=None,
             responses={201: {"model": ts.CorrectionPublic}})
def post_correction(body: CorrectionIn, session: DbSessionDep,
                    principal: Annotated[Principal, Depends(require_scope("ingest"))]) -> dict[str, Any]:
    return corrections.add_correction(session, actor=principal.actor, **body.model_dump())


@router.get("/v1/text/corrections", dependencies=[Depends(require_scope("read"))], response_model=None,
            responses=rs.documented(list[ts.CorrectionPublic]))
def get_corrections(session: DbSessionDep, aspect: str | None = None) -> list[dict[str, Any]]:
    return corrections.latest_corrections(session, aspect=aspect if aspect is not None else "")


@router.get("/v1/text/corrections/evaluation", dependencies=[Depends(require_scope("read"))], response_model=None,
            responses=rs.documented(ts.CorrectionEvaluation))
async def get_evaluation(session: DbSessionDep, model: str | None = None) -> dict[str, Any]:
    from journeylens.text.sentiment import get_model

    rows = corrections.latest_corrections(session)
    return await run_in_threadpool(lambda: corrections.evaluate(rows, get_model(model)))
