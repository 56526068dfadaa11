"""Static files (CSS, JS, vendored HTMX; Plotly.js from the installed ``plotly`` package) and CSV export.

Nothing is fetched from a CDN: the dashboard works offline. ``/export/<view>.csv`` returns
the same cached result a page shows (``to_frame()``, or one table of ``to_dict()`` with
``part=``) for the same query string.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from fastapi import APIRouter
from fastapi.responses import FileResponse, Response

from journeylens.errors import NotFoundError, PermissionDeniedError
from journeylens.operations.auth import role_allows
from journeylens.surfaces.web.access import SignedInDep
from journeylens.surfaces.web.context import PageDep
from journeylens.surfaces.web.rendering import WebRoute
from journeylens.surfaces.web.views import VIEWS, frame_of

STATIC_DIR = Path(__file__).parent / "static"
CACHE_SECONDS = 3600
router = APIRouter(route_class=WebRoute, include_in_schema=False)
_SAFE_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")
#: Columns that identify one customer: left out of exports for roles without customer lookup.
IDENTIFIER_COLUMNS = frozenset({"customer_id", "anonymous_id", "anonymous_ids", "response_id", "event_id",
                                "raw"})  # a quarantined row as read carries its ids
_MEDIA_TYPES = {".css": "text/css", ".js": "text/javascript", ".svg": "image/svg+xml", ".png": "image/png"}


def plotly_js() -> Path:
    """``plotly.min.js`` shipped inside the installed ``plotly`` Python package."""
    import plotly

    path = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    if not path.is_file():
        raise NotFoundError("plotly.min.js is missing from the installed plotly package.")
    return path


def _file(path: Path) -> FileResponse:
    return FileResponse(path, media_type=_MEDIA_TYPES.get(path.suffix, "application/octet-stream"),
                        headers={"Cache-Control": f"public, max-age={CACHE_SECONDS}",
                                 "X-Content-Type-Options": "nosniff"})


@router.get("/static/vendor/plotly.min.js")
async def plotly_asset() -> FileResponse:
    return _file(plotly_js())


@router.get("/static/{path:path}")
async def static_asset(path: str) -> FileResponse:
    """A file under ``static/`` (plain names only: no traversal, no hidden files)."""
    parts = path.split("/")
    if not parts or any(not _SAFE_NAME.match(p) or p.startswith(".") for p in parts):
        raise NotFoundError(f"No static file {path!r}.")
    target = STATIC_DIR.joinpath(*parts)
    if not target.is_file() or STATIC_DIR.resolve() not in target.resolve().parents:
        raise NotFoundError(f"No static file {path!r}.")
    return _file(target)


def _cell(value: Any) -> Any:
    return json.dumps(value, ensure_ascii=False, default=str) if isinstance(value, list | dict | tuple) else value


@router.get("/export/{view}.csv")
def export_csv(view: str, user: SignedInDep, p: PageDep, part: str | None = None) -> Response:
    """The table of ``view`` for this query string, as CSV (lists and objects as JSON text)."""
    if view not in VIEWS:
        raise NotFoundError(f"No view {view!r}; views: {', '.join(VIEWS)}.")
    needed = "customer.lookup" if view == "timeline" else "read"
    if not role_allows(user.role, needed):
        raise PermissionDeniedError(f"Your role ({user.role}) cannot export {view!r}.")
    query = {k: v for k, v in p.query.items() if k != "part"}
    frame = frame_of(p.results.from_query(view, query), part)
    if not role_allows(user.role, "customer.lookup"):  # no customer-level identifiers for this role
        frame = frame.drop(columns=[c for c in frame.columns if c in IDENTIFIER_COLUMNS])
    frame = frame.apply(lambda column: column.map(_cell)) if not frame.empty else frame
    filename = f"{view}{'-' + part if part else ''}.csv"
    return Response(frame.to_csv(index=False), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"})
