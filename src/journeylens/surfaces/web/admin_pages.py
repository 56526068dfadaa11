"""Operational pages: data health, the journey definition (view, validate, suggest), settings.

Settings (users, roles, API keys) are for admins only; every form POST checks the CSRF token
and calls the same :mod:`journeylens.operations` functions as ``journeylens user`` / ``key``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from journeylens.errors import JourneyDefinitionError, JourneyLensError
from journeylens.operations import keys, users
from journeylens.operations.auth import ROLES, SCOPES, role_allows
from journeylens.operations.schemas import KeyPublic, UserPublic
from journeylens.surfaces.api.deps import AppDbDep, RowId
from journeylens.surfaces.web.access import AdminDep, AgentDep, FormDep, ReaderDep
from journeylens.surfaces.web.context import Page, PageDep
from journeylens.surfaces.web.rendering import WebRoute, render

router = APIRouter(route_class=WebRoute, include_in_schema=False)
MAX_DEFINITION_CHARS = 1_000_000


@router.get("/data-health")
def data_health_page(user: ReaderDep, p: PageDep) -> Response:
    params = {"table": p.query.get("table") or None, "reason": p.query.get("reason") or None}
    quarantine, q_error = p.results.attempt("quarantine", **params)
    history, h_error = p.results.attempt("ingest_log")
    may_see_ids = role_allows(user.role, "customer.lookup")  # viewers: counts and reasons, no ids
    if quarantine is not None and not may_see_ids:
        quarantine = quarantine.without_raw()
    fresh, f_error = p.results.attempt("freshness")
    context = {"title": "Data health", "fresh": fresh.to_dict() if fresh else None, "f_error": f_error,
               "notes": _annotation_rows(p), "quarantine": quarantine.to_dict() if quarantine else None,
               "q_error": q_error, "history": history or [], "h_error": h_error}
    return render(p.request, "data_health.html", context)


@router.get("/data-health/identities")
def identities_partial(user: AgentDep, p: PageDep) -> Response:
    """The identity graph (loaded after the data-health page: it reads every event)."""
    identities, i_error = p.results.attempt("identities")
    return render(p.request, "partials/identities.html",
                  {"identities": identities.to_dict() if identities else None, "i_error": i_error})


def _annotation_rows(p: Page) -> list[Any]:
    from journeylens.operations.annotations import list_annotations
    from journeylens.surfaces.api.deps import _app_db_now

    with _app_db_now(p.request).session() as session:
        return list_annotations(session)


def _definition_context(p: Page, **extra: Any) -> dict[str, Any]:
    definition = p.lens.definition
    return {"title": "Journey definition", "definition": definition.to_dict(), "yaml_text": definition.to_yaml(),
            "check": None, "check_errors": None, "submitted": None, "suggested": None, **extra}


@router.get("/journey-definition")
def definition_page(user: ReaderDep, p: PageDep) -> Response:
    return render(p.request, "definition.html", _definition_context(p))


@router.post("/journey-definition/check")
def definition_check(user: ReaderDep, form: FormDep, p: PageDep) -> Response:
    """Validate a pasted journey YAML against the events (nothing is saved)."""
    from journeylens.journeys.check import check_definition
    from journeylens.journeys.definition import parse_definition

    text = form.get("yaml", "")[:MAX_DEFINITION_CHARS]
    try:
        definition = parse_definition(text, source="pasted definition")
    except JourneyDefinitionError as exc:
        errors = exc.details.get("errors") or [{"message": exc.message}]
        return render(p.request, "definition.html", _definition_context(p, submitted=text, check_errors=errors),
                      status_code=422)
    check = check_definition(p.lens.warehouse.table("events"), definition).to_dict()
    return render(p.request, "definition.html", _definition_context(p, submitted=text, check=check))


@router.get("/journey-definition/suggest")
def definition_suggest(user: ReaderDep, p: PageDep) -> Response:
    from journeylens.journeys.suggest import suggest_definition

    suggested = suggest_definition(p.lens.warehouse.table("events")).to_yaml()
    return render(p.request, "definition.html", _definition_context(p, suggested=suggested))


# --- settings (admin) ---------------------------------------------------------------------
def _listing(db: AppDbDep) -> dict[str, Any]:
    with db.session() as session:
        return {"users": [UserPublic.of(u) for u in users.list_users(session)],
                "keys": [KeyPublic.of(k) for k in keys.list_keys(session, include_revoked=True)]}


async def _settings(request: Request, db: AppDbDep, **extra: Any) -> Response:
    listing = await run_in_threadpool(_listing, db)
    context = {"title": "Settings", "roles": ROLES, "scopes": SCOPES, "message": None, "error": None,
               "new_key": None, **listing, **extra}
    status = 400 if extra.get("error") else 200
    return render(request, "settings.html", context, status_code=status)


@router.get("/settings")
async def settings_page(request: Request, user: AdminDep, db: AppDbDep) -> Response:
    return await _settings(request, db, message=request.query_params.get("done"))


def _apply(db: AppDbDep, work: Any) -> Any:
    with db.session() as session:
        return work(session)


async def _act(request: Request, db: AppDbDep, work: Any, done: str) -> Response:
    try:
        await run_in_threadpool(_apply, db, work)
    except JourneyLensError as exc:
        return await _settings(request, db, error=exc.message)
    return RedirectResponse(f"/settings?done={done}", status_code=303)


@router.post("/settings/users")
async def settings_add_user(request: Request, user: AdminDep, form: FormDep, db: AppDbDep) -> Response:
    return await _act(request, db, lambda s: users.create_user(
        s, form.get("email", ""), form.get("password", ""), role=form.get("role", "viewer"),
        name=form.get("name", ""), actor=user.email), "user-added")


@router.post("/settings/users/{user_id}")
async def settings_change_user(request: Request, user_id: RowId, user: AdminDep, form: FormDep,
                               db: AppDbDep) -> Response:
    action = form.get("action", "")

    def work(session: Any) -> Any:
        if action == "deactivate":
            return users.deactivate(session, user_id, actor=user.email)
        if action == "activate":
            return users.activate(session, user_id, actor=user.email)
        return users.set_role(session, user_id, form.get("role", ""), actor=user.email)

    return await _act(request, db, work, "user-changed")


@router.post("/settings/keys")
async def settings_create_key(request: Request, user: AdminDep, form: FormDep, db: AppDbDep) -> Response:
    scopes = [s for s in SCOPES if form.get(f"scope_{s}")]
    try:
        created = await run_in_threadpool(_apply, db, lambda s: keys.create_key(
            s, form.get("name", ""), scopes, created_by=user.email)[1])
    except JourneyLensError as exc:
        return await _settings(request, db, error=exc.message)
    return await _settings(request, db, new_key=created, message="key-created")


@router.post("/settings/keys/{prefix}/revoke")
async def settings_revoke_key(request: Request, prefix: str, user: AdminDep, form: FormDep,
                              db: AppDbDep) -> Response:
    return await _act(request, db, lambda s: keys.revoke_key(s, prefix, actor=user.email), "key-revoked")
