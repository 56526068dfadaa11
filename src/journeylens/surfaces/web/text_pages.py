"""Text-analytics pieces of the dashboard: the overview's aspects and label corrections.

- ``GET /aspects`` (read): the aspects table and touchpoint x aspect pain cells (an HTMX partial
  of the overview, computed in the background by the pre-warmer).
- ``POST /text/corrections`` (``ingest`` permission: admins and analysts): a person's label for
  one comment, stored in the app DB (``text_corrections``); answers with a small confirmation.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse, Response
from markupsafe import escape
from starlette.concurrency import run_in_threadpool

from journeylens.operations.models import User
from journeylens.surfaces.api.deps import AppDbDep
from journeylens.surfaces.web.access import FormDep, ReaderDep, page_user
from journeylens.surfaces.web.context import PageDep
from journeylens.surfaces.web.rendering import WebRoute, render
from journeylens.text import corrections

router = APIRouter(route_class=WebRoute, include_in_schema=False)
CorrectorDep = Annotated[User, Depends(page_user("ingest"))]
#: Touchpoint x aspect cells listed on the overview.
MATRIX_ROWS = 10


@router.get("/aspects")
def aspects_partial(user: ReaderDep, p: PageDep) -> Response:
    result, error = p.results.attempt("aspects")
    payload: dict[str, Any] | None = result.to_dict() if result else None
    matrix = [r for r in payload["matrix"] if r["n"] >= 5][:MATRIX_ROWS] if payload else []
    return render(p.request, "partials/aspects.html", {"aspects": payload, "matrix": matrix, "error": error})


@router.post("/text/corrections")
async def post_correction(user: CorrectorDep, form: FormDep, db: AppDbDep) -> Response:
    def store() -> dict[str, Any]:
        with db.session() as session:
            return corrections.add_correction(
                session, response_id=form.get("response_id", ""), comment=form.get("comment", ""),
                label=form.get("label", ""), aspect=form.get("aspect", ""),
                previous_label=form.get("previous_label", ""), model=form.get("model", ""), actor=user.email)

    row = await run_in_threadpool(store)
    word = {"neg": "negative", "neu": "neutral", "pos": "positive"}[row["label"]]
    return HTMLResponse(f'<span class="saved" role="status">Saved as {escape(word)}, thank you.</span>')
