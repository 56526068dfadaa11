"""HTTP routes for the CX programme: maturity assessment and leadership reports.

- ``GET  /v1/maturity``               latest stored assessment (scope ``read``)
- ``POST /v1/maturity/assess``        assess now and store it (scope ``read``)
- ``GET  /v1/maturity/history``       every stored assessment, oldest first (``read``)
- ``GET  /v1/maturity/model``         the maturity model in use: levels, dimensions, questions (``read``)
- ``POST /v1/maturity/answers``       the signed-in person's self-assessment ``{"answers": {qid: 1..5}}``
- ``GET  /v1/reports/state-of-journey?format=html|pdf`` the one-page report (``read``)
- ``GET|POST /v1/reports/schedules``, ``DELETE /v1/reports/schedules/{id}`` scheduled reports (``admin``)
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Query
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from journeylens.errors import PermissionDeniedError
from journeylens.operations.maturity import assess, history, latest, load_model, submit_answers
from journeylens.operations.maturity.framework import MaturityModel
from journeylens.operations.reports import render_html, render_pdf, schedules, state_of_journey
from journeylens.surfaces.api.deps import (
    AppDbDep,
    LensDep,
    PrincipalDep,
    RowId,
    SettingsDep,
    require_scope,
)

router = APIRouter(tags=["programme"])
READ = [Depends(require_scope("read"))]
ADMIN = [Depends(require_scope("admin"))]


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class DimensionPublic(_Open):
    id: str
    name: str
    level: int
    level_text: str
    self_assessment: dict[str, Any] | None
    disagreement: str | None
    evidence: list[dict[str, Any]]
    playbook: list[dict[str, Any]]


class AssessmentPublic(_Open):
    assessment_id: int | None
    model: str
    version: str
    assessed_at: str
    overall_level: int = Field(ge=1, le=5)
    overall_name: str
    dimensions: list[DimensionPublic]
    playbook: list[dict[str, Any]]
    disagreements: list[str]
    respondents: int


class HistoryRow(BaseModel):
    assessment_id: int
    assessed_at: str
    by: str
    model_version: str
    overall_level: int
    levels: dict[str, int]


class AnswersIn(BaseModel):
    answers: dict[str, Annotated[int, Field(ge=1, le=5)]] = Field(description="Question id → 1..5 (see GET /v1/maturity/model).")


class AnswersOut(BaseModel):
    respondent: str
    answers: dict[str, int]


class ScheduleIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    recipients: list[str] = Field(min_length=1, max_length=50)
    cadence: Literal["weekly", "monthly"] = "monthly"
    format: Literal["pdf", "html"] = "pdf"


class SchedulePublic(BaseModel):
    id: int
    name: str
    recipients: list[str]
    cadence: str
    format: str
    active: bool
    created_by: str
    created_at: str
    last_sent_at: str | None
    next_due: str


@router.get("/v1/maturity", dependencies=READ, response_model=AssessmentPublic)
def get_maturity(db: AppDbDep) -> dict[str, Any]:
    """The latest stored assessment (404 until one is made)."""
    return latest(db)


@router.post("/v1/maturity/assess", dependencies=READ, response_model=AssessmentPublic)
async def post_assess(lens: LensDep, db: AppDbDep, settings: SettingsDep, principal: PrincipalDep) -> dict[str, Any]:
    """Assess maturity now from the deployment's evidence and the team's answers, and store it."""
    result = await run_in_threadpool(assess, lens, db, load_model(settings.maturity_model), actor=_actor(principal))
    return result.to_dict()


@router.get("/v1/maturity/history", dependencies=READ, response_model=list[HistoryRow])
def get_history(db: AppDbDep) -> list[dict[str, Any]]:
    return history(db)


@router.get("/v1/maturity/model", dependencies=READ, response_model=None,
            responses={200: {"model": MaturityModel}})
def get_model(settings: SettingsDep) -> dict[str, Any]:
    """The maturity model in use: levels, dimensions with level texts, questions and checks."""
    return load_model(settings.maturity_model).to_dict()


@router.post("/v1/maturity/answers", dependencies=READ, response_model=AnswersOut)
def post_answers(db: AppDbDep, settings: SettingsDep, principal: PrincipalDep,
                 body: Annotated[AnswersIn, Body()]) -> dict[str, Any]:
    """The signed-in person's self-assessment answers (one response per person; re-answering replaces)."""
    user = principal.user if principal is not None else None
    if user is None:
        raise PermissionDeniedError("The self-assessment is answered by a person: sign in (an API key has no person).")
    saved = submit_answers(db, load_model(settings.maturity_model), user.email, dict(body.answers))
    return {"respondent": user.email, "answers": saved}


@router.get("/v1/reports/state-of-journey", dependencies=READ, response_class=Response,
            responses={200: {"content": {"text/html": {"schema": {"type": "string"}},
                                         "application/pdf": {"schema": {"type": "string", "format": "binary"}}}}})
async def get_report(lens: LensDep, db: AppDbDep,
                     format: Annotated[Literal["html", "pdf"], Query()] = "html",
                     period_days: Annotated[int, Query(ge=1, le=366)] = 30,
                     text: Annotated[bool, Query(description="Include comment pain points (slow on CPU).")] = False,
                     models: Annotated[bool, Query(description="Include journey drivers and churn value at risk "
                                                               "(trains the churn model).")] = False,
                     ) -> Response:
    """The one-page state-of-the-journey report as HTML or PDF."""
    content = await run_in_threadpool(state_of_journey, lens, db, period_days=period_days, include_text=text,
                                      include_models=models)
    html = render_html(content)
    if format == "html":
        return HTMLResponse(html)
    pdf = await run_in_threadpool(render_pdf, html)
    return Response(pdf, media_type="application/pdf",
                    headers={"Content-Disposition": 'attachment; filename="state-of-the-journey.pdf"'})


@router.get("/v1/reports/schedules", dependencies=ADMIN, response_model=list[SchedulePublic])
def get_schedules(db: AppDbDep) -> list[dict[str, Any]]:
    return schedules.list_schedules(db)


@router.post("/v1/reports/schedules", dependencies=ADMIN, response_model=SchedulePublic)
def post_schedule(db: AppDbDep, principal: PrincipalDep, body: Annotated[ScheduleIn, Body()]) -> dict[str, Any]:
    return schedules.add_schedule(db, name=body.name, recipients=body.recipients, cadence=body.cadence,
                                  fmt=body.format, actor=_actor(principal))


@router.delete("/v1/reports/schedules/{schedule_id}", dependencies=ADMIN, response_model=SchedulePublic)
def delete_schedule(db: AppDbDep, principal: PrincipalDep, schedule_id: RowId) -> dict[str, Any]:
    return schedules.remove_schedule(db, schedule_id, actor=_actor(principal))


def _actor(principal: Any) -> str:
    return principal.actor if principal is not None else ""
