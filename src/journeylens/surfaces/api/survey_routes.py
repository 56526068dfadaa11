"""HTTP routes for surveys (thin: one call each into :mod:`journeylens.operations.surveys`).

- ``GET  /v1/surveys``                     (read)   every survey
- ``POST /v1/surveys/check``               (read)   body: survey YAML → validation + warnings (400 with lines)
- ``POST /v1/surveys``                     (admin)  body: survey YAML → add / new version
- ``GET  /v1/surveys/invitations``         (admin)  the CLI's ``survey invitations --json`` (personal links)
- ``GET  /v1/surveys/stats``               (read)   the CLI's ``survey stats --json``
- ``GET  /v1/surveys/suppressions``        (read)   ``?customer_id=`` why a customer got no survey
- ``POST /v1/surveys/opt-outs``            (ingest) ``{"customer_id"}``: never invite again
- ``GET  /v1/surveys/{name}``              (read)   summary + definition + stats
- ``POST /v1/surveys/{name}/pause|resume`` (admin)
- ``GET  /v1/surveys/{name}/qr.svg``       (read)   ``?touchpoint=`` QR code for in-store answers
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from journeylens.errors import InputError
from journeylens.operations.surveys import registry, stats
from journeylens.operations.surveys.delivery import qr_svg
from journeylens.operations.surveys.lifecycle import opt_out
from journeylens.operations.surveys.links import qr_token, signing_key, survey_url
from journeylens.surfaces.api import response_schemas as rs
from journeylens.surfaces.api import survey_schemas as ss
from journeylens.surfaces.api.deps import AppDbDep, SettingsDep, get_app_lens, require_scope

router = APIRouter(tags=["surveys"])
Read = Depends(require_scope("read"))
Admin = Depends(require_scope("admin"))
MAX_SURVEY_BYTES = 200_000


async def _yaml_body(request: Request) -> str:
    body = await request.body()
    if len(body) > MAX_SURVEY_BYTES:
        raise InputError(f"The survey is {len(body):,} bytes; at most {MAX_SURVEY_BYTES:,} are accepted.")
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError("The survey must be UTF-8 YAML text.") from exc


@router.get("/v1/surveys", dependencies=[Read], response_model=None, responses=rs.documented(list[ss.SurveySummary]))
def list_surveys(db: AppDbDep) -> list[dict[str, Any]]:
    with db.session() as session:
        return [registry.survey_summary(row) for row in registry.list_surveys(session)]


@router.post("/v1/surveys/check", dependencies=[Read], response_model=None, responses=rs.documented(ss.SurveyCheck),
             openapi_extra=ss.SURVEY_YAML_BODY)
async def check_survey(request: Request) -> dict[str, Any]:
    text = await _yaml_body(request)
    lens = get_app_lens(request)
    return await run_in_threadpool(registry.check_survey, text, source="<request>", lens=lens)


@router.post("/v1/surveys", dependencies=[Admin], status_code=201, response_model=None,
             responses={201: {"model": ss.SurveyCreated}}, openapi_extra=ss.SURVEY_YAML_BODY)
async def add_survey(request: Request, db: AppDbDep) -> dict[str, Any]:
    text = await _yaml_body(request)
    checked = await run_in_threadpool(registry.check_survey, text, source="<request>", lens=get_app_lens(request))

    def store() -> dict[str, Any]:
        with db.session() as session:
            return registry.survey_summary(registry.add_survey(session, text, source="<request>"))

    return await run_in_threadpool(store) | {"warnings": checked["warnings"]}


@router.get("/v1/surveys/invitations", dependencies=[Admin])
def list_invitations(db: AppDbDep, settings: SettingsDep, survey: str | None = None,
                     status: Annotated[list[str] | None, Query()] = None, customer_id: str | None = None,
                     limit: Annotated[int, Query(ge=1, le=10_000)] = 1000) -> list[stats.InvitationRow]:
    return stats.invitations(db, settings, survey=survey, status=status, customer_id=customer_id, limit=limit)


@router.get("/v1/surveys/stats", dependencies=[Read], response_model=None,
            responses=rs.documented(list[ss.SurveyStatsRow]))
def survey_stats(db: AppDbDep, survey: str | None = None) -> list[dict[str, Any]]:
    return stats.survey_stats(db, survey=survey)


@router.get("/v1/surveys/suppressions", dependencies=[Read], response_model=None,
            responses=rs.documented(list[ss.Suppression]))
def suppressions(db: AppDbDep, customer_id: str) -> list[dict[str, Any]]:
    return stats.why_not(db, customer_id)


@router.post("/v1/surveys/opt-outs", dependencies=[Depends(require_scope("ingest"))], response_model=ss.OptOut)
def add_opt_out(db: AppDbDep, body: dict[str, str]) -> dict[str, Any]:
    customer_id = str(body.get("customer_id") or "").strip()
    if not customer_id:
        raise InputError('Send {"customer_id": "..."}.')
    return {"customer_id": customer_id, "opted_out": True, "new": opt_out(db, customer_id, "api")}


@router.get("/v1/surveys/{name}", dependencies=[Read], response_model=None, responses=rs.documented(ss.SurveyDetail))
def show_survey(db: AppDbDep, name: str) -> dict[str, Any]:
    with db.session() as session:
        row = registry.get_survey(session, name)
        out = registry.survey_summary(row) | {"definition": registry.definition_of(row).to_dict()}
    out["stats"] = next(iter(stats.survey_stats(db, survey=name)), None)
    if out["kind"] == "exit":
        out["exit_reasons"] = stats.exit_reasons(db, name)
    return out


@router.post("/v1/surveys/{name}/pause", dependencies=[Admin], response_model=None,
             responses=rs.documented(ss.SurveySummary))
def pause_survey(db: AppDbDep, name: str) -> dict[str, Any]:
    with db.session() as session:
        return registry.survey_summary(registry.pause(session, name))


@router.post("/v1/surveys/{name}/resume", dependencies=[Admin], response_model=None,
             responses=rs.documented(ss.SurveySummary))
def resume_survey(db: AppDbDep, name: str) -> dict[str, Any]:
    with db.session() as session:
        return registry.survey_summary(registry.resume(session, name))


@router.get("/v1/surveys/{name}/qr.svg", dependencies=[Read], response_class=Response,
            responses={200: {"content": {"image/svg+xml": {"schema": {"type": "string"}}}}})
def survey_qr(db: AppDbDep, settings: SettingsDep, name: str, touchpoint: str) -> Response:
    with db.session() as session:
        registry.get_survey(session, name)
    url = survey_url(settings, qr_token(signing_key(db, settings), name, touchpoint))
    return Response(qr_svg(url), media_type="image/svg+xml", headers={"X-Survey-URL": url})
