"""The hosted survey page ``/s/{token}``: server-rendered, no JavaScript, no external assets.

``GET`` shows the survey in the invitation's language (else the browser's), with answers
saved so far; ``?<question id>=<score>`` pre-fills a score (the email's one-click block).
``POST`` takes the form (fields named by question id) or JSON ``{"answers": {...}}``.
Answers are saved as they are given; a conditional question appears once its condition is
met; the final submit writes the answer to the collector's durable spool *before* it is
marked completed and the thank-you page is shown. Logic: :mod:`journeylens.operations.surveys.answers`.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from journeylens.operations.surveys import answers as logic
from journeylens.operations.surveys.definition import SurveyDefinition
from journeylens.surfaces.api.collector import collector_of, read_json
from journeylens.surfaces.api.deps import get_app_db, get_settings
from journeylens.surfaces.web.rendering import WebRoute, secured, templates
from journeylens.surfaces.web.survey_text import translate

router = APIRouter(route_class=WebRoute, include_in_schema=False)

_STATE_PAGES = {
    "invalid": (404, "This survey link does not work",
                "The link may be incomplete or mistyped. Please use the link from your invitation."),
    "expired": (410, "This survey has closed", "Thank you for your interest; this invitation has expired."),
    "paused": (410, "This survey is paused", "The survey is not taking answers at the moment."),
}


def choose_language(request: Request, survey: SurveyDefinition, preferred: str | None) -> str:
    """``?lang=``, else the invitation's language, else the best Accept-Language match, else the default."""
    for candidate in (request.query_params.get("lang"), preferred):
        if candidate and candidate in survey.languages:
            return candidate
    weighted: list[tuple[float, str]] = []
    for part in request.headers.get("accept-language", "").split(","):
        tag, _, q = part.strip().partition(";q=")
        try:
            weighted.append((float(q) if q else 1.0, tag.strip().lower()))
        except ValueError:
            continue
    for _, tag in sorted(weighted, key=lambda w: -w[0]):
        for lang in (tag, tag.split("-")[0]):
            if lang in survey.languages:
                return lang
    return survey.default_language


def _page(request: Request, opened: logic.Opened, language: str, *, answers: dict[str, Any],
          errors: dict[str, str] | None = None, notice: str = "", status_code: int = 200) -> Response:
    survey = opened.survey
    assert survey is not None
    shown = logic.visible_questions(survey, answers)
    context = {"request": request, "survey": survey, "lang": language, "questions": shown, "answers": answers,
               "errors": errors or {}, "notice": notice, "shown": ",".join(q.id for q in shown),
               "t": lambda texts: survey.text(texts, language), "anonymous": opened.anonymous,
               "languages": survey.languages, "_": lambda text: translate(language, text)}
    return secured(templates.TemplateResponse(request, "survey.html", context, status_code=status_code))


def _message(request: Request, title: str, message: str, language: str = "en", status_code: int = 200) -> Response:
    return secured(templates.TemplateResponse(request, "survey_message.html",
                                              {"request": request, "title": title, "message": message,
                                               "lang": language}, status_code=status_code))


def _thanks(request: Request, opened: logic.Opened, language: str) -> Response:
    survey = opened.survey
    assert survey is not None
    return _message(request, survey.text(survey.title, language), survey.text(survey.thank_you, language), language)


async def _open(request: Request, token: str) -> tuple[Any, Any, logic.Opened]:
    db = await get_app_db(request)
    settings = get_settings(request)
    opened = await run_in_threadpool(logic.open_token, db, settings, token)
    return db, settings, opened


@router.get("/s/{token}")
async def survey_page(request: Request, token: str) -> Response:
    _, _, opened = await _open(request, token)
    if opened.state in _STATE_PAGES:
        status, title, message = _STATE_PAGES[opened.state]
        return _message(request, title, message, status_code=status)
    assert opened.survey is not None
    language = choose_language(request, opened.survey, opened.invitation.language if opened.invitation else None)
    if opened.state == "completed":
        return _thanks(request, opened, language)
    prefill = {q.id: request.query_params[q.id] for q in opened.survey.questions if q.id in request.query_params}
    answers, _ = logic.validate(opened.survey, prefill, opened.answers, complete=False)
    return _page(request, opened, language, answers=answers)


