"""The CX programme pages: Maturity (levels, evidence, playbook, history), the self-assessment
questionnaire every team member can take, and Reports (download, schedules).

Every number comes from :mod:`journeylens.operations.maturity` and
:mod:`journeylens.operations.reports`, the same functions the CLI and HTTP API call.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from journeylens.errors import JourneyLensError, NotFoundError
from journeylens.operations.maturity import (
    assess,
    current_answers,
    history,
    latest,
    load_model,
    submit_answers,
)
from journeylens.operations.reports import render_html, render_pdf, schedules, state_of_journey
from journeylens.surfaces.api.deps import AppDbDep, SettingsDep
from journeylens.surfaces.api.hardening import RowId
from journeylens.surfaces.web.access import AdminDep, FormDep, ReaderDep, SignedInDep
from journeylens.surfaces.web.context import PageDep
from journeylens.surfaces.web.rendering import WebRoute, render, styled

router = APIRouter(route_class=WebRoute, include_in_schema=False)


def _latest_or_none(db: Any) -> dict[str, Any] | None:
    try:
        return latest(db)
    except NotFoundError:
        return None


@router.get("/maturity")
def maturity_page(user: ReaderDep, p: PageDep, db: AppDbDep, settings: SettingsDep) -> Response:
    result = _latest_or_none(db)
    figure = None
    if result is not None:
        figure = styled(_radar(result), height=360)
    model = load_model(settings.maturity_model)
    context = {"title": "Maturity", "result": result, "figure": figure, "history": history(db),
               "levels": model.levels, "respondents": len(current_answers(db, model)),
               "message": p.query.get("message")}
    return render(p.request, "maturity.html", context)


def _radar(result: dict[str, Any]) -> Any:
    import plotly.graph_objects as go

    dims = result["dimensions"]
    names = [d["name"] for d in dims] + [dims[0]["name"]]
    fig = go.Figure(go.Scatterpolar(r=[d["level"] for d in dims] + [dims[0]["level"]], theta=names,
                                    name="Evidence", fill="toself"))
    selfs = [d["self_assessment"]["mean"] if d["self_assessment"] else None for d in dims]
    if any(v is not None for v in selfs):
        fig.add_trace(go.Scatterpolar(r=[*selfs, selfs[0]], theta=names, name="Self-assessment (mean)"))
    fig.update_layout(polar={"radialaxis": {"range": [0, 5], "tickvals": [1, 2, 3, 4, 5]}},
                      title="Level by dimension (1–5): evidence and self-assessment")
    return fig


@router.post("/maturity/assess")
async def maturity_assess(user: ReaderDep, form: FormDep, p: PageDep, db: AppDbDep, settings: SettingsDep) -> Response:
    await run_in_threadpool(assess, p.lens, db, load_model(settings.maturity_model), actor=user.email)
    return RedirectResponse("/maturity?message=assessed", status_code=303)


@router.get("/maturity/questionnaire")
def questionnaire_page(user: SignedInDep, p: PageDep, db: AppDbDep, settings: SettingsDep) -> Response:
    model = load_model(settings.maturity_model)
    mine = current_answers(db, model).get(user.email, {})
    return render(p.request, "questionnaire.html", {"title": "Maturity self-assessment", "model": model.to_dict(),
                                                     "answers": mine, "errors": {}, "saved": p.query.get("saved")})


@router.post("/maturity/questionnaire")
def questionnaire_submit(user: SignedInDep, form: FormDep, p: PageDep, db: AppDbDep, settings: SettingsDep) -> Response:
    model = load_model(settings.maturity_model)
    known = model.question_ids()
    answers = {k: v for k, v in form.items() if k in known and v}
    try:
        submit_answers(db, model, user.email, answers)
    except JourneyLensError as exc:
        problems = exc.details.get("problems", [])
        errors = {msg.split(":", 1)[0]: msg for msg in problems if ":" in msg}
        return render(p.request, "questionnaire.html", {"title": "Maturity self-assessment", "model": model.to_dict(),
                                                         "answers": answers, "errors": errors or {"_": exc.message},
                                                         "saved": None}, status_code=422)
    return RedirectResponse("/maturity/questionnaire?saved=1", status_code=303)


@router.get("/reports")
def reports_page(user: ReaderDep, p: PageDep, db: AppDbDep) -> Response:
    can_schedule = user.role == "admin"
    return render(p.request, "reports.html", {"title": "Reports", "schedules": schedules.list_schedules(db)
                                              if can_schedule else [], "can_schedule": can_schedule,
                                              "error": None, "message": p.query.get("message")})


@router.get("/reports/state-of-journey.{fmt}")
async def report_download(user: ReaderDep, p: PageDep, db: AppDbDep, fmt: str) -> Response:
    if fmt not in ("html", "pdf"):
        raise NotFoundError("Reports come as .html or .pdf.")
    content = await run_in_threadpool(state_of_journey, p.lens, db, include_text=p.query.get("text") == "1",
                                      include_models=p.query.get("models") == "1")
    html = render_html(content)
    if fmt == "html":
        return HTMLResponse(html, headers={"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
                                                                      "img-src data:", "Cache-Control": "no-store"})
    pdf = await run_in_threadpool(render_pdf, html)
    return Response(pdf, media_type="application/pdf",
                    headers={"Content-Disposition": 'attachment; filename="state-of-the-journey.pdf"',
                             "Cache-Control": "no-store"})


@router.post("/reports/schedules")
def schedule_add(user: AdminDep, form: FormDep, p: PageDep, db: AppDbDep) -> Response:
    try:
        schedules.add_schedule(db, name=form.get("name", ""), recipients=form.get("recipients", ""),
                               cadence=form.get("cadence", "monthly"), fmt=form.get("format", "pdf"), actor=user.email)
    except JourneyLensError as exc:
        return render(p.request, "reports.html", {"title": "Reports", "schedules": schedules.list_schedules(db),
                                                  "can_schedule": True, "error": exc.message, "message": None},
                      status_code=422)
    return RedirectResponse("/reports?message=scheduled", status_code=303)


@router.post("/reports/schedules/{schedule_id}/stop")
def schedule_stop(user: AdminDep, form: FormDep, db: AppDbDep, schedule_id: RowId) -> Response:
    schedules.remove_schedule(db, schedule_id, actor=user.email)
    return RedirectResponse("/reports?message=stopped", status_code=303)
