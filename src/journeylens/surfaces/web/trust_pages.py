"""Pages that make numbers explain themselves: the definitions of every number, annotations
(release markers drawn on time charts) and saved views (named, shared by link, listed)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from journeylens.errors import ParameterError
from journeylens.operations import annotations as notes
from journeylens.operations.models import User
from journeylens.surfaces.api.deps import AppDbDep
from journeylens.surfaces.web.access import FormDep, ReaderDep, page_user
from journeylens.surfaces.web.context import PageDep
from journeylens.surfaces.web.rendering import WebRoute, render

router = APIRouter(route_class=WebRoute, include_in_schema=False)
WriterDep = Annotated[User, Depends(page_user("ingest"))]


@router.get("/definitions")
def definitions_page(user: ReaderDep, p: PageDep) -> Response:
    """One definition per number, linked from wherever the number is shown."""
    return render(p.request, "definitions.html", {"title": "How the numbers are computed"})


@router.post("/annotations")
def add_annotation(user: WriterDep, form: FormDep, db: AppDbDep) -> Response:
    try:
        data = notes.AnnotationCreate(at=datetime.fromisoformat(form.get("at", "")), title=form.get("title", ""),
                                      kind=form.get("kind", "note"), touchpoint=form.get("touchpoint") or None,
                                      description=form.get("description", ""))
    except (ValueError, ValidationError) as exc:
        raise ParameterError(f"Invalid annotation: {exc}") from exc
    with db.session() as session:
        notes.create_annotation(session, data, actor=user.email)
    return RedirectResponse("/data-health#annotations", status_code=303)


@router.post("/views")
def save_view(user: WriterDep, form: FormDep, db: AppDbDep) -> Response:
    """Save the page the form was on, with its query, under a name (then listed and shareable)."""
    from urllib.parse import parse_qsl

    try:
        data = notes.ViewCreate(name=form.get("name", "").strip(), page=form.get("page", "/"),
                                query=dict(parse_qsl(form.get("query", ""))))
    except ValidationError as exc:
        raise ParameterError(f"Invalid view: {exc}") from exc
    with db.session() as session:
        view = notes.save_view(session, data, actor=user.email)
    return RedirectResponse(view.link, status_code=303)


@router.get("/views")
def views_page(user: ReaderDep, p: PageDep, db: AppDbDep) -> Response:
    with db.session() as session:
        views = notes.list_views(session)
    return render(p.request, "views.html", {"title": "Saved views", "views": views})