@router.post("/s/{token}")
async def survey_submit(request: Request, token: str) -> Response:
    if request.headers.get("content-type", "").startswith("application/json"):
        return await _submit_json(request, token)
    db, _, opened = await _open(request, token)
    if opened.state in _STATE_PAGES:
        status, title, message = _STATE_PAGES[opened.state]
        return _message(request, title, message, status_code=status)
    survey = opened.survey
    assert survey is not None
    form = await request.form()
    language = choose_language(request, survey, str(form.get("lang") or "") or
                               (opened.invitation.language if opened.invitation else None))
    if opened.state == "completed":
        return _thanks(request, opened, language)
    raw: dict[str, Any] = {}
    for question in survey.questions:
        values = [v for v in form.getlist(question.id) if isinstance(v, str)]
        if question.type == "multiple":
            raw[question.id] = values
        elif values:
            raw[question.id] = values[-1]
        elif question.id in str(form.get("shown") or "").split(","):
            raw[question.id] = ""  # shown and left empty: clear it
    shown = set(str(form.get("shown") or "").split(","))
    answers, errors = logic.validate(survey, raw, opened.answers, complete=False)
    newly_shown = [q for q in logic.visible_questions(survey, answers) if q.id not in shown]
    if errors or newly_shown or form.get("action") == "save":
        await run_in_threadpool(logic.save_partial, db, opened, answers, language)
        notice = "" if errors or newly_shown else "Your answers are saved. You can come back to this link later."
        return _page(request, opened, language, answers=answers, errors=errors, notice=notice,
                     status_code=422 if errors else 200)
    answers, errors = logic.validate(survey, {}, answers, complete=True)
    if errors:
        await run_in_threadpool(logic.save_partial, db, opened, answers, language)
        return _page(request, opened, language, answers=answers, errors=errors, status_code=422)
    await _complete(request, db, opened, answers, language)
    if opened.anonymous:
        return _thanks(request, opened, language)
    return RedirectResponse(request.url.path, status_code=303)


async def _complete(request: Request, db: Any, opened: logic.Opened, answers: dict[str, Any], language: str) -> str:
    spool = collector_of(request.app).spool
    return await run_in_threadpool(logic.complete, db, opened, answers, language,
                                   lambda row: spool.append_blocking([("feedback", row)]))


def _json_error(status: int, code: str, message: str, details: dict[str, Any] | None = None) -> Response:
    return JSONResponse({"error": {"code": code, "message": message, "details": details or {}}}, status_code=status)


async def _submit_json(request: Request, token: str) -> Response:
    db, settings, opened = await _open(request, token)
    if opened.state in _STATE_PAGES:
        status, _, message = _STATE_PAGES[opened.state]
        return _json_error(status, f"survey_{opened.state}", message)
    survey = opened.survey
    assert survey is not None
    body = await read_json(request, settings.collector_max_body_bytes)
    if not isinstance(body, dict) or not isinstance(body.get("answers"), dict):
        return _json_error(422, "invalid_payload", 'Send {"answers": {"<question id>": value, ...}}.')
    language = choose_language(request, survey, str(body.get("language") or "") or
                               (opened.invitation.language if opened.invitation else None))
    if opened.state == "completed":
        return JSONResponse({"status": "completed", "already_answered": True})
    answers, errors = logic.validate(survey, body["answers"], opened.answers, complete=not body.get("partial"))
    if errors:
        if not opened.anonymous:
            await run_in_threadpool(logic.save_partial, db, opened, {k: v for k, v in answers.items()}, language)
        return _json_error(422, "invalid_answers", "Some answers are missing or out of range.", {"errors": errors})
    if body.get("partial"):
        await run_in_threadpool(logic.save_partial, db, opened, answers, language)
        return JSONResponse({"status": "started", "answers": answers})
    response_id = await _complete(request, db, opened, answers, language)
    return JSONResponse({"status": "completed", "response_id": response_id})
