"""The dashboard's **Surveys** page: response funnel, channels, suppression reasons, previews.

Every number comes from :mod:`journeylens.operations.surveys.stats` (the same functions as
``journeylens survey stats`` and ``GET /v1/surveys/stats``).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from journeylens.operations.surveys import registry, stats
from journeylens.surfaces.api.deps import AppDbDep
from journeylens.surfaces.web.access import ReaderDep
from journeylens.surfaces.web.rendering import WebRoute, render, secured, templates
from journeylens.surfaces.web.survey_text import translate

router = APIRouter(route_class=WebRoute, include_in_schema=False)


def _overview(db: Any) -> dict[str, Any]:
    with db.session() as session:
        summaries = {row.name: registry.survey_summary(row) for row in registry.list_surveys(session)}
    rows = stats.survey_stats(db)
    for row in rows:
        row["summary"] = summaries.get(row["survey"], {})
        peak = max(row["triggered"], 1)
        row["funnel"] = [(label, row[key], row[key] / peak) for label, key in
                         (("Triggered", "triggered"), ("Sent", "sent"), ("Opened", "opened"),
                          ("Completed", "completed"))]
        if row["kind"] == "exit":
            row["exit_reasons"] = stats.exit_reasons(db, row["survey"])
    return {"title": "Surveys", "surveys": rows}


@router.get("/surveys")
async def surveys_page(request: Request, user: ReaderDep, db: AppDbDep) -> Response:
    context = await run_in_threadpool(_overview, db)
    return render(request, "surveys.html", {**context, "charts": False})


@router.get("/surveys/{name}/preview")
async def survey_preview(request: Request, user: ReaderDep, db: AppDbDep, name: str, lang: str | None = None) -> Response:
    """The hosted page as a customer would see it in ``lang`` (nothing can be submitted)."""
    def load() -> Any:
        with db.session() as session:
            return registry.definition_of(registry.get_survey(session, name))

    survey = await run_in_threadpool(load)
    language: str = lang if lang is not None and lang in survey.languages else survey.default_language
    context = {"request": request, "survey": survey, "lang": language, "questions": survey.questions,
               "answers": {}, "errors": {}, "notice": f"Preview ({language}): answers are not saved. "
                                                    "Follow-up questions are all shown.",
               "shown": "", "t": lambda texts: survey.text(texts, language), "anonymous": True,
               "languages": survey.languages, "preview": True, "_": lambda text: translate(language, text)}
    return secured(templates.TemplateResponse(request, "survey.html", context))
